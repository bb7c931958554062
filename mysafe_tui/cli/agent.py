"""`mysafe unlock` and `mysafe lock`: start and stop the unlock agent (agent/daemon.py).

`unlock` asks for the passphrase, derives the vault's key-encryption key (the KDF), checks it
opens the vault, and hands it to a new agent process on a pipe, never in argv or the
environment. The agent keeps the vault unlocked until it locks; `lock` tells it to now.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from mysafe_tui.cli.output import say

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> int:
    """'90s', '15m', '1h30m', '8h' as seconds (at least 1 s, at most 7 days)."""
    parts = _DURATION.findall(text.lower())
    if not parts or "".join(a + b for a, b in parts) != text.lower():
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: use e.g. 90s, 15m, 8h")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in parts)
    if not 1 <= seconds <= 7 * 86400:
        raise argparse.ArgumentTypeError("a duration from 1 second to 7 days")
    return seconds


def add_parsers(add: AddParser) -> None:
    p = add(
        "unlock",
        help="keep the vault unlocked for later commands (an agent)",
        description="Ask for the passphrase once and start an agent that keeps this vault "
        "unlocked: later commands (and the UI) use it instead of asking. It locks after "
        "--timeout without use, after --max whatever happens, on 'mysafe lock', when the "
        "passphrase changes and when the machine sleeps.",
    )
    p.add_argument(
        "--timeout", type=duration, default="15m", help="lock after this long unused (15m)"
    )
    p.add_argument(
        "--max", type=duration, default="8h", help="lock after this long, used or not (8h)"
    )
    p.add_argument(
        "--sync-every",
        type=lambda text: 0 if text == "0" else duration(text),
        help="a vault bound to a server: sync this often while unlocked, so that commands "
        "read fresh data (default: the sync_minutes setting, 5m; 0: never on its own)",
    )
    p.set_defaults(func=cmd_unlock, needs_unlock=False)

    p = add("lock", help="lock the agent now: it forgets the vault's keys")
    p.set_defaults(func=cmd_lock, needs_unlock=False)


def describe(answer: dict[str, Any]) -> str:
    """'locks after 14 min unused, at the latest 02:31' from an agent's status answer."""
    idle = max(0, int(answer.get("idle_left", 0)))
    latest = time.strftime("%H:%M", time.localtime(time.time() + answer.get("max_left", 0)))
    unused = f"{idle // 60} min" if idle >= 60 else f"{idle} s"
    return f"locks after {unused} unused, at the latest {latest}"


def agent_status(service: VaultService) -> dict[str, Any] | None:
    """The agent's own account of itself, or None when no agent holds this vault."""
    from mysafe_tui.agent import wire as agent_wire

    answer = agent_wire.ask(str(service.vault_path), "status")
    return answer if answer and answer.get("unlocked") else None


async def cmd_unlock(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.agent import wire as agent_wire
    from mysafe_tui.cli import prompts
    from mysafe_tui.core.errors import VaultNotFound

    if not service.vault_exists():
        raise VaultNotFound(f"no vault at {service.vault_path}; create one with 'mysafe init'")
    running = agent_status(service)
    if running is not None:
        say(f"mysafe: already unlocked ({describe(running)}); 'mysafe lock' locks it")
        return 0
    try:
        agent_wire.socket_path(str(service.vault_path), create=True)
    except agent_wire.AgentUnavailable as exc:
        say(f"mysafe: cannot start an agent: {exc}")
        return 1
    secret = prompts.passphrase("Vault passphrase: ", args.passphrase_file)
    key = await service.derive_key(secret)
    del secret
    service.accept_rollback = args.accept_rollback
    await service.unlock_with_key(key)  # says "wrong passphrase" here, not in the agent
    config = {
        "key": key.hex(),
        "profile": args.profile,
        "timeout": args.timeout,
        "max": args.max,
        "accept_rollback": args.accept_rollback,
        "sync_every": (
            service.settings.sync_minutes * 60 if args.sync_every is None else args.sync_every
        ),
    }
    await service.close()  # the agent opens the vault for itself
    import asyncio

    answer = await asyncio.to_thread(_start_agent, config)
    if "error" in answer:
        say(f"mysafe: the agent did not start: {answer['error']}")
        return 1
    say(f"mysafe: unlocked: commands use the agent until it {describe(answer)}")
    return 0


def _start_agent(config: dict[str, Any]) -> dict[str, Any]:
    """Start the agent with its key on a pipe (never argv), wait for its first word."""
    import subprocess

    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("MYSAFE_PASSPHRASE_FILE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mysafe_tui.agent.daemon"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd="/",
        env=env,
        start_new_session=True,  # not the terminal's: closing it does not stop the agent
    )
    assert proc.stdin is not None and proc.stdout is not None
    with proc.stdin:
        proc.stdin.write(json.dumps(config).encode() + b"\n")
    with proc.stdout:
        line = proc.stdout.readline()
    try:
        answer = json.loads(line)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        proc.kill()
        proc.wait()
        return {"error": "it stopped while starting"}
    return answer


async def cmd_lock(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.agent import wire as agent_wire

    answer = agent_wire.ask(str(service.vault_path), "lock")
    say("mysafe: locked" if answer and answer.get("locked") else "mysafe: no agent was unlocked")
    return 0

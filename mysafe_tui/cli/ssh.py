"""SSH keys: `mysafe add ssh-key` (generated, or read from a key file), `mysafe ssh-agent` (the
agent's socket for ssh, git and ssh-add: agent/ssh.py) and `mysafe ssh-key NAME
--allowed-signers EMAIL` (the line git's signature checks read)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mysafe_tui.cli.output import q, said_waiting, say

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService


def add_key_parser(add_kind: AddParser) -> None:
    """`mysafe add ssh-key` (beside the other kinds of `mysafe add`)."""
    p = add_kind(
        "ssh-key",
        help="an SSH key: generated here, or read from a key file",
        description="Keep an SSH key in the vault, for `mysafe ssh-agent` to offer to ssh and "
        "git. --generate makes a new one (Ed25519 unless --type says otherwise); --import "
        "reads a private key file (OpenSSH or PEM), asking once for its passphrase if it has "
        "one: the vault keeps it unencrypted inside its own encryption. Delete the file "
        "afterwards: the vault is where the key lives now.",
    )
    p.add_argument("--name", required=True)
    way = p.add_mutually_exclusive_group(required=True)
    way.add_argument("--generate", action="store_true", help="make a new key")
    way.add_argument("--import", dest="import_path", type=Path, metavar="PATH", help="a key file")
    p.add_argument("--type", choices=("ed25519", "rsa", "ecdsa"), default="ed25519")
    p.add_argument("--comment", default="", help="shown by ssh-add -l (default: the file's)")
    p.add_argument(
        "--key-passphrase-file", metavar="PATH", help="the key file's passphrase, from a file"
    )
    p.add_argument("--no-agent", action="store_true", help="keep it out of the SSH agent")
    p.add_argument("--tags", default="")
    p.set_defaults(func=cmd_add_ssh_key)


def add_parsers(add: AddParser) -> None:
    p = add(
        "ssh-agent",
        help="start the SSH agent that offers the vault's keys; print its environment",
        description="Start the SSH agent for this profile (once; later calls find it) and "
        "print the lines that point ssh at it, as `ssh-agent` does: "
        'eval "$(mysafe ssh-agent)" in ~/.bashrc, or `IdentityAgent` in ~/.ssh/config. '
        "It offers the keys of the unlocked vault (`mysafe unlock`) and none while it is "
        "locked; it signs in the vault, so no key is ever on disk.",
    )
    shell = p.add_mutually_exclusive_group()
    shell.add_argument("-s", dest="csh", action="store_false", help="Bourne shell lines")
    shell.add_argument("-c", dest="csh", action="store_true", help="C shell lines")
    shell.add_argument("--json", action="store_true", help="the socket and pid as JSON")
    p.add_argument("-k", dest="kill", action="store_true", help="stop this profile's agent")
    p.add_argument(
        "--unlock-prompt",
        action="store_true",
        help="while the vault is locked, a request from a program in tmux opens `mysafe "
        "unlock` in a popup over its pane (off unless given; for an agent started with it)",
    )
    p.set_defaults(func=cmd_ssh_agent, needs_unlock=False, needs_vault=False, csh=None)

    p = add(
        "ssh-key",
        help="an SSH key's settings, and what other tools need of it",
        description="Print the key's public line (authorized_keys); with --allowed-signers, "
        "the line for git's gpg.ssh.allowedSignersFile instead. --agent, --confirm and "
        "--forwarding change whether `mysafe ssh-agent` offers the key, whether it asks "
        "before each signature (a tmux popup over the asking program's pane; refused outside "
        "tmux), and whether it signs through a forwarded agent (ssh -A: past the first host).",
    )
    p.add_argument("name")
    p.add_argument("--allowed-signers", metavar="EMAIL", help="the allowed-signers line for EMAIL")
    p.add_argument("--agent", choices=("yes", "no"), help="offered by the SSH agent")
    p.add_argument("--forwarding", choices=("yes", "no"), help="used through a forwarded agent")
    p.add_argument("--confirm", choices=("yes", "no"), help="ask before each use (in a tmux popup)")
    p.set_defaults(func=cmd_ssh_key)


async def cmd_add_ssh_key(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core import sshkeys
    from mysafe_tui.core.errors import InvalidInput

    comment = args.comment
    if args.generate:
        private = sshkeys.generate(args.type)
    else:
        path: Path = args.import_path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
        try:
            private = sshkeys.read(data)
        except sshkeys.NeedsPassphrase:
            from mysafe_tui.cli import prompts

            secret = prompts.passphrase(f"Passphrase for {path}: ", args.key_passphrase_file)
            private = sshkeys.read(data, secret)
        if not comment:
            comment = _comment_beside(path)
    item = await service.add_ssh_key(
        args.name, private, comment=comment, agent=not args.no_agent, tags=args.tags
    )
    public = (await service.reveal(item.id))["public"].reveal()
    say(f"Added SSH key '{q(item.name)}' (id {item.id})")
    said_waiting(item.outbox)
    print(q(public))
    return 0


def _comment_beside(path: Path) -> str:
    """The comment of the public key file beside a private one (`id_ed25519.pub`), if any."""
    try:
        words = Path(f"{path}.pub").read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return ""
    return " ".join(words[2:])[:255]


async def cmd_ssh_key(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.errors import InvalidInput
    from mysafe_tui.core.models import ItemKind

    item = await service.find(args.name, ItemKind.SSH_KEY)
    settings = {name: getattr(args, name) for name in ("agent", "confirm", "forwarding")}
    if any(settings.values()):
        await service.update_item(item.id, {k: v for k, v in settings.items() if v})
        said = ", ".join(f"{k} {v}" for k, v in settings.items() if v)
        say(f"SSH key '{q(item.name)}': {said}")
        return 0
    public = (await service.reveal(item.id))["public"].reveal()
    if args.allowed_signers is None:
        print(q(public))
        return 0
    email = args.allowed_signers.strip()
    if not email or any(c.isspace() or c in "\"'," for c in email):
        raise InvalidInput(f"not an email address for an allowed-signers line: {email!r}")
    print(q(f'{email} namespaces="git" {" ".join(public.split()[:2])}'))
    return 0


async def cmd_ssh_agent(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.agent import wire

    profile = service.paths.profile
    csh = args.csh if args.csh is not None else os.environ.get("SHELL", "").endswith("csh")
    if args.kill:
        pid = _running(profile)
        if pid is None:
            say("mysafe: no SSH agent runs for this profile")
            return 1
        os.kill(pid, signal.SIGTERM)
        print("unsetenv SSH_AUTH_SOCK;" if csh else "unset SSH_AUTH_SOCK;")
        print("unsetenv SSH_AGENT_PID;" if csh else "unset SSH_AGENT_PID;")
        print(f"echo Agent pid {pid} killed;")
        return 0
    pid = _running(profile) or _start(profile, args.unlock_prompt)
    path = wire.ssh_socket_path(profile)
    if args.json:
        print(json.dumps({"SSH_AUTH_SOCK": path, "SSH_AGENT_PID": pid}))
    elif csh:
        print(f"setenv SSH_AUTH_SOCK {shlex.quote(path)};")
        print(f"setenv SSH_AGENT_PID {pid};")
    else:
        print(f"SSH_AUTH_SOCK={shlex.quote(path)}; export SSH_AUTH_SOCK;")
        print(f"SSH_AGENT_PID={pid}; export SSH_AGENT_PID;")
    return 0


def _running(profile: str) -> int | None:
    """The pid of this profile's SSH agent, if one runs and its socket is there."""
    from mysafe_tui.agent import wire

    try:
        with open(wire.ssh_pid_path(profile), encoding="ascii") as handle:
            pid = int(handle.read().strip() or 0)
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            ours = b"mysafe_tui.agent.ssh" in handle.read()
    except (OSError, ValueError, wire.AgentUnavailable):
        return None
    return pid if ours and os.path.exists(wire.ssh_socket_path(profile)) else None


def _start(profile: str, unlock_prompt: bool) -> int:
    """Start the SSH agent, detached from this terminal; its pid once it listens."""
    from mysafe_tui.core.errors import MySafeError

    proc = subprocess.Popen(
        [sys.executable, "-m", "mysafe_tui.agent.ssh", profile]
        + (["--unlock-prompt"] if unlock_prompt else []),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd="/",
        start_new_session=True,  # closing the terminal does not stop it
    )
    assert proc.stdout is not None
    with proc.stdout:
        line = proc.stdout.readline().decode(errors="replace").strip()
    if line != "ready":
        proc.kill()
        proc.wait()
        why = line.removeprefix("error ").strip() or "it stopped while starting"
        raise MySafeError(f"the SSH agent did not start: {why}")
    return proc.pid

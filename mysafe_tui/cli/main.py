"""Running one command: parse, unlock when the command needs it, turn failures into one
sentence (or launch the full-screen UI when no command is given)."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mysafe_tui.cli.output import say

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable

    from mysafe_tui.cli.parser import Command
    from mysafe_tui.service import VaultService
    from mysafe_tui.service.early_kdf import EarlyKey


# Commands that hand a secret to a script: under a detected rollback they fail rather than
# answer with what may be an old password (the warning alone goes unseen in `$(...)`).
STALE_SECRET_REFUSED = frozenset({"get", "show", "copy", "totp", "run", "inject"})


def run(argv: list[str]) -> int:
    """Parse and run one command; every failure the user can cause ends as one sentence."""
    from mysafe_tui.core.errors import MySafeError

    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    profile = _ui_profile(argv) if terminal else None
    if profile is None:  # the UI's launch needs no parser (5 ms of imports before its paint)
        from mysafe_tui.agent.wire import command_line
        from mysafe_tui.cli import parser as parser_module

        command, _, plain = command_line(argv)
        # ~20 ms for all commands, ~3 for one; the UI's launch does without it
        parser = parser_module.build_parser(command if plain else None)
        args = parser.parse_args(argv)
        if args.command is None and not terminal:
            parser.print_help()
            print(file=sys.stderr)
            say("mysafe: the full-screen UI needs a terminal; use a command above in scripts")
            return 2
        profile = args.profile if args.command is None else None
    if profile is not None:
        from mysafe_tui.cli.prompts import unseen_typing

        with unseen_typing():
            try:
                return launch_tui(profile)
            except MySafeError as exc:
                say(f"mysafe: {exc}")
                return 1

    gc.enable()  # off for the start-up (see mysafe_tui/__main__.py)
    if args.command == "serve":  # runs its own event loop (uvicorn)
        from mysafe_tui.server.cli import run as serve

        return serve(args)
    try:
        early = _early_key(args)
    except MySafeError as exc:
        say(f"mysafe: {exc}")
        return 1
    import asyncio  # ~25 ms, loaded while the early KDF runs

    try:
        return asyncio.run(guarded(_dispatch(args, early, command or "")))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        say("mysafe: interrupted")
        return 130


async def guarded(work: Awaitable[int]) -> int:
    """A command's exit code; any failure ends as one sentence on stderr (the unlock agent
    runs commands through this too)."""
    from mysafe_tui.core.errors import MySafeError

    try:
        return await work
    except MySafeError as exc:
        say(f"mysafe: {exc}")
        return 1
    except BrokenPipeError:  # `mysafe list | head`: the reader has all it wanted
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())  # no error at exit
        os.close(null)
        return 141  # what a shell tool killed by SIGPIPE reports
    except Exception as exc:  # a bug: say so, but never dump locals that may hold secrets
        if os.environ.get("MYSAFE_DEBUG"):
            raise
        say(f"mysafe: internal error ({type(exc).__name__}); set MYSAFE_DEBUG=1 for details")
        return 1


def _ui_profile(argv: list[str]) -> str | None:
    """The profile when the command line only asks for the UI (`mysafe`, `mysafe --profile
    NAME`), else None: then the full parser decides."""
    if not argv:
        return "default"
    if len(argv) == 2 and argv[0] == "--profile" and not argv[1].startswith("-"):
        from mysafe_tui.system.locations import check_profile

        try:
            return check_profile(argv[1])
        except ValueError:
            return None  # the parser says why
    return None


def launch_tui(profile: str) -> int:
    """`mysafe` with no command: the full-screen vault UI on the local vault."""
    from mysafe_tui.service.door import VaultDoor
    from mysafe_tui.system.settings import Paths, Settings
    from mysafe_tui.tui.app import MySafeApp

    paths = Paths.discover(profile)
    # The door builds the VaultService after the first frame (service/door.py).
    app = MySafeApp(VaultDoor(paths, Settings.load(paths.settings)))
    app.run()
    return app.return_code or 0


def _early_key(args: argparse.Namespace) -> EarlyKey | None:
    """With the passphrase in a file and no agent to ask, start the KDF now: it runs while
    asyncio and the service load (~35 ms of a script's every call)."""
    if not getattr(args, "needs_unlock", True) or getattr(args, "agent_only", False):
        return None
    from mysafe_tui.agent import wire as agent_wire

    source = args.passphrase_file or os.environ.get("MYSAFE_PASSPHRASE_FILE")
    vault = agent_wire.vault_file(args.profile)
    if not source or not os.path.exists(vault):
        return None
    sock = None if args.accept_rollback else agent_wire.connect(vault, timeout=1.0)
    if sock is not None:  # an agent holds it: no KDF at all
        sock.close()
        return None

    from mysafe_tui.cli.prompts import read_secret_file
    from mysafe_tui.service.early_kdf import EarlyKey

    return EarlyKey(Path(vault), read_secret_file(source))


async def _dispatch(
    args: argparse.Namespace, early: EarlyKey | None = None, command: str = ""
) -> int:
    """Run the parsed command (`command`: its name as typed, for the unlock agent)."""
    from mysafe_tui.cli import prompts
    from mysafe_tui.service import VaultService
    from mysafe_tui.system.settings import Paths, Settings

    paths = Paths.discover(args.profile)
    service = VaultService(paths, Settings.load(paths.settings))
    service.on_server_wait = lambda seconds: say(
        f"mysafe: the server asks for a pause: trying again in {seconds:.0f} s (ctrl+c stops)"
    )
    try:
        if getattr(args, "needs_unlock", True):
            if not service.vault_exists():
                from mysafe_tui.core.errors import VaultNotFound

                raise VaultNotFound(f"no vault at {paths.vault}; create one with 'mysafe init'")
            service.accept_rollback = args.accept_rollback
            # An unlocked agent (`mysafe unlock`) spares the passphrase; a rollback accepted
            # on purpose is for the passphrase alone to say.
            # A read that copies (`totp --copy`) copies where the person is: a copy.
            asker = "copy" if getattr(args, "copy", False) is True else command
            if args.accept_rollback or not await service.unlock_from_agent(asker):
                if getattr(args, "agent_only", False):
                    return 0  # a helper run by another program: never a prompt
                if early is not None:
                    await service.unlock_early(early)
                else:
                    secret = prompts.passphrase("Vault passphrase: ", args.passphrase_file)
                    await service.unlock(secret)
            _warn_corrupt(service)
            if service.rollback and command in STALE_SECRET_REFUSED:
                from mysafe_tui.core.errors import RolledBack

                raise RolledBack(
                    "the secret may be stale (an older copy of the vault was put back): "
                    "--accept-rollback gives it all the same"
                )
        func: Command = args.func
        return await func(args, service)
    finally:
        await service.close()


def _warn_corrupt(service: VaultService) -> None:
    for item_id, reason in service.corrupt_items.items():
        say(f"mysafe: warning: item {item_id} is damaged ({reason})")
    if service.rollback:
        say(f"mysafe: warning: {service.rollback}")

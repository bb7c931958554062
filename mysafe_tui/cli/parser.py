"""The command line: global options, and every command's options (items.py, remote.py)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mysafe_tui import __version__
from mysafe_tui.cli import (
    agent,
    credential,
    extras,
    health,
    inject,
    items,
    pam,
    passphrase,
    people,
    remote,
    sharing,
    ssh,
    transfer,
    versions,
)

if TYPE_CHECKING:
    from mysafe_tui.service import VaultService

Command = Callable[[argparse.Namespace, "VaultService"], Awaitable[int]]
AddParser = Callable[..., argparse.ArgumentParser]


class _Unused:
    """Stands in for the parser of a command that is not on this command line: it takes
    every call and builds nothing (building all ~35 costs ~15 ms of each start)."""

    def __getattr__(self, name: str) -> Any:
        return self._anything

    def _anything(self, *args: Any, **kwargs: Any) -> _Unused:
        return self


def profile_name(text: str) -> str:
    from mysafe_tui.system.locations import check_profile

    try:
        return check_profile(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `only`, just that command's (the full parser when no
    command has that name, so that a typo gets the list of commands)."""
    if only is not None:
        parser, found = _build(only)
        if found:
            return parser
    return _build(None)[0]


def _build(only: str | None) -> tuple[argparse.ArgumentParser, bool]:
    parser = argparse.ArgumentParser(
        prog="mysafe",
        description="A terminal vault for passwords, notes, files and API secrets.",
        epilog="Secrets are never taken from arguments: pipe them on standard input or type "
        "them at the hidden prompt. Scripts give the vault passphrase with --passphrase-file "
        "or MYSAFE_PASSPHRASE_FILE.",
    )
    parser.add_argument("--version", action="version", version=f"mysafe {__version__}")
    parser.add_argument(
        "--profile", type=profile_name, default="default", help="vault profile (default: default)"
    )
    parser.add_argument(
        "--passphrase-file", metavar="PATH", help="read the vault passphrase from this file"
    )
    parser.add_argument(
        "--accept-rollback",
        action="store_true",
        help="open a vault older than the one last opened on this machine as it is (after "
        "restoring a backup on purpose); without it such a vault opens read-only",
    )
    # The global options are accepted after the command too ('mysafe get x --profile work');
    # SUPPRESS keeps a subcommand from resetting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--profile", type=profile_name, default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    common.add_argument("--passphrase-file", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument(
        "--accept-rollback", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    found = False

    def add(name: str, **kwargs: Any) -> Any:
        """A command's parser (every command takes the global options too)."""
        nonlocal found
        if only is not None and only != name and only not in kwargs.get("aliases", ()):
            return _Unused()
        found = True
        return sub.add_parser(name, parents=[common], **kwargs)

    passphrase.add_parsers(add)
    items.add_parsers(add, common)
    extras.add_parsers(add, common)
    remote.add_parsers(add)
    sharing.add_parsers(add)
    people.add_parsers(add)
    versions.add_parsers(add)
    inject.add_parsers(add)
    agent.add_parsers(add)
    transfer.add_parsers(add)
    credential.add_parsers(add)
    health.add_parsers(add)
    ssh.add_parsers(add)
    pam.add_parsers(add, common)

    p = add(
        "completion",
        help="print a shell completion script",
        description="Print the completion script for your shell. bash: add "
        "'eval \"$(mysafe completion bash)\"' to ~/.bashrc; zsh: the same with zsh in "
        "~/.zshrc; fish: 'mysafe completion fish > ~/.config/fish/completions/mysafe.fish'.",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"))
    p.set_defaults(func=cmd_completion, needs_unlock=False, needs_vault=False)

    p = add("serve", help="run a MySafe-compatible server (the server extra)")
    if not isinstance(p, _Unused):
        from mysafe_tui.server.cli import add_arguments

        add_arguments(p)
    return parser, found


async def cmd_completion(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli.completion import script

    print(script(args.shell, build_parser()), end="")
    return 0

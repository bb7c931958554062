"""The command line: global options, and every command's options (items.py, remote.py)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from .. import __version__
from . import agent, credential, inject, items, remote

if TYPE_CHECKING:
    from ..service import VaultService

Command = Callable[[argparse.Namespace, "VaultService"], Awaitable[int]]
AddParser = Callable[..., argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mysafe",
        description="A terminal vault for passwords, notes, files and API secrets.",
        epilog="Secrets are never taken from arguments: pipe them on standard input or type "
        "them at the hidden prompt. Scripts give the vault passphrase with --passphrase-file "
        "or MYSAFE_PASSPHRASE_FILE.",
    )
    parser.add_argument("--version", action="version", version=f"mysafe {__version__}")
    parser.add_argument("--profile", default="default", help="vault profile (default: default)")
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
    common.add_argument("--profile", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--passphrase-file", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument(
        "--accept-rollback", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Every command takes the global options too.
    add: AddParser = partial(sub.add_parser, parents=[common])
    items.add_parsers(add, common)
    remote.add_parsers(add)
    inject.add_parsers(add)
    agent.add_parsers(add)
    credential.add_parsers(add)

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
    from ..server.cli import add_arguments

    add_arguments(p)
    return parser


async def cmd_completion(args: argparse.Namespace, service: VaultService) -> int:
    from .completion import script

    print(script(args.shell, build_parser()), end="")
    return 0

"""The vault's passphrase and new secrets: init (a new vault), passwd (a new passphrase, and by
default a new vault key), generate (a random password or passphrase)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from mysafe_tui.cli.output import ProgressLine, say

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService

ALLOW_WEAK_HELP = (
    "accept a passphrase the strength estimate (zxcvbn) rates below 'good': only if you "
    "know why, say a long random one it cannot judge"
)


def add_parsers(add: AddParser) -> None:
    p = add(
        "init",
        help="create a new local vault",
        description="Create a new, empty local vault (asks for its passphrase twice, or reads "
        "--passphrase-file). The UI does the same on first run.",
    )
    p.add_argument("--kdf-profile", choices=("default", "low-memory"), help="Argon2id cost")
    p.add_argument("--allow-weak", action="store_true", help=ALLOW_WEAK_HELP)
    p.set_defaults(func=cmd_init, needs_unlock=False)

    p = add("passwd", help="change the vault passphrase")
    p.add_argument("--new-passphrase-file", metavar="PATH")
    p.add_argument("--kdf-profile", choices=("default", "low-memory"))
    p.add_argument("--allow-weak", action="store_true", help=ALLOW_WEAK_HELP)
    p.add_argument(
        "--keep-key",
        action="store_true",
        help="only re-wrap the vault key under the new passphrase (fast), keeping the key: an "
        "old copy of the header (any older copy or backup of the file) then still opens "
        "today's items with the OLD passphrase. By default the key is replaced and every item "
        "re-encrypted, so nothing old opens anything new",
    )
    # The default now; still accepted so scripts that asked for it keep working.
    p.add_argument("--rotate-key", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_passwd, needs_unlock=False)

    p = add("generate", help="print a random password or passphrase")
    p.add_argument("--length", type=int, default=24)
    p.add_argument("--no-symbols", action="store_true")
    p.add_argument("--no-digits", action="store_true")
    p.add_argument("--no-upper", action="store_true")
    p.add_argument("--allow-ambiguous", action="store_true", help="allow l, 1, O, 0 ...")
    p.add_argument("--words", type=int, help="a passphrase of this many words instead")
    p.add_argument("--separator", default="-")
    p.set_defaults(func=cmd_generate, needs_unlock=False, needs_vault=False)


async def cmd_init(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts
    from mysafe_tui.core.errors import VaultExists

    if service.vault_exists():
        raise VaultExists(f"a vault already exists at {service.vault_path}")
    if args.passphrase_file or os.environ.get("MYSAFE_PASSPHRASE_FILE"):
        secret = prompts.passphrase("", args.passphrase_file)
    else:
        secret = prompts.hidden_twice("new vault passphrase")  # asked twice: no mismatch
    _check_passphrase(service, secret, args.allow_weak)
    say("Deriving the vault key (Argon2id)...")
    await service.create(secret, args.kdf_profile)
    say(f"Created an empty vault at {service.vault_path}")
    return 0


def _check_passphrase(service: VaultService, passphrase: str, allow_weak: bool) -> None:
    from mysafe_tui.core.errors import WeakPassphrase

    try:
        service.check_new_passphrase(passphrase, passphrase, allow_weak=allow_weak)
    except WeakPassphrase as exc:
        raise WeakPassphrase(f"{exc} (--allow-weak accepts it anyway)") from None


async def cmd_passwd(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts

    if args.keep_key and args.rotate_key:  # said before anything is asked
        from mysafe_tui.core.errors import InvalidInput

        raise InvalidInput("--keep-key and --rotate-key say opposite things: give one")
    old = prompts.passphrase("Current passphrase: ", args.passphrase_file)
    service.accept_rollback = args.accept_rollback
    await service.unlock(old)
    if args.new_passphrase_file:
        new = prompts.read_secret_file(args.new_passphrase_file)
    else:
        new = prompts.hidden_twice("new vault passphrase")
    _check_passphrase(service, new, args.allow_weak)
    if not args.keep_key:  # a leaked passphrase is why people run passwd: old headers too
        progress = ProgressLine("Re-encrypting")
        try:
            count = await service.rotate_key(old, progress=progress)
        finally:
            progress.finish()
        say(f"New vault key: {count} records re-encrypted under new item keys.")
    await service.change_passphrase(old, new, args.kdf_profile)
    if args.keep_key:
        say(
            "Passphrase changed (the vault key kept: an older copy of this file still opens "
            "with the old passphrase)."
        )
    else:
        say("Passphrase changed.")
    return 0


async def cmd_generate(args: argparse.Namespace, service: VaultService) -> int:
    if args.words is not None:
        print(service.generate_passphrase(args.words, args.separator))
    else:
        print(
            service.generate_password(
                args.length,
                upper=not args.no_upper,
                digits=not args.no_digits,
                symbols=not args.no_symbols,
                avoid_ambiguous=not args.allow_ambiguous,
            )
        )
    return 0

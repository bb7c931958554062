"""`mysafe backup PATH` and `mysafe restore-backup PATH`: an encrypted copy of the vault, and
bringing one back (the vault it replaces is kept beside it: nothing is lost). (`restore` is
MySafe's own word for taking an item out of the trash.)"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.humanize import size
from .output import q, say

if TYPE_CHECKING:
    from ..service import VaultService
    from .parser import AddParser


def add_parsers(add: AddParser) -> None:
    p = add(
        "backup",
        help="write an encrypted copy of the vault (consistent while it is in use)",
        description="A copy of the vault file as it is now, even while the UI or a sync "
        "writes; it stays encrypted under the vault passphrase (none is asked). 0600; an "
        "existing file is replaced only with --force.",
    )
    p.add_argument("path", help="the file to write")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.set_defaults(func=cmd_backup, needs_unlock=False)

    p = add(
        "restore-backup",
        help="bring back a backup (the current vault is kept beside it)",
        description="Checks the backup opens with its passphrase before anything changes, "
        "then makes it this profile's vault. The vault it replaces is moved to "
        "NAME.mysafe.before-restore-DATE, never deleted. An unlock agent of the old vault "
        "locks by itself.",
    )
    p.add_argument("path", help="a file written by 'mysafe backup'")
    p.set_defaults(func=cmd_restore, needs_unlock=False)


async def cmd_backup(args: argparse.Namespace, service: VaultService) -> int:
    from ..core.errors import VaultNotFound

    if not service.vault_exists():
        raise VaultNotFound(f"no vault at {service.vault_path}")
    target = Path(args.path).expanduser()
    written = await service.backup(target, overwrite=args.force)
    say(f"mysafe: backed up {service.vault_path} to {q(str(target))} ({size(written)})")
    return 0


async def cmd_restore(args: argparse.Namespace, service: VaultService) -> int:
    from . import prompts

    source = Path(args.path).expanduser()
    if not source.is_file():
        say(f"mysafe: no backup at {q(str(source))}")
        return 1
    secret = prompts.passphrase("Passphrase of the backup: ", args.passphrase_file)
    count, kept = await service.restore_backup(source, secret)
    say(f"mysafe: restored {count} item(s) from {q(str(source))}")
    if kept is not None:
        say(f"mysafe: the vault it replaced is kept at {kept}")
    return 0

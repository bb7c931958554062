"""Coming and going: `mysafe import FORMAT PATH` (other managers' exports, with a report of
anything that did not fit), `mysafe backup PATH` and `mysafe restore-backup PATH` (an encrypted
copy of the vault, and bringing one back; the vault it replaces is kept beside it). (`restore`
is MySafe's own word for taking an item out of the trash.)"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mysafe_tui.cli.output import ProgressLine, q, say
from mysafe_tui.core.humanize import size

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService
    from mysafe_tui.transfer.importing import Candidate
    from mysafe_tui.transfer.importing import Report as ImportReport


def add_parsers(add: AddParser) -> None:
    p = add(
        "import",
        help="import another manager's export (KeePass, Bitwarden, 1Password, pass, CSV)",
        description="Reads a KeePass database (KDBX 3.1 or 4, or KeePass XML), a Bitwarden "
        "JSON export (password-protected or not), a 1Password .1pux or 1Password 7 CSV, a "
        "pass store (a folder) or a CSV as browsers and Bitwarden write it; a password the "
        "file needs is asked for, or read from standard input. Reports what it found, how "
        "each kind maps, every field mysafe cannot hold (by item and field name), "
        "duplicates and weak spots; then "
        "writes everything in one transaction. --dry-run writes nothing. The report is also "
        "saved beside the vault.",
    )
    p.add_argument("format", choices=("keepass", "bitwarden", "1password", "pass", "csv"))
    p.add_argument("path", help="the export file (pass: the password-store folder)")
    p.add_argument("--dry-run", action="store_true", help="report only: write nothing")
    p.add_argument("--tag", default=None, help="tag every item (default: imported-YYYY-MM-DD)")
    p.add_argument(
        "--on-duplicate",
        choices=("rename", "skip", "keep-both", "update"),
        default="rename",
        help="an item with the name of one in the vault (ignoring case) and other content: "
        "import it as 'NAME (imported)' (rename, the default), skip it, keep both under the "
        "same name, or update the vault's local item. The same item (name, username, secret "
        "and URL) is always skipped, but with keep-both",
    )
    p.add_argument(
        "--columns",
        help="csv: its columns in order, when its first line (its header) names them "
        "otherwise (of name,url,username,password,notes,totp,folder; empty to ignore one)",
    )
    p.add_argument("--key-file", metavar="PATH", help="keepass: the database's key file")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.set_defaults(func=cmd_import)

    p = add(
        "export",
        help="write every item for another tool (bitwarden JSON, csv: PLAIN TEXT; keepass)",
        description="Writes every item with its secrets: 'keepass' as a KDBX 4 database "
        "under a new password (asked twice, or piped), 'bitwarden' as the JSON Bitwarden "
        "imports (with --encrypt: password-protected) and 'csv' as name,url,username,"
        "password,notes,totp,folder: without --encrypt both are PLAIN TEXT, readable by "
        "anything that reads the file. 0600; an existing file is replaced only with --force. "
        "Files and what a format cannot carry are listed.",
    )
    p.add_argument("format", choices=("keepass", "bitwarden", "csv"))
    p.add_argument("path", help="the file to write")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.add_argument(
        "--encrypt",
        action="store_true",
        help="bitwarden: a password-protected export (the password asked twice, or piped), "
        "which Bitwarden imports with that password",
    )
    p.set_defaults(func=cmd_export)

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
    from mysafe_tui.core.errors import VaultNotFound

    if not service.vault_exists():
        raise VaultNotFound(f"no vault at {service.vault_path}")
    target = Path(args.path).expanduser()
    written = await service.backup(target, overwrite=args.force)
    say(f"mysafe: backed up {service.vault_path} to {q(str(target))} ({size(written)})")
    return 0


async def cmd_restore(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts

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


async def cmd_import(args: argparse.Namespace, service: VaultService) -> int:
    import json

    from mysafe_tui.transfer.importing import NeedsPassword

    path = Path(args.path).expanduser()
    columns = [c.strip().lower() for c in args.columns.split(",")] if args.columns else None
    progress = ProgressLine("Decrypting")  # a pass store: one gpg run per entry

    async def read(password: str | None) -> tuple[list[Candidate], ImportReport]:
        try:
            return await service.read_import(
                args.format,
                path,
                password=password,
                key_file=Path(args.key_file).expanduser() if args.key_file else None,
                columns=columns,
                progress=progress,
            )
        finally:
            progress.finish()

    try:
        found, report = await read(None)
    except NeedsPassword:  # a KeePass database, a protected Bitwarden export: ask, read again
        from mysafe_tui.cli.prompts import existing_secret

        found, report = await read(existing_secret(f"password of {path.name}"))
    if not args.dry_run and len(found) > 100:
        say(f"mysafe: importing {len(found)} item(s)...")
    tag = args.tag if args.tag is not None else f"imported-{time.strftime('%Y-%m-%d')}"
    report = await service.import_items(
        found, report, on_duplicate=args.on_duplicate, tag=tag, dry_run=args.dry_run
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for line in report.lines():
            print(q(line))
        verb = "would write" if args.dry_run else "wrote"
        print(f"{verb} {report.written} new item(s), updated {report.updated}")
    return 0


async def cmd_export(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli.prompts import single_line_secret
    from mysafe_tui.core.errors import InvalidInput

    target = Path(args.path).expanduser()
    if args.encrypt and args.format != "bitwarden":
        raise InvalidInput("--encrypt is for bitwarden (a KeePass database is always encrypted)")
    password = None
    if args.format == "keepass":
        password = single_line_secret("password of the new KeePass database")
    elif args.encrypt:
        password = single_line_secret("password of the Bitwarden export")
    done = await service.export(args.format, target, password=password, overwrite=args.force)
    for line in done.not_carried:
        say(f"mysafe: not carried: {q(line)}")
    say(f"mysafe: wrote {done.count} item(s) to {q(str(target))}")
    if password is None:
        say("mysafe: that file is PLAIN TEXT: delete it (shred) once it has been imported")
    return 0

"""`mysafe share | shares | revoke | open | share-server`: links to items (DESIGN.md §5), the
owner's side and the recipient's."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mysafe_tui.cli import prompts
from mysafe_tui.cli.output import q, raw_or_printable, say
from mysafe_tui.core.errors import InvalidInput, MySafeError
from mysafe_tui.core.humanize import moment

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService


def add_parsers(add: AddParser) -> None:
    p = add("share", help="make an expiring, view-limited link to an item")
    p.add_argument("name")
    p.add_argument("--expires", default="24h", help="1h, 24h, 7d... at most 30d (default 24h)")
    p.add_argument("--views", type=int, default=1, help="how many times it opens, 1-100 (1)")
    p.add_argument("--fields", help="comma-separated fields to include (default: the usual)")
    p.add_argument(
        "--password-prompt",
        action="store_true",
        help="protect the link with a password, asked for twice",
    )
    p.add_argument("--label", default="", help="a note for yourself in 'mysafe shares'")
    p.add_argument(
        "--to",
        metavar="EMAIL",
        default="",
        help="only for this recipient: the server mails them a notice, and a code to type "
        "when they open the link (you still send them the link: the server never has its key)",
    )
    p.add_argument("--json", action="store_true", help="print the link and policy as JSON")
    p.set_defaults(func=cmd_share)
    p = add("shares", help="your outgoing links: recipient, views, expiry, status")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--resend",
        metavar="SHARE",
        help="mail a link's recipient its notice again (the link, its share id or hash start)",
    )
    p.set_defaults(func=cmd_shares)
    p = add("revoke", help="kill a share link now (its content is deleted)")
    p.add_argument(
        "share",
        help="the link, its share id, or the hash 'mysafe shares' lists (its first characters do)",
    )
    p.set_defaults(func=cmd_revoke)
    p = add("open", help="open a share link someone sent you (no vault needed)")
    p.add_argument("url")
    p.add_argument(
        "--save",
        metavar="PATH",
        help="for a file: a folder to write it in, or a file path (default: here, under the "
        "sender's file name made safe; a taken name gets a number, never overwritten)",
    )
    p.add_argument("--force", action="store_true", help="with --save FILE: replace that file")
    p.add_argument(
        "--raw", action="store_true", help="print field values exactly, even to a terminal"
    )
    p.set_defaults(func=cmd_open, needs_unlock=False, needs_vault=False)
    p = add("share-server", help="a mysafe serve server to host a local vault's links")
    p.add_argument("url", nargs="?", help="server URL (or $SENHASEGURA_URL)")
    p.add_argument("--client-id", help="access key client id (or $SENHASEGURA_CLIENT_ID)")
    p.set_defaults(func=cmd_share_server)


async def cmd_share(args: argparse.Namespace, service: VaultService) -> int:

    item = await service.find(args.name)
    fields = None
    if args.fields:
        fields = tuple(f.strip() for f in args.fields.split(",") if f.strip())
    password = prompts.single_line_secret("link password") if args.password_prompt else None
    created = await service.share_item(
        item.id,
        fields=fields,
        expires_in=service.parse_duration(args.expires),
        views=args.views,
        password=password,
        label=args.label,
        recipient=args.to,
    )
    expires = moment(created.expires_at)
    if args.json:
        print(
            json.dumps(
                {
                    "link": str(created.link),
                    "share_hash": created.share_hash,
                    "expires_at": created.expires_at,
                    "max_views": created.max_views,
                    "password_protected": created.password_protected,
                    "recipient": created.recipient,
                    "mail_status": created.mail_status,
                },
                indent=2,
            )
        )
        return 0
    print(str(created.link))
    views = "once" if created.max_views == 1 else f"{created.max_views} times"
    protected = ", with the password you set" if created.password_protected else ""
    say(
        f"'{item.name}' can be opened {views} until {expires}{protected}. The server never "
        "sees the key (the part after #)."
    )
    if created.recipient:
        to = q(created.recipient)
        if created.mail_status.startswith("failed"):
            why = q(created.mail_status.removeprefix("failed: "))
            say(
                f"mysafe: the server could not mail {to} ({why}); the link works once they "
                "have it: 'mysafe shares --resend' tries again"
            )
        say(
            f"Send this link to {to} yourself. The server mailed them a notice, and mails "
            "them a code to type when they open it: only that inbox opens it."
        )
    return 0


async def cmd_shares(args: argparse.Namespace, service: VaultService) -> int:
    rows = await service.list_shares()
    if args.resend:
        row = _one_share(rows, args.resend)
        say(q(await service.resend_share(str(row["share_hash"]))))
        return 0
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("No share links yet ('mysafe share NAME' makes one).")
        return 0
    for row in rows:
        views = f"{row['views_used']}/{row['max_views']} views"
        label = f"  ({q(str(row['label']))})" if row.get("label") else ""
        to = ""
        if row.get("recipient"):
            mail = str(row.get("mail_status") or "")
            mail = "mail failed" if mail.startswith("failed") else mail
            to = f"  to {q(str(row['recipient']))}" + (f" ({q(mail)})" if mail else "")
        print(
            f"{row['share_hash'][:10]}  {row['status']:<8}  {views:<12} expires "
            f"{q(str(row['expires_at']))}  {q(str(row['item']))}{label}{to}"
        )
    return 0


async def cmd_revoke(args: argparse.Namespace, service: VaultService) -> int:
    row = _one_share(await service.list_shares(), args.share)
    await service.revoke_share(row["share_hash"])
    say(f"Revoked the link to '{row['item']}': its content is deleted from the server.")
    return 0


def _one_share(rows: list[dict[str, Any]], given: str) -> dict[str, Any]:
    """The one outgoing link `given` names (see `_share_hash`)."""
    wanted = _share_hash(given.strip())
    matches = [r for r in rows if str(r["share_hash"]).startswith(wanted)]
    if len(matches) != 1:
        raise InvalidInput(
            f"{'no' if not matches else 'more than one'} share starts with "
            f"{given!r}; see 'mysafe shares'"
        )
    return matches[0]


def _share_hash(given: str) -> str:
    """What `revoke` was given, as (the start of) a share hash: the link itself, the share
    id from it, or the hash `mysafe shares` lists."""
    import hashlib

    from mysafe_tui.core.sharecrypto import ShareLink

    if "/s/" in given:
        given = ShareLink.parse(given).share_id
    elif re.fullmatch(r"[0-9a-fA-F]{1,64}", given):
        return given.lower()  # a hash or its first characters
    return hashlib.sha256(given.encode()).hexdigest()  # a share id


async def cmd_open(args: argparse.Namespace, service: VaultService) -> int:

    from mysafe_tui.core.sanitize import safe_filename
    from mysafe_tui.system.disk import check_room, write_atomic, write_new

    save = Path(args.save).expanduser() if args.save else None
    folder = Path.cwd() if save is None else save if save.is_dir() else save.parent

    def before_reveal(status: dict[str, Any]) -> None:
        """A one-view link must not be spent on a write that is bound to fail."""
        if status.get("kind") != "file":
            return
        if save is not None and not save.is_dir() and os.path.lexists(save) and not args.force:
            raise InvalidInput(f"{save} exists; nothing was opened (give --force to replace it)")
        try:
            check_room(folder, int(status.get("size") or 0))
        except MySafeError as exc:
            raise InvalidInput(f"{exc}; nothing was opened, the link still works") from None

    async def ask() -> str:
        return _answer("This link has a password: ", "a password", hidden=True)

    async def ask_code(sent: str) -> str:
        say(f"{sent}.")
        return _answer("Code: ", "the mailed code", hidden=False).strip()

    payload = await service.open_share(args.url, ask, before_reveal, ask_code)
    say(payload.title)
    for field in payload.fields:
        print(f"{q(str(field['label']))}: {raw_or_printable(str(field['value']), args.raw)}")
    if payload.file_name is None:
        return 0
    name = safe_filename(payload.file_name)
    try:
        if save is not None and not save.is_dir():
            write_atomic(save, payload.content, overwrite=args.force)
            target = save
        else:
            target = write_new(folder, name, payload.content)
    except MySafeError as exc:
        # The view is spent: the content must not be lost with it.
        kept = write_new(_received_dir(service), name, payload.content)
        raise InvalidInput(f"{exc}; the file was kept at {kept} (readable only by you)") from None
    say(f"Saved {name} ({len(payload.content)} bytes) to {target}")
    return 0


def _answer(question: str, what: str, *, hidden: bool) -> str:
    """A line from stdin when it is not a terminal, else asked for at the terminal."""
    if sys.stdin.isatty():
        answer = prompts.ask(question, hidden=hidden)
    else:
        answer = sys.stdin.readline().rstrip("\r\n")
    if not answer:  # as typed: a password is exact
        raise InvalidInput(f"this link needs {what} and none was given; nothing was spent")
    return answer


def _received_dir(service: VaultService) -> Path:
    """Where opened files go when their destination failed after the view was spent."""
    from mysafe_tui.system.disk import secure_directory

    folder = service.paths.data_dir / "received"
    secure_directory(folder)  # the data folder too, when no vault made it yet
    return folder


async def cmd_share_server(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli.remote import access_key

    url, client_id, secret = access_key(args)
    await service.set_share_server(url, client_id, secret)
    say(f"Links from this vault are now hosted by {url}.")
    return 0

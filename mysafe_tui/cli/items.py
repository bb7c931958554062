"""Item commands: list, get, copy, totp, add, attach, save, edit, rm, restore, purge (init,
passwd and generate are in passphrase.py)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mysafe_tui.cli import ssh
from mysafe_tui.cli.output import ProgressLine, q, raw_or_printable, said_waiting, say
from mysafe_tui.core.humanize import size

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.core.models import ItemKind, ItemSummary
    from mysafe_tui.service import VaultService
    from mysafe_tui.service.index import Brief

KIND_HELP = "only items of this kind (password, note, ...)"


def kind_arg(text: str) -> ItemKind:
    """`--kind`: parsed as it is read, so a wrong one is a usage error naming the kinds."""
    from mysafe_tui.core.models import ItemKind

    try:
        return ItemKind.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parsers(add: AddParser, common: argparse.ArgumentParser) -> None:
    """The item commands' options; `common` carries the global ones (--profile, ...)."""

    p = add("list", aliases=["ls", "search"], help="list or search items")
    p.add_argument(
        "query",
        nargs="*",
        help="fuzzy search words, and words that narrow: owner:NAME (owner:me), "
        "shared:yes|no|with-me, kind:KIND, tag:TAG, fav:yes|no",
    )
    p.add_argument("--kind", type=kind_arg, metavar="KIND", help=KIND_HELP)
    p.add_argument("--trash", action="store_true", help="list deactivated items instead")
    p.add_argument("--favourites", action="store_true", help="only favourites")
    p.add_argument("--json", action="store_true", help="machine-readable output (no secrets)")
    p.set_defaults(func=cmd_list)

    p = add("get", aliases=["show"], help="print a secret (the password by default) or a field")
    p.add_argument("name", help="item name or id")
    p.add_argument("--kind", type=kind_arg, metavar="KIND", help=KIND_HELP)
    p.add_argument("--field", help="field to print (username, url, notes, totp, ...)")
    p.add_argument("--json", action="store_true", help="every field, secrets included")
    p.add_argument(
        "--raw",
        action="store_true",
        help="print the exact value even to a terminal (control characters are shown "
        "escaped on a terminal otherwise; a pipe always gets the exact value)",
    )
    p.set_defaults(func=cmd_get)

    p = add(
        "copy",
        help="copy a secret (the password by default) and clear it after the set time",
        description="Copy to the system clipboard, or to your terminal's over SSH (OSC 52, "
        "tmux) as the UI does; a small detached process clears it after the time in "
        "settings if the clipboard still holds it.",
    )
    p.add_argument("name", help="item name or id")
    p.add_argument("--kind", type=kind_arg, metavar="KIND", help=KIND_HELP)
    p.add_argument("--field", help="field to copy (username, url, totp, ...)")
    p.set_defaults(func=cmd_copy)

    p = add("totp", help="print an item's current one-time code (RFC 6238)")
    p.add_argument("name", help="item name or id")
    p.add_argument("--copy", action="store_true", help="copy it instead, as 'mysafe copy' does")
    p.set_defaults(func=cmd_totp)

    kinds = add("add", help="add an item").add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    add_kind: AddParser = partial(kinds.add_parser, parents=[common])
    p = add_kind("password", help="a login; the password comes from stdin or a prompt")
    p.add_argument("--name", required=True)
    p.add_argument("--username", default="", help="optional: a Wi-Fi key or a PIN has none")
    p.add_argument("--url", default="")
    p.add_argument("--tags", default="", help="comma-separated")
    p.add_argument(
        "--totp",
        nargs="?",
        const=True,
        metavar="",
        help="also ask for a TOTP seed (base32 or otpauth:// URI): at a hidden prompt, or on "
        "the line of standard input after the password",
    )
    p.add_argument("--generate", action="store_true", help="generate the password instead")
    p.add_argument("--length", type=int, default=24, help="generated password length")
    p.set_defaults(func=cmd_add_password)
    p = add_kind("note", help="a secure note; the body comes from stdin or $EDITOR")
    p.add_argument("--name", required=True)
    p.add_argument("--tags", default="")
    p.set_defaults(func=cmd_add_note)
    p = add_kind("api-secret", help="API credentials; the client secret from stdin")
    p.add_argument("--name", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--identifier-code", default="")
    p.add_argument("--method", default="")
    p.add_argument("--tags", default="")
    p.set_defaults(func=cmd_add_api_secret)
    ssh.add_key_parser(add_kind)

    p = add(
        "attach",
        help="encrypt a file into the vault, or onto an item",
        description="Encrypt a file into the vault as a file item (streamed: any size), or "
        "with --to keep it on an existing item (an ssh key on a server's login). Attachments "
        "stay on this device: no server holds them.",
    )
    p.add_argument("path", type=Path)
    p.add_argument("--name")
    p.add_argument("--tags", default="")
    p.add_argument("--to", metavar="ITEM", help="attach to this item instead")
    p.set_defaults(func=cmd_attach)

    p = add(
        "save",
        help="decrypt a file item to a path",
        description="Decrypt a file item to PATH (a folder: under the file's own name, made "
        "safe). Never replaces an existing file without --force.",
    )
    p.add_argument("name")
    p.add_argument("path", type=Path)
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_save)

    p = add("edit", help="change fields of an item")
    p.add_argument("name")
    p.add_argument("--kind", type=kind_arg, metavar="KIND", help=KIND_HELP)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a plain field: name, username, url, tags, method... (secret fields are refused "
        "here: use --secret)",
    )
    p.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="FIELD",
        help="a secret field (password, note, client_secret...): read from stdin "
        "or a hidden prompt, never from the command line",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite the server copy even if it changed since the last sync",
    )
    p.set_defaults(func=cmd_edit)

    p = add("rm", help="move an item to the trash (restorable)")
    p.add_argument("name")
    p.add_argument("--kind", type=kind_arg, metavar="KIND", help=KIND_HELP)
    p.set_defaults(func=cmd_rm)

    p = add("restore", help="bring an item back from the trash")
    p.add_argument("name")
    p.set_defaults(func=cmd_restore)

    p = add("purge", help="delete an item from the trash for good")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_purge)


async def cmd_list(args: argparse.Namespace, service: VaultService) -> int:
    query = " ".join(args.query)
    items = await service.search(
        query, kind=args.kind, trash=args.trash, favourites_only=args.favourites
    )
    if args.json:
        print(json.dumps([item.to_json() for item in items], indent=2))
        return 0
    if not items:
        print("No items." if not query else f"Nothing matches '{q(query)}'.")
        return 0
    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.core.sanitize import is_plain, printable  # once: 100k items make 300k cells

    def detail(kind: ItemKind, b: Brief) -> str:
        if kind is ItemKind.FILE:
            return f"{b.file_name} ({size(b.size)})"
        return b.username or b.url or b.identifier_code

    rows = []
    for record in items.records():
        b = record.brief()
        cells = (("* " if b.favourite else "") + b.name, detail(record.kind, b), b.tags)
        if not is_plain("".join(cells)):  # the rare name with a control in it: escaped
            cells = (printable(cells[0]), printable(cells[1]), printable(cells[2]))
        rows.append((cells[0], record.kind.label, cells[1], cells[2], record.id[:8]))
    widths = [min(max(len(r[c]) for r in rows), 40) for c in range(4)]
    w0, w1, w2, w3 = widths
    sys.stdout.write(
        "".join(
            f"{a[:w0]:<{w0}}  {b[:w1]:<{w1}}  {c[:w2]:<{w2}}  {d[:w3]:<{w3}}  {e}".rstrip() + "\n"
            for a, b, c, d, e in rows
        )
    )
    return 0


async def cmd_get(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.errors import InvalidInput
    from mysafe_tui.core.models import SPECS, ItemKind

    item = await service.find(args.name, args.kind)
    if args.json:
        data = item.to_json()
        secrets = await service.reveal(item.id, used=True)
        data.update({name: value.reveal() for name, value in secrets.items()})
        found = await service.extras(item.id)
        if found.fields:
            data["custom_fields"] = [f.to_json() for f in found.fields]
        if found.history:
            data["password_history"] = [{"value": h.value, "date": h.date} for h in found.history]
        if found.attachments:
            data["attachments"] = [a.public() for a in found.attachments]
        print(json.dumps(data, indent=2))
        return 0
    value, _ = await service.field_value(item.id, args.field or SPECS[item.kind].primary)
    if item.kind is ItemKind.FILE and not args.field:
        raise InvalidInput(
            f"'{item.name}' is a file: use 'mysafe save {shlex.quote(args.name)} PATH'"
        )
    print(raw_or_printable(value, args.raw))
    return 0


async def cmd_copy(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.errors import InvalidInput
    from mysafe_tui.core.models import SPECS, ItemKind

    item = await service.find(args.name, args.kind)
    if item.kind is ItemKind.FILE and not args.field:
        raise InvalidInput(f"'{item.name}' is a file: 'mysafe save {shlex.quote(args.name)}'")
    await _copy(service, item, args.field or SPECS[item.kind].primary)
    return 0


async def _copy(service: VaultService, item: ItemSummary, field: str) -> None:
    """Copy one field; a detached helper clears it after the set time."""
    from mysafe_tui.cli.clearer import start

    message = await service.copy_field(item.id, field)
    state = service.hand_over_clipboard()
    if state is not None:
        start(state, service.settings.clipboard)
    say(message)


async def cmd_totp(args: argparse.Namespace, service: VaultService) -> int:
    """The code on stdout (for a script or a paste); on a terminal, how long it lasts."""
    item = await service.find(args.name)
    if args.copy:
        await _copy(service, item, "totp")
        return 0
    code = await service.totp(item.id)
    print(code.code)
    if sys.stderr.isatty():
        say(f"{q(item.name)}: valid for {code.seconds_left} more second(s)")
    return 0


async def cmd_add_password(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts
    from mysafe_tui.core.errors import InvalidInput
    from mysafe_tui.core.models import ItemKind

    if args.totp not in (None, True):
        raise InvalidInput(
            "the TOTP seed is never taken from the command line (ps, shell history): give "
            "--totp alone and type the seed at the prompt, or pipe it as the next line"
        )
    wanted = [] if args.generate else ["password"]
    wanted += ["TOTP seed"] if args.totp else []
    answers = prompts.single_line_secrets(wanted)
    password = service.generate_password(args.length) if args.generate else answers["password"]
    values: dict[str, Any] = {
        "name": args.name,
        "username": args.username,
        "url": args.url,
        "tags": args.tags,
        "password": password,
    }
    if args.totp:
        values["secret_key"] = answers["TOTP seed"]
    return _added(await service.create_item(ItemKind.PASSWORD, values))


async def cmd_add_note(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts
    from mysafe_tui.core.models import ItemKind

    body = prompts.multi_line_text("note")
    values = {"name": args.name, "tags": args.tags, "note": body}
    return _added(await service.create_item(ItemKind.NOTE, values))


async def cmd_add_api_secret(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts
    from mysafe_tui.core.models import ItemKind

    values = {
        "name": args.name,
        "url": args.url,
        "client_id": args.client_id,
        "identifier_code": args.identifier_code,
        "method": args.method,
        "tags": args.tags,
        "client_secret": prompts.single_line_secret("client secret"),
    }
    return _added(await service.create_item(ItemKind.API_SECRET, values))


def _added(item: ItemSummary) -> int:
    say(f"Added {item.kind.noun} '{item.name}' (id {item.id})")
    said_waiting(item.outbox)
    return 0


async def cmd_attach(args: argparse.Namespace, service: VaultService) -> int:
    owner = await service.find(args.to) if args.to else None
    progress = ProgressLine("Encrypting")
    try:
        if owner is not None:
            added = await service.add_attachment(owner.id, args.path, progress=progress)
        else:
            item = await service.attach_file(
                args.path, name=args.name, tags=args.tags, progress=progress
            )
    finally:
        progress.finish()
    if owner is not None:
        say(f"Attached {q(added.name)} ({size(added.size)}) to '{q(owner.name)}'")
        return 0
    return _added(item)


async def cmd_save(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.errors import InvalidInput, ItemNotFound
    from mysafe_tui.core.models import ItemKind

    try:
        item = await service.find(args.name, ItemKind.FILE)
    except ItemNotFound:
        other = await service.find(args.name)  # not a file: say what it is instead
        raise InvalidInput(
            f"'{other.name}' is {other.kind.noun}, not a file: "
            f"'mysafe get {shlex.quote(args.name)}' prints it"
        ) from None
    progress = ProgressLine("Decrypting")
    try:
        target = await service.save_file(
            item.id, args.path, overwrite=args.force, progress=progress
        )
    finally:
        progress.finish()
    say(f"Saved '{item.name}' to {target}")
    return 0


def secret_fields() -> frozenset[str]:
    """Every field that holds a secret in any kind: never accepted from argv."""
    from mysafe_tui.core.models import SPECS

    return frozenset(name for spec in SPECS.values() for name in spec.secret)


async def cmd_edit(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts
    from mysafe_tui.core.errors import InvalidInput, RemoteConflict

    item = await service.find(args.name, args.kind)
    values: dict[str, Any] = {}
    for pair in args.set:
        field, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(f"--set wants FIELD=VALUE, not {pair!r}")
        field = field.strip()
        if field in secret_fields():
            raise InvalidInput(
                f"'{field}' is a secret and is never taken from the command line (ps, shell "
                f"history): use --secret {field}, which reads standard input or a hidden prompt"
            )
        values[field] = value
    for field in args.secret:
        multi = field in ("note", "notes")
        values[field] = (
            prompts.multi_line_text(field) if multi else (prompts.single_line_secret(field))
        )
    if not values:
        raise InvalidInput("nothing to change: give --set FIELD=VALUE or --secret FIELD")
    try:
        saved = await service.update_item(item.id, values, force=args.force)
    except RemoteConflict:
        raise InvalidInput(
            f"'{item.name}' changed on the server since the last sync; nothing was saved. Run "
            "'mysafe sync' to see the server copy, or repeat with --force to overwrite it"
        ) from None
    say(f"Saved '{saved.name}'")
    said_waiting(saved.outbox)
    return 0


async def cmd_rm(args: argparse.Namespace, service: VaultService) -> int:
    item = await service.find(args.name, args.kind)
    moved = await service.deactivate(item.id)
    say(f"Moved '{item.name}' to the trash ('mysafe restore' brings it back)")
    said_waiting(moved.outbox)
    return 0


async def cmd_restore(args: argparse.Namespace, service: VaultService) -> int:
    item = await service.find(args.name, trash=True)
    restored = await service.restore(item.id)
    say(f"Restored '{item.name}'")
    said_waiting(restored.outbox)
    return 0


async def cmd_purge(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts

    item = await service.find(args.name, trash=True)
    if not args.yes and not prompts.confirm(f"Delete '{item.name}' for good?"):
        say("Nothing deleted.")
        return 1
    await service.purge(item.id)
    say(f"Deleted '{item.name}' for good")
    return 0

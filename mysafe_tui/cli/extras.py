"""What an item holds beyond its kind's fields: `mysafe info`, `field`, `url`, `attach --to`
(in items.py), `attachment`, `old-passwords`.

A secret value (a hidden field, an old password) is read from standard input or a hidden
prompt, never from the command line, and printed only when asked for by name."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from mysafe_tui.cli.items import kind_arg
from mysafe_tui.cli.output import ProgressLine, q, raw_or_printable, say
from mysafe_tui.core.humanize import moment, size

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService

MASK = "••••••••"


def add_parsers(add: AddParser, common: argparse.ArgumentParser) -> None:
    p = add(
        "info",
        help="everything an item holds, secrets masked",
        description="An item's fields, more URLs, custom fields (hidden ones masked), "
        "attachments, how many old passwords it keeps and who it is shared with. "
        "'mysafe get NAME --field LABEL' prints one value.",
    )
    p.add_argument("name")
    p.add_argument("--kind", type=kind_arg, metavar="KIND")
    p.set_defaults(func=cmd_info)

    fields = add("field", help="add, change or remove a custom field").add_subparsers(
        dest="action", metavar="ACTION"
    )
    fields.required = True
    fields_add: AddParser = partial(fields.add_parser, parents=[common])
    p = fields_add(
        "set",
        help="add a field, or change the one with this label",
        description="The value comes from standard input or a prompt (hidden for the hidden "
        "and totp types), never from the command line.",
    )
    p.add_argument("name")
    p.add_argument("label")
    p.add_argument(
        "--type",
        choices=("text", "hidden", "url", "totp", "email", "number"),
        help="the field's type (a new field: text; a known one keeps its own)",
    )
    p.set_defaults(func=cmd_field_set)
    p = fields_add("rm", help="remove a custom field")
    p.add_argument("name")
    p.add_argument("label")
    p.set_defaults(func=cmd_field_rm)

    urls = add("url", help="add or remove one of a login's URLs").add_subparsers(
        dest="action", metavar="ACTION"
    )
    urls.required = True
    urls_add: AddParser = partial(urls.add_parser, parents=[common])
    for action, text in (("add", "add a URL after the first"), ("rm", "remove a URL")):
        p = urls_add(action, help=text)
        p.add_argument("name")
        p.add_argument("url")
        p.set_defaults(func=cmd_url)

    files = add("attachment", help="save or remove a file kept on an item").add_subparsers(
        dest="action", metavar="ACTION"
    )
    files.required = True
    files_add: AddParser = partial(files.add_parser, parents=[common])
    p = files_add("save", help="decrypt an attachment to PATH (a folder: its own name)")
    p.add_argument("name")
    p.add_argument("file", help="the attachment's name")
    p.add_argument("path", type=Path)
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_attachment_save)
    p = files_add("rm", help="remove an attachment for good")
    p.add_argument("name")
    p.add_argument("file", help="the attachment's name")
    p.set_defaults(func=cmd_attachment_rm)

    p = add(
        "old-passwords",
        help="a login's earlier passwords: list, print one, or make one current again",
    )
    p.add_argument("name")
    p.add_argument("--show", type=int, metavar="N", help="print old password N (1: newest)")
    p.add_argument(
        "--restore", type=int, metavar="N", help="make old password N the password again"
    )
    p.set_defaults(func=cmd_old_passwords)


async def cmd_info(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.models import SPECS, field_label

    item = await service.find(args.name, args.kind)
    found = await service.extras(item.id)
    rows = [("Kind", item.kind.label)]
    secrets = await service.reveal(item.id)
    for name in SPECS[item.kind].fields:
        if name in SPECS[item.kind].summary:
            value = item.field(name)
        else:
            value = MASK if secrets[name] else ""
        if name == "size" and item.size:
            value = size(item.size)
        if value and value != "0":
            rows.append((field_label(name), value))
    rows += [("URL", url) for url in found.urls]
    rows += [(f.label, MASK if f.secret else f.value) for f in found.fields]
    rows += [
        (f"Attachment {n}", f"{a.name} ({size(a.size)})")
        for n, a in enumerate(found.attachments, 1)
    ]
    if found.history:
        rows.append(("Old passwords", f"{len(found.history)} ('mysafe old-passwords')"))
    if item.sharing_line():
        rows.append(("Sharing", item.sharing_line()))
    held = found.kept_locally(service.server_keeps_extras())
    if item.remote and held:
        rows.append(("This device only", ", ".join(held)))
    width = min(max(len(q(label)) for label, _ in rows), 24)
    for label, value in rows:
        lines = q(value).split("\n") if "\n" in value else [q(value)]
        print(f"{q(label):<{width}}  {lines[0]}")
        for line in lines[1:]:
            print(f"{'':<{width}}  {line}")
    return 0


async def cmd_field_set(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.cli import prompts
    from mysafe_tui.core.extras import FieldType

    item = await service.find(args.name)
    known = (await service.extras(item.id)).field(args.label)
    kind = FieldType(args.type or (known.type if known else "text"))
    label = f"value of {q(args.label)}"
    value = prompts.single_line_secret(label) if kind.secret else prompts.one_line(label)
    await service.set_field(item.id, args.label, value, args.type)
    done = "Changed the field" if known else "Added the field"
    say(f"{done} '{q(args.label)}' {'of' if known else 'to'} '{q(item.name)}'")
    return 0


async def cmd_field_rm(args: argparse.Namespace, service: VaultService) -> int:
    item = await service.find(args.name)
    await service.remove_field(item.id, args.label)
    say(f"Removed the field '{q(args.label)}' from '{q(item.name)}'")
    return 0


async def cmd_url(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.errors import InvalidInput

    item = await service.find(args.name)
    url = args.url.strip()
    if args.action == "add":
        urls = [*item.urls, url] if item.url else list(item.urls)
        values = {"urls": urls} if item.url else {"url": url}
        said = "Added"
    elif url == item.url:  # the main one goes: the next takes its place
        values = {"url": item.urls[0] if item.urls else "", "urls": item.urls[1:]}
        said = "Removed"
    elif url in item.urls:
        values = {"urls": [u for u in item.urls if u != url]}
        said = "Removed"
    else:
        raise InvalidInput(f"'{q(item.name)}' has no URL '{q(url)}'")
    await service.update_item(item.id, values)
    say(f"{said} {q(url)} {'to' if said == 'Added' else 'from'} '{q(item.name)}'")
    return 0


async def cmd_attachment_save(args: argparse.Namespace, service: VaultService) -> int:
    item = await service.find(args.name)
    progress = ProgressLine("Decrypting")
    try:
        target = await service.save_attachment(
            item.id, args.file, args.path, overwrite=args.force, progress=progress
        )
    finally:
        progress.finish()
    say(f"Saved {q(target.name)} to {q(str(target))}")
    return 0


async def cmd_attachment_rm(args: argparse.Namespace, service: VaultService) -> int:
    item = await service.find(args.name)
    await service.remove_attachment(item.id, args.file)
    say(f"Removed the attachment {q(args.file)} from '{q(item.name)}'")
    return 0


async def cmd_old_passwords(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.errors import InvalidInput

    item = await service.find(args.name)
    history = (await service.extras(item.id)).history
    chosen = args.restore if args.restore is not None else args.show
    if chosen is not None and not 1 <= chosen <= len(history):
        raise InvalidInput(f"'{q(item.name)}' keeps {len(history)} old password(s)")
    if args.restore is not None:
        await service.restore_password(item.id, args.restore - 1)
        say(f"Old password {args.restore} of '{q(item.name)}' is its password again")
    elif args.show is not None:
        print(raw_or_printable(history[args.show - 1].value, False))
    elif not history:
        say(f"'{q(item.name)}' keeps no old passwords.")
    else:
        for n, old in enumerate(history, 1):
            print(f"{n:>3}  until {moment(old.date)}  {MASK}")
    return 0

"""`mysafe versions NAME` and `mysafe restore-version NAME N`: an item's earlier versions.

The list says when, from which device and which fields changed; values only of the fields
that are not secret, and a version's secrets only when asked for by number (`--show N`)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from mysafe_tui.cli.output import q, say
from mysafe_tui.core.humanize import moment
from mysafe_tui.core.sanitize import printable

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService


def add_parsers(add: AddParser) -> None:
    p = add(
        "versions",
        help="an item's earlier versions: when, from where, what changed",
        description="Every save that changes an item keeps it as it was (at most "
        "versions_kept, 20, in settings). Secret values are printed only with --show N.",
    )
    p.add_argument("name", help="item name or id")
    p.add_argument("--show", type=int, metavar="N", help="every field of version N (1: newest)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_versions)

    p = add(
        "restore-version",
        help="bring an item back to an earlier version (what it holds now is kept as one)",
    )
    p.add_argument("name", help="item name or id")
    p.add_argument("number", type=int, metavar="N", help="the version (1: newest)")
    p.set_defaults(func=cmd_restore_version)


async def cmd_versions(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.errors import InvalidInput

    item = await service.find(args.name)
    found = await service.versions(item.id)
    if args.show is not None:
        if not 1 <= args.show <= len(found):
            raise InvalidInput(f"'{q(item.name)}' has {len(found)} earlier version(s)")
        version = found[args.show - 1][0]
        if args.json:
            print(json.dumps({"number": args.show, **version.to_json(True, item.kind)}))
            return 0
        print(f"version {args.show} of '{q(item.name)}', until {moment(version.at)}")
        for name, value in version.fields.items():  # a note keeps its lines, escaped
            print(f"{name}: {printable(value, multiline=True)}")
        return 0
    rows = [
        {"number": n, **version.to_json(False, item.kind), "changed": names}
        for n, (version, names) in enumerate(found, 1)
    ]
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        say(f"'{q(item.name)}' has no earlier versions yet.")
    for row in rows:
        what = ", ".join(row["changed"]) or "nothing typed"
        print(f"{row['number']:>3}  until {moment(row['at'])}  {q(row['by'])}  {what} changed")
    return 0


async def cmd_restore_version(args: argparse.Namespace, service: VaultService) -> int:
    item = await service.find(args.name)
    await service.restore_version(item.id, args.number)
    say(f"'{q(item.name)}' is as it was in version {args.number}; what it held is version 1")
    return 0

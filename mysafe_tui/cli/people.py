"""MySafe's own sharing between people on one server: `share-with` (users and groups, view or
edit) and `history` (who did what to an item, from servers that keep it)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .output import q, say

if TYPE_CHECKING:
    from ..core.models import ItemSummary
    from ..service import VaultService
    from .parser import AddParser


def add_parsers(add: AddParser) -> None:
    p = add(
        "share-with",
        help="share an item with users and groups of its server (view or edit)",
        description="MySafe's internal sharing: people with an account on the same server see "
        "the item in their own vault. Without --user or --group, shows who has it.",
    )
    p.add_argument("name", help="item name or id")
    p.add_argument("--user", action="append", default=[], metavar="USER", help="a user (repeat)")
    p.add_argument(
        "--group", action="append", default=[], metavar="GROUP", help="a group (repeat)"
    )
    p.add_argument("--edit", action="store_true", help="they may change it (default: view only)")
    p.add_argument("--remove", action="store_true", help="stop sharing with those named")
    p.add_argument("--json", action="store_true", help="who has it, as JSON")
    p.set_defaults(func=cmd_share_with)


def people_line(item: ItemSummary) -> str:
    """'Shared with you by alice, view only' or 'Shared with: bob (can edit)'."""
    people = item.people
    if item.access:
        by = f" by {people.owner}" if people.owner else ""
        what = "view only" if item.read_only else "you can edit it"
        return f"Shared with you{by}, {what}"
    return f"Shared with: {people.describe()}"


async def cmd_share_with(args: argparse.Namespace, service: VaultService) -> int:
    item = await service.find(args.name)
    errors: list[str] = []
    if args.user or args.group:
        item, errors = await service.share_with(
            item.id, args.user, args.group, edit=args.edit, remove=args.remove
        )
    elif args.edit or args.remove:
        say("mysafe: name the people: --user NAME or --group NAME")
        return 2
    if args.json:
        print(json.dumps({"item": item.name, **item.people.to_json(), "errors": errors}))
    else:
        print(f"{q(item.name)}: {q(people_line(item))}")
    for error in errors:
        say(f"mysafe: the server did not share with {error}")
    return 1 if errors else 0

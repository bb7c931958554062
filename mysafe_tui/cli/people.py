"""MySafe's own sharing between people on one server: `share-with` (users and groups, view or
edit), `groups` (your personal groups) and `history` (who did what to an item, from servers
that keep it)."""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

from mysafe_tui.cli.output import q, say

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService


def add_parsers(add: AddParser) -> None:
    p = add(
        "share-with",
        help="share an item with users and groups of its server (view or edit)",
        description="MySafe's internal sharing: people with an account on the same server see "
        "the item in their own vault. Without --user or --group, shows who has it.",
    )
    p.add_argument("name", help="item name or id")
    p.add_argument("--user", action="append", default=[], metavar="USER", help="a user (repeat)")
    p.add_argument("--group", action="append", default=[], metavar="GROUP", help="a group (repeat)")
    p.add_argument("--edit", action="store_true", help="they may change it (default: view only)")
    p.add_argument("--remove", action="store_true", help="stop sharing with those named")
    p.add_argument("--json", action="store_true", help="who has it, as JSON")
    p.set_defaults(func=cmd_share_with)

    p = add(
        "groups",
        help="your personal groups on mysafe serve: list, set, remove",
        description="Groups of people you make yourself, to share with by name "
        "(share-with --group NAME: one of yours when you have one so named, else the "
        "server's user group). `set` makes a group or replaces its members and description.",
    )
    p.add_argument("action", nargs="?", choices=("list", "set", "remove"), default="list")
    p.add_argument("group", nargs="?", metavar="NAME", help="the group (set, remove)")
    p.add_argument("--member", action="append", default=[], metavar="USER", help="(repeat)")
    p.add_argument("--description", default="", help="what the group is for")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_groups)

    p = add(
        "history",
        help="who created, read, changed or shared an item (servers that keep it)",
        description="The item's access history as its server kept it, newest first: the time, "
        "what happened, who, with which access key, from which address. `mysafe serve` keeps "
        "it; a plain senhasegura shows it in its own reports instead.",
    )
    p.add_argument("name", help="item name or id")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_history)


async def cmd_groups(args: argparse.Namespace, service: VaultService) -> int:
    if args.action != "list" and not args.group:
        say(f"mysafe: name the group: mysafe groups {args.action} NAME")
        return 2
    if args.action == "set":
        unknown = await service.save_group(args.group, args.description, args.member)
        for name in unknown:
            say(f"mysafe: no user named {q(name)} on the server: not added")
        print(f"personal group {q(args.group)}: {', '.join(map(q, args.member)) or 'no members'}")
        return 1 if unknown else 0
    if args.action == "remove":
        await service.delete_group(args.group)
        print(f"personal group {q(args.group)} removed, and every share with it")
        return 0
    found = await service.groups()
    if args.json:
        print(json.dumps(found))
        return 0
    if not found:
        print("No personal groups. Make one: mysafe groups set NAME --member USER")
    for group in found:
        about = f"  ({q(group['description'])})" if group.get("description") else ""
        if group.get("mine"):
            members = ", ".join(q(str(m)) for m in group.get("members") or ()) or "no members"
            print(f"{q(group['name'])}: {members}{about}")
        else:
            print(f"{q(group['name'])}: {q(str(group.get('owner')))}'s, you are in it{about}")
    return 0


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
        print(f"{q(item.name)}: {q(item.sharing_line() or 'shared with nobody')}")
    for error in errors:
        say(f"mysafe: the server did not share with {error}")
    return 1 if errors else 0


async def cmd_history(args: argparse.Namespace, service: VaultService) -> int:
    from dataclasses import asdict

    item = await service.find(args.name, trash=None)
    events = await service.history(item.id)
    if args.json:
        print(json.dumps([asdict(event) for event in events], indent=2))
        return 0
    if not events:
        print(f"No history for {q(item.name)} yet.")
        return 0
    for event in events:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.at))
        who = q(event.user) or "(a link's recipient)"
        what = q(event.event)  # every field came from the server: escaped
        line = f"{when}  {what:<11}  {who:<20}  {q(event.client_id):<24}  {q(event.address)}"
        print(f"{line.rstrip()}  with {q(event.detail)}" if event.detail else line)
    return 0

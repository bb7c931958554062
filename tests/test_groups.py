"""Personal groups on a real `mysafe serve` (server/group_store.py): made by their owner, shared
with by name, seen by their members only, gone with their shares; in the service and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_people import NAMES, Person

from mysafe_tui.core.models import ItemKind
from serverkit import RunningServer, start_server
from test_cli import Cli


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("groups"))
    yield running
    running.stop()


async def test_a_personal_group_is_shared_with_by_name_and_reaches_its_members_only(
    server: RunningServer, tmp_path: Path
) -> None:
    alice, bob, carol = [await Person(server, tmp_path / f"p{n}").start() for n in range(3)]
    try:
        friends = f"friends{next(NAMES)}"
        unknown = await alice.service.save_group(friends, "the usual", [bob.name, "ghost"])
        assert unknown == ["ghost"]
        # carol's own group of the same name: alice's shares never reach it
        assert await carol.service.save_group(friends, "", [carol.name]) == []
        mine = [g for g in await alice.service.groups() if g["mine"]]
        assert mine == [
            {"name": friends, "description": "the usual", "members": [bob.name], "mine": True}
        ]
        theirs = await bob.service.groups()
        assert theirs == [
            {"name": friends, "description": "the usual", "owner": alice.name, "mine": False}
        ]

        made = await alice.service.create_item(ItemKind.NOTE, {"name": "Cabin code", "note": "1"})
        item, errors = await alice.service.share_with(made.id, [], [friends])
        assert errors == [] and item.people.entries == (("personal", friends, False),)
        assert item.sharing_line() == f"shared with personal group {friends} (view only)"
        assert (await bob.shared("Cabin code")).read_only
        assert await carol.item("Cabin code") is None
        events = await alice.service.history(made.id)
        assert f"shared with personal group {friends} (view only)" in [e.what for e in events]

        await alice.service.delete_group(friends)
        assert await bob.item("Cabin code") is None  # the group went, and its shares
        assert (await alice.item("Cabin code")).people.entries == ()  # type: ignore[union-attr]
    finally:
        for person in (alice, bob, carol):
            await person.service.close()


def test_groups_on_the_command_line(server: RunningServer, tmp_path: Path) -> None:
    client_id, secret = server.new_user(f"person{next(NAMES)}")
    buddy_name = f"person{next(NAMES)}"
    server.new_user(buddy_name)
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    assert cli("login", server.url, "--client-id", client_id, stdin=secret + "\n").returncode == 0
    assert "No personal groups" in cli.ok("groups")
    out = cli.ok("groups", "set", "crew", "--member", buddy_name, "--description", "boat")
    assert out.strip() == f"personal group crew: {buddy_name}"
    assert cli.ok("groups").strip() == f"crew: {buddy_name}  (boat)"
    assert json.loads(cli.ok("groups", "--json"))[0]["members"] == [buddy_name]
    cli.ok("add", "note", "--name", "Mooring", stdin="buoy 7\n")
    assert "personal group crew (view only)" in cli.ok("share-with", "Mooring", "--group", "crew")
    failed = cli("groups", "set", "crew", "--member", "nobody-at-all")
    assert failed.returncode == 1 and "no user named nobody-at-all" in failed.stderr
    assert cli("groups", "remove").returncode == 2
    assert "removed" in cli.ok("groups", "remove", "crew")
    assert "No personal groups" in cli.ok("groups")


async def test_a_personal_group_and_a_server_group_of_one_name_stay_apart(
    server: RunningServer, tmp_path: Path
) -> None:
    alice = await Person(server, tmp_path / "alice").start()
    try:
        await alice.service.save_group("ops", "", [])  # the server has a user group "ops" too
        made = await alice.service.create_item(ItemKind.NOTE, {"name": "Pager", "note": "1"})
        await alice.service.share_with(made.id, [], ["ops"])  # a name: one's own group first
        item, _ = await alice.service.share_exactly(
            made.id, [("group", "ops")], edit=False, remove=False
        )
        assert item.people.entries == (("group", "ops", False), ("personal", "ops", False))
        item, _ = await alice.service.share_exactly(
            made.id, [("group", "ops")], edit=False, remove=True
        )  # the People dialog removes the very entry it lists
        assert item.people.entries == (("personal", "ops", False),)
    finally:
        await alice.service.close()

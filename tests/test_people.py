"""MySafe's internal sharing between people of one server, on a real `mysafe serve` (with its
extension, and as a plain senhasegura): users and groups, view or edit, refusals explained."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from conftest import FLOOR, PASSPHRASE, SERVER_MODES, start_in_mode
from mysafe_tui.core.errors import InvalidInput, NotSupported
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from serverkit import RunningServer
from test_cli import Cli

NAMES = itertools.count()


@pytest.fixture(scope="module", params=SERVER_MODES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    running = start_in_mode(request, tmp_path_factory)
    yield running
    running.stop()


class Person:
    def __init__(self, server: RunningServer, folder: Path) -> None:
        self.name = f"person{next(NAMES)}"
        self.client_id, self.secret = server.new_user(self.name)
        self.service = VaultService(Paths(folder, folder), kdf_params=FLOOR)
        self.server = server

    async def start(self) -> Person:
        await self.service.create(PASSPHRASE)
        await self.service.login(self.server.url, self.client_id, self.secret)
        return self

    async def second_device(self, folder: Path) -> Person:
        """The same account in a second vault (another device), logged in."""
        other = Person.__new__(Person)
        other.name, other.client_id, other.secret = self.name, self.client_id, self.secret
        other.server = self.server
        other.service = VaultService(Paths(folder, folder), kdf_params=FLOOR)
        return await other.start()

    async def item(self, name: str) -> ItemSummary | None:
        """The item as this person's vault has it after a sync (None: not there)."""
        await self.service.sync()
        found = {item.name: item for item in await self.service.search("")}
        return found.get(name)

    async def shared(self, name: str) -> ItemSummary:
        item = await self.item(name)
        assert item is not None, f"{name} is not in {self.name}'s vault"
        return item


@pytest.fixture
async def people(server: RunningServer, tmp_path: Path) -> AsyncIterator[list[Person]]:
    team = [await Person(server, tmp_path / f"p{n}").start() for n in range(3)]
    yield team
    for person in team:
        await person.service.close()


def add_group(server: RunningServer, name: str, *members: str) -> None:
    store = server.store()
    try:
        store.add_group(name, list(members))
    finally:
        store.close()


async def test_view_then_edit_then_removed(people: list[Person], server: RunningServer) -> None:
    alice, bob, _ = people
    made = await alice.service.create_item(
        ItemKind.PASSWORD, {"name": "Prod db", "username": "dba", "password": "db-S3cret"}
    )
    item, errors = await alice.service.share_with(made.id, [bob.name])
    assert errors == [] and item.people.entries == (("user", bob.name, False),)

    seen = await bob.shared("Prod db")
    assert seen.read_only
    assert (await bob.service.reveal(seen.id))["password"].reveal() == "db-S3cret"
    with pytest.raises(InvalidInput, match="shared with you .*to view only"):
        await bob.service.update_item(seen.id, {"username": "mine now"})
    with pytest.raises(InvalidInput, match="view only"):
        await bob.service.deactivate(seen.id)
    with pytest.raises(InvalidInput, match="only its owner"):
        await bob.service.share_with(seen.id, ["someone"])

    await alice.service.share_with(made.id, [bob.name], edit=True)
    seen = await bob.shared("Prod db")
    assert not seen.read_only
    # Only the extension says whose an item is; a plain senhasegura only says "can write".
    assert seen.access == ("edit" if server.extension else "")
    await bob.service.update_item(seen.id, {"username": "dba2"})
    assert (await alice.shared("Prod db")).username == "dba2"

    await alice.service.share_with(made.id, [bob.name], remove=True)
    assert await bob.item("Prod db") is None  # gone from bob's cache


async def test_groups_and_unknown_names(people: list[Person], server: RunningServer) -> None:
    alice, bob, carol = people
    team = f"team{next(NAMES)}"
    add_group(server, team, bob.name, carol.name)
    made = await alice.service.create_item(ItemKind.NOTE, {"name": "Runbook", "note": "step 1"})
    item, errors = await alice.service.share_with(made.id, ["nobody-here"], [team])
    assert errors == ["user nobody-here not found"]  # the server's shared_error, said
    assert item.people.entries == (("group", team, False),)
    for person in (bob, carol):
        assert (await person.shared("Runbook")).read_only


async def test_a_local_item_must_be_uploaded_before_it_is_shared(
    tmp_path: Path, server: RunningServer
) -> None:
    service = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    try:
        made = await service.create_item(ItemKind.NOTE, {"name": "Mine", "note": "x"})
        with pytest.raises(InvalidInput, match="no server|log"):
            await service.share_with(made.id, ["bob"])
    finally:
        await service.close()


def test_share_with_on_the_command_line(server: RunningServer, tmp_path: Path) -> None:
    alice_id, alice_secret = server.new_user(f"person{next(NAMES)}")
    bob = f"person{next(NAMES)}"
    server.new_user(bob)
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    done = cli("login", server.url, "--client-id", alice_id, stdin=alice_secret + "\n")
    assert done.returncode == 0, done.stderr
    cli.ok("add", "password", "--name", "Github", "--username", "octo", stdin="pw\n")
    assert cli.ok("share-with", "Github") == "Github: shared with nobody\n"
    assert cli.ok("share-with", "Github", "--user", bob, "--edit") == (
        f"Github: shared with {bob} (can edit)\n"
    )
    failed = cli("share-with", "Github", "--user", "ghost")
    assert failed.returncode == 1
    assert "the server did not share with user ghost not found" in failed.stderr
    assert "Traceback" not in failed.stderr


async def test_history_says_who_did_what_or_that_the_server_keeps_none(
    people: list[Person], server: RunningServer
) -> None:
    alice, bob, _ = people
    made = await alice.service.create_item(
        ItemKind.PASSWORD, {"name": "Vpn", "username": "me", "password": "vpn-S3cret"}
    )
    if not server.extension:
        with pytest.raises(NotSupported, match="plain senhasegura"):
            await alice.service.history(made.id)
        return
    await alice.service.share_with(made.id, [bob.name], edit=True)
    seen = await bob.shared("Vpn")  # bob's sync reads it: his key, his address
    await bob.service.update_item(seen.id, {"username": "bob-was-here"})
    await alice.service.sync()
    await alice.service.deactivate(made.id)

    events = await alice.service.history(made.id)
    assert [e.event for e in events if e.event != "read"] == [
        "deactivated",
        "changed",
        "shared",
        "created",
    ]  # newest first
    # the "shared" event names whom and with which rights
    assert [e.what for e in events if e.event == "shared"] == [f"shared with {bob.name} (can edit)"]
    by_bob = [e for e in events if e.user == bob.name]
    assert {e.event for e in by_bob} == {"read", "changed"}
    assert all(e.client_id == bob.client_id and e.address == "127.0.0.1" for e in by_bob)
    assert "vpn-S3cret" not in repr(events)  # what happened, never what it holds
    # bob can see the item, so he sees its history: his own events and every change, but
    # not alice's reads nor her key or address
    his = await bob.service.history(seen.id)
    assert [(e.event, e.user) for e in his] == [
        (e.event, e.user) for e in events if e.user == bob.name or e.event != "read"
    ]
    assert all(e.address == "" and e.client_id == "" for e in his if e.user != bob.name)


def test_history_on_the_command_line(server: RunningServer, tmp_path: Path) -> None:
    client_id, secret = server.new_user(f"person{next(NAMES)}")
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    assert cli("login", server.url, "--client-id", client_id, stdin=secret + "\n").returncode == 0
    cli.ok("add", "note", "--name", "Runbook", stdin="step one\n")
    if not server.extension:
        assert "plain senhasegura" in cli.fails("history", "Runbook")
        return
    lines = cli.ok("history", "Runbook").splitlines()
    assert lines[-1].split()[2] == "created" and client_id in lines[-1]
    assert cli.ok("history", "Runbook", "--json").startswith("[")
    # sharing: the line names whom and the rights; --json has them as "detail"
    cli.ok("share-with", "Runbook", "--group", "ops")
    shared = [line for line in cli.ok("history", "Runbook").splitlines() if " shared " in line]
    assert shared and shared[0].endswith("with group ops (view only)"), shared
    found = json.loads(cli.ok("history", "Runbook", "--json"))
    assert [e["detail"] for e in found if e["event"] == "shared"] == ["group ops (view only)"]

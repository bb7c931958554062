"""Offline first: writes made while the real `mysafe serve` is stopped wait in the vault and
reach it, once and in order, when it is started again; what only a person can settle (the
server's copy changed too, the item was trashed or unshared there) waits for their choice.
Each test runs against the server with the §4 extension and as a plain senhasegura."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FLOOR, PASSPHRASE
from mysafe_tui.core.errors import OfflineError, RemoteRejected
from mysafe_tui.core.models import ItemKind, Secret
from mysafe_tui.remote.client import AccessKey, MySafeClient
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from serverkit import RunningServer, start_server

USERS = itertools.count()


@pytest.fixture(params=["extension", "plain"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    args = ["--rate-limit", "100000"] + (["--no-extension"] if request.param == "plain" else [])
    running = start_server(tmp_path / "server", users=("alice", "bob"), args=args)
    running.extension = request.param == "extension"
    yield running
    running.stop()


@pytest.fixture
async def alice(server: RunningServer) -> AsyncIterator[MySafeClient]:
    """Another device of alice's, talking to the server directly."""
    async with MySafeClient(server.url, key_of(server, "alice")) as client:
        yield client


def key_of(server: RunningServer, user: str) -> AccessKey:
    client_id, secret = server.keys[user]
    return AccessKey(client_id, Secret(secret))


async def vault_of(server: RunningServer, folder: Path, user: str = "alice") -> VaultService:
    service = VaultService(Paths(folder, folder), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    client_id, secret = server.keys[user]
    await service.login(server.url, client_id, secret)
    return service


@pytest.fixture
async def here(server: RunningServer, tmp_path: Path) -> AsyncIterator[VaultService]:
    service = await vault_of(server, tmp_path / "here")
    yield service
    await service.close()


async def named(service: VaultService) -> dict[str, Any]:
    items = [*await service.search(""), *await service.search("", trash=True)]
    return {s.name: s for s in items}


async def on_server(client: MySafeClient, kind: str) -> dict[str, dict[str, Any]]:
    """Every active entity of `kind` on the server, by name (a duplicate fails)."""
    found: dict[str, dict[str, Any]] = {}
    for row in await client.list_items(kind):
        if row.get("active", True):
            assert row["name"] not in found, f"two {kind}s named {row['name']}"
            found[row["name"]] = await client.get_item(kind, row["identifier"])
    return found


async def test_changes_made_offline_wait_here_and_reach_the_server_in_order(
    server: RunningServer, alice: MySafeClient, here: VaultService, tmp_path: Path
) -> None:
    await alice.create_item("password", {"name": "Github", "username": "me", "password": "old"})
    await alice.create_item("note", {"name": "Wifi", "note": "pass: 123"})
    await here.sync()
    items = await named(here)

    server.stop()  # the train enters the tunnel
    made = await here.create_item(ItemKind.NOTE, {"name": "Train notes", "note": "seat 42"})
    edited = await here.update_item(items["Github"].id, {"password": "new"})
    trashed = await here.deactivate(items["Wifi"].id)
    again = await here.update_item(made.id, {"note": "seat 43"})  # joins its create
    report = tmp_path / "report.txt"
    report.write_text("minutes\n")
    attached = await here.attach_file(report) if server.extension else None
    assert all(i.outbox for i in (made, edited, trashed, again))
    waiting = [(item.name, mark.describe()) for item, mark in here.waiting()]
    assert waiting[:3] == [
        ("Train notes", "new, waiting to be sent"),
        ("Github", "changed, waiting to be sent"),
        ("Wifi", "moved to or from the trash, waiting to be sent"),
    ]
    assert len(waiting) == (4 if attached else 3)
    assert here.remote_status().state == "offline"
    assert (await here.reveal(made.id))["note"].reveal() == "seat 43"  # read as written
    with pytest.raises(OfflineError):  # what the server must decide waits for it
        await here.sync()

    server.start_again()
    result = await here.sync()
    assert (result.sent, result.problems) == (4 if attached else 3, [])
    assert here.waiting() == []
    notes = await on_server(alice, "note")
    assert notes["Train notes"]["note"] == "seat 43" and "Wifi" not in notes
    assert (await on_server(alice, "password"))["Github"]["password"] == "new"
    if attached is not None:
        assert list(await on_server(alice, "file")) == ["report.txt"]
    again_result = await here.sync()  # nothing is sent twice
    assert again_result.sent == 0
    assert list(await on_server(alice, "note")) == ["Train notes"]
    items = await named(here)
    assert not items["Wifi"].active and items["Train notes"].remote


async def test_a_change_the_server_moved_too_waits_for_a_choice(
    server: RunningServer, alice: MySafeClient, here: VaultService
) -> None:
    ids = {}
    for name in ("Mine wins", "Theirs wins", "Keep both"):
        made = await alice.create_item(
            "password", {"name": name, "username": "me", "password": "v1"}
        )
        ids[name] = made["identifier"]
    await here.sync()
    items = await named(here)
    server.stop()
    for name in ids:
        await here.update_item(items[name].id, {"password": "mine"})
    server.start_again()
    for remote_id in ids.values():  # another device changed them in the meantime
        await alice.update_item("password", remote_id, {"password": "theirs"})
    result = await here.sync()
    assert result.sent == 0
    assert sorted(result.problems) == [
        f"{name}: changed on the server too since your last sync" for name in sorted(ids)
    ]
    assert (await here.reveal(items["Mine wins"].id))["password"].reveal() == "mine"  # kept

    await here.settle(items["Mine wins"].id, "mine")
    await here.settle(items["Theirs wins"].id, "theirs")
    await here.settle(items["Keep both"].id, "both")
    assert here.waiting() == []
    there = await on_server(alice, "password")
    assert {name: e["password"] for name, e in there.items()} == {
        "Mine wins": "mine",
        "Theirs wins": "theirs",
        "Keep both": "theirs",
        "Keep both (my copy)": "mine",
    }
    items = await named(here)
    assert (await here.reveal(items["Theirs wins"].id))["password"].reveal() == "theirs"


async def test_an_item_trashed_there_while_edited_here_is_the_persons_call(
    server: RunningServer, alice: MySafeClient, here: VaultService
) -> None:
    back = (await alice.create_item("note", {"name": "Bring back", "note": "v1"}))["identifier"]
    await alice.create_item("note", {"name": "Let go", "note": "v1"})
    await here.sync()
    items = await named(here)
    server.stop()
    await here.update_item(items["Bring back"].id, {"note": "edited on the train"})
    await here.update_item(items["Let go"].id, {"note": "edited on the train"})
    server.start_again()
    for row in await alice.list_items("note"):
        await alice.set_active("note", row["identifier"], False)
    result = await here.sync()
    assert sorted(result.problems) == [
        f"{name}: moved to the trash on the server since your last sync"
        for name in ("Bring back", "Let go")
    ]
    await here.settle(items["Bring back"].id, "mine")  # out of the trash, with the edit
    await here.settle(items["Let go"].id, "theirs")  # to the trash here too, edit dropped
    assert (await alice.get_item("note", back))["note"] == "edited on the train"
    items = await named(here)
    assert items["Bring back"].active and not items["Let go"].active
    assert here.waiting() == []


async def test_an_item_unshared_while_edited_here_can_be_sent_as_new(
    server: RunningServer, alice: MySafeClient, here: VaultService, tmp_path: Path
) -> None:
    shared = await alice.create_item(
        "note", {"name": "Runbook", "note": "v1", "users_allowed": [{"username": "bob",
                                                                     "can_edit": True}]}
    )  # fmt: skip
    bob = await vault_of(server, tmp_path / "bob", "bob")
    try:
        (runbook,) = await bob.search("Runbook")
        server.stop()
        await bob.update_item(runbook.id, {"note": "bob's step 4"})
        server.start_again()
        await alice.update_item("note", shared["identifier"], {"users_allowed": []})
        result = await bob.sync()
        assert result.problems == [
            "Runbook: deleted on the server (or no longer shared with you) since your last sync"
        ]
        kept = await bob.settle(runbook.id, "mine")  # made again, as bob's own
        assert kept is not None and kept.outbox == "" and kept.remote
        with pytest.raises(RemoteRejected):
            await alice.get_item("note", kept.remote.split(":")[1])  # bob's, not alice's
        assert (await bob.reveal(kept.id))["note"].reveal() == "bob's step 4"
    finally:
        await bob.close()

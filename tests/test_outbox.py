"""Offline first: writes made while the real `mysafe serve` is stopped wait in the vault and
reach it, once and in order, when it is started again; what only a person can settle (the
server's copy changed too, the item was trashed or unshared there) waits for their choice.
Each test runs against the server with the §4 extension and as a plain senhasegura."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tmuxkit import MYSAFE

from conftest import FLOOR, PASSPHRASE, wait_for_exit
from mysafe_tui.core.errors import InvalidInput, OfflineError, RemoteRejected
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
    assert here.local_only() == []  # it goes on its own: never pushed a second time
    with pytest.raises(InvalidInput, match="waits to be sent already"):
        await here.push(made.id)
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


@pytest.mark.slow
async def test_a_replay_killed_at_any_point_ends_with_each_change_once(
    server: RunningServer, alice: MySafeClient, tmp_path: Path
) -> None:
    """40 notes made, 5 edited and 5 trashed while the server was down; `mysafe sync` then
    SIGKILLed after each bit of progress it makes, round after round: the server ends with
    every change exactly once."""
    for n in range(10):
        await alice.create_item("note", {"name": f"old {n}", "note": "v1"})
    folder = tmp_path / "home"
    service = await vault_of(server, folder)
    try:
        old = await named(service)
        server.stop()
        for n in range(40):
            await service.create_item(ItemKind.NOTE, {"name": f"new {n:02d}", "note": f"n{n}"})
        for n in range(5):
            await service.update_item(old[f"old {n}"].id, {"note": "v2"})
            await service.deactivate(old[f"old {n + 5}"].id)
        assert len(service.waiting()) == 50
    finally:
        await service.close()
    server.start_again()
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    env = {**os.environ, "MYSAFE_HOME": str(folder), "MYSAFE_PASSPHRASE_FILE": str(passphrase)}

    async def made() -> int:
        return sum(1 for row in await alice.list_items("note") if row["name"].startswith("new"))

    rounds = killed = 0
    while await made() < 40 and rounds < 50:
        rounds += 1
        before = await made()
        sync = subprocess.Popen([MYSAFE, "sync"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)  # fmt: skip
        while sync.poll() is None and await made() == before:  # some progress, then...
            await asyncio.sleep(0.002)
        await asyncio.sleep(random.uniform(0, 0.01))  # ...anywhere in what follows
        killed += sync.poll() is None
        sync.send_signal(signal.SIGKILL)
        sync.wait()
    assert killed >= 5  # killed mid-replay, again and again
    done = subprocess.run([MYSAFE, "sync"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    notes = await on_server(alice, "note")  # fails on any duplicate
    assert sorted(n for n in notes if n.startswith("new")) == [f"new {n:02d}" for n in range(40)]
    assert all(notes[f"new {n:02d}"]["note"] == f"n{n}" for n in range(40))
    assert all(notes[f"old {n}"]["note"] == "v2" for n in range(5))
    assert not any(f"old {n}" in notes for n in range(5, 10))  # trashed there too
    status = subprocess.run([MYSAFE, "status", "--json"], env=env, capture_output=True, text=True)
    assert json.loads(status.stdout)["waiting"] == []


Run = Callable[..., subprocess.CompletedProcess[str]]


def cli_of(server: RunningServer, tmp_path: Path) -> Run:
    """`mysafe ARGS` on a vault home under `tmp_path`, alice's key in the environment."""
    client_id, secret = server.keys["alice"]
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    env = {**os.environ, "MYSAFE_HOME": str(tmp_path / "home"),
           "MYSAFE_PASSPHRASE_FILE": str(passphrase), "SENHASEGURA_URL": server.url,
           "SENHASEGURA_CLIENT_ID": client_id, "SENHASEGURA_CLIENT_SECRET": secret}  # fmt: skip

    def mysafe(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([MYSAFE, *args], env=env, input=stdin, capture_output=True,
                              text=True)  # fmt: skip

    return mysafe


def test_the_cli_says_what_waits_and_lets_a_person_choose(
    server: RunningServer, tmp_path: Path
) -> None:
    mysafe = cli_of(server, tmp_path)
    assert mysafe("init", "--kdf-profile", "low-memory").returncode == 0
    assert mysafe("login").returncode == 0
    assert mysafe("add", "note", "--name", "Door", stdin="4711\n").returncode == 0
    server.stop()
    added = mysafe("add", "note", "--name", "Train", stdin="seat 42\n")
    assert added.returncode == 0 and "kept here and sent at the next 'mysafe sync'" in added.stderr
    edited = mysafe("edit", "Door", "--secret", "note", stdin="4712\n")
    assert edited.returncode == 0 and "cannot be reached" in edited.stderr
    status = mysafe("status")
    assert "Waiting:   2 change(s) made here" in status.stdout
    assert "Train: new, waiting to be sent" in status.stdout
    assert "Door: changed, waiting to be sent" in status.stdout
    server.start_again()
    with server.client("alice") as http:  # another device changes Door meanwhile
        (row,) = [r for r in http.get("/api/mysafe/note").json()["note_on_list"]
                  if r["name"] == "Door"]  # fmt: skip
        http.put(f"/api/mysafe/note/update/{row['identifier']}", json={"note": "4713"})
    synced = mysafe("sync")
    assert synced.returncode == 1, synced.stderr
    assert "Sent 1 change(s) made while the server could not be reached." in synced.stderr
    assert "Door: changed on the server too since your last sync" in synced.stderr
    assert "--theirs NAME takes the server's" in synced.stderr
    chosen = mysafe("sync", "--theirs", "Door")
    assert chosen.returncode == 0, chosen.stderr
    assert mysafe("get", "Door").stdout.strip() == "4713"
    assert json.loads(mysafe("status", "--json").stdout)["waiting"] == []


async def test_an_edit_of_an_item_trashed_there_is_kept_not_refused(
    server: RunningServer, alice: MySafeClient, here: VaultService
) -> None:
    """Online, but another device put the item in the server's trash: the edit is not lost
    to a raw '1009', it waits for the person, and the connection is not called failing."""
    made = (await alice.create_item("note", {"name": "Plan", "note": "v1"}))["identifier"]
    await here.sync()
    (plan,) = await here.search("Plan")
    await alice.set_active("note", made, False)
    kept = await here.update_item(plan.id, {"note": "v2"})
    assert "moved to the trash on the server" in here.waiting()[0][1].describe()
    assert here.remote_status().state == "synced"
    assert (await here.reveal(kept.id))["note"].reveal() == "v2"
    await here.settle(kept.id, "mine")
    assert (await alice.get_item("note", made))["note"] == "v2"


def test_the_unlock_agent_keeps_what_commands_read_fresh(
    server: RunningServer, tmp_path: Path
) -> None:
    """rbw's sync_interval: with the agent syncing every second here (5 minutes unless told),
    `mysafe get` reads another device's new item without a 'mysafe sync'."""
    mysafe = cli_of(server, tmp_path)
    assert mysafe("init", "--kdf-profile", "low-memory").returncode == 0
    assert mysafe("login").returncode == 0
    assert mysafe("unlock", "--sync-every", "1s").returncode == 0
    agent = json.loads(mysafe("status", "--json").stdout)["agent"]["pid"]
    try:
        with server.client("alice") as http:
            made = http.post("/api/mysafe/note", json={"name": "From the laptop", "note": "hi"})
            assert made.status_code == 201
        deadline = time.monotonic() + 30  # a bound: the agent's next sync brings it
        while (got := mysafe("get", "From the laptop")).returncode != 0:
            assert time.monotonic() < deadline, got.stderr
            time.sleep(0.2)
        assert got.stdout.strip() == "hi"
    finally:
        mysafe("lock")
        assert not wait_for_exit([agent])


async def test_a_change_the_server_refuses_waits_with_why_and_the_rest_go_on(
    server: RunningServer, alice: MySafeClient, here: VaultService
) -> None:
    server.stop()
    billing = {"name": "Billing", "url": "https://api", "client_id": "c", "client_secret": "s",
               "identifier_code": "BILL"}  # fmt: skip
    made = await here.create_item(ItemKind.API_SECRET, billing)
    await here.create_item(ItemKind.NOTE, {"name": "After it", "note": "x"})
    server.start_again()
    await alice.create_item("secretapi", {**billing, "name": "Billing (laptop)"})
    result = await here.sync()
    assert result.sent == 1  # the note went; the clash waits
    (problem,) = result.problems
    assert problem.startswith("Billing: refused by the server:") and "already used" in problem
    await here.update_item(made.id, {"identifier_code": "BILL2"})  # fixed here...
    assert [mark.problem for _, mark in here.waiting()] == [""]  # ...so it is tried again
    await here.settle(made.id, "mine")  # ...and sent again
    assert here.waiting() == []
    codes = sorted(e["identifier_code"] for e in (await on_server(alice, "secretapi")).values())
    assert codes == ["BILL", "BILL2"]


async def test_logging_out_with_changes_waiting_is_refused(
    server: RunningServer, here: VaultService
) -> None:
    server.stop()
    await here.create_item(ItemKind.NOTE, {"name": "Unsent", "note": "x"})
    with pytest.raises(InvalidInput, match="1 change.s. made here have not reached the server"):
        await here.logout()
    server.start_again()
    await here.sync()
    await here.logout()

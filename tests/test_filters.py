"""The filter's narrowing words (core/filters.py): owner:, shared:, kind:, tag:, fav: beside the
searched words, on a vault shared between three users of a real `mysafe serve`, in the service,
`mysafe list` and the UI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_people import NAMES, Person, add_group

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.filters import Facets, Narrowing, split
from mysafe_tui.core.models import ItemKind
from serverkit import RunningServer, start_server
from test_cli import Cli


def test_the_words_that_narrow_and_the_words_searched_for() -> None:
    narrowing, rest = split("db owner:Alice https://x.example tag:Prod shared:with-me kind:api")
    assert rest == "db https://x.example"
    assert narrowing == Narrowing(
        owner="alice", shared="with-me", kind=ItemKind.API_SECRET, tag="prod"
    )
    assert split("fav:yes shared:no")[0] == Narrowing(shared="no", favourite=True)
    assert split("tag: owner:")[1] == "tag: owner:"  # no value yet: searched for as typed
    refusals = {
        "shared:maybe": "shared: takes yes, no or with-me",
        "kind:car": "kind: takes api, file, note",
        "fav:2": "fav: takes yes",
    }
    for word, says in refusals.items():
        with pytest.raises(InvalidInput, match=says):
            split(word)
    mine = Facets(("prod",), False, "", "", True)
    theirs = Facets((), True, "view", "alice", False)
    assert Narrowing(owner="me").allows(mine) and not Narrowing(owner="me").allows(theirs)
    assert Narrowing(owner="alice").allows(theirs) and not Narrowing(owner="bob").allows(theirs)
    assert Narrowing(shared="yes").allows(mine) and not Narrowing(shared="no").allows(mine)
    assert Narrowing(shared="with-me").allows(theirs) and not Narrowing(shared="yes").allows(theirs)
    assert Narrowing(tag="prod").allows(mine) and not Narrowing(tag="prod").allows(theirs)
    assert Narrowing(favourite=False).allows(mine) and not Narrowing(favourite=False).allows(theirs)
    assert split("unused:90d db")[0] == Narrowing(unused_days=90)
    assert [split(f"unused:{w}")[0].unused_days for w in ("12w", "6m", "1y", "30")] == [
        84, 180, 365, 30
    ]  # fmt: skip
    for word in ("unused:2y", "unused:0d", "unused:soon", "unused:400"):
        with pytest.raises(InvalidInput, match="unused: takes a time up to a year"):
            split(word)


async def test_unused_counts_copies_gets_and_reveals_here(tmp_path: Path) -> None:
    """Days on a clock of the test's own: an item is used when a field of it is read
    (copy, `get`, a reference) or it is revealed on screen; one never used counts from the
    day it was made. Sync, edits and the health report do not use an item."""
    from conftest import FLOOR, PASSPHRASE
    from mysafe_tui.service import VaultService
    from mysafe_tui.system.settings import Paths

    service = VaultService(Paths(tmp_path / "home", tmp_path / "home"), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    try:
        made = {}
        for name in ("Router", "Bank", "Wiki"):
            made[name] = await service.create_item(
                ItemKind.PASSWORD, {"name": name, "password": f"{name}-pw"}
            )
        now = [service._uses.clock()]
        service._uses.clock = lambda: now[0]

        async def unused(days: int = 90) -> list[str]:
            return sorted(hit.name for hit in await service.search(f"unused:{days}d"))

        assert await unused() == []  # all made today
        now[0] += 100 * 86400
        assert await unused() == ["Bank", "Router", "Wiki"]
        await service.field_value(made["Router"].id, "password")  # a copy, `mysafe get`
        await service.reveal(made["Bank"].id, used=True)  # r in the UI
        await service.reveal(made["Wiki"].id)  # an edit dialog's read: not a use
        await service.update_item(made["Wiki"].id, {"username": "me"})
        assert await unused() == ["Wiki"]
        assert await unused(120) == []  # Wiki was made 100 days ago
        now[0] += 95 * 86400
        assert await unused() == ["Bank", "Router", "Wiki"]

        # Another process (a CLI get, the agent) used it: seen once the vault is read again.
        other = VaultService(Paths(tmp_path / "home", tmp_path / "home"), kdf_params=FLOOR)
        await other.unlock(PASSPHRASE)
        other._uses.clock = lambda: now[0]
        await other.field_value(made["Wiki"].id, "password")
        await other.close()
        assert await service.refresh()
        assert await unused() == ["Bank", "Router"]
        await service.lock()
        await service.unlock(PASSPHRASE)
        service._uses.clock = lambda: now[0]
        assert await unused() == ["Bank", "Router"]  # kept in the vault
    finally:
        await service.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("filters"))
    yield running
    running.stop()


async def test_narrowing_a_vault_shared_between_three(
    server: RunningServer, tmp_path: Path
) -> None:
    alice, bob, carol = [await Person(server, tmp_path / f"p{n}").start() for n in range(3)]
    try:
        team = f"team{next(NAMES)}"
        add_group(server, team, carol.name)
        login = {"username": "u", "password": "pw-1"}
        db = await alice.service.create_item(
            ItemKind.PASSWORD, {"name": "Prod db", **login, "tags": "prod,db"}
        )
        runbook = await alice.service.create_item(ItemKind.NOTE, {"name": "Runbook", "note": "1"})
        await alice.service.create_item(ItemKind.PASSWORD, {"name": "Home wifi", **login})
        await bob.service.create_item(ItemKind.PASSWORD, {"name": "Bob's own", **login})
        await alice.service.share_with(db.id, [bob.name], edit=True)
        await alice.service.share_with(runbook.id, [], [team])
        await alice.service.toggle_favourite(db.id)

        async def names(person: Person, query: str) -> list[str]:
            return sorted(item.name for item in await person.service.search(query))

        assert await names(alice, "shared:yes") == ["Prod db", "Runbook"]
        assert await names(alice, "shared:no") == ["Home wifi"]
        assert await names(alice, "owner:me tag:prod") == ["Prod db"]
        assert await names(alice, "kind:note") == ["Runbook"]
        assert await names(alice, "fav:yes") == ["Prod db"]
        assert await names(alice, "fav:no kind:password") == ["Home wifi"]
        assert await names(alice, "wifi shared:no") == ["Home wifi"]  # beside the words
        assert await alice.service.search("kind:note", kind=ItemKind.PASSWORD) == []
        # worked out once per list of items: a write makes a new list, and it is looked at again
        note = {"name": "Prod notes", "note": "x", "tags": "prod"}
        await alice.service.create_item(ItemKind.NOTE, note)
        assert await names(alice, "owner:me tag:prod") == ["Prod db", "Prod notes"]
        assert await names(alice, "db tag:prod") == ["Prod db"]
        for person in (bob, carol):
            await person.service.sync()
        assert await names(bob, "shared:with-me") == ["Prod db"]
        assert await names(bob, f"owner:{alice.name}") == ["Prod db"]
        assert await names(bob, "owner:me") == ["Bob's own"]
        assert await names(carol, "shared:with-me") == ["Runbook"]
        with pytest.raises(InvalidInput, match="shared: takes"):
            await bob.service.search("shared:maybe")
        await bob.service.lock()  # what a narrowing kept (decrypted names) goes with the keys
        assert bob.service._narrowed is None
    finally:
        for person in (alice, bob, carol):
            await person.service.close()


def test_mysafe_list_takes_the_same_words(server: RunningServer, tmp_path: Path) -> None:
    client_id, secret = server.new_user(f"person{next(NAMES)}")
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    assert cli("login", server.url, "--client-id", client_id, stdin=secret + "\n").returncode == 0
    cli.ok("add", "note", "--name", "Runbook", "--tags", "ops", stdin="step one\n")
    cli.ok("add", "note", "--name", "Recipes", stdin="flour\n")
    listed = json.loads(cli.ok("list", "r", "tag:ops", "shared:no", "--json"))
    assert [item["name"] for item in listed] == ["Runbook"]
    assert "Runbook" in cli.ok("list", "owner:me", "kind:note")
    failed = cli.fails("list", "shared:maybe")
    assert "shared: takes yes, no or with-me" in failed and "Traceback" not in failed
    assert json.loads(cli.ok("list", "unused:30d", "--json")) == []  # made today
    assert "unused: takes a time up to a year" in cli.fails("list", "unused:2y")


async def test_a_use_on_one_device_counts_on_the_other(
    server: RunningServer, tmp_path: Path
) -> None:
    """The same account on a laptop and a desktop: what the laptop copied, the desktop's
    `unused:` knows after both synced; the server keeps each user's own days only."""
    laptop = await Person(server, tmp_path / "laptop").start()
    desktop = await laptop.second_device(tmp_path / "desk")
    try:
        used = await laptop.service.create_item(
            ItemKind.PASSWORD, {"name": "Vpn", "username": "me", "password": "vpn-pw"}
        )
        await laptop.service.create_item(
            ItemKind.PASSWORD, {"name": "Idle", "username": "me", "password": "x"}
        )
        await laptop.service.field_value(used.id, "password")  # a copy or `mysafe get`
        await laptop.service.sync()  # sends the day of the copy
        there = await desktop.shared("Vpn")  # syncs: takes the account's days
        idle = await desktop.shared("Idle")
        days = await desktop.service._uses.days()
        copied = (await laptop.service._uses.days())[used.id]  # the day it was copied
        assert days.get(there.id) == copied and idle.id not in days

        with server.client() as alice:  # another user: sees none of those, sends only ids
            assert alice.get("/api/mysafe-ext/uses").json()["uses"] == []
            bad = alice.post("/api/mysafe-ext/uses", json={"uses": [{"id": "1", "day": "x"}]})
            assert bad.status_code == 400 and "each use is" in bad.text
            kept = alice.post("/api/mysafe-ext/uses", json={"uses": [
                {"id": "999999", "day": 1}, {"id": "999998", "day": 10**9}
            ]})  # fmt: skip
            assert kept.json()["kept"] == 0  # a year back is dropped, no such item is left out
    finally:
        for person in (laptop, desktop):
            await person.service.close()

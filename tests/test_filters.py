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
        assert bob.service._narrowed[0] is None
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

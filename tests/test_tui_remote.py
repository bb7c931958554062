"""The UI of a server-bound vault, driven with Pilot against a real `mysafe serve`: the login
dialog, sync with its progress dialog, the offline banner and reconnect, the conflict dialog."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input, Static

from conftest import FLOOR, PASSPHRASE, rendered_text, unlock_ui, until
from mysafe_tui.core.models import Secret
from mysafe_tui.remote.client import AccessKey, MySafeClient
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from mysafe_tui.tui.app import MySafeApp
from mysafe_tui.tui.modals.item import ItemDialog
from mysafe_tui.tui.modals.remote import ConflictDialog, LoginDialog, SyncDialog
from mysafe_tui.tui.screens.main import MainScreen
from mysafe_tui.tui.widgets.detail import DetailPane
from mysafe_tui.tui.widgets.item_list import ItemList
from serverkit import RunningServer, Switch, start_server

USERS = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("tui-remote"), users=("admin",))
    yield running
    running.stop()


class Setup:
    def __init__(
        self, home: Path, server: RunningServer, client: MySafeClient, key: AccessKey
    ) -> None:
        self.home, self.server, self.client, self.key = home, server, client, key
        self.key_user = ""  # the user the key belongs to
        self.switch = Switch()

    def service(self) -> VaultService:
        return VaultService(Paths(self.home, self.home), kdf_params=FLOOR, transport=self.switch)

    async def vault(self, bound: bool) -> None:
        svc = self.service()
        await svc.create(PASSPHRASE)
        if bound:
            await svc.login(self.server.url, self.key.client_id, self.key.client_secret.reveal())
        await svc.close()


@pytest.fixture
async def setup(server: RunningServer, tmp_path: Path) -> AsyncIterator[Setup]:
    user = f"tui{next(USERS)}"
    client_id, secret = server.new_user(user)
    key = AccessKey(client_id, Secret(secret))
    async with MySafeClient(server.url, key) as client:
        await client.create_item(
            "password", {"name": "Github", "username": "dleite", "password": "gh-pass"}
        )
        setup = Setup(tmp_path / "home", server, client, key)
        setup.key_user = user
        yield setup
    await setup.switch.real.aclose()  # the services share its connections: none owns them


async def unlocked(app: MySafeApp, pilot: Any) -> MainScreen:
    main = await unlock_ui(app, pilot)
    assert isinstance(main, MainScreen)
    return main


def names(main: MainScreen) -> list[str]:
    return [item.name for item in main.query_one(ItemList).items]


def topbar(main: MainScreen) -> str:
    return str(main.query_one("#topbar", Static).render())


async def test_login_dialog_binds_the_vault_and_syncs(setup: Setup) -> None:
    await setup.vault(bound=False)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlocked(app, pilot)
        assert "local vault" in topbar(main) and names(main) == []
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LoginDialog))
        dialog = app.screen
        dialog.query_one("#url", Input).value = setup.server.url
        dialog.query_one("#client-id", Input).value = setup.key.client_id
        dialog.query_one("#client-secret", Input).value = "wrong"
        await pilot.click("#login")
        await until(pilot, lambda: "Not logged in" in str(dialog.query_one("#error").render()))
        assert isinstance(app.screen, LoginDialog)  # nothing typed is lost on a refusal
        secret_input = dialog.query_one("#client-secret", Input)
        secret_input.value = setup.key.client_secret.reveal()
        await until(pilot, lambda: not dialog.query_one("#login").disabled)
        dialog.query_one("#ca-bundle", Input).value = str(setup.home / "missing-ca.pem")
        dialog.query_one("#login", Button).press()
        await until(pilot, lambda: "CA bundle" in str(dialog.query_one("#error").render()))
        dialog.query_one("#ca-bundle", Input).value = ""
        dialog.query_one("#tenant", Input).value = "acme"  # the Advanced part
        dialog.query_one("#timeout", Input).value = "30"
        await until(pilot, lambda: not dialog.query_one("#login").disabled)
        secret_input.focus()
        await pilot.press("enter")  # enter in the last field logs in
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and names(main))
        assert names(main) == ["Github"] and "synced" in topbar(main)
        assert app.service.remote_status().tenant == "acme"


async def test_sync_dialog_brings_server_changes(setup: Setup) -> None:
    await setup.vault(bound=True)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlocked(app, pilot)
        await until(pilot, lambda: "synced" in topbar(main))
        await setup.client.create_item("note", {"name": "Door", "note": "4711"})
        shown: list[Any] = []
        # The dialog may come and go between two polls: record it when it is pushed.
        original = app.push_screen

        def recording(screen: Any, *args: Any, **kwargs: Any) -> Any:
            shown.append(screen)
            return original(screen, *args, **kwargs)

        app.push_screen = recording  # type: ignore[method-assign]
        await pilot.press("2", "s")
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and names(main))
        assert names(main) == ["Door"]
        assert [type(s) for s in shown] == [SyncDialog]
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("Synced: 1 updated") for m in messages), messages


async def test_offline_banner_then_automatic_reconnect(setup: Setup) -> None:
    await setup.vault(bound=True)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlocked(app, pilot)
        await until(pilot, lambda: "synced" in topbar(main))
        banner = main.query_one("#banner", Static)
        assert not banner.display
        setup.switch.down = True
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SyncDialog))
        dialog = app.screen
        await until(pilot, lambda: "Sync failed" in str(dialog.query_one("#error").render()))
        await pilot.press("escape")
        await until(pilot, lambda: banner.display)
        assert "Offline" in str(banner.render()) and "offline" in topbar(main)
        assert names(main) == ["Github"]  # the cache still reads
        setup.switch.down = False
        main.sync_when_due()  # what the 30-second timer does
        await until(pilot, lambda: not banner.display and "synced" in topbar(main))


@pytest.mark.parametrize(
    ("key", "expected"), [("t", "their-pass"), ("m", "my-pass"), ("b", "their-pass")]
)
async def test_conflict_dialog_choices(setup: Setup, key: str, expected: str) -> None:
    await setup.vault(bound=True)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlocked(app, pilot)
        await until(pilot, lambda: "synced" in topbar(main) and names(main))
        rows = await setup.client.list_items("password")
        await setup.client.update_item(
            "password", rows[0]["identifier"], {"password": "their-pass", "url": "https://t"}
        )
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ItemDialog))
        app.screen.query_one("#f-password", Input).value = "my-pass"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConflictDialog))
        table = str(app.screen.query_one("#diff-table", Static).render())
        assert "≠" in table and "https://t" in table
        assert "my-pass" not in table and "their-pass" not in table  # secrets stay masked
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: len(names(main)) == (2 if key == "b" else 1))
        item = next(i for i in main.query_one(ItemList).items if i.name == "Github")
        # "mine" is the whole of my version, as the dialog showed it; else the server's.
        assert item.url == ("" if key == "m" else "https://t")
        secrets = await app.service.reveal(item.id)
        assert secrets["password"].reveal() == expected
        server_copy = await setup.client.get_item("password", rows[0]["identifier"])
        assert server_copy["password"] == expected
        if key == "b":  # mine lives on as a second item, on the server too
            copy = next(i for i in main.query_one(ItemList).items if i.name != "Github")
            assert copy.name == "Github (my copy)"
            assert (await app.service.reveal(copy.id))["password"].reveal() == "my-pass"


async def test_people_dialog_shares_and_unshares_and_the_other_side_sees_it_marked(
    setup: Setup, tmp_path: Path
) -> None:
    """W on an item: add a user with edit rights (typed, then Enter), see the list, an unknown
    name reported; x in the list removes. The other person's vault marks the item ⇄."""
    from textual.widgets import Checkbox, OptionList

    from mysafe_tui.tui.modals.people import PeopleDialog
    from mysafe_tui.tui.widgets.note import Note

    await setup.vault(bound=True)
    friend = f"friend{next(USERS)}"
    friend_id, friend_secret = setup.server.new_user(friend)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlocked(app, pilot)
        await until(pilot, lambda: "Github" in names(main))
        await pilot.press("W")
        await until(pilot, lambda: isinstance(app.screen, PeopleDialog))
        dialog = app.screen
        dialog.query_one(Checkbox).value = True
        await pilot.press(*friend, "enter")
        listing = dialog.query_one(OptionList)

        def shown() -> str:
            return " | ".join(
                str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)
            )

        await until(pilot, lambda: f"{friend} · can edit" in shown())
        assert "(owner)" in shown()  # mysafe serve says whose it is
        await pilot.press(*"nobody-at-all", "enter")
        status = dialog.query_one("#people-status", Note)
        await until(pilot, lambda: "not found" in str(status.render()))

        other = VaultService(Paths(tmp_path / "other", tmp_path / "other"), kdf_params=FLOOR)
        await other.create(PASSPHRASE)
        await other.login(setup.server.url, friend_id, friend_secret)
        shared = (await other.search("github"))[0]
        assert shared.access == "edit" and "shared with you by" in shared.sharing_line()

        listing.focus()
        listing.highlighted = 1  # the friend (the owner's line cannot be removed)
        await pilot.press("x")
        await until(pilot, lambda: "Nobody else" in shown())
        await other.sync()
        assert len(await other.search("github")) == 0  # unshared: gone from the other vault
        await other.close()
        await pilot.press("escape")


async def edited_offline(
    setup: Setup, app: MySafeApp, pilot: Any, field: str, value: str
) -> MainScreen:
    """The main screen once the first item was edited in the form with the server cut off."""
    main = await unlocked(app, pilot)
    await until(pilot, lambda: "synced" in topbar(main) and names(main))
    setup.switch.down = True
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, ItemDialog))
    app.screen.query_one(f"#f-{field}", Input).value = value
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, MainScreen))
    await until(pilot, lambda: "1 change waiting" in topbar(main))
    return main


async def test_an_edit_made_offline_waits_marked_and_is_sent_on_reconnect(setup: Setup) -> None:
    await setup.vault(bound=True)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await edited_offline(setup, app, pilot, "password", "typed-on-the-train")
        assert main.query_one(ItemList).render_line(0).text.startswith(" ⇡")
        detail = rendered_text(main.query_one(DetailPane).render_item())
        assert "changed, waiting to be sent" in detail
        banner = main.query_one("#banner", Static)
        await until(pilot, lambda: "Changes are kept here" in str(banner.render()))
        setup.switch.down = False
        main.sync_when_due()  # what the 30-second timer does
        await until(pilot, lambda: "waiting" not in topbar(main) and not banner.display)
        (row,) = await setup.client.list_items("password")
        copy = await setup.client.get_item("password", row["identifier"])
        assert copy["password"] == "typed-on-the-train"
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("Back online") and "1 sent" in m for m in messages), messages


async def test_a_waiting_change_the_server_moved_too_is_chosen_in_the_conflict_dialog(
    setup: Setup,
) -> None:
    await setup.vault(bound=True)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await edited_offline(setup, app, pilot, "url", "https://mine")
        (row,) = await setup.client.list_items("password")
        await setup.client.update_item("password", row["identifier"], {"url": "https://theirs"})
        setup.switch.down = False
        main.sync_when_due()
        await until(pilot, lambda: "wait for your choice" in " ".join(
            n.message for n in app._notifications))  # fmt: skip
        await pilot.press("e")  # the choice, not the form
        await until(pilot, lambda: isinstance(app.screen, ConflictDialog))
        table = str(app.screen.query_one("#diff-table", Static).render())
        assert "https://mine" in table and "https://theirs" in table
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, MainScreen) and "waiting" not in
                    topbar(main))  # fmt: skip
        (item,) = main.query_one(ItemList).items
        assert item.url == "https://theirs" and not item.outbox


async def test_a_view_only_item_opens_no_form(setup: Setup) -> None:
    owner = f"owner{next(USERS)}"
    setup.server.new_user(owner)
    with setup.server.client(owner) as http:
        made = http.post("/api/mysafe/note", json={"name": "Their runbook", "note": "read me",
                         "users_allowed": [{"username": setup.key_user}]})  # fmt: skip
        assert made.status_code == 201, made.text
    await setup.vault(bound=True)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlocked(app, pilot)
        await pilot.press("2")
        await until(pilot, lambda: names(main) == ["Their runbook"])
        await pilot.press("e")
        await until(pilot, lambda: any("view only" in n.message for n in app._notifications))
        assert isinstance(app.screen, MainScreen)  # no form was opened


async def test_another_devices_change_shows_up_without_a_key(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quiet sync every few minutes (here: every half second), with nothing pressed."""
    import mysafe_tui.tui.screens.main as main_module

    monkeypatch.setattr(main_module, "RECONNECT_SECONDS", 0.2)
    monkeypatch.setattr(MainScreen, "sync_period", lambda self: 0.5)
    await setup.vault(bound=True)
    app = MySafeApp(setup.service())
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlocked(app, pilot)
        await until(pilot, lambda: "synced" in topbar(main) and names(main))
        await setup.client.create_item("password", {"name": "From the laptop",
                                                    "username": "me", "password": "x"})  # fmt: skip
        await until(pilot, lambda: "From the laptop" in names(main))

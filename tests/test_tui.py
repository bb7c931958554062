"""The real app driven with Pilot over a real temporary vault: every user flow of the UI."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import DataTable, Input, Label, Select, Static

from conftest import FLOOR, PASSPHRASE, keys, rendered_text, unlock_ui, until
from mysafe_tui.core.models import ItemKind
from mysafe_tui.service import VaultService
from mysafe_tui.system.clipboard import Clipboard, Osc52Backend
from mysafe_tui.system.settings import Paths
from mysafe_tui.tui.app import MySafeApp
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.modals.files import AttachDialog, SaveDialog
from mysafe_tui.tui.modals.item import ItemDialog
from mysafe_tui.tui.modals.versions import VersionsDialog
from mysafe_tui.tui.screens.main import MainScreen
from mysafe_tui.tui.screens.unlock import CreateVaultScreen, UnlockScreen
from mysafe_tui.tui.widgets.detail import DetailPane
from mysafe_tui.tui.widgets.item_list import ItemList
from mysafe_tui.tui.widgets.note import Note


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingBackend(Osc52Backend):
    """The real OSC 52 backend, its terminal replaced: records what each sequence carries."""

    def __init__(self) -> None:
        super().__init__(write=self._record, env={})
        self.sent: list[str] = []

    def _record(self, sequence: str) -> None:
        payload = sequence.removeprefix("\x1b]52;c;").removesuffix("\x07")
        self.sent.append(base64.b64decode(payload).decode())


class Env:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.clock = FakeClock()
        self.backend = RecordingBackend()

    def service(self) -> VaultService:
        clipboard = Clipboard(self.backend, 20, clock=self.clock)
        return VaultService(Paths(self.home, self.home), kdf_params=FLOOR, clipboard=clipboard)

    def app(self) -> MySafeApp:
        return MySafeApp(self.service(), clock=self.clock)

    async def seed(self, *items: tuple[ItemKind, dict[str, Any]]) -> None:
        svc = self.service()
        if not svc.vault_exists():
            await svc.create(PASSPHRASE)
        else:
            await svc.unlock(PASSPHRASE)
        for kind, values in items:
            await svc.create_item(kind, values)
        await svc.close()


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path / "home")


GITHUB = (ItemKind.PASSWORD, {"name": "GitHub", "username": "octocat", "password": "gh-pass-1",
                              "url": "https://github.com", "tags": "dev"})  # fmt: skip
BANK = (ItemKind.PASSWORD, {"name": "Bank", "username": "me", "password": "bank-pass"})


async def unlock(app: MySafeApp, pilot: Any) -> MainScreen:
    await unlock_ui(app, pilot)
    await settle(app, pilot)
    assert isinstance(app.screen, MainScreen)
    return app.screen


def names(screen: MainScreen) -> list[str]:
    return [item.name for item in screen.query_one(ItemList).items]


async def settle(app: MySafeApp, pilot: Any, timeout: float = 10) -> None:
    """Until the app is idle: every pending message handled and no worker running, but those
    waiting on the dialog on top (a worker that pushed it with push_screen_wait). A condition,
    not a fixed pause: it holds on a loaded machine too."""
    from textual.screen import ModalScreen

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await pilot.pause()
        top = app.screen
        running = [
            w
            for w in app.workers
            if w.is_running and not (isinstance(top, ModalScreen) and w.node is not top)
        ]
        if not running:
            return
        assert asyncio.get_running_loop().time() < deadline, f"still busy: {running}"
        await asyncio.sleep(0.01)


async def test_first_run_creates_a_vault(env: Env) -> None:
    app = env.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CreateVaultScreen)
        screen = app.screen
        # One burst: Enter in the first box moves to the second before the rest is typed.
        await pilot.press(*keys(PASSPHRASE), "enter", *keys(PASSPHRASE), "x", "enter")
        await until(pilot, lambda: "differ" in str(screen.query_one("#status", Note).render()))
        assert screen.query_one("#confirm", Input).value == PASSPHRASE + "x"
        # Weak by zxcvbn (a common password with l33t substitutions): asked, refused.
        for box in ("#passphrase", "#confirm"):
            screen.query_one(box, Input).value = "P@ssw0rd123"
        await until(pilot, lambda: "weak" in str(screen.query_one("#strength", Note).render()))
        await pilot.click("#create")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Use it anyway?" in str(app.screen.query_one(Label).render())
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
        assert not (env.home / "default.mysafe").exists()
        for box in ("#passphrase", "#confirm"):
            screen.query_one(box, Input).value = PASSPHRASE
        await until(pilot, lambda: "weak" not in str(screen.query_one("#status", Note).render()))
        await pilot.click("#create")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
    assert (env.home / "default.mysafe").exists()


async def test_wrong_then_right_passphrase(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        app.screen.query_one("#passphrase", Input).value = "not it at all"
        await pilot.press("enter")
        status = app.screen.query_one("#status", Note)
        await until(pilot, lambda: "Wrong passphrase" in str(status.render()))
        assert isinstance(app.screen, UnlockScreen)
        main = await unlock(app, pilot)
        assert names(main) == ["GitHub"]


async def test_corrupt_vault_is_explained_not_a_crash(env: Env) -> None:
    env.home.mkdir(parents=True)
    (env.home / "default.mysafe").write_bytes(b"definitely not a vault" * 50)
    app = env.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#passphrase", Input).value = PASSPHRASE
        await pilot.press("enter")
        note = app.screen.query_one("#status", Note)
        await until(pilot, lambda: "cannot be opened" in str(note.render()))
        status = str(note.render())
        assert "cannot be opened" in status and "not a mysafe vault" in status


@pytest.mark.parametrize(
    ("tab", "kind", "values"),
    [
        ("1", ItemKind.PASSWORD, {"name": "Wiki", "username": "ann", "password": "w1ki-pass"}),
        ("2", ItemKind.NOTE, {"name": "Runbook", "note": "restart the thing"}),
        ("4", ItemKind.API_SECRET, {"name": "Stripe", "url": "https://api.stripe.com",
                                    "client_id": "cid", "client_secret": "sk_live"}),
    ],
)  # fmt: skip
async def test_add_an_item_of_each_kind(
    env: Env, tab: str, kind: ItemKind, values: dict[str, str]
) -> None:
    await env.seed()
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press(tab)
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ItemDialog)
        await pilot.press("ctrl+s")  # empty: refused beside the fields, nothing lost
        await pilot.pause()
        assert isinstance(app.screen, ItemDialog)
        assert "Name is required" in str(dialog.query_one("#e-name", Note).render())
        for field, value in values.items():
            widget = dialog.query_one(f"#f-{field}")
            if isinstance(widget, Input):
                widget.value = value
            else:
                widget.text = value  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert names(main) == [values["name"]]
    svc = env.service()
    await svc.unlock(PASSPHRASE)
    (item,) = await svc.search(kind=kind)
    secrets = await svc.reveal(item.id)
    secret_field = next(f for f in values if f in secrets)
    assert secrets[secret_field].reveal() == values[secret_field]
    await svc.close()


async def test_generator_fills_a_strong_password(env: Env) -> None:
    await env.seed()
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        await pilot.press("ctrl+g")
        await pilot.pause()
        value = dialog.query_one("#f-password", Input).value
        assert len(value) == 24
        assert "strong" in str(dialog.query_one("#strength").render())


async def test_cancel_a_dirty_dialog_asks_first(env: Env) -> None:
    await env.seed()
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#f-name", Input).value = "half typed"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ItemDialog)
        assert app.screen.query_one("#f-name", Input).value == "half typed"


async def test_edit_keeps_other_fields(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ItemDialog)
        assert dialog.query_one("#f-password", Input).value == "gh-pass-1"
        dialog.query_one("#f-username", Input).value = "hubot"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        item = main.query_one(ItemList).current
        assert item is not None and (item.username, item.version) == ("hubot", 2)


async def test_trash_and_restore(env: Env) -> None:
    await env.seed(GITHUB, BANK)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        assert names(main) == ["Bank", "GitHub"]
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(app, pilot)
        assert names(main) == ["GitHub"]
        await pilot.press("6")
        await settle(app, pilot)
        assert names(main) == ["Bank"]
        await pilot.press("R")
        await settle(app, pilot)
        assert names(main) == []
        await pilot.press("1")
        await settle(app, pilot)
        assert names(main) == ["Bank", "GitHub"]


async def test_filter_as_you_type_and_escape_clears(env: Env) -> None:
    await env.seed(GITHUB, BANK)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("slash", "g", "i", "t")
        await settle(app, pilot)
        assert names(main) == ["GitHub"]
        await pilot.press("enter", "escape")
        await settle(app, pilot)
        assert names(main) == ["Bank", "GitHub"]


async def test_a_filter_with_no_match_here_says_where_there_are_some(env: Env) -> None:
    runbook = (ItemKind.NOTE, {"name": "Server runbook", "note": "steps"})
    await env.seed(GITHUB, BANK, runbook)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("slash", *"runbok")  # on Passwords, misspelt
        await settle(app, pilot)
        listing = main.query_one(ItemList)
        assert names(main) == [] and "1 in Notes (press 2)" in listing.empty_text
        await pilot.press("enter", "2")
        await settle(app, pilot)
        assert names(main) == ["Server runbook"]


async def test_the_filter_narrows_by_tag_and_says_what_a_word_takes(env: Env) -> None:
    await env.seed(GITHUB, BANK)
    app = env.app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("slash", *"tag:dev")
        await settle(app, pilot)
        assert names(main) == ["GitHub"]
        await pilot.press(*["backspace"] * 7, *"fav:maybe")
        await settle(app, pilot)
        listing = main.query_one(ItemList)
        assert names(main) == [] and "fav: takes yes or no" in listing.empty_text
        shown = " ".join(listing.render_line(y).text.strip() for y in range(1, 4))
        assert "? lists the filter words." in " ".join(shown.split())  # every word, at 80
        await pilot.press(*["backspace"] * 5, *"no")
        await settle(app, pilot)
        assert names(main) == ["Bank", "GitHub"]


async def test_the_versions_dialog_shows_masks_reveals_and_restores(env: Env) -> None:
    await env.seed(GITHUB)
    svc = env.service()
    await svc.unlock(PASSPHRASE)
    item = (await svc.search("GitHub"))[0]
    await svc.update_item(item.id, {"password": "gh-pass-2", "username": "hubot"})
    await svc.close()
    app = env.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        await pilot.press("V")
        await until(pilot, lambda: isinstance(app.screen, VersionsDialog))
        dialog = app.screen
        note = dialog.query_one("#versions-fields", Static)
        await until(pilot, lambda: "octocat" in str(note.render()))
        assert dialog.query_one(DataTable).row_count == 1
        assert "gh-pass-1" not in str(note.render()) and "••••" in str(note.render())
        await pilot.press("r")
        await until(pilot, lambda: "gh-pass-1" in str(note.render()))
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(app, pilot)
    svc = env.service()
    await svc.unlock(PASSPHRASE)
    assert (await svc.reveal(item.id))["password"].reveal() == "gh-pass-1"
    assert len(await svc.versions(item.id)) == 2  # what it held before the restore, too
    await svc.close()


async def test_a_new_filter_puts_the_cursor_on_its_best_match(env: Env) -> None:
    gitea = (ItemKind.PASSWORD, {"name": "Gitea", "username": "me", "password": "x"})
    await env.seed(GITHUB, BANK, gitea)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("down", "down")  # on GitHub, the last row
        await settle(app, pilot)
        assert main.current is not None and main.current.name == "GitHub"
        await pilot.press("slash", "g")
        await settle(app, pilot)
        assert names(main) == ["Gitea", "GitHub"]
        assert main.current is not None and main.current.name == "Gitea"
        # The pane follows once the typing pauses (each key repaints the list alone).
        await until(pilot, lambda: main.query_one(DetailPane).item == main.current)


def burst(app: MySafeApp, text: str) -> None:
    """Keys as a terminal delivers a fast burst (a paste, tmux send-keys): all queued at once,
    none waiting for the previous one to be handled (Pilot.press waits)."""
    names = {" ": "space", "/": "slash", "\r": "enter"}
    for ch in text:
        app.post_message(events.Key(names.get(ch, ch), ch))


def burst_keys(app: MySafeApp, *names: str) -> None:
    """Named keys and characters in one burst, queued at once ("backspace", "tab", "a")."""
    for name in names:
        app.post_message(events.Key(name, name if len(name) == 1 else None))


async def test_a_burst_with_edits_opens_the_dialog_and_saves_what_was_meant(env: Env) -> None:
    """`n` and the whole form, backspaces and line-editing keys in it, ctrl+s: all at once."""
    await env.seed()
    app = env.app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await unlock(app, pilot)
        burst_keys(app, "n", *"Gitx", "backspace", *"hub", "tab", *"octx", "backspace", "o",
                   "tab", *"old pw", "ctrl+u", *"pw1", "ctrl+a", "ctrl+k", *"pw-2",
                   "ctrl+s")  # fmt: skip
        await until(pilot, lambda: names(main) == ["Github"])
        await settle(app, pilot)
    svc = env.service()
    await svc.unlock(PASSPHRASE)
    (item,) = await svc.search("")
    assert (item.name, item.field("username")) == ("Github", "octo")
    assert (await svc.reveal(item.id))["password"].reveal() == "pw-2"
    await svc.close()


async def test_a_burst_in_the_filter_is_searched_once_for_its_newest_text(env: Env) -> None:
    """A paste or a laggy link delivers the filter's keys at once: each lands in the box, the
    list shows what the whole burst says, and the texts in between are not searched."""
    await env.seed(GITHUB, BANK)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("slash")
        searched: list[str] = []
        search = main.service.search

        async def counted(query: str = "", **filters: Any) -> Any:
            searched.append(query)
            return await search(query, **filters)

        main.service.search = counted  # type: ignore[method-assign]
        burst(app, "bankk")
        burst_keys(app, "backspace")
        await until(pilot, lambda: main.query_one("#filter", Input).value == "bank")
        await until(pilot, lambda: searched[-1:] == ["bank"] and names(main) == ["Bank"])
        assert len(searched) < 6, searched  # not one search per key


async def test_every_word_of_a_long_empty_list_message_shows_at_80_columns(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("slash", *"zqxwvk")
        await settle(app, pilot)
        listing = main.query_one(ItemList)
        shown = " ".join(listing.render_line(y).text.strip() for y in range(1, 4))
        assert "ctrl+f looks inside the notes' text." in " ".join(shown.split())


async def test_keys_right_after_enter_go_to_the_filter_not_the_passphrase(env: Env) -> None:
    await env.seed(GITHUB, BANK)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen))
        burst(app, PASSPHRASE + "\r/git")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(app, pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        assert main.query_one("#filter", Input).value == "git"
        assert names(main) == ["GitHub"]
        await pilot.press("h", "u", "b")  # typing goes on after what was typed ahead
        await settle(app, pilot)
        assert main.query_one("#filter", Input).value == "github"


@pytest.mark.parametrize(
    ("typed", "expected_filter", "expected_names"),
    [
        ("/ba", "ba", ["Bank"]),
        ("d/ba", "", ["Bank", "GitHub"]),  # not a filter; and d (trash) must not run
    ],
)
async def test_keys_typed_while_unlocking_filter_and_never_run_commands(
    env: Env, typed: str, expected_filter: str, expected_names: list[str]
) -> None:
    await env.seed(GITHUB, BANK)
    app = env.app()
    gate = asyncio.Event()
    real_unlock = app.service.unlock

    async def slow_unlock(passphrase: str) -> None:  # a long KDF, under the test's control
        await gate.wait()
        await real_unlock(passphrase)

    app.service.unlock = slow_unlock  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen))
        app.screen.query_one("#passphrase", Input).value = PASSPHRASE
        await pilot.press("enter", *[{"/": "slash"}.get(ch, ch) for ch in typed])
        gate.set()
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(app, pilot)
        main = app.screen
        assert isinstance(main, MainScreen)
        assert main.query_one("#filter", Input).value == expected_filter
        assert names(main) == expected_names
        assert len(await app.service.search("", trash=True)) == 0


async def test_items_added_by_another_process_appear_in_the_list(env: Env) -> None:
    await env.seed(GITHUB, BANK)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("down")  # on GitHub
        await settle(app, pilot)
        cli = (ItemKind.PASSWORD, {"name": "Added by the CLI", "username": "u", "password": "p"})
        await env.seed(cli)  # another process: the CLI while the UI is open
        await until(pilot, lambda: "Added by the CLI" in names(main), timeout=10)
        assert names(main) == ["Added by the CLI", "Bank", "GitHub"]
        assert main.current is not None and main.current.name == "GitHub"  # cursor stays


async def test_the_unlock_screen_reports_a_damaged_vault_before_the_passphrase(
    env: Env,
) -> None:
    await env.seed(BANK)
    vault = env.home / "default.mysafe"
    data = bytearray(vault.read_bytes())
    data[200:4000] = bytes(3800)
    vault.write_bytes(bytes(data))
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen))
        note = app.screen.query_one("#status", Note)
        await until(pilot, lambda: "cannot be opened" in str(note.render()))


async def test_copy_sends_the_secret_then_clears_it(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        await pilot.press("c")
        await until(pilot, lambda: env.backend.sent == ["gh-pass-1"])
        assert app.clipboard == ""  # never through Textual's own copy, which keeps a copy
        env.clock.now += 19
        app.tick()
        await app.workers.wait_for_complete()
        assert env.backend.sent == ["gh-pass-1"]
        env.clock.now += 2
        app.tick()
        # a space: tmux ignores empty ones
        await until(pilot, lambda: env.backend.sent == ["gh-pass-1", " "])
        await pilot.press("u")
        await until(pilot, lambda: env.backend.sent[-1] == "octocat")


async def test_reveal_toggles_the_masked_password(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(120, 36)) as pilot:
        main = await unlock(app, pilot)
        pane = main.query_one(DetailPane)
        await pilot.press("enter")
        await settle(app, pilot)
        text = str(pane.render())
        assert "octocat" in _plain(pane) and "gh-pass-1" not in _plain(pane)
        await pilot.press("r")
        await settle(app, pilot)
        assert "gh-pass-1" in _plain(pane)
        await pilot.press("r")
        await settle(app, pilot)
        assert "gh-pass-1" not in _plain(pane) and text


def _plain(pane: DetailPane) -> str:
    return rendered_text(pane.render_item())


async def test_totp_code_is_shown_with_its_countdown(env: Env) -> None:
    seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    await env.seed((ItemKind.PASSWORD, {"name": "2fa", "username": "u", "password": "p",
                                        "secret_key": seed}))  # fmt: skip
    app = env.app()
    async with app.run_test(size=(120, 36)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        pane = main.query_one(DetailPane)
        assert pane.totp is not None and len(pane.totp.code) == 6
        assert f"{pane.totp.seconds_left:2d}s" in _plain(pane)
        await pilot.press("t")
        await settle(app, pilot)
        assert env.backend.sent and env.backend.sent[-1].isdigit()


async def test_attach_and_save_a_file(env: Env, tmp_path: Path) -> None:
    await env.seed()
    source = tmp_path / "notes.txt"
    source.write_text("line one\nline two\n")
    app = env.app()
    async with app.run_test(size=(120, 36)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, AttachDialog)
        app.screen.query_one("#path", Input).value = str(source)
        await pilot.press("enter")
        await settle(app, pilot)
        assert names(main) == ["notes.txt"]
        await pilot.press("enter")
        await settle(app, pilot)
        assert "line one" not in _plain(main.query_one(DetailPane))  # masked: a key, maybe
        await pilot.press("r")
        await settle(app, pilot)
        assert "line one" in _plain(main.query_one(DetailPane))  # revealed text preview
        await pilot.press("o")
        await settle(app, pilot)
        assert isinstance(app.screen, SaveDialog)
        target = tmp_path / "restored.txt"
        app.screen.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
    assert target.read_text() == "line one\nline two\n"


async def test_lock_by_key_clears_the_clipboard(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        assert isinstance(app.screen, UnlockScreen)
        assert not app.service.is_unlocked
        assert env.backend.sent == ["gh-pass-1", " "]  # a space: tmux ignores empty ones
        await unlock(app, pilot)


async def test_idle_timeout_locks(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        env.clock.now += 4 * 60
        app.tick()
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("down")  # activity restarts the countdown
        env.clock.now += 4 * 60
        app.tick()
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        env.clock.now += 61
        app.tick()
        await settle(app, pilot)
        assert isinstance(app.screen, UnlockScreen)
        assert not app.service.is_unlocked


async def test_settings_are_saved(env: Env) -> None:
    await env.seed()
    app = env.app()
    async with app.run_test(size=(100, 36)) as pilot:
        await unlock(app, pilot)
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("escape")  # cancelled: nothing saved, nothing said
        await settle(app, pilot)
        assert not any("Settings saved" in n.message for n in app._notifications)
        await pilot.press("f2")
        await pilot.pause()
        app.screen.query_one("#clear", Input).value = "1000"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "5 to 120" in str(app.screen.query_one("#error", Note).render())
        app.screen.query_one("#clear", Input).value = "45"
        app.screen.query_one("#autolock", Input).value = "2"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert any("Settings saved" in n.message for n in app._notifications)
    saved = json.loads((env.home / "settings.json").read_text())
    assert (saved["clear_seconds"], saved["autolock_minutes"]) == (45, 2)


async def test_narrow_terminal_opens_detail_full_width(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = await unlock(app, pilot)
        assert not main.query_one("#detail-scroll").display
        await pilot.press("enter")
        await settle(app, pilot)
        assert main.query_one("#detail-scroll").display
        assert not main.query_one(ItemList).display
        await pilot.press("escape")
        await pilot.pause()
        assert main.query_one(ItemList).display


async def test_api_secret_copies_as_env_lines(env: Env) -> None:
    stripe = {"name": "Stripe live", "url": "https://api.stripe.com", "client_id": "cid",
              "client_secret": "sk 1"}  # fmt: skip
    await env.seed((ItemKind.API_SECRET, stripe))
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        await pilot.press("4", "x")
        await settle(app, pilot)
        assert env.backend.sent[-1] == (
            "export STRIPE_LIVE_URL=https://api.stripe.com\n"
            "export STRIPE_LIVE_CLIENT_ID=cid\n"
            "export STRIPE_LIVE_CLIENT_SECRET='sk 1'\n"
        )


async def test_crash_report_shows_no_local_variables(env: Env) -> None:
    await env.seed(GITHUB)
    app = env.app()

    def boom() -> None:
        secret = "hunter2-in-a-local"  # noqa: F841 — Textual's default report would print it
        raise ValueError("boom")

    report = ""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        try:
            boom()
        except ValueError:
            app._fatal_error()  # what Textual calls on an unhandled exception
        report = rendered_text(*app._exit_renderables)
    assert "internal error (ValueError)" in report
    assert "hunter2" not in report


async def test_names_that_look_like_markup_show_as_typed(env: Env) -> None:
    odd = "a[/]b [red]x"
    await env.seed((ItemKind.NOTE, {"name": odd, "note": "body"}))
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert odd in str(app.screen.query_one(".question").render())
        await pilot.press("y")
        await until(pilot, lambda: names(main) == [])
        assert any(odd in n.message for n in app._notifications)


async def test_rotating_the_vault_key_from_the_palette(env: Env) -> None:
    from textual.command import CommandList, CommandPalette

    from mysafe_tui.tui.modals.rotate import RotateKeyDialog

    await env.seed(GITHUB, BANK)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"rotate the vault")
        await until(pilot, lambda: app.screen.query_one(CommandList).highlighted is not None)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RotateKeyDialog))
        dialog = app.screen
        dialog.query_one("#passphrase", Input).value = "not the passphrase"
        await pilot.press("enter")
        await until(
            pilot, lambda: "Nothing was changed" in str(dialog.query_one("#error", Note).render())
        )
        dialog.query_one("#passphrase", Input).value = PASSPHRASE
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is main)
        assert any("2 records re-encrypted" in n.message for n in app._notifications)
        assert await app.service.reveal(main.current.id) if main.current else False


async def test_ctrl_f_looks_for_the_filter_inside_notes_text(env: Env) -> None:
    home = (ItemKind.NOTE, {"name": "Home", "note": "the Wi-Fi key is on the fridge"})
    office = (ItemKind.NOTE, {"name": "Office", "note": "badge at the front desk"})
    await env.seed(GITHUB, home, office)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)
        await pilot.press("2", "slash", *"fridge")
        await settle(app, pilot)
        assert names(main) == [] and "ctrl+f" in main.query_one(ItemList).empty_text
        await pilot.press("ctrl+f")
        await until(pilot, lambda: names(main) == ["Home"])
        assert any("1 item(s) hold 'fridge'" in n.message for n in app._notifications)
        assert len(await app.service.search("fridge")) == 0  # note text is never indexed


async def test_a_keymap_in_settings_rebinds_a_key_and_the_help_page_follows(env: Env) -> None:
    from textual.widgets import Static

    from mysafe_tui.system.settings import Settings
    from mysafe_tui.tui.modals.help import HelpDialog

    await env.seed(GITHUB)
    service = env.service()
    service.settings = Settings(keymap={"copy.username": "y", "no.such.action": "z"})
    app = MySafeApp(service, clock=env.clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        assert any("no action named no.such.action" in n.message for n in app._notifications)
        await pilot.press("u")  # the old key does nothing any more
        await pilot.press("y")
        await until(pilot, lambda: env.backend.sent == ["octocat"])
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpDialog))
        text = rendered_text(app.screen.query_one("#keys", Static).content)
        row = next(line for line in text.splitlines() if "copy the username" in line)
        assert row.split()[0] == "y"


async def test_a_keymap_reaches_a_dialogs_keys_and_the_help_page_lists_them(env: Env) -> None:
    """The new/edit dialog's generate key, rebound in settings by its id, works in the dialog
    and shows on the help page under the dialog's own section."""
    from textual.widgets import Input, Static

    from mysafe_tui.system.settings import Settings
    from mysafe_tui.tui.modals.help import HelpDialog
    from mysafe_tui.tui.modals.item import ItemDialog

    await env.seed(GITHUB)
    service = env.service()
    service.settings = Settings(keymap={"item.generate": "ctrl+o"})
    app = MySafeApp(service, clock=env.clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ItemDialog))
        password = app.screen.query_one("#f-password", Input)
        await pilot.press("ctrl+g")  # the old key does nothing any more
        await pilot.press("ctrl+o")
        await until(pilot, lambda: len(password.value) >= 20)
        await pilot.press("escape", "y")  # leave it, and yes, drop what changed
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpDialog))
        text = rendered_text(app.screen.query_one("#keys", Static).content)
        dialog = text[text.index("New / edit dialog") :]
        row = next(line for line in dialog.splitlines() if "from the generator" in line)
        assert row.split()[0] == "ctrl+o"


async def test_leaving_the_app_locks_and_stops_the_vaults_thread(env: Env) -> None:
    """However the UI ends, nothing of the vault outlives it: no key, no worker thread."""
    import threading

    def vault_threads() -> set[int]:
        return {t.ident or 0 for t in threading.enumerate() if t.name.startswith("mysafe-vault")}

    await env.seed(GITHUB)
    before = vault_threads()  # other tests' services in this process, if any
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        assert vault_threads() - before  # the app's service has its thread
    assert not app.service.is_unlocked
    assert vault_threads() <= before


def test_every_key_of_the_ui_comes_from_the_action_table() -> None:
    """No screen, dialog or widget writes a binding of its own: each is a row of
    tui/actions.py with an id (what a keymap names), and no id is used twice."""
    import mysafe_tui
    from mysafe_tui.tui.actions import ACTIONS, BY_ID

    package = Path(mysafe_tui.__file__).parent
    inline = [str(f.relative_to(package)) for f in package.rglob("*.py")
              if f.name != "actions.py" and "Binding(" in f.read_text()]  # fmt: skip
    assert inline == []
    assert len(BY_ID) == len(ACTIONS)


async def test_actions_that_do_not_apply_are_left_out_of_the_palette(env: Env) -> None:
    from textual.command import CommandList, CommandPalette

    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock(app, pilot)

        async def palette_titles(query: str) -> list[str]:
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*keys(query))
            command_list = app.screen.query_one(CommandList)
            await until(pilot, lambda: command_list.option_count > 0)
            titles = [
                str(command_list.get_option_at_index(i).prompt)
                for i in range(command_list.option_count)
            ]
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is main)
            return titles

        assert any("Copy username" in t for t in await palette_titles("copy user"))
        await pilot.press("6")  # the trash: nothing to copy, restore needs a trashed item
        await until(pilot, lambda: names(main) == [])
        assert not any("Copy username" in t for t in await palette_titles("copy user"))


async def test_import_dialog_reads_first_then_imports_in_one_go(env: Env, tmp_path: Path) -> None:
    """I: pick the format and the file, read (the report, nothing written), then Import."""
    from textual.widgets import Button, Static

    from mysafe_tui.tui.modals.importer import ImportDialog
    from mysafe_tui.tui.widgets.item_list import ItemList

    sample = Path(__file__).parent / "data" / "import" / "bitwarden_export.json"
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(100, 34)) as pilot:
        main = await unlock(app, pilot)
        dialog = await read_in_import_dialog(app, pilot, "bitwarden", sample)
        button = dialog.query_one("#import", Button)
        await until(pilot, lambda: not button.disabled)
        report = str(dialog.query_one("#import-text", Static).render())
        assert "Kept beside the usual fields: 12 custom fields, 2 extra URLs" in report
        assert [i.name for i in main.query_one(ItemList).items] == ["GitHub"]  # not yet
        await pilot.press("enter")  # the Import button has the focus
        await until(pilot, lambda: not isinstance(app.screen, ImportDialog))
        await until(pilot, lambda: "Login Name" in [i.name for i in main.query_one(ItemList).items])


async def read_in_import_dialog(app: MySafeApp, pilot: Any, fmt: str, path: Path) -> Any:
    """I, the format and the file, Enter: the dialog reading it."""
    from mysafe_tui.tui.modals.importer import ImportDialog

    await pilot.press("I")
    await until(pilot, lambda: isinstance(app.screen, ImportDialog))
    dialog = app.screen
    dialog.query_one(Select).value = fmt
    dialog.query_one("#import-path", Input).value = str(path)
    await pilot.press("enter")
    return dialog


async def test_import_dialog_asks_for_a_protected_exports_password(env: Env) -> None:
    from textual.widgets import Button, Input

    sample = Path(__file__).parent / "data" / "import" / "bitwarden_encrypted_export.json"
    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(100, 34)) as pilot:
        await unlock(app, pilot)
        dialog = await read_in_import_dialog(app, pilot, "bitwarden", sample)
        box = dialog.query_one("#import-password", Input)
        await until(pilot, lambda: box.display and box.has_focus)  # asked for, not before
        await pilot.press("a", "enter")
        await until(pilot, lambda: not dialog.query_one("#import", Button).disabled)
        assert str(dialog.query_one("#import", Button).label) == "Import 1"


async def test_export_dialog_writes_a_keepass_file_and_warns_of_plain_text(
    env: Env, tmp_path: Path
) -> None:
    from textual.widgets import Input, Select

    from mysafe_tui.tui.modals.exporter import ExportDialog
    from mysafe_tui.tui.widgets.note import Note

    await env.seed(GITHUB)
    app = env.app()
    async with app.run_test(size=(100, 34)) as pilot:
        main = await unlock(app, pilot)
        main.action_export_items()  # the palette's "Export for another manager"
        await until(pilot, lambda: isinstance(app.screen, ExportDialog)
                    and bool(app.screen.query("#export-path")))  # fmt: skip
        dialog = app.screen
        status = dialog.query_one("#export-status", Note)
        target = tmp_path / "out.kdbx"
        dialog.query_one("#export-path", Input).value = str(target)
        dialog.query_one("#export-password", Input).value = "kdbx-pass-123"
        dialog.query_one("#export-repeat", Input).value = "kdbx-pass-12"
        await pilot.press("enter")  # in the last box: enter exports
        await until(pilot, lambda: "differ" in str(status.render()))
        dialog.query_one("#export-repeat", Input).value = "kdbx-pass-123"
        await pilot.press("enter")  # in the last box: enter exports
        await until(pilot, lambda: "Wrote 1 item(s)" in str(status.render()))
        assert target.read_bytes()[:4] == b"\x03\xd9\xa2\x9a"  # a KDBX file
        assert dialog.query_one("#export-password", Input).value == ""  # not kept
        dialog.query_one(Select).value = "csv"
        await until(pilot, lambda: "Plain text" in str(status.render()))


async def test_fields_and_files_add_a_hidden_field_and_restore_an_old_password(
    env: Env, tmp_path: Path
) -> None:
    """The m dialog: a hidden field typed in a burst stays masked (in the dialog and the
    detail pane) until r; enter on an old password makes it the password again; a file
    attached from a path is listed; a value holding escape sequences is shown escaped."""
    from textual.widgets import DataTable

    from conftest import rendered_text
    from mysafe_tui.tui.modals.extras import ExtrasDialog
    from mysafe_tui.tui.widgets.detail import DetailPane

    await env.seed(GITHUB)
    svc = env.service()
    await svc.unlock(PASSPHRASE)
    item = (await svc.search("github"))[0]
    await svc.update_item(item.id, {"password": "gh-pass-2"})  # gh-pass-1 is now old
    await svc.set_field(item.id, "Note", "\x1b]52;c;ZXZpbA==\x07\x1b[2J")  # from someone else
    await svc.close()
    (tmp_path / "backup.cfg").write_text("config")
    app = env.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        await pilot.press("enter", "m")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ExtrasDialog)
        table = dialog.query_one(DataTable)
        shown = rendered_text(*(table.get_row_at(n)[2] for n in range(table.row_count)))
        assert "\x1b" not in shown and "gh-pass-1" not in shown  # escaped; old one masked
        await pilot.click("#extras-label")
        await pilot.press(*"PIN", "tab", *"4711", "tab")
        dialog.query_one("#extras-type", Select).value = "hidden"
        await pilot.click("#add-field")
        await settle(app, pilot)
        dialog.query_one("#extras-path", Input).value = str(tmp_path / "backup.cfg")
        await pilot.click("#attach")
        await settle(app, pilot)
        table.focus()
        shown = rendered_text(*(table.get_row_at(n)[2] for n in range(table.row_count)))
        assert "4711" not in shown and "config" not in shown
        labels = [str(table.get_row_at(n)[1]) for n in range(table.row_count)]
        assert "PIN" in labels and "backup.cfg" in labels
        table.move_cursor(row=table.row_count - 1)  # the old password
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        pane = app.screen.query_one(DetailPane)
        text = rendered_text(pane.render_item())
        assert "PIN" in text and "4711" not in text and "Old passwords" in text
        await pilot.press("r")
        await settle(app, pilot)
        assert "4711" in rendered_text(pane.render_item())
    svc = env.service()
    await svc.unlock(PASSPHRASE)
    assert (await svc.reveal(item.id))["password"].reveal() == "gh-pass-1"
    found = await svc.extras(item.id)
    assert [h.value for h in found.history] == ["gh-pass-2"]
    assert [(f.label, f.value, f.type.value) for f in found.fields][-1] == ("PIN", "4711", "hidden")
    assert [a.name for a in found.attachments] == ["backup.cfg"]
    await svc.close()

"""First run (create a vault) and unlock: the first thing anyone sees."""

from __future__ import annotations

import asyncio
import importlib
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, LoadingIndicator

from mysafe_tui.core.errors import (
    InvalidInput,
    MySafeError,
    VaultError,
    WeakPassphrase,
    WrongPassphrase,
)
from mysafe_tui.core.humanize import home_relative
from mysafe_tui.service.door import VaultDoor
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.forms import move_on
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.text import plain
from mysafe_tui.tui.widgets.note import Note

if TYPE_CHECKING:
    from mysafe_tui.service import VaultService

BANNER = "mysafe"


class _VaultGate(Screen[None]):
    """Drawn from the door (the vault's path); the service is asked for once it is needed,
    after the first frame (service/door.py)."""

    def __init__(self, door: VaultDoor) -> None:
        super().__init__()
        self.door = door

    @property
    def service(self) -> VaultService:
        return self.door.open()

    def busy(self, message: str) -> None:
        self.query_one("#status", Note).say(message, "status")
        self.query_one(LoadingIndicator).display = True
        for widget in self.query(Input):
            widget.disabled = True

    def idle(self, message: str = "", error: bool = True) -> None:
        self.query_one("#status", Note).say(message, "error" if error else "status")
        self.query_one(LoadingIndicator).display = False
        for widget in self.query(Input):
            widget.disabled = False

    def on_mount(self) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query(Input).first().focus()
        self.call_after_refresh(self._preload)

    @work(thread=True, exit_on_error=False)
    def _preload(self) -> None:
        """Import the main screen while the user types: not before the first paint, and
        not on the unlock path either."""

        importlib.import_module("mysafe_tui.tui.screens.main")


class _Passphrase(Input):
    """The unlock passphrase box. Enter submits here, not on the app's later binding pass: in
    a burst of keys (a fast typist, a paste, tmux send-keys) the keys after Enter would reach
    the box first and join the passphrase. They are kept in `ahead` instead: typed ahead."""

    ahead: list[str] | None = None  # not None from Enter until the unlock fails

    async def _on_key(self, event: events.Key) -> None:
        if self.ahead is not None:  # submitted: a second Enter must not start it again
            if event.is_printable and event.character:
                self.ahead.append(event.character)
            if event.key == "enter" or event.is_printable:
                event.stop()
                event.prevent_default()
            return
        if event.key == "enter" and self.value:
            event.stop()
            event.prevent_default()
            self.ahead = []
            await self.action_submit()
            return
        await super()._on_key(event)


class UnlockScreen(_VaultGate):
    """Passphrase in, vault open. Wrong passphrases wait longer each time after the third."""

    def __init__(self, door: VaultDoor, from_agent: bool = False) -> None:
        super().__init__(door)
        self.failures = 0
        # At start only: after the UI's own auto-lock the passphrase is asked again.
        self.from_agent = from_agent and door.settings.use_agent

    def on_mount(self) -> None:
        super().on_mount()
        # After the first paint: opening the file imports sqlite3 and cryptography (~80 ms)
        # in the worker thread, which would hold the GIL while the screen first draws.
        self.call_after_refresh(self.prepare)

    @work(group="prepare", exit_on_error=False)
    async def prepare(self) -> None:
        """Check the vault file while the passphrase is typed: a damaged vault says so now."""
        try:
            await self.service.prepare()
            if self.from_agent and await self.service.unlock_from_agent("ui"):
                self.app.call_later(self.app.action_unlocked, None)  # type: ignore[attr-defined]
                self.app.notify("Opened with the unlock agent's key ('mysafe lock' ends it).")
        except MySafeError as exc:
            self.idle(f"This vault cannot be opened: {exc}")

    def compose(self) -> ComposeResult:
        with Middle(), Center(), Vertical(classes="dialog gate"):
            yield Label(BANNER, classes="banner")
            yield Label(plain(f"Vault: {home_relative(self.door.vault_path)}"), classes="hint")
            yield _Passphrase(placeholder="Passphrase", password=True, id="passphrase")
            yield Note("", id="status")
            yield LoadingIndicator()
            yield Label("enter unlock · ctrl+q quit", classes="hint")

    @on(Input.Submitted, "#passphrase")
    def submitted(self, event: Input.Submitted) -> None:
        if event.value:
            self.unlock(event.value)

    def on_key(self, event: events.Key) -> None:
        """While the vault unlocks (the box is disabled), keys are typed ahead: a `/query`
        becomes the list's filter, as if typed after the list appeared."""
        ahead = self.query_one(_Passphrase).ahead
        if ahead is not None and event.is_printable and event.character:
            ahead.append(event.character)
            event.stop()

    @work(exclusive=True, exit_on_error=False)
    async def unlock(self, passphrase: str) -> None:
        self.busy("Deriving the key (Argon2id)…")
        box = self.query_one(_Passphrase)
        try:
            await self.service.unlock(passphrase)
        except WrongPassphrase:
            box.ahead, box.value = None, ""  # what was typed ahead meant nothing
            self.failures += 1
            await self._back_off()
            return
        except MySafeError as exc:
            box.ahead = None
            cannot = "This vault cannot be opened: " if isinstance(exc, VaultError) else ""
            self.idle(f"{cannot}{exc}")
            return
        # The list itself: keys typed until the list screen is up still join it.
        self.app.call_later(self.app.action_unlocked, box.ahead)  # type: ignore[attr-defined]

    async def _back_off(self) -> None:
        """A growing wait after the third failure slows down guessing at the keyboard."""
        wait = 0 if self.failures < 3 else min(2 ** (self.failures - 2), 30)
        for left in range(wait, 0, -1):
            self.busy(f"Wrong passphrase ({self.failures} tries). Try again in {left} s…")
            self.query_one(LoadingIndicator).display = False
            await asyncio.sleep(1)
        self.idle("Wrong passphrase. Try again.")
        self.query_one("#passphrase", Input).focus()


class CreateVaultScreen(_VaultGate):
    """No vault yet: choose a passphrase (twice), see its strength, create."""

    BINDINGS = bindings("form")

    def compose(self) -> ComposeResult:
        with Middle(), Center(), Vertical(classes="dialog gate"):
            yield Label(BANNER, classes="banner")
            yield Label("Welcome. Choose a passphrase for your new vault.", classes="lead")
            yield Label(
                plain(f"It will live at {home_relative(self.door.vault_path)}"), classes="hint"
            )
            yield Input(placeholder="Passphrase", password=True, id="passphrase")
            yield Note("", id="strength")
            yield Input(placeholder="Repeat the passphrase", password=True, id="confirm")
            yield Note("", id="status")
            yield LoadingIndicator()
            yield Button("Create vault", id="create", variant="primary")
            yield Label("4+ random words or 12+ mixed characters · ctrl+q quit", classes="hint")

    @on(Input.Changed, "#passphrase")
    def strength(self, event: Input.Changed) -> None:
        """Rated as it is typed; an old verdict never stays under a new passphrase."""
        label = self.query_one("#strength", Note)
        self.query_one("#status", Note).say("")
        if not event.value:
            label.say("")
            return
        s = self.service.estimate_strength(event.value)
        advice = f" — {s.advice()}" if s.advice() else ""
        label.say(f"Strength: {s.label}{advice}", f"strength-{s.score}")

    def action_next_field(self) -> None:
        move_on(self, ("passphrase", "confirm"))

    @on(Input.Submitted, "#confirm")
    @on(Button.Pressed, "#create")
    @work(exclusive=True, group="check", exit_on_error=False)
    async def submitted(self) -> None:
        first = self.query_one("#passphrase", Input).value
        second = self.query_one("#confirm", Input).value
        try:
            self.service.check_new_passphrase(first, second)
        except WeakPassphrase as exc:  # the advice is under the box already; ask, in full
            self.idle("")
            question = f"{_sentence(str(exc))} Use it anyway?"
            if not await self.app.push_screen_wait(
                ConfirmDialog(question, "Use it anyway", danger=True)
            ):
                return
        except InvalidInput as exc:
            self.idle(_sentence(str(exc)))
            return
        self.create(first)

    @work(exclusive=True, exit_on_error=False)
    async def create(self, passphrase: str) -> None:
        self.busy("Creating the vault (Argon2id key derivation)…")
        try:
            await self.service.create(passphrase)
        except MySafeError as exc:
            self.idle(f"The vault was not created: {exc}")
            return
        self.app.call_later(self.app.action_unlocked)  # type: ignore[attr-defined]


def _sentence(text: str) -> str:
    """A capital first letter, the rest as it was (str.capitalize lowercases the rest)."""
    return text[:1].upper() + text[1:]

"""MySafeApp: the Textual application. It is given a VaultService, or the door that builds
one after the first frame (service/door.py), and never builds one itself."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, work
from textual.app import App, SystemCommand
from textual.filter import LineFilter
from textual.notifications import SeverityLevel
from textual.screen import Screen

if TYPE_CHECKING:  # the main screen and its dialogs load after unlock: a faster first paint
    from mysafe_tui.core.models import ItemKind, ItemSummary
    from mysafe_tui.service import VaultService
    from mysafe_tui.tui.screens.main import MainScreen

from mysafe_tui.service.door import VaultDoor
from mysafe_tui.tui.actions import ACTIONS, bindings, keys_of, unknown_ids
from mysafe_tui.tui.commands import ItemCommands
from mysafe_tui.tui.keyboard import KeyRouter
from mysafe_tui.tui.screens.unlock import CreateVaultScreen, UnlockScreen
from mysafe_tui.tui.shutdown import SIGNALS, Lifeline
from mysafe_tui.tui.text import ControlFilter, printable

RELEASE_SECONDS = 5.0  # giving PAM custody back at a lock or quit waits no longer


class MySafeApp(App[None]):
    """The vault UI. `clock` is injectable so tests can fast-forward the auto-lock."""

    CSS_PATH = "app.tcss"

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Always plain text, whatever a caller asks (a widget's `notify` asks for markup):
        messages quote item names, paths and server answers, shown escaped."""
        super().notify(
            printable(message, multiline=True),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def get_line_filters(self) -> Sequence[LineFilter]:
        return [*super().get_line_filters(), self._control_filter]

    TITLE = "mysafe"
    COMMANDS = App.COMMANDS | {ItemCommands}
    # tab and shift+tab among them, with priority: focus moves before the focused widget
    # sees the key (tui/keyboard.py).
    BINDINGS = bindings("app")
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self, service: VaultService | VaultDoor, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._control_filter = ControlFilter()
        self.keys = KeyRouter(self)
        self._lifeline: Lifeline | None = None
        self.door = service if isinstance(service, VaultDoor) else VaultDoor.of(service)
        self.clock = clock
        self.last_activity = clock()
        from mysafe_tui.tui.questions import QuestionDesk

        self.questions = QuestionDesk(self)  # the unlock agent's questions, while unlocked

    @property
    def service(self) -> VaultService:
        """The vault service; from the door, built after the first frame (`_started`)."""
        return self.door.open()

    def _started(self) -> None:
        """After the first frame: the service is built while the passphrase is typed, and the
        collector is back on if `mysafe` turned it off for the start-up, with what the
        start-up built (modules, the UI) out of its sight."""
        service = self.door.open()
        if not self.is_headless:  # a real terminal: the clipboard's OSC 52 goes through us
            service.terminal_write = self._write_terminal
        if not gc.isenabled():
            gc.freeze()
            gc.enable()

    def get_default_screen(self) -> Screen[Any]:
        """The first screen is the unlock (or first-run) screen itself: no blank screen is
        composed and painted before it (the first paint comes sooner)."""
        first: Screen[Any]
        if self.door.vault_exists():
            first = UnlockScreen(self.door, from_agent=True)
        else:
            first = CreateVaultScreen(self.door)
        # What push_screen and switch_screen give every screen they install, so that this one
        # can be switched away from too (Textual is pinned: see pyproject.toml).
        first._push_result_callback(first, None)
        return first

    def on_mount(self) -> None:
        theme = self.door.settings.theme
        if theme in self.available_themes:
            self.theme = theme
        self.apply_keymap()
        self.set_interval(1, self.tick)
        self.call_after_refresh(self._started)
        try:
            loop = asyncio.get_running_loop()
            for sig in SIGNALS:
                loop.add_signal_handler(sig, self._signalled)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            return
        if not self.is_headless:  # a real terminal: never outlive it
            self._lifeline = Lifeline(lambda: loop.call_soon_threadsafe(self._signalled))
            self._lifeline.start()

    # --- activity, auto-lock, clipboard ----------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event,
            events.Key
            | events.MouseDown
            | events.MouseScrollDown
            | events.MouseScrollUp
            | events.Paste,
        ):
            self.last_activity = self.clock()
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            await self.keys.route(event)  # in arrival order, typed ahead if need be
            return
        await super().on_event(event)

    def on_app_focus(self, event: events.AppFocus) -> None:
        """The terminal is looked at again (where it reports focus): fresh data if the last
        sync is older than a minute."""
        main = self.main_screen
        if main is not None:
            main.sync_when_due(stale_after=60)

    async def on_descendant_focus(self) -> None:
        await self.keys.flush()  # a screen took the focus: what was typed ahead goes there

    def tick(self) -> None:
        """Once a second: clear the clipboard when due, lock when idle, update countdowns."""
        if not self.door.is_open:
            return
        if self.service.clipboard_seconds_left is not None:
            self._clipboard_tick()
        if not self.service.is_unlocked:
            return
        if self.seconds_until_lock() <= 0:
            self.lock_vault(reason="Locked after inactivity")
            return
        main = self.main_screen
        if main is not None:
            main.update_topbar()

    @work(exclusive=True, group="clipboard", exit_on_error=False)
    async def _clipboard_tick(self) -> None:
        cleared = await self.service.clipboard_tick()
        if cleared:
            self.notify(cleared)

    def _write_terminal(self, sequence: str) -> None:
        """An escape sequence for the terminal (the clipboard's OSC 52), queued on Textual's
        own writer so that it never lands inside a frame. Called from the clipboard's thread:
        the driver's writer is a queue."""
        driver = self._driver
        if driver is not None:
            driver.write(sequence)

    def seconds_until_lock(self) -> int:
        return int(self.service.idle_lock_seconds - (self.clock() - self.last_activity))

    def _signalled(self) -> None:
        """SIGTERM / SIGHUP / the terminal is gone (the SSH session went away): lock, clear,
        leave; the lifeline ends the process if leaving hangs."""
        if self._lifeline is not None:
            self._lifeline.arm(128 + signal.SIGHUP)
        self.lock_vault(reason="", then_exit=True)

    # --- actions --------------------------------------------------------------------------

    @property
    def main_screen(self) -> MainScreen | None:
        from mysafe_tui.tui.screens.main import MainScreen

        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    def action_unlocked(self, typed_ahead: list[str] | None = None) -> None:
        from mysafe_tui.tui.screens.main import MainScreen

        self.last_activity = self.clock()
        self.switch_screen(MainScreen(self.service, typed_ahead))
        self.questions.open()
        if self.service.a2a_binding() is not None:  # what a crashed UI left in custody
            self.run_worker(self._give_custody_back(), exit_on_error=False)
        if self.service.rollback:
            self.notify(f"Read-only: {self.service.rollback}", severity="warning", timeout=30)
        if self.service.corrupt_items:
            self.notify(
                f"{len(self.service.corrupt_items)} item(s) are damaged and cannot be opened; "
                "the others are fine.",
                severity="warning",
                timeout=10,
            )

    async def _give_custody_back(self) -> None:
        """PAM credentials this UI revealed (and any a crashed one left) go back to
        senhasegura; a failure is said, and the lock goes on."""
        if not self.door.is_open or not self.service.is_unlocked:
            return
        if self.service.a2a_binding() is None:
            return
        try:  # a bounded wait: what is not given back now is at the next start
            failed = await asyncio.wait_for(self.service.pam_release_mine(), RELEASE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - the lock must go on
            failed = [type(exc).__name__]
        if failed:
            self.notify("PAM custody not given back: " + "; ".join(failed), severity="error")

    def action_lock(self) -> None:
        self.lock_vault(reason="Locked")

    @work(exclusive=True, group="lock", exit_on_error=False)
    async def lock_vault(self, reason: str, then_exit: bool = False) -> None:
        """Drop keys and decrypted data, clear the clipboard, close every screen of secrets.
        The screens close whatever happened while the service locked (it drops the keys
        first): a lock asked for is never left half done on a screen of secrets."""
        self.questions.close()
        await self._give_custody_back()
        try:
            await self.service.lock()
        except Exception as exc:  # noqa: BLE001 - said, and the screens close all the same
            reason = f"Locked; closing the vault file failed ({type(exc).__name__})"
        while len(self.screen_stack) > 1:  # the main screen stays: replaced just below
            self.pop_screen()
        if then_exit:
            self.exit()
            return
        if self.door.vault_exists():
            self.switch_screen(UnlockScreen(self.door))
        if reason:
            self.notify(reason)

    async def action_quit(self) -> None:
        self.questions.close()
        await self._give_custody_back()
        if self.door.is_open:
            await self.service.lock()  # clears the clipboard too
        self.exit()

    async def on_unmount(self) -> None:
        """However the app ends (quit, a lost terminal, a signal): lock and stop the vault's
        thread, so nothing of the vault outlives the UI (an embedding program, a test)."""
        self.questions.close()
        if not self.door.is_open:  # ended before its first frame: no vault was opened
            return
        try:
            await self.service.close()
        except Exception as exc:  # noqa: BLE001 - ending anyway: say what, never a traceback
            self.log.error(f"closing the vault failed: {type(exc).__name__}")

    def action_help(self) -> None:
        from mysafe_tui.tui.modals.help import HelpDialog

        if not isinstance(self.screen, HelpDialog):
            self.push_screen(HelpDialog())

    def action_settings(self) -> None:
        from mysafe_tui.tui.modals.settings import SettingsDialog

        self.push_screen(SettingsDialog(self.service), self._settings_saved)

    @work(exit_on_error=False)
    async def action_rotate_key(self) -> None:
        from mysafe_tui.tui.modals.rotate import RotateKeyDialog

        count = await self.push_screen_wait(RotateKeyDialog(self.service))
        if count is not None:
            self.notify(f"New vault key: {count} records re-encrypted under new item keys")

    def _settings_saved(self, saved: bool | None) -> None:
        if saved:
            self.apply_keymap()
            self.notify("Settings saved")

    def apply_keymap(self) -> None:
        """The user's keys from settings ("keymap": {"copy.username": "y"}), by action id."""
        keymap = dict(self.door.settings.keymap)
        unknown = unknown_ids(keymap)
        if unknown:
            self.notify(
                f"Keymap: no action named {', '.join(unknown)} (the ids are in the help page)",
                severity="warning",
                timeout=10,
            )
        self.set_keymap({k: v for k, v in keymap.items() if k not in unknown})

    def jump_to(self, item: ItemSummary) -> None:
        main = self.main_screen
        if main is not None:
            while self.screen is not main:
                self.pop_screen()
            main.jump_to(item)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not self.service.is_unlocked:
            return
        main = self.main_screen
        if main is None:
            return
        keymap = self.service.settings.keymap
        item = main.current
        bound = self.service.remote_status().bound
        for action in ACTIONS:
            if action.palette and action.applies(item, bound):
                keys = keys_of(action, keymap)
                node = self if action.on == "app" else main
                yield SystemCommand(
                    action.title,
                    action.help + (f" ({keys})" if keys else ""),
                    partial(node.run_action, action.action),
                )
        from mysafe_tui.core.models import ItemKind  # not before the first paint

        for kind in ItemKind:
            verb = "Attach a file" if kind is ItemKind.FILE else f"New {kind.label.lower()}"
            yield SystemCommand(verb, f"Add {kind.noun}", partial(self._new, main, kind))

    def _new(self, main: MainScreen, kind: ItemKind) -> None:
        main.action_kind(kind.value)
        main.call_after_refresh(main.action_new)

    # --- safety ---------------------------------------------------------------------------

    def _fatal_error(self) -> None:
        """Textual's crash report prints every local variable: those can be secrets. Show
        where it happened and the exception type only."""

        self.bell()
        _, error, tb = sys.exc_info()
        frames = traceback.extract_tb(tb)[-3:] if tb else []
        where = "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in frames)
        message = Text.assemble(
            ("mysafe stopped on an internal error ", "bold red"),
            (f"({type(error).__name__})", "bold"),
            f"\nat {where}\n" if where else "\n",
            "Details are not shown because they could contain secrets. Your vault is intact: "
            "every change is committed before it is shown.",
        )
        self._exit_renderables.append(message)
        self._close_messages_no_wait()

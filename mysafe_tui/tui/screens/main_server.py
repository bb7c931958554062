"""The main screen's server side and its dialogs: sync in the background and on demand, login,
push, share links, people, import and export, extras, history. Part of
MainScreen (main.py)."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from textual import work
from textual.screen import Screen

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.models import ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.modals.remote import LoginDialog, SyncDialog

T = TypeVar("T")


class ServerActions(Screen[None]):
    """The main screen's server work and the dialogs it opens."""

    _told_choices: tuple[str, ...] = ()  # what the last quiet sync said waits for a choice

    if TYPE_CHECKING:  # MainScreen's (main.py), which this is part of
        service: VaultService

        def refresh_list(self, keep: str | None = None, top: bool = False) -> Any: ...
        def update_topbar(self) -> None: ...
        def _target(self, action: str) -> ItemSummary | None: ...
        async def _call(self, call: Awaitable[T]) -> T | None: ...
        def load_detail(self, reveal: bool) -> Any: ...
        def edit(self, item: ItemSummary, generate: bool = False) -> Any: ...

    # --- the server ---------------------------------------------------------------------------

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def background_sync(self) -> None:
        """A quiet sync (at start, to reconnect, every few minutes, on focus): the top bar
        shows how it goes; one line when it brought or sent something, none otherwise."""
        was_offline = self.service.remote_status().state in ("offline", "error")
        self.update_topbar()
        try:
            result = await self.service.sync()
        except MySafeError:
            self.update_topbar()
            return
        news = [
            f"{n} {what}"
            for n, what in (
                (result.sent, "sent"),
                (result.written, "updated"),
                (result.removed, "removed"),
            )
            if n
        ]
        if was_offline:
            self.notify(
                "Back online: synced with the server" + (f" ({', '.join(news)})" if news else "")
            )
        elif news:
            self.notify(f"Synced: {', '.join(news)}")
        self._report_choices(result.problems, again=False)
        self._report_unreadable(result.unreadable)
        self.refresh_list()
        self.update_topbar()

    def sync_period(self) -> float:
        """Seconds between quiet syncs while the server answers (0: never on its own)."""
        return self.service.settings.sync_minutes * 60.0

    def sync_when_due(self, stale_after: float | None = None) -> None:
        """Every half minute: try an unreachable server again; sync one that answers when
        its last sync is older than the setting (`stale_after`: on regaining focus)."""
        status = self.service.remote_status()
        if not status.bound or not self.service.is_unlocked:
            return
        if status.state in ("offline", "error"):
            self.background_sync()
            return
        period = self.sync_period() if stale_after is None else stale_after
        if period and time.time() - (status.last_sync or 0) >= period:
            self.background_sync()

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def pick_up_changes(self) -> None:
        """Another process wrote to the vault (the CLI, a second window): show it."""
        try:
            changed = await self.service.refresh()
        except MySafeError:
            return  # the next action that reads the vault reports what is wrong with it
        if changed:
            self.refresh_list()

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def action_sync(self) -> None:
        if not self.service.remote_status().bound:
            self.notify(
                "This is a local vault: press L to log in to a MySafe server", severity="warning"
            )
            return
        result = await self.app.push_screen_wait(SyncDialog(self.service))
        if result is not None:
            sent = f"{result.sent} sent, " if result.sent else ""
            self.notify(
                f"Synced: {sent}{result.written} updated, {result.removed} removed, "
                f"{result.unchanged} unchanged"
            )
            self._report_unreadable(result.unreadable)
            self._report_choices(result.problems)
        self.refresh_list()
        self.update_topbar()

    def _report_choices(self, problems: list[str], again: bool = True) -> None:
        """Changes made here that the server moved too: named, and how to choose (a quiet
        sync says it once, not every few minutes)."""
        told, self._told_choices = self._told_choices, tuple(problems)
        if problems and (again or tuple(problems) != told):
            self.notify(
                f"{len(problems)} change(s) made here wait for your choice (⇡ in red; e on "
                f"one to choose):\n{_first_few(problems)}",
                severity="warning",
                timeout=15,
            )

    def _report_unreadable(self, unreadable: list[str]) -> None:
        """Items the server would not give: named (the first few), their copies kept."""
        if unreadable:
            self.notify(
                f"{len(unreadable)} item(s) could not be read; their cached copies are kept "
                f"and the next sync asks again:\n{_first_few(unreadable)}",
                severity="warning",
                timeout=15,
            )

    @work(exit_on_error=False)
    async def action_login(self) -> None:
        status = self.service.remote_status()
        if status.bound:
            question = (
                f"Log out of {status.url}? Its items leave this vault (they stay on the "
                "server); local items stay."
            )
            if await self.app.push_screen_wait(ConfirmDialog(question, "Log out", danger=True)):
                removed = await self._call(self.service.logout())
                if removed is not None:
                    self.notify(f"Logged out; {removed} cached items removed")
        elif await self.app.push_screen_wait(LoginDialog(self.service)):
            self.notify(f"Logged in to {self.service.remote_status().url}")
        self.refresh_list()

    @work(exit_on_error=False)
    async def action_push(self) -> None:
        item = self._target("push")
        if item is None:
            return
        if await self._call(self.service.push(item.id)) is not None:
            self.notify(f"'{item.name}' is on the server now")
            self.refresh_list(keep=item.id)

    @work(exit_on_error=False)
    async def action_share(self) -> None:
        item = self._target("share")
        if item is None:
            return
        from mysafe_tui.tui.modals.share import ShareDialog

        await self.app.push_screen_wait(ShareDialog(self.service, item))

    def action_people(self) -> None:
        item = self._target("people")
        if item is None:
            return
        from mysafe_tui.tui.modals.people import PeopleDialog

        def after(_: None) -> None:
            self.refresh_list(keep=item.id)

        self.app.push_screen(PeopleDialog(self.service, item), after)

    def action_import_items(self) -> None:
        from mysafe_tui.tui.modals.importer import ImportDialog

        def after(written: int | None) -> None:
            if written:
                self.notify(f"Imported {written} item(s); the report is saved beside the vault")
                self.refresh_list()

        self.app.push_screen(ImportDialog(self.service), after)

    def action_export_items(self) -> None:
        from mysafe_tui.tui.modals.exporter import ExportDialog

        self.app.push_screen(ExportDialog(self.service))

    def action_extras(self) -> None:
        item = self._target("extras")
        if item is None:
            return
        from mysafe_tui.tui.modals.extras import ExtrasDialog

        def after(changed: bool | None) -> None:
            if changed:  # the open detail is shown again with what changed
                self.refresh_list(keep=item.id)

        self.app.push_screen(ExtrasDialog(self.service, item), after)

    def action_versions(self) -> None:
        item = self._target("versions")
        if item is None:
            return
        from mysafe_tui.tui.modals.versions import VersionsDialog

        def after(restored: bool | None) -> None:
            if restored:
                self.refresh_list(keep=item.id)

        self.app.push_screen(VersionsDialog(self.service, item), after)

    def action_history(self) -> None:
        item = self._target("history")
        if item is not None:
            from mysafe_tui.tui.modals.history import HistoryDialog

            self.app.push_screen(HistoryDialog(self.service, item))

    def action_pam(self) -> None:
        if self.service.a2a_binding() is None:
            self.notify(
                "No A2A authorization in this vault: 'mysafe login URL --a2a' adds one",
                severity="warning",
            )
            return
        from mysafe_tui.tui.screens.pam import PamScreen

        self.app.push_screen(PamScreen(self.service))

    def action_shares(self) -> None:
        from mysafe_tui.tui.screens.shares import SharesScreen

        if self.service.share_target() is None:
            self.notify(
                "No share server yet: press S on an item to see how to get one", severity="warning"
            )
            return
        self.app.push_screen(SharesScreen(self.service))


def _first_few(lines: list[str], few: int = 5) -> str:
    """The first `few` lines of a list a notification names, "…" for the rest."""
    return "\n".join(lines[:few]) + ("\n…" if len(lines) > few else "")

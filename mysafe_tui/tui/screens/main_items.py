"""The main screen's actions on the chosen item: copy, new, edit, favourite, trash, restore,
purge, save its file. Part of MainScreen (main.py)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from textual import work
from textual.screen import Screen

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.models import SPECS, ItemKind, ItemSummary
from mysafe_tui.core.outbox import PROBLEMS, SETTLED, Outgoing
from mysafe_tui.service import VaultService
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.modals.files import AttachDialog, SaveDialog
from mysafe_tui.tui.modals.item import ItemDialog

T = TypeVar("T")


class ItemActions(Screen[None]):
    """What the keys do to the highlighted item."""

    if TYPE_CHECKING:  # MainScreen's (main.py), which this is part of
        service: VaultService

        @property
        def kind(self) -> ItemKind | None: ...
        def refresh_list(self, keep: str | None = None, top: bool = False) -> Any: ...
        def update_topbar(self) -> None: ...
        def _target(self, action: str) -> ItemSummary | None: ...
        async def _call(self, call: Awaitable[T]) -> T | None: ...
        def load_detail(self, reveal: bool) -> Any: ...

    @work(exit_on_error=False)
    async def action_copy(self, field: str) -> None:
        item = self._target("copy")
        if item is None:
            return
        if field == "primary":
            field = SPECS[item.kind].primary
            if item.kind is ItemKind.FILE:
                self.notify("Files are saved, not copied: press o", severity="warning")
                return
        message = await self._call(self.service.copy_field(item.id, field))
        if message:
            self.notify(message)

    @work(exit_on_error=False)
    async def action_copy_env(self) -> None:
        item = self._target("copy_env")
        if item is None:
            return
        message = await self._call(self.service.copy_env_lines(item.id))
        if message:
            self.notify(message)

    @work(exit_on_error=False)
    async def action_new(self) -> None:
        kind = self.kind
        if kind is None:
            self.notify(
                "Pick a kind first (1-4): the trash holds deleted items", severity="warning"
            )
            return
        if kind is ItemKind.FILE:
            saved = await self.app.push_screen_wait(AttachDialog(self.service))
        else:
            saved = await self.app.push_screen_wait(ItemDialog(self.service, kind))
        if isinstance(saved, ItemSummary):
            self.notify(f"Saved '{saved.name}'")
            self.refresh_list(keep=saved.id)

    def action_edit(self) -> None:
        item = self._target("edit")
        if item is not None:
            self.edit(item)

    @work(exit_on_error=False)
    async def edit(self, item: ItemSummary, generate: bool = False) -> None:
        """The edit dialog; with `generate`, a new password already in it (not saved yet).
        An item shared to view only opens no form; a change the server moved too asks for
        the person's choice first."""
        if item.read_only:
            self.notify(
                f"'{item.name}' is {item.sharing_line()}: its owner can give you edit rights",
                severity="warning",
            )
            return
        waiting = Outgoing.parse(item.outbox) if item.outbox else None
        if waiting is not None and waiting.problem not in ("", "refused"):  # refused: fix it
            await self._choose(item, waiting)
            return
        try:
            secrets = await self.service.reveal(item.id)
        except MySafeError as exc:
            self.notify(str(exc), severity="error")
            return
        dialog = ItemDialog(self.service, item.kind, item, secrets, generate=generate)
        saved = await self.app.push_screen_wait(dialog)
        if saved is not None:
            self.notify(f"Saved '{saved.name}'")
            self.refresh_list(keep=saved.id)

    async def _choose(self, item: ItemSummary, waiting: Outgoing) -> None:
        """Mine, theirs or both, for a change made here that the server moved too."""
        from mysafe_tui.tui.modals.remote import ConflictDialog

        secrets = await self.service.reveal(item.id)
        mine = {name: item.field(name) for name in SPECS[item.kind].summary}
        mine.update((name, value.reveal()) for name, value in secrets.items())
        theirs: dict[str, object] = {}
        if waiting.problem == "conflict":
            found = await self._call(self.service.server_copy(item.id))
            if found is None:
                return
            theirs = found
        elif waiting.problem == "inactive":
            theirs = {"name": "(in the server's trash)"}
        rows = []
        for field in SPECS[item.kind].typed:
            raw = theirs.get(field.name, "")
            there = ",".join(map(str, raw)) if isinstance(raw, tuple | list) else str(raw or "")
            here = mine.get(field.name, "")
            differs = here.strip() != there.strip()
            if field.masked:  # never on screen unasked: say only whether it differs
                here, there = ("••••••" if here else ""), ("••••••" if there else "")
            rows.append((field.label, here, there, differs))
        lead = {
            "conflict": "You changed it here while the server could not be reached, and "
            "someone changed it there too. Nothing is sent until you choose.",
            "gone": "You changed it here; on the server it was deleted, or is no longer shared "
            "with you. Keep mine sends yours as a new item; keep theirs lets it go.",
            "inactive": "You changed it here; on the server it went to the trash. Keep mine "
            "brings it back there with your change; keep theirs puts it in the trash here.",
        }[waiting.problem]
        choice = await self.app.push_screen_wait(
            ConflictDialog(item.name, rows, PROBLEMS[waiting.problem], lead)
        )
        if choice is None:
            return
        try:
            await self.service.settle(item.id, choice)
        except MySafeError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"'{item.name}': {SETTLED[choice]}")
        self.refresh_list(keep=item.id)

    @work(exit_on_error=False)
    async def action_favourite(self) -> None:
        item = self._target("favourite")
        if item is None:
            return
        saved = await self._call(self.service.toggle_favourite(item.id))
        if saved is not None:
            self.refresh_list(keep=item.id)

    @work(exit_on_error=False)
    async def action_deactivate(self) -> None:
        item = self._target("deactivate")
        if item is None:
            return
        if not await self.app.push_screen_wait(
            ConfirmDialog(f"Move '{item.name}' to the trash? (restore it from 6 Trash)", "Trash")
        ):
            return
        if await self._call(self.service.deactivate(item.id)) is not None:
            self.notify(f"'{item.name}' moved to the trash — 5 then R restores it")
            self.refresh_list()

    @work(exit_on_error=False)
    async def action_restore(self) -> None:
        item = self._target("restore")
        if item is None:
            return
        if await self._call(self.service.restore(item.id)) is not None:
            self.notify(f"Restored '{item.name}'")
            self.refresh_list()

    @work(exit_on_error=False)
    async def action_purge(self) -> None:
        item = self._target("purge")
        if item is None:
            return
        if not await self.app.push_screen_wait(
            ConfirmDialog(
                f"Delete '{item.name}' for good? This cannot be undone.", "Delete", danger=True
            )
        ):
            return
        try:
            await self.service.purge(item.id)
        except MySafeError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"Deleted '{item.name}' for good")
        self.refresh_list()

    @work(exit_on_error=False)
    async def action_save_file(self) -> None:
        item = self._target("save_file")
        if item is None:
            return
        saved = await self.app.push_screen_wait(SaveDialog(self.service, item))
        if saved is not None:
            self.notify(f"Saved to {saved}")

"""Attach a file from a path, save one to a path: a path input that completes as you type
(→ accepts the suggestion) and a progress bar for large files."""

from __future__ import annotations

import os
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, ProgressBar

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.humanize import home_relative
from mysafe_tui.core.models import ItemSummary
from mysafe_tui.core.sanitize import safe_filename
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.text import plain
from mysafe_tui.tui.widgets.note import Note


class PathSuggester(Suggester):
    """Completes the last path component from the directory listing."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        folder, prefix = os.path.split(expanded)
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            return None
        for name in names:
            if name.startswith(prefix) and name != prefix and not name.startswith("."):
                completed = os.path.join(folder, name)
                if os.path.isdir(completed):
                    completed += os.sep
                return value + completed[len(expanded) :]
        return None


class _FileDialog(ModalScreen[ItemSummary | Path | None]):
    BINDINGS = bindings("files")

    def __init__(self, service: VaultService, title: str, initial: str) -> None:
        super().__init__()
        self.service = service
        self.title_text = title
        self.initial = initial
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog file-dialog"):
            yield Label(plain(self.title_text), classes="title")
            yield Label("Path", classes="field-label")
            yield Input(self.initial, id="path", suggester=PathSuggester())
            yield from self.extra_fields()
            yield Note("", id="error", classes="error")
            yield ProgressBar(id="progress", show_eta=True)
            yield Label("enter to start · → completes the path · esc cancel", classes="hint")

    def extra_fields(self) -> ComposeResult:
        return iter(())

    def on_mount(self) -> None:
        self.query_one("#progress").display = False
        self.query_one("#path", Input).focus()

    def progress(self, done: int, total: int) -> None:
        """Called from the service's worker thread."""
        self.app.call_from_thread(self._show_progress, done, total)

    def _show_progress(self, done: int, total: int) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.display = True
        bar.update(total=max(total, 1), progress=done)

    def fail(self, message: str) -> None:
        self.busy = False
        self.query_one("#error", Note).say(message)

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)


class AttachDialog(_FileDialog):
    """Encrypt a file from disk into the vault."""

    def __init__(self, service: VaultService) -> None:
        super().__init__(service, "Attach a file", home_relative(Path.cwd()) + os.sep)

    def extra_fields(self) -> ComposeResult:
        yield Label("Name (default: the file name)", classes="field-label")
        yield Input(id="name")
        yield Label("Tags", classes="field-label")
        yield Input(id="tags", placeholder="comma,separated")

    def on_input_submitted(self) -> None:
        if not self.busy:
            self.busy = True
            self._run_attach()

    @work(exclusive=True, exit_on_error=False)
    async def _run_attach(self) -> None:
        path = Path(self.query_one("#path", Input).value).expanduser()
        name = self.query_one("#name", Input).value.strip() or None
        try:
            item = await self.service.attach_file(
                path, name=name, tags=self.query_one("#tags", Input).value, progress=self.progress
            )
        except MySafeError as exc:
            self.fail(str(exc))
            return
        self.dismiss(item)


class SaveDialog(_FileDialog):
    """Decrypt a file item to a path (asks before overwriting)."""

    def __init__(self, service: VaultService, item: ItemSummary) -> None:
        target = Path.cwd() / safe_filename(item.file_name or item.name)
        super().__init__(service, f"Save '{item.name}'", home_relative(target))
        self.item = item

    def on_input_submitted(self) -> None:
        if not self.busy:
            self.busy = True
            self._save()

    @work(exclusive=True, exit_on_error=False)
    async def _save(self) -> None:
        target = Path(self.query_one("#path", Input).value).expanduser()
        overwrite = False
        if target.exists() and not target.is_dir():
            overwrite = await self.app.push_screen_wait(
                ConfirmDialog(f"{target} exists. Replace it?", yes="Replace", danger=True)
            )
            if not overwrite:
                self.busy = False
                return
        try:
            saved = await self.service.save_file(
                self.item.id, target, overwrite=overwrite, progress=self.progress
            )
        except MySafeError as exc:
            self.fail(str(exc))
            return
        self.dismiss(saved)

"""Rotate the vault key from the UI (the palette's "Rotate the vault key")."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Static

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.widgets.note import Note

EXPLAIN = (
    "A new vault key and a new key for every item; everything is re-encrypted in one go. "
    "After it, an old copy of the vault header, or the passphrase that opened it, opens "
    "nothing written since. Your passphrase stays the same."
)


class RotateKeyDialog(ModalScreen[int | None]):
    """Asks for the passphrase, rotates with a progress bar; dismisses with the count."""

    BINDINGS = bindings("rotate")

    def __init__(self, service: VaultService) -> None:
        super().__init__()
        self.service = service
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog remote-dialog"):
            yield Label("Rotate the vault key", classes="title")
            yield Static(EXPLAIN, classes="lead")
            yield Label("Vault passphrase", classes="field-label")
            yield Input(password=True, id="passphrase")
            yield Note("", id="error", classes="error")
            yield ProgressBar(id="progress", show_eta=True)
            with Horizontal(classes="buttons"):
                yield Button("Rotate", id="rotate", variant="error")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        self.query_one("#passphrase", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#rotate")
    def start(self) -> None:
        if not self.busy:
            self.rotate(self.query_one("#passphrase", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if not self.busy:  # half way, the transaction must finish (or fail whole)
            self.dismiss(None)

    def _progress(self, done: int, total: int) -> None:
        """Called from the service's worker thread."""
        self.app.call_from_thread(self._show, done, total)

    def _show(self, done: int, total: int) -> None:
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=max(total, 1), progress=done)

    @work(exclusive=True, exit_on_error=False)
    async def rotate(self, passphrase: str) -> None:
        self.busy = True
        try:
            count = await self.service.rotate_key(passphrase, progress=self._progress)
        except MySafeError as exc:
            self.busy = False
            self.query_one("#error", Note).say(f"Nothing was changed: {exc}")
            return
        self.dismiss(count)

"""Export for another manager: a KeePass database under a password of its own, or Bitwarden
JSON / CSV, which are plain text and say so."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.widgets.note import Note

FORMATS = [
    ("KeePass (.kdbx, under its own password)", "keepass"),
    ("Bitwarden JSON, under its own password", "bitwarden-protected"),
    ("Bitwarden JSON: PLAIN TEXT", "bitwarden"),
    ("CSV: PLAIN TEXT", "csv"),
]
PLAIN = "Plain text: anything that can read the file reads every secret. Delete it once used."


class ExportDialog(ModalScreen[None]):
    BINDINGS = bindings("export")

    def __init__(self, service: VaultService) -> None:
        super().__init__()
        self.service = service

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog export"):
            yield Label("Export for another password manager", classes="title")
            yield Select(FORMATS, value="keepass", allow_blank=False, id="export-format")
            yield Input(
                placeholder="the file to write (never over an existing one)", id="export-path"
            )
            yield Input(placeholder="a password for the file", password=True, id="export-password")
            yield Input(placeholder="the same password again", password=True, id="export-repeat")
            yield Note("", id="export-status")
            with Horizontal(classes="buttons"):
                yield Label("enter exports · esc closes", classes="hint")
                yield Button("Export", id="export", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Select.Changed, "#export-format")
    def format_changed(self, event: Select.Changed) -> None:
        protected = event.value in ("keepass", "bitwarden-protected")
        for box in ("#export-password", "#export-repeat"):
            self.query_one(box, Input).display = protected
        self.query_one("#export-status", Note).say("" if protected else PLAIN)

    @on(Button.Pressed, "#export")
    @on(Input.Submitted)
    def export_pressed(self) -> None:
        self.export()

    @work(exclusive=True, exit_on_error=False)
    async def export(self) -> None:
        status = self.query_one("#export-status", Note)
        fmt = str(self.query_one("#export-format", Select).value)
        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            status.say("Type the path of the file to write.")
            return
        password = None
        if fmt in ("keepass", "bitwarden-protected"):
            fmt = fmt.removesuffix("-protected")
            password = self.query_one("#export-password", Input).value
            if len(password) < 8:
                status.say("Give the file a password of 8 characters or more.")
                return
            if password != self.query_one("#export-repeat", Input).value:
                status.say("The two passwords differ.")
                return
        status.say("Writing…")
        try:
            done = await self.service.export(fmt, Path(raw).expanduser(), password=password)
        except MySafeError as exc:
            status.say(f"Nothing written: {exc}")
            return
        lost = ", ".join(done.totals)
        left = f"; not carried: {lost}" if lost else ""
        status.say(f"Wrote {done.count} item(s) to {raw}{left}.")  # say() escapes
        for box in ("#export-password", "#export-repeat"):
            self.query_one(box, Input).value = ""

"""Import from another manager: pick the format and the file, read it (nothing is written
yet), see the report of what came and what does not fit, then import it in one go."""

from __future__ import annotations

import copy
import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.service import VaultService
from mysafe_tui.transfer.importing import Candidate, NeedsPassword, Report
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.text import plain
from mysafe_tui.tui.widgets.note import Note

FORMATS = [
    ("KeePass / KeePassXC (.kdbx, XML)", "keepass"),
    ("Bitwarden (JSON, protected or not)", "bitwarden"),
    ("1Password (.1pux, 1Password 7 CSV)", "1password"),
    ("Chrome, Firefox, Safari, Bitwarden CSV", "csv"),
    ("pass (a password-store folder)", "pass"),
]
# An item with a name the vault has and other content (the same item is always skipped): the
# command line's --on-duplicate. Short: it sits beside the format at 80 columns.
ON_DUPLICATE = [
    ("Same name: '(imported)'", "rename"),
    ("Same name: skip it", "skip"),
    ("Same name: keep both", "keep-both"),
    ("Same name: update mine", "update"),
]


class ImportDialog(ModalScreen[int]):
    """Dismisses with the number of items written (0: nothing)."""

    BINDINGS = bindings("import")

    def __init__(self, service: VaultService) -> None:
        super().__init__()
        self.service = service
        self.found: list[Candidate] = []
        self.report: Report | None = None  # as read, before any dry run touched it

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog import"):
            yield Label("Import from another password manager", classes="title")
            with Horizontal(classes="choices"):
                yield Select(
                    FORMATS, value="keepass", allow_blank=False, compact=True, id="import-format"
                )
                yield Select(
                    ON_DUPLICATE,
                    value="rename",
                    allow_blank=False,
                    compact=True,
                    id="import-duplicates",
                )
            yield Input(placeholder="path to the export (or the store folder)", id="import-path")
            yield Input(
                placeholder="its password (KeePass, a protected Bitwarden export)",
                password=True,
                id="import-password",
            )
            with VerticalScroll(id="import-report"):
                yield Static(
                    "Read the file to see what it holds: nothing is written yet.", id="import-text"
                )
            yield Note("", id="import-status")
            with Horizontal(classes="buttons"):
                yield Label("enter reads · esc closes", classes="hint")
                yield Button("Read", id="read", variant="primary")
                yield Button("Import", id="import", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    @on(Select.Changed, "#import-format")
    def format_changed(self, event: Select.Changed) -> None:
        # KeePass always has one; a Bitwarden export only when protected (asked then)
        self.query_one("#import-password", Input).display = event.value == "keepass"
        self._forget()

    @on(Input.Changed, "#import-path")
    @on(Select.Changed, "#import-duplicates")
    def choice_changed(self) -> None:
        self._forget()

    def _forget(self) -> None:
        """A new file or format: the last reading no longer holds."""
        self.found, self.report = [], None
        self.query_one("#import", Button).disabled = True

    @on(Button.Pressed, "#read")
    @on(Input.Submitted)
    def read_pressed(self) -> None:
        self.read()

    @work(exclusive=True, exit_on_error=False)
    async def read(self) -> None:
        status = self.query_one("#import-status", Note)
        raw = self.query_one("#import-path", Input).value.strip()
        if not raw:
            status.say("Type the path of the export first.")
            return
        fmt = str(self.query_one("#import-format", Select).value)
        password = self.query_one("#import-password", Input).value or None
        status.say("Reading…")
        try:
            found, read = await self.service.read_import(
                fmt, Path(raw).expanduser(), password=password
            )
            report = await self.service.import_items(
                found, copy.deepcopy(read), on_duplicate=self._on_duplicate(), dry_run=True
            )
        except NeedsPassword as exc:
            box = self.query_one("#import-password", Input)
            box.display = True
            box.focus()
            status.say(f"{exc}, then press enter")
            return
        except MySafeError as exc:
            status.say(str(exc))
            return
        self.found, self.report = found, read
        lines = report.lines() + [f"Import writes {report.written} new item(s)."]
        self.query_one("#import-text", Static).update(plain("\n".join(lines), multiline=True))
        button = self.query_one("#import", Button)
        button.disabled = not report.written
        button.label = f"Import {report.written}"
        status.say("Nothing is written until you press Import.")
        if report.written:
            button.focus()  # enter imports

    def _on_duplicate(self) -> str:
        return str(self.query_one("#import-duplicates", Select).value)

    @on(Button.Pressed, "#import")
    @work(exclusive=True, exit_on_error=False)
    async def import_pressed(self) -> None:
        status = self.query_one("#import-status", Note)
        if self.report is None:
            return
        status.say("Importing…")
        try:
            done = await self.service.import_items(
                self.found,
                self.report,
                on_duplicate=self._on_duplicate(),
                tag=f"imported-{time.strftime('%Y-%m-%d')}",
            )
        except MySafeError as exc:
            status.say(f"Nothing was imported: {exc}")
            return
        self.dismiss(done.written)

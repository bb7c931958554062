"""The health report: every finding of the checks (core/health.py), one row per item; enter
shows the item in its list, g edits it with a new generated password."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.health import TITLES, Finding, Report, counted
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.text import plain, printable

if TYPE_CHECKING:
    from mysafe_tui.tui.screens.main import MainScreen

# Most urgent first, as the checks are ordered; colours as the list's marks.
STYLES = {
    "breached": "bold red",
    "weak": "yellow",
    "reused": "magenta",
    "old": "",
    "insecure": "yellow",
    "duplicate": "",
}
SOURCES = {
    "folder": "a local folder of range files",
    "file": "a local sorted file",
    "online": "the online range API",
}


class HealthScreen(Screen[None]):
    """Opened with H from the main screen (or the palette); esc goes back."""

    BINDINGS = bindings("health")

    def __init__(self, service: VaultService, main: MainScreen) -> None:
        super().__init__()
        self.service = service
        self.main = main
        self.rows: list[ItemSummary] = []

    def compose(self) -> ComposeResult:
        yield Static("[b]Health report[/b]", id="topbar")
        yield Static("Checking…", id="health-note")
        yield DataTable(id="health", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Check", "Item", "Why")
        self.action_refresh()

    @work(exclusive=True, group="health", exit_on_error=False)
    async def action_refresh(self) -> None:
        """What the last check found at once (the list's marks), then a fresh check."""
        if self.main.health is not None:
            self.show(self.main.health)
        try:
            report = await self.service.health()
        except MySafeError as exc:
            self.query_one("#health-note", Static).update(
                Text(f"Could not check: {printable(str(exc))}", style="red")
            )
            return
        self.main.take_health(report)
        self.show(report)

    def show(self, report: Report) -> None:
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        self.rows = []
        for finding in report.findings:
            for item_id in finding.item_ids:
                item = report.items[item_id]
                self.rows.append(item)
                table.add_row(
                    Text(TITLES[finding.check], style=STYLES[finding.check]),
                    Text(printable(item.name)),
                    Text(printable(_why(finding, item_id, report.items))),
                )
        if self.rows:
            table.move_cursor(row=min(max(keep, 0), len(self.rows) - 1))
        self.query_one("#health-note", Static).update(plain(_summary(report)))
        table.focus()

    @property
    def current(self) -> ItemSummary | None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()  # enter in the table (the table's own binding takes it first)

    def action_open(self) -> None:
        item = self.current
        if item is not None:
            self.app.pop_screen()
            self.main.jump_to(item)

    def action_generate(self) -> None:
        item = self.current
        if item is None:
            return
        if item.kind is not ItemKind.PASSWORD or item.read_only:
            self.notify(
                "Only a login of yours gets a generated password here: e edits the others",
                severity="warning",
            )
            return
        self.app.pop_screen()
        self.main.jump_to(item)
        self.main.edit(item, generate=True)


def _why(finding: Finding, item_id: str, items: dict[str, ItemSummary]) -> str:
    """A group's row names the others ("also in Mail, Bank"): the table has one row each."""
    if len(finding.item_ids) < 2:
        return finding.detail
    others = [items[i].name for i in finding.item_ids if i != item_id]
    shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    if finding.check == "reused":
        return f"the same secret as {shown}"
    return f"{finding.detail}: also {shown}"


def _summary(report: Report) -> str:
    counts = report.counts()
    found = ", ".join(counted(c, counts[c]) for c in counts if counts[c])
    where = SOURCES.get(report.breach_source)
    breaches = (
        f"Breaches looked up in {where}."
        if where
        else "Breaches not checked: name a Pwned Passwords copy in Settings (f2 in the lists), or "
        "turn on the range API there."
    )
    checked = f"{report.checked} logins and API secrets checked"
    if not report.findings:
        return f"{checked}: nothing to fix. {breaches}"
    return f"{checked}: {found}. {breaches} Enter shows an item, g gives a login a new password."

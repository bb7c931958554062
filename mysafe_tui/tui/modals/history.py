"""Access history: who created, read, changed or shared an item, newest first, as its server
kept it; or why there is none to show (a plain senhasegura keeps it in its own reports)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.humanize import moment
from mysafe_tui.core.models import ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.text import plain, printable
from mysafe_tui.tui.widgets.note import Note


class HistoryDialog(ModalScreen[None]):
    BINDINGS = bindings("history")

    def __init__(self, service: VaultService, item: ItemSummary) -> None:
        super().__init__()
        self.service = service
        self.item = item

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog history"):
            yield Label(plain(f"History of '{self.item.name}'"), classes="title")
            table: DataTable[Text] = DataTable(id="history-table", cursor_type="row")
            table.add_columns("When", "What", "Who", "Access key", "From")
            yield table
            yield Note("Asking the server…", id="history-status")
            with Horizontal(classes="buttons"):
                yield Label("newest first · esc close", classes="hint")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    @work(exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        status = self.query_one("#history-status", Note)
        try:
            events = await self.service.history(self.item.id)
        except MySafeError as exc:
            status.say(str(exc))
            return
        table = self.query_one(DataTable)
        for event in events:
            # Text, never str: a DataTable reads a str cell as markup, and these came from
            # a server.
            table.add_row(
                Text(moment(event.at)),
                *(
                    Text(printable(value))
                    for value in (
                        event.what,
                        event.user or "a link",
                        event.client_id,
                        event.address,
                    )
                ),
            )
        status.say(f"{len(events)} event(s)." if events else "Nothing recorded yet.")

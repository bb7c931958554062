"""An item's earlier versions: when, from which device, what changed; a version's fields
(secret ones masked until revealed) and, on request, the item brought back to it."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.humanize import moment
from mysafe_tui.core.models import ItemSummary, field_label
from mysafe_tui.core.versions import Version, secret
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.modals.confirm import ConfirmDialog
from mysafe_tui.tui.text import plain, printable

MASK = "••••••••"


class VersionsDialog(ModalScreen[bool]):
    """Dismissed with True when a version was restored (the list shows the item again)."""

    BINDINGS = bindings("versions")

    def __init__(self, service: VaultService, item: ItemSummary) -> None:
        super().__init__()
        self.service = service
        self.item = item
        self.found: list[Version] = []
        self.revealed = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog history"):
            yield Label(plain(f"Earlier versions of '{self.item.name}'"), classes="title")
            table: DataTable[Text] = DataTable(id="versions-table", cursor_type="row")
            table.add_columns("#", "Until", "From", "Changed")
            yield table
            with VerticalScroll(id="versions-scroll"):  # a long note scrolls, in 24 lines too
                yield Static(Text("Reading…"), id="versions-fields")
            with Horizontal(classes="buttons"):
                yield Label("r reveal · R restore · esc close", classes="hint")
                yield Button("Restore", id="restore", variant="warning")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        scroll = self.query_one("#versions-scroll")
        scroll.styles.height = "auto"
        scroll.styles.max_height = 8
        scroll.styles.margin = (1, 0, 0, 0)
        self.query_one(DataTable).focus()
        self.load()

    @work(exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            found = await self.service.versions(self.item.id)
        except MySafeError as exc:
            self._say(str(exc))
            return
        self.found = [version for version, _ in found]
        table = self.query_one(DataTable)
        for n, (version, names) in enumerate(found, 1):
            changed = ", ".join(field_label(name) for name in names)
            table.add_row(
                Text(str(n)),
                Text(moment(version.at)),
                Text(printable(version.by)),
                Text(printable(changed or "nothing typed")),
            )
        if not found:
            self._say("No earlier versions yet: each save that changes the item keeps one.")
        self.show_fields()

    def _say(self, text: str) -> None:
        # Text, never markup: every value came from the item (or a server)
        self.query_one("#versions-fields", Static).update(Text(text))

    @on(DataTable.RowHighlighted)
    def show_fields(self) -> None:
        row = self.query_one(DataTable).cursor_row
        if not self.found or not 0 <= row < len(self.found):
            return
        version = self.found[row]
        lines = []
        for name, value in version.fields.items():
            hidden = secret(self.item.kind, name) and not self.revealed
            shown = MASK if hidden else printable(value, multiline=True)
            lines.append(f"{field_label(name)}: {shown}")
        self._say("\n".join(lines))

    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self.show_fields()

    @on(Button.Pressed, "#close")
    def close(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#restore")
    def action_restore(self) -> None:
        self.restore()

    @work(exclusive=True, exit_on_error=False)
    async def restore(self) -> None:
        row = self.query_one(DataTable).cursor_row
        if not self.found or not 0 <= row < len(self.found):
            return
        question = (
            f"Bring '{self.item.name}' back to version {row + 1}? What it holds now is kept "
            "as a version too."
        )
        if not await self.app.push_screen_wait(ConfirmDialog(question, "Restore")):
            return
        try:
            await self.service.restore_version(self.item.id, row + 1)
        except MySafeError as exc:
            self._say(str(exc))
            return
        self.app.notify(f"'{self.item.name}' is as it was in version {row + 1}.")
        self.dismiss(True)

"""Fields and files: an item's custom fields, more URLs, attachments and old passwords, one
table; add a field, attach a file, save or remove the highlighted row, restore an old password.

Secret values (hidden fields, old passwords) stay masked until `r`; everything in the table
came from a person, an import or a server, so every cell is `Text`, never markup."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.extras import Extras, FieldType
from mysafe_tui.core.humanize import moment, size
from mysafe_tui.core.models import ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.text import plain, printable
from mysafe_tui.tui.widgets.note import Note

MASK = "••••••••"
Row = tuple[str, int]  # (what, index): ("field", 0), ("url", 1), ("file", 0), ("old", 2)


class ExtrasDialog(ModalScreen[bool]):
    """Dismissed with True when anything changed (the list then shows it)."""

    BINDINGS = bindings("extras")

    def __init__(self, service: VaultService, item: ItemSummary) -> None:
        super().__init__()
        self.service = service
        self.item = item
        self.extras = Extras()
        self.rows: list[Row] = []
        self.revealed = False
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog extras"):
            yield Label(plain(f"Fields and files of '{self.item.name}'"), classes="title")
            table: DataTable[Text] = DataTable(id="extras-table", cursor_type="row")
            table.add_columns("", "Label", "Value")
            yield table
            yield Label(
                "r reveal · c copy · x remove · o save file · enter restore password",
                classes="hint",
                id="extras-keys",
            )
            with Horizontal(classes="extras-row"):
                yield Input(placeholder="new field: label", id="extras-label", max_length=128)
                yield Input(placeholder="value", id="extras-value")
                yield Select(
                    [(t.value, t.value) for t in FieldType],
                    value="text",
                    allow_blank=False,
                    id="extras-type",
                )
                yield Button("Add", id="add-field")
            with Horizontal(classes="extras-row"):
                yield Input(
                    placeholder="a file to attach, or a folder to save to", id="extras-path"
                )
                yield Button("Attach", id="attach")
                yield Button("Close", id="close", variant="primary")
            yield Note("", id="extras-status")

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()

    @work(exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        try:
            self.item = await self.service.get(self.item.id)
            self.extras = await self.service.extras(self.item.id)
        except MySafeError as exc:
            self.say(str(exc))
            return
        self.fill()

    def fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.rows = []
        found = self.extras
        show = self.revealed
        for n, f in enumerate(found.fields):
            value = f.value if show or not f.secret else MASK
            self._add(("field", n), f.type.value, f.label, value)
        for n, url in enumerate((self.item.url, *found.urls) if found.urls else ()):
            self._add(("url", n), "url", "URL" if n else "URL (main)", url)
        for n, a in enumerate(found.attachments):
            self._add(("file", n), "file", a.name, f"{size(a.size)} {a.media_type}")
        for n, old in enumerate(found.history):
            self._add(("old", n), "old", f"until {moment(old.date)}", old.value if show else MASK)
        held = found.kept_locally(self.service.server_keeps_extras()) if self.item.remote else []
        if held:
            self.say(
                f"Kept on this device only (the server has no place for them): {', '.join(held)}."
            )
        elif not self.rows:
            self.say("Nothing yet: add a field below, or attach a file.")

    def _add(self, row: Row, what: str, label: str, value: str) -> None:
        self.rows.append(row)
        table = self.query_one(DataTable)
        table.add_row(Text(what, style="dim"), Text(printable(label)), Text(printable(value)))

    def say(self, text: str) -> None:
        self.query_one("#extras-status", Note).say(text)

    def current(self) -> Row | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    # --- actions ------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(self.changed)

    def action_reveal(self) -> None:
        if isinstance(self.focused, Input):
            return
        self.revealed = not self.revealed
        self.fill()

    @on(Button.Pressed, "#close")
    def close_pressed(self) -> None:
        self.action_close()

    @on(Button.Pressed, "#add-field")
    @on(Input.Submitted, "#extras-label,#extras-value")
    @work(exclusive=True, group="write", exit_on_error=False)
    async def add_field(self) -> None:
        label = self.query_one("#extras-label", Input)
        value = self.query_one("#extras-value", Input)
        kind = str(self.query_one("#extras-type", Select).value)
        await self._write(
            self.service.set_field(self.item.id, label.value, value.value, kind),
            f"Saved the field '{label.value.strip()}'",
        )
        if self.changed:
            label.value = value.value = ""

    @on(Select.Changed, "#extras-type")
    def type_changed(self, event: Select.Changed) -> None:
        self.query_one("#extras-value", Input).password = FieldType(str(event.value)).secret

    @on(Button.Pressed, "#attach")
    @on(Input.Submitted, "#extras-path")
    @work(exclusive=True, group="write", exit_on_error=False)
    async def attach(self) -> None:
        path = self.query_one("#extras-path", Input).value.strip()
        if not path:
            self.say("Type the path of a file to attach first.")
            return
        await self._write(
            self.service.add_attachment(self.item.id, Path(path)), f"Attached {Path(path).name}"
        )

    @work(exclusive=True, group="write", exit_on_error=False)
    async def action_remove(self) -> None:
        row = self.current()
        if row is None or isinstance(self.focused, Input):
            return
        what, n = row
        found, item = self.extras, self.item
        call: Awaitable[object]
        if what == "field":
            call = self.service.remove_field(item.id, found.fields[n].label)
        elif what == "url":
            urls = [item.url, *found.urls]
            del urls[n]
            call = self.service.update_item(item.id, {"url": urls[0], "urls": urls[1:]})
        elif what == "file":
            call = self.service.remove_attachment(item.id, found.attachments[n].id)
        else:
            self.say("Old passwords go when newer ones push them out (settings).")
            return
        await self._write(call, "Removed.")

    @on(DataTable.RowSelected)
    @work(exclusive=True, group="write", exit_on_error=False)
    async def restore(self) -> None:
        """Enter on an old password: the password again."""
        row = self.current()
        if row is None or row[0] != "old":
            return
        await self._write(
            self.service.restore_password(self.item.id, row[1]),
            "That old password is the password again.",
        )

    @work(exclusive=True, exit_on_error=False)
    async def action_copy(self) -> None:
        row = self.current()
        if row is None or isinstance(self.focused, Input):
            return
        what, n = row
        if what != "field":
            self.say("c copies a field's value.")
            return
        try:
            self.say(await self.service.copy_field(self.item.id, self.extras.fields[n].label))
        except MySafeError as exc:
            self.say(str(exc))

    @work(exclusive=True, group="write", exit_on_error=False)
    async def action_save(self) -> None:
        row = self.current()
        if row is None or row[0] != "file" or isinstance(self.focused, Input):
            return
        folder = self.query_one("#extras-path", Input).value.strip() or "~"
        chosen = self.extras.attachments[row[1]]
        try:
            target = await self.service.save_attachment(self.item.id, chosen.id, Path(folder))
        except MySafeError as exc:
            self.say(str(exc))
            return
        self.say(f"Saved to {target}")

    async def _write(self, call: Awaitable[object], done: str) -> None:
        try:
            await call
        except MySafeError as exc:
            self.say(str(exc))
            return
        self.changed = True
        self.say(done)
        self.load()

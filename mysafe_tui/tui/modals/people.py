"""People: who else on the server may open an item (MySafe's internal sharing), view or edit;
add a user or a group, or remove one. Names the server does not know are reported back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, RadioButton, RadioSet
from textual.widgets.option_list import Option

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.core.models import PRINCIPAL_WORDS, ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.text import plain
from mysafe_tui.tui.widgets.note import Note


class PeopleDialog(ModalScreen[None]):
    """The people an item is shared with; `delete` removes the highlighted one."""

    BINDINGS = bindings("people")

    def __init__(self, service: VaultService, item: ItemSummary) -> None:
        super().__init__()
        self.service = service
        self.item = item

    def compose(self) -> ComposeResult:
        item = self.item
        with Vertical(classes="dialog people"):
            yield Label(plain(f"People who can open '{item.name}'"), classes="title")
            if item.access:  # someone else's: they decide
                yield Label(plain(item.sharing_line().capitalize() + "."))
                yield Label("Only its owner decides who else has it.", classes="hint")
                with Horizontal(classes="buttons"):
                    yield Button("Close (esc)", id="close")
                return
            yield OptionList(id="people-list")
            yield Label("Add a user, or a group (yours, or the server's)", classes="field-label")
            yield Input(placeholder="name", id="people-name", max_length=128)
            with Horizontal(id="people-add"):
                with RadioSet(id="people-kind"):
                    yield RadioButton("user", value=True)
                    yield RadioButton("group")
                yield Checkbox("can edit", id="people-edit")
            yield Note("", id="people-status")
            with Horizontal(classes="buttons"):
                yield Label("enter adds · in the list, x removes · esc", classes="hint")
                yield Button("Add", id="add", variant="primary")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        if not self.item.access:
            self._show(self.item)
            self.query_one("#people-name", Input).focus()

    def _show(self, item: ItemSummary) -> None:
        self.item = item
        listing = self.query_one("#people-list", OptionList)
        listing.clear_options()
        people = item.people
        if people.owner:
            listing.add_option(Option(plain(f"{people.owner} (owner)"), disabled=True))
        for principal, name, edit in people.entries:
            label = f"{PRINCIPAL_WORDS.get(principal, '')}{name} · "
            label += "can edit" if edit else "view only"
            listing.add_option(Option(plain(label), id=f"{principal}\x00{name}"))
        if not people.entries:
            listing.add_option(Option("Nobody else yet.", disabled=True))

    @on(Button.Pressed, "#close")
    def close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#add")
    @on(Input.Submitted, "#people-name")
    def add(self) -> None:
        name = self.query_one("#people-name", Input).value.strip()
        if not name:
            self.query_one("#people-status", Note).say("Type a user or group name first.")
            return
        group = self.query_one("#people-kind", RadioSet).pressed_index == 1
        edit = self.query_one("#people-edit", Checkbox).value
        users, groups = ([], [name]) if group else ([name], [])
        self._change(lambda: self.service.share_with(self.item.id, users, groups, edit=edit))

    def action_remove(self) -> None:
        if self.item.access:
            return
        listing = self.query_one("#people-list", OptionList)
        index = listing.highlighted
        option = listing.get_option_at_index(index) if index is not None else None
        if option is None or not option.id:
            return
        principal, name = option.id.split("\x00", 1)
        # the very entry listed (a personal group and a server group may share a name)
        entry = [(principal, name)]
        self._change(
            lambda: self.service.share_exactly(self.item.id, entry, edit=False, remove=True)
        )

    @work(exclusive=True, exit_on_error=False)
    async def _change(self, call: Callable[[], Awaitable[tuple[ItemSummary, list[str]]]]) -> None:
        status = self.query_one("#people-status", Note)
        status.say("Asking the server…")
        try:
            item, errors = await call()
        except MySafeError as exc:
            status.say(f"Not changed: {exc}")
            return
        self._show(item)
        self.query_one("#people-name", Input).value = ""
        status.say("The server did not share with " + "; ".join(errors) if errors else "Saved.")

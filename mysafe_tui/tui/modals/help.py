"""All the keys, on one page: the action table (tui/actions.py) after the user's keymap."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ..actions import ACTIONS, Action, keys_of


class HelpDialog(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        keymap = self.app.service.settings.keymap  # type: ignore[attr-defined]
        sections: dict[str, list[Action]] = {}
        for action in ACTIONS:
            sections.setdefault(action.section, []).append(action)
        for section, actions in sections.items():
            table.add_row(Text.assemble((section, "bold underline")), "")
            for action in actions:
                keys = keys_of(action, keymap)
                what = action.help if keys else f"{action.title}: {action.help}"
                table.add_row(keys or "palette", what)
            table.add_row("", "")
        with Vertical(classes="dialog help"):
            yield Label("Keys", classes="title")
            with VerticalScroll():
                yield Static(table, id="keys")
            yield Label("esc to close", classes="hint")

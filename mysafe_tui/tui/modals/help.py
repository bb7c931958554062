"""All the keys, on one page: the action table (tui/actions.py) after the user's keymap, the
line-editing keys of every text field, then the filter's narrowing words (core/filters.py)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from mysafe_tui.core.filters import WORDS
from mysafe_tui.tui.actions import ACTIONS, FIELD_KEYS, Action, bindings, keys_of


class HelpDialog(ModalScreen[None]):
    BINDINGS = bindings("help")

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        keymap = self.app.service.settings.keymap  # type: ignore[attr-defined]
        sections: dict[str, list[Action]] = {}
        for action in ACTIONS:
            if action.help:  # not a second row for a key another row explains
                sections.setdefault(action.section, []).append(action)
        for section, actions in sections.items():
            table.add_row(Text.assemble((section, "bold underline")), "")
            for action in actions:
                keys = keys_of(action, keymap)
                what = action.help if keys else f"{action.title}: {action.help}"
                table.add_row(keys or "palette", what)
            table.add_row("", "")
        table.add_row(Text.assemble(("In a text field", "bold underline")), "")
        for field_key in FIELD_KEYS:
            keys = " / ".join(format_key(key) for key in field_key.keys.split(","))
            wins = f" ({field_key.wins})" if field_key.wins else ""
            table.add_row(keys, field_key.help + wins)
        table.add_row("", "")
        table.add_row(
            Text.assemble(("In the filter", "bold underline")), "other words are searched for"
        )
        for word, keeps in WORDS:
            table.add_row(word, keeps)
        with Vertical(classes="dialog help"):
            yield Label("Keys", classes="title")
            with VerticalScroll():
                yield Static(table, id="keys")
            yield Label("esc to close", classes="hint")

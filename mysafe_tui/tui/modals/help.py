"""All the keys, on one page."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

KEYS = [
    ("Anywhere", [
        ("ctrl+p", "command palette: jump to an item, run any action"),
        ("ctrl+l", "lock now (also after idle minutes, see settings)"),
        ("ctrl+q", "quit (locks and clears the clipboard)"),
        ("?", "this help"), ("ctrl+s / F2", "settings (main screen) / save (dialogs)"),
    ]),
    ("Lists", [
        ("1 2 3 4", "passwords, notes, files, API secrets"), ("5", "trash"),
        ("/", "filter as you type (fuzzy); esc clears"), ("*", "favourites only"),
        ("ctrl+f", "the filter's words inside notes' text (decrypted on request)"),
        ("↑ ↓ j k, pgup pgdn", "move"), ("enter", "open the item"),
    ]),
    ("Items", [
        ("n", "new item of this kind (a file: attach from a path)"),
        ("e", "edit"), ("f", "favourite"), ("d", "move to the trash (undo: restore)"),
        ("r", "reveal or mask secrets"), ("c", "copy the password / secret / note"),
        ("u", "copy the username"), ("t", "copy the one-time code"),
        ("x", "API secret: copy as export lines"), ("o", "file: save to a path"),
        ("R / P", "in the trash: restore / purge for good"),
    ]),
    ("Server", [
        ("L", "log in to a MySafe server (or log out)"),
        ("s", "sync now (also at start; retried while offline)"),
        ("S", "share the item: an expiring, view-limited link"),
        ("O", "your share links: views, expiry; x revokes, c copies again"),
    ]),
]  # fmt: skip


class HelpDialog(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for section, rows in KEYS:
            table.add_row(f"[u]{section}[/u]", "")
            for key, what in rows:
                table.add_row(key, what)
            table.add_row("", "")
        with Vertical(classes="dialog help"):
            yield Label("Keys", classes="title")
            with VerticalScroll():
                yield Static(table)
            yield Label("esc to close", classes="hint")

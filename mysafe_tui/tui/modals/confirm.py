"""A yes/no question."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.text import plain


class ConfirmDialog(ModalScreen[bool]):
    """Dismisses with True (y, or a click on the yes button) or False (n, Esc, Enter).

    Enter means the safe answer in every one: Cancel has the focus, so a stray Enter (a burst
    of keys, a key held down) never trashes, deletes or logs out anything."""

    BINDINGS = bindings("confirm")

    def __init__(self, question: str, yes: str = "Yes", danger: bool = False) -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Label(plain(self.question), classes="question")
            with Horizontal(classes="buttons"):
                yield Button(
                    f"{self.yes} (y)", id="yes", variant="error" if self.danger else "primary"
                )
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

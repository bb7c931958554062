"""A one-line message that takes no room while it has nothing to say."""

from __future__ import annotations

from typing import Any

from textual.widgets import Label

from mysafe_tui.tui.text import plain


class Note(Label):
    """`say("...")` shows it; `say("")` hides it (no blank line left behind). Plain text: a
    message quoting an item name like "a[/]b" shows it as typed, never as markup. As wide
    as its container, so a long message wraps instead of losing its end at 80 columns."""

    DEFAULT_CSS = "Note { width: 100%; height: auto; }"

    def __init__(self, content: str = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(content, markup=markup, **kwargs)

    def on_mount(self) -> None:
        self.display = bool(str(self.render()).strip())

    def say(self, text: str, classes: str | None = None) -> None:
        self.update(plain(text))
        if classes is not None:
            self.set_classes(classes)
        self.display = bool(text)

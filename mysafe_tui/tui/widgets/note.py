"""A one-line message that takes no room while it has nothing to say."""

from __future__ import annotations

from textual.widgets import Label


class Note(Label):
    """`say("...")` shows it; `say("")` hides it (no blank line left behind)."""

    def on_mount(self) -> None:
        self.display = bool(str(self.render()).strip())

    def say(self, text: str, classes: str | None = None) -> None:
        self.update(text)
        if classes is not None:
            self.set_classes(classes)
        self.display = bool(text)

"""Forms that keep up with a burst of keys (a paste, tmux send-keys, a laggy SSH link).

Textual hands each key to the focused widget's queue as it arrives; a key that moves the focus
as an ordinary binding only does so after the keys behind it were handed to the old field.
So keys that move the focus are priority bindings, run the moment they arrive; and keys that
read what was typed (ctrl+s saves) are ordinary bindings, run after the keys before them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.actions import SkipAction
from textual.binding import Binding
from textual.screen import Screen

# Bound with priority: the App runs it the moment Enter arrives, before the keys behind it
# are handed to the focused field. Handled as Input.Submitted instead, it would run only after
# those keys had already been typed into the old field.
ENTER_MOVES_ON = Binding("enter", "next_field", show=False, priority=True)


def move_on(screen: Screen[Any], order: Sequence[str]) -> None:
    """Enter in a field of `order` (ids) focuses the next one, now. In the last field, or
    anywhere else, Enter does what it always does (submit, press)."""
    focused = screen.focused
    if focused is None or focused.id not in order[:-1]:
        raise SkipAction()
    screen.set_focus(screen.query_one(f"#{order[order.index(focused.id) + 1]}"))

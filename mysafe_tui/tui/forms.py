"""Enter in a form moves to the next field, as tab does.

Every key reaches the UI through the key router (tui/keyboard.py), one at a time in arrival
order; a priority binding acts before the focused field sees its key, so Enter bound here
with priority ("form.next" in tui/actions.py, what `bindings("form")` gives a screen) moves
the focus before the keys behind it in a burst are typed anywhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.actions import SkipAction
from textual.screen import Screen


def move_on(screen: Screen[Any], order: Sequence[str]) -> None:
    """Enter in a field of `order` (ids) focuses the next one, now. In the last field, or
    anywhere else, Enter does what it always does (submit, press)."""
    focused = screen.focused
    if focused is None or focused.id not in order[:-1]:
        raise SkipAction()
    screen.set_focus(screen.query_one(f"#{order[order.index(focused.id) + 1]}"))

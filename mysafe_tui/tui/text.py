"""User text on the screen: always plain, escaped, never markup (DESIGN.md §9).

Item names, notes, file names, server answers and share labels were written by someone else.
Every widget that shows them goes through here, so an escape sequence is shown as `\\x1b`
instead of reaching the terminal, and `[@click=app.quit]` or `a[/]b` is text, not markup.
`ControlFilter` is the net under it: whatever slipped past (an Input's value, a future widget)
has its control characters removed from the rendered lines before Textual writes them.
"""

from __future__ import annotations

import re

from rich.segment import Segment
from textual.color import Color
from textual.content import Content
from textual.filter import LineFilter
from textual.markup import escape

from mysafe_tui.core.sanitize import LONE_SURROGATE, UNSAFE_MULTILINE, printable

__all__ = ["ControlFilter", "markup_safe", "plain", "printable"]


def plain(text: str, *, multiline: bool = False) -> Content:
    """`text` as Content that is never parsed as markup, its controls shown escaped."""
    return Content(printable(text, multiline=multiline))


def markup_safe(text: str) -> str:
    """For the few Textual APIs that always parse markup (the palette's help line)."""
    return escape(printable(text))


def _replacement(match: re.Match[str]) -> str:
    """Controls are zero-width on screen (Rich counts them as 0 cells), so removing them keeps
    every line's width; a lone surrogate counts one cell and becomes the one-cell U+FFFD."""
    return "\ufffd" if LONE_SURROGATE.match(match.group()) else ""


class ControlFilter(LineFilter):
    """Removes control characters from every rendered line: the terminal gets only text."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out = segments
        for index, segment in enumerate(segments):
            if segment.control or UNSAFE_MULTILINE.search(segment.text) is None:
                continue
            if out is segments:
                out = list(segments)
            text = UNSAFE_MULTILINE.sub(_replacement, segment.text)
            out[index] = Segment(text, segment.style, segment.control)
        return out

"""A virtualised item list: renders only the visible lines, so 100k items cost nothing to show.

Built on the Line API (`ScrollView.render_line`), not one widget per row: a DataTable with 10k
rows takes most of a second to populate (DESIGN.md §8).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mysafe_tui.core.health import MARKS
from mysafe_tui.core.humanize import ago, size
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.core.outbox import Outgoing
from mysafe_tui.service.index import Hits
from mysafe_tui.tui.actions import bindings
from mysafe_tui.tui.text import printable


def describe(item: ItemSummary) -> str:
    """The second column: what tells two items of the same name apart."""
    if item.kind is ItemKind.FILE:
        return f"{item.file_name} · {size(item.size)}"
    return item.username or item.url or item.identifier_code


def _fit(text: str, width: int) -> str:
    """Exactly `width` terminal cells: wide characters counted, an ellipsis when cut, and
    whatever controls the text holds shown escaped (names come from other people)."""
    if width <= 0:
        return ""
    text = printable(text)
    if cell_len(text) > width - 1:
        return set_cell_size(text, width - 2) + "… "
    return set_cell_size(text, width)


class ItemList(ScrollView, can_focus=True):
    """Rows of items with a cursor. Posts `Highlighted` as the cursor moves, `Chosen` on Enter."""

    COMPONENT_CLASSES = {
        "item-list--cursor",
        "item-list--dim",
        "item-list--tag",
        "item-list--star",
        "item-list--breached",
        "item-list--weak",
        "item-list--reused",
    }
    DEFAULT_CSS = """
    ItemList { background: $surface; }
    ItemList > .item-list--cursor { background: $accent 40%; text-style: bold; }
    ItemList:focus > .item-list--cursor { background: $accent; color: $text; }
    ItemList > .item-list--dim { color: $text-muted; }
    ItemList > .item-list--tag { color: $secondary; }
    ItemList > .item-list--star { color: $warning; }
    ItemList > .item-list--breached { color: $error; text-style: bold; }
    ItemList > .item-list--weak { color: $warning; }
    ItemList > .item-list--reused { color: $accent-lighten-2; }
    """
    BINDINGS = bindings("list")

    cursor = reactive(0, always_update=True, init=False)

    @dataclass
    class Highlighted(Message):
        item: ItemSummary | None

    @dataclass
    class Chosen(Message):
        item: ItemSummary

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items = Hits()  # decoded row by row as rows are drawn
        self.empty_text = "No items"
        self.show_kind = False
        self.marks: dict[str, str] = {}  # item id -> breached, weak or reused (health check)

    @property
    def current(self) -> ItemSummary | None:
        return self.items[self.cursor] if 0 <= self.cursor < len(self.items) else None

    def show(self, items: Hits, keep: str | None = None, empty: str = "") -> None:
        """Replace the rows; keep the cursor on item `keep` when it is still listed."""
        self.items = items
        self.empty_text = empty or "No items"
        self._rows(len(items))
        target = (items.position(keep) if keep is not None else None) or 0
        self.cursor = min(target, max(len(items) - 1, 0))
        self.refresh()

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region_cursor(new)
        self.refresh()
        self.post_message(self.Highlighted(self.current))

    def scroll_to_region_cursor(self, row: int) -> None:
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        if self.items:
            self.cursor = max(0, min(len(self.items) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        if self.items:
            self.cursor = where if where >= 0 else len(self.items) - 1

    def action_choose(self) -> None:
        if self.current is not None:
            self.post_message(self.Chosen(self.current))

    def on_click(self, event: object) -> None:
        y = getattr(event, "y", None)
        if isinstance(y, int):
            row = self.scroll_offset.y + y
            if 0 <= row < len(self.items):
                if row == self.cursor and getattr(event, "chain", 1) >= 2:
                    self.action_choose()
                self.cursor = row

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.items))

    def _rows(self, count: int) -> None:
        """As many rows to scroll through. A new count needs no layout of the screen (a
        keystroke in the filter would measure and place every widget again) unless the
        scrollbar comes or goes: then the list's width changes."""
        height = self.scrollable_content_region.height
        if (count > height) != (self.virtual_size.height > height) or not self.size:
            self.virtual_size = Size(self.size.width, count)
            return
        size = Size(self.virtual_size.width, count)
        self.set_reactive(ItemList.virtual_size, size)
        self._scroll_update(size)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        row = self.scroll_offset.y + y
        base = self.rich_style
        if not self.items:  # the empty text, wrapped: every word shows at 80 columns
            lines = textwrap.wrap(printable(self.empty_text), max(width - 4, 10))
            if 1 <= y <= len(lines):
                dim = self.get_component_rich_style("item-list--dim", partial=True)
                return Strip([Segment(f"  {lines[y - 1]}".ljust(width), base + dim)])
            return Strip.blank(width, base)
        if row >= len(self.items):
            return Strip.blank(width, base)
        item = self.items[row]
        style = base
        if row == self.cursor:
            style = base + self.get_component_rich_style("item-list--cursor", partial=True)
        dim = style + self.get_component_rich_style("item-list--dim", partial=True)
        star = (
            style
            if row == self.cursor
            else style + self.get_component_rich_style("item-list--star", partial=True)
        )
        return Strip(self._cells(item, width, style, dim, star), width).crop(0, width)

    def _cells(
        self, item: ItemSummary, width: int, style: Style, dim: Style, star_style: Style
    ) -> list[Segment]:
        # ★ a favourite; ⇄ shared with me by someone else (when not a favourite); then ⇡ a
        # change waiting to be sent (red: waiting for a choice), else the health check's
        # mark: ✗ breached, ! weak, ≈ reused
        star = "★" if item.favourite else "⇄" if item.access else " "
        check = self.marks.get(item.id)
        symbol = MARKS[check] if check is not None else " "
        if item.outbox:
            waiting = Outgoing.parse(item.outbox)
            check, symbol = ("breached" if waiting and waiting.problem else "weak"), "⇡"
        mark = Segment(symbol, style)
        if check is not None:
            mark_style = self.get_component_rich_style(f"item-list--{check}", partial=True)
            on_cursor = star_style is style  # the cursor's row shows its marks uncoloured
            mark = Segment(symbol, style if on_cursor else style + mark_style)
        name_w = max(12, width * 2 // 5)
        detail_w = max(0, width - name_w - 5 - 22)
        name = _fit(item.name, name_w)
        text = describe(item)
        if self.show_kind:
            text = f"{item.kind.label} · {text}" if text else item.kind.label
        detail = _fit(text, detail_w)
        tags = _fit(",".join(item.tags), 12) if width >= 60 else ""
        when = ago(item.updated, compact=True).rjust(9) if width >= 70 else ""
        segments = [
            Segment(star, star_style),
            mark,
            Segment(" ", style),
            Segment(name, style),
            Segment(detail, dim),
            Segment(tags, style + self.get_component_rich_style("item-list--tag", partial=True)),
            Segment(when + " ", dim),
        ]
        used = sum(cell_len(s.text) for s in segments)
        segments.append(Segment(" " * max(0, width - used), style))
        return segments

"""Command palette (ctrl+p): jump to any item by name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from mysafe_tui.core.errors import MySafeError
from mysafe_tui.tui.text import markup_safe, printable

if TYPE_CHECKING:
    from mysafe_tui.tui.app import MySafeApp


class ItemCommands(Provider):
    """Every unlocked item, searchable by the vault's own fuzzy search."""

    async def search(self, query: str) -> Hits:
        app: MySafeApp = self.app  # type: ignore[assignment]
        if not app.service.is_unlocked or not query.strip():
            return
        try:
            items = [
                *(await app.service.search(query))[:30],
                *(await app.service.search(query, trash=True))[:30],
            ]
        except MySafeError:
            return
        matcher = self.matcher(query)
        for rank, item in enumerate(items[:30]):
            label = printable(f"{item.name}  ({item.kind.label}{'' if item.active else ', trash'})")
            score, offsets = matcher.fuzzy_search.match(matcher.query, label)
            score = max(score, 1.0 - rank / 100)
            # Not matcher.highlight: it parses the name as markup.
            display = Content(label)
            for offset in offsets:
                display = display.stylize(matcher.match_style, offset, offset + 1)
            help_text = markup_safe(item.username or item.url or item.file_name or "open this item")
            yield Hit(score, display, partial(app.jump_to, item), text=label, help=help_text)

    async def discover(self) -> Hits:
        app: MySafeApp = self.app  # type: ignore[assignment]
        if not app.service.is_unlocked:
            return
        for item in (await app.service.search(favourites_only=True))[:10]:
            name = printable(f"★ {item.name}")
            yield DiscoveryHit(
                Content(name), partial(app.jump_to, item), text=name, help=item.kind.label
            )

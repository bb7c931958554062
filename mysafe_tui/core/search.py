"""The in-memory summary index: filter-as-you-type over 100k items in a few milliseconds.

Ranking is by tiers, each in the base order (favourites first, then name):

1. the name starts with the query;
2. the name contains it;
3. the username, URL or tags contain it;
4. every word of a multi-word query appears somewhere;
5. fuzzy: the query's letters appear in order, only when nothing matched above (a fallback
   for typos, not a flood when plain matches abound), at most `FUZZY_LIMIT` of them. In a
   multi-word query only the misspelt words are matched fuzzily, inside the items that hold
   the others; when every word exists as typed there is no typo to forgive: nothing is guessed.

Tiers 1-3 come from one comprehension of C-level substring tests, then a split of the hits;
the fuzzy tier is one regular expression over all candidate lines joined, with possessive
steps, so no per-item Python scoring is needed.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .models import ItemKind, ItemSummary

FUZZY_LIMIT = 500


@dataclass
class _View:
    """Candidates for one filter (kind, trash, favourites); the joined haystack for the fuzzy
    tier is made only when a fuzzy search needs it."""

    positions: list[int]
    joined: str | None = None
    starts: list[int] = field(default_factory=list)


def _sort_key(item: ItemSummary) -> tuple[bool, str, str]:
    return (not item.favourite, item.name.casefold(), item.id)


def _haystack(item: ItemSummary) -> str:
    text = " ".join((item.name, item.username, item.url, " ".join(item.tags), item.file_name))
    return text.casefold().replace("\n", " ")


class SearchIndex:
    """Summaries kept in display order, with casefolded text for matching."""

    def __init__(self, items: Iterable[ItemSummary] = ()) -> None:
        ordered = sorted(items, key=_sort_key)
        self._keys = [_sort_key(item) for item in ordered]
        self._items = ordered
        self._names = [key[1] for key in self._keys]
        self._hay_cache: list[str] | None = None  # built at the first query, not at unlock
        self._key_of = {item.id: key for item, key in zip(ordered, self._keys, strict=True)}
        self._views: dict[tuple[ItemKind | None, bool, bool], _View] = {}

    @property
    def _hay(self) -> list[str]:
        """Casefolded text per item, in order; built when first searched."""
        if self._hay_cache is None:
            self._hay_cache = [_haystack(item) for item in self._items]
        return self._hay_cache

    def __len__(self) -> int:
        return len(self._items)

    def upsert(self, item: ItemSummary) -> None:
        """Insert or replace one item, keeping the order (O(n) memmove, no re-sort)."""
        self.remove(item.id)
        key = _sort_key(item)
        at = bisect.bisect_left(self._keys, key)
        self._keys.insert(at, key)
        self._items.insert(at, item)
        self._names.insert(at, key[1])
        if self._hay_cache is not None:
            self._hay_cache.insert(at, _haystack(item))
        self._key_of[item.id] = key
        self._views.clear()

    def remove(self, item_id: str) -> None:
        key = self._key_of.pop(item_id, None)
        if key is not None:
            at = bisect.bisect_left(self._keys, key)
            del self._keys[at], self._items[at], self._names[at]
            if self._hay_cache is not None:
                del self._hay_cache[at]
            self._views.clear()

    def search(
        self,
        query: str = "",
        *,
        kind: ItemKind | None = None,
        trash: bool = False,
        favourites_only: bool = False,
    ) -> list[ItemSummary]:
        """Items matching `query`, best first. `trash` lists deactivated items instead."""
        view = self._view(kind, trash, favourites_only)
        items = self._items
        words = query.casefold().split()
        if not words:
            return [items[i] for i in view.positions]
        q = " ".join(words)
        names, hay = self._names, self._hay
        found = [i for i in view.positions if q in hay[i]]
        starts_with: list[int] = []
        in_name: list[int] = []
        elsewhere: list[int] = []
        for i in found:
            name = names[i]
            if name.startswith(q):
                starts_with.append(i)
            elif q in name:
                in_name.append(i)
            else:
                elsewhere.append(i)
        ranked = starts_with + in_name + elsewhere
        if len(words) > 1:
            longest = max(words, key=len)
            rest = [w for w in words if w is not longest]
            phrase = set(found)
            with_longest = [i for i in view.positions if longest in hay[i]]
            ranked += [
                i for i in with_longest if i not in phrase and all(w in hay[i] for w in rest)
            ]
            if not ranked:
                joined = self._joined(view)  # one C-level scan per word, not a Python loop
                exact = [w for w in words if w in joined]
                typos = [w for w in words if w not in joined]
                if not typos:
                    # Every word is spelt as some item has it, but no item has them all: not
                    # a typo, so a fuzzy guess would be noise (and the slowest search there is).
                    return []
                if exact:
                    # Forgive the misspelt words only, inside the lines that hold the others:
                    # a few thousand lines rather than a fuzzy scan of the whole index.
                    anchor = max(exact, key=len)
                    lines = (
                        with_longest
                        if anchor == longest
                        else [i for i in view.positions if anchor in hay[i]]
                    )
                    lines = [i for i in lines if all(w in hay[i] for w in exact)]
                    for word in typos:
                        lines = self._fuzzy_lines(lines, _fuzzy_pattern(word))
                    return [items[i] for i in lines[:FUZZY_LIMIT]]
        if not ranked:
            ranked = self._fuzzy(view, q.replace(" ", ""), FUZZY_LIMIT)
        return [items[i] for i in ranked]

    def _fuzzy(self, view: _View, letters: str, limit: int) -> list[int]:
        """Lines holding the letters in order. The pattern starts with a literal (which `re`
        finds fast) and its possessive `[^c]*+c` steps never backtrack, so a miss is linear."""
        if len(letters) < 2:
            return []
        pattern = _fuzzy_pattern(letters)
        out: list[int] = []
        last = -1
        for match in pattern.finditer(self._joined(view)):
            position = view.positions[bisect.bisect_right(view.starts, match.start()) - 1]
            if position != last:
                last = position
                out.append(position)
                if len(out) >= limit:
                    break
        return out

    def _fuzzy_lines(self, lines: list[int], pattern: re.Pattern[str]) -> list[int]:
        """The lines (in order) where `pattern` matches: one regex pass over them joined."""
        hay = self._hay
        starts, offset = [], 0
        for i in lines:
            starts.append(offset)
            offset += len(hay[i]) + 1
        text = "\n".join(hay[i] for i in lines)
        hits = {bisect.bisect_right(starts, m.start()) - 1 for m in pattern.finditer(text)}
        return [lines[k] for k in sorted(hits)]

    def _joined(self, view: _View) -> str:
        """The view's lines joined by newlines (built once per view), with their offsets."""
        if view.joined is None:
            hay = self._hay
            offset = 0
            for i in view.positions:
                view.starts.append(offset)
                offset += len(hay[i]) + 1
            view.joined = "\n".join(hay[i] for i in view.positions)
        return view.joined

    def _view(self, kind: ItemKind | None, trash: bool, favourites_only: bool) -> _View:
        key = (kind, trash, favourites_only)
        view = self._views.get(key)
        if view is None:
            items = self._items
            positions = [
                i
                for i, item in enumerate(items)
                if item.active != trash
                and (kind is None or item.kind is kind)
                and (item.favourite or not favourites_only)
            ]
            view = _View(positions)
            self._views[key] = view
        return view


def _fuzzy_pattern(letters: str) -> re.Pattern[str]:
    """The letters in order on one line; possessive steps, so a miss never backtracks."""
    steps = "".join(f"[^\\n{re.escape(c)}]*+{re.escape(c)}" for c in letters[1:])
    return re.compile(re.escape(letters[0]) + steps)

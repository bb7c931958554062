"""What the search index keeps for one list (a kind, the trash, favourites): its view of the
index, letter sets, and the answers it remembers; and the ranked answer it gives."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, filterfalse, islice, repeat
from typing import overload

# Positions in the index. Tuples, not lists: a tuple of ints (or of strings) leaves the garbage
# collector's sight after its first look, where every full collection would walk a 100k-item
# list again (40 ms, many times a minute while the UI is in use).
Rows = tuple[int, ...]


@dataclass
class Answer:
    """A query's answer as a view remembers it: of the positions `source`, those flagged in
    `looked` (one byte each; None: all) were looked at, and of those the ones flagged in
    `hits` (None: all) hold it, `count` in all; `ranked` is what the search gave. All of it
    is immutable: a write to the index meanwhile changes none of it."""

    count: int
    source: Rows
    looked: bytes | None
    hits: bytes | None
    ranked: Sequence[int] = ()
    fuzzy: bool = False  # `ranked` is the fuzzy tier's (nothing held the query as typed)
    _rows: Rows | None = None

    def looked_at(self) -> Iterable[int]:
        return self.source if self.looked is None else compress(self.source, self.looked)

    def rows(self) -> Rows:
        """The positions holding the query, in view order (a longer query starts there)."""
        if self._rows is None:
            looked = self.looked_at()
            self._rows = tuple(looked if self.hits is None else compress(looked, self.hits))
        return self._rows


class Tiers(Sequence[int]):
    """Ranked positions: tier 1 at once, the rest taken from `later` as far as a row is read
    (a screenful past tier 1 reads a few dozen of them, not 100k)."""

    __slots__ = ("_later", "_rest", "_seen", "_size")

    def __init__(self, first: list[int], size: int, later: Callable[[], Iterator[int]]) -> None:
        self._seen, self._size, self._later = list(first), size, later
        self._rest: Iterator[int] | None = None

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, at: int) -> int: ...
    @overload
    def __getitem__(self, at: slice) -> Sequence[int]: ...
    def __getitem__(self, at: int | slice) -> int | Sequence[int]:
        if isinstance(at, int) and 0 <= at < self._size:
            return self._upto(at + 1)[at]
        return self._upto(self._size)[at]

    def __iter__(self) -> Iterator[int]:
        return iter(self._upto(self._size))

    def _upto(self, n: int) -> list[int]:
        if len(self._seen) < n:
            if self._rest is None:
                self._rest = self._later()
            self._seen += islice(self._rest, n - len(self._seen))
        return self._seen


def later(
    answer: Answer, in_name: Callable[[], Iterable[int]], first: list[int]
) -> Callable[[], Iterator[int]]:
    """Tiers 2 and 3 of `answer`, lazily: the items looked at whose name holds the query (but
    for tier 1's), then those whose other fields do; `in_name` flags, item by item, the names
    that hold it (each call afresh)."""

    def rows() -> Iterator[int]:
        in_names: Iterator[int] = compress(answer.looked_at(), in_name())
        if first:
            in_names = filterfalse(set(first).__contains__, in_names)
        hits: Iterable[int] = repeat(1) if answer.hits is None else answer.hits
        rest = compress(answer.looked_at(), map(operator.gt, hits, in_name()))
        return chain(in_names, rest)

    return rows


@dataclass
class View:
    """Candidates for one filter (kind, trash, favourites); the joined haystack for the fuzzy
    tier is made only when a fuzzy search needs it."""

    positions: Rows
    hay: tuple[str, ...]  # the haystack of each position
    names: tuple[str, ...]  # the name of each position
    favourites: int  # how many positions (the first ones) are favourites
    joined: str | None = None
    starts: Rows = ()
    found: dict[str, Answer] = field(default_factory=dict)  # recent answers by query
    # Letter sets (see `SearchIndex._letter`): which items hold a letter, one byte per item.
    letters: dict[str, int] = field(default_factory=dict)
    name_letters: dict[str, int] = field(default_factory=dict)

    @functools.cached_property
    def everyone(self) -> int:
        """The letter set of every item of the view."""
        return int.from_bytes(b"\x01" * len(self.positions), "little")


def flags(letter_set: int, size: int) -> bytes:
    """A letter set as one byte per item, for `compress`."""
    return letter_set.to_bytes(size, "little")

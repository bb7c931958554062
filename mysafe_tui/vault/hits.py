"""Search results that decode an item only when it is looked at."""

from __future__ import annotations

import operator
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import overload

from mysafe_tui.core.models import ItemSummary
from mysafe_tui.vault.records import Record

__all__ = ["Hits", "position_of", "record_id"]


class Hits(Sequence[ItemSummary]):
    """Search results, best first: positions in the index's records, each summary decoded
    when it is looked at (a list shows a screenful), so a filter that matches 100k items
    costs one list of integers. The index never changes a records list it handed out."""

    __slots__ = ("_positions", "_records")

    def __init__(
        self, records: list[Record] | None = None, positions: Sequence[int] | None = None
    ) -> None:
        self._records = records or []
        self._positions = tuple(range(len(self._records))) if positions is None else positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, at: int) -> ItemSummary: ...
    @overload
    def __getitem__(self, at: slice) -> list[ItemSummary]: ...
    def __getitem__(self, at: int | slice) -> ItemSummary | list[ItemSummary]:
        records = self._records
        if isinstance(at, slice):
            return [records[i].summary() for i in self._positions[at]]
        return records[self._positions[at]].summary()

    def __iter__(self) -> Iterator[ItemSummary]:
        records = self._records
        return (records[i].summary() for i in self._positions)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Hits):
            return self._listed() == other._listed()
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Hits: {len(self)} items>"

    def _listed(self) -> list[Record]:
        return list(map(self._records.__getitem__, self._positions))

    def records(self) -> Iterator[Record]:
        """The hits still encoded, for a caller that reads a few fields of each (`brief`)."""
        return map(self._records.__getitem__, self._positions)

    @property
    def source(self) -> list[Record]:
        """The index's records these hits are positions in (never to be changed)."""
        return self._records

    def within(self, allowed: Container[int]) -> Hits:
        """These hits narrowed to the positions in `allowed`, in the same order."""
        return Hits(self._records, tuple(i for i in self._positions if i in allowed))

    def position(self, item_id: str) -> int | None:
        """Where the item with this id is listed, without decoding anything."""
        return position_of(map(self._records.__getitem__, self._positions), item_id)


def position_of(records: Iterable[Record], item_id: str) -> int | None:
    """The index of the record with this id: a C-level scan, ~1 ms per 100k."""
    try:
        return operator.indexOf(map(record_id, records), item_id)
    except ValueError:
        return None


record_id = operator.itemgetter(0)

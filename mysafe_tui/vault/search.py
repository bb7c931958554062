"""The in-memory summary index: filter-as-you-type over 100k items in a few milliseconds.

Ranking is by tiers, each in the base order (favourites first, then name):

1. the name starts with the query;
2. the name contains it;
3. the username, URLs, tags, file name or a custom field that is not hidden contain it;
4. every word of a multi-word query appears somewhere;
5. fuzzy: the query's letters appear in order, only when nothing matched above (a fallback
   for typos, not a flood when plain matches abound), at most `FUZZY_LIMIT` of them. In a
   multi-word query only the misspelt words are matched fuzzily, inside the items that hold
   the others; when every word exists as typed there is no typo to forgive: nothing is guessed.

The index is built from the vault's `Record`s (summaries still encoded) and answers with
`Hits`, which decode a summary only when it is looked at: unlocking and filtering 100k items
never builds 100k `ItemSummary` objects (DESIGN.md §8). Tiers 1-3 come from C-level
substring tests; the fuzzy tier is one regular expression over all candidate lines joined,
with possessive steps, so no per-item Python scoring is needed.
"""

from __future__ import annotations

import bisect
import contextlib
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, filterfalse, repeat
from operator import contains

from mysafe_tui.core.models import ItemKind
from mysafe_tui.vault.hits import Hits, position_of, record_id
from mysafe_tui.vault.records import ACTIVE, FAVOURITE, FILE_NAME, NAME, SEP, SUMMARY_FIELDS, Record

FUZZY_LIMIT = 500
_REMEMBERED = 16  # answers a view keeps for backspaces and longer queries
_LAST = chr(0x10FFFF)  # sorts after any character a name holds: q + _LAST ends q's run
_FILE = ItemKind.FILE
# More URLs and custom fields come just before the outbox, the last field (summaries written
# before it was appended end with them). Ending in three empty fields: none of either.
_NO_EXTRAS = SEP * 3
_LAST_SEP = len(SUMMARY_FIELDS) - 1


@dataclass
class _View:
    """Candidates for one filter (kind, trash, favourites); the joined haystack for the fuzzy
    tier is made only when a fuzzy search needs it."""

    positions: list[int]
    hay: list[str]  # the haystack of each position
    favourites: int  # how many positions (the first ones) are favourites
    joined: str | None = None
    starts: list[int] = field(default_factory=list)
    # Recent answers: query -> (the positions holding it in view order, ranked).
    found: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    # Letter sets (see `SearchIndex._letter`): which items hold a letter, one byte per item.
    letters: dict[str, int] = field(default_factory=dict)
    name_letters: dict[str, int] = field(default_factory=dict)

    @property
    def everyone(self) -> int:
        return int.from_bytes(b"\x01" * len(self.positions), "little")


def _entry(record: Record) -> tuple[str, str, bool, bool]:
    """(casefolded name, haystack, favourite, active) from the encoded summary.

    The haystack is name, username, URL and tags (and a file's file name, more URLs and the
    searchable text of custom fields, the two fields before the last), casefolded, NUL
    between fields: a query holds no NUL, so a match never spans two fields and the name is
    the haystack up to its first NUL. The first six fields are name, username, URL, tags and
    the one-character favourite and active flags, so the first four end 5 characters before
    the rest: one slice instead of a join."""
    text = record[3].casefold()  # .text: indexing is faster, and this runs 100k times
    f = text.split(SEP, ACTIVE + 1)
    if len(f) <= ACTIVE + 1:  # not from this encoder: index what there is
        f += [""] * (ACTIVE + 2 - len(f))
        text = SEP.join(f)
    hay = text[: len(text) - len(f[-1]) - 5]
    if record[1] is _FILE:  # created, updated, file name, ...
        after = f[-1].split(SEP, FILE_NAME - ACTIVE)
        hay += SEP + (after[FILE_NAME - ACTIVE - 1] if len(after) >= FILE_NAME - ACTIVE else "")
    if not text.endswith(_NO_EXTRAS):  # more URLs, custom fields
        seps = text.count(SEP)
        body = text[: text.rindex(SEP)] if seps == _LAST_SEP else text  # the outbox left out
        if seps >= _LAST_SEP - 1:
            hay += SEP + SEP.join(body.rsplit(SEP, 2)[1:])
    return f[NAME], hay.replace("\n", " "), f[FAVOURITE] == "1", f[ACTIVE] == "1"


class SearchIndex:
    """Records kept in display order, with casefolded text for matching."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        rows = list(records)
        names, hay, favourite, active = [], [], [], []
        for record in rows:
            name, text, fav, act = _entry(record)
            names.append(name)
            hay.append(text)
            favourite.append(fav)
            active.append(act)
        # One string per item that orders like (not favourite, name, id): sorting strings is
        # four times faster than sorting tuples (0.03 s for 100k items).
        keys = [
            f"{'0' if fav else '1'}{name}{SEP}{r.id}"
            for fav, name, r in zip(favourite, names, rows, strict=True)
        ]
        order = sorted(range(len(rows)), key=keys.__getitem__)
        self._records = [rows[i] for i in order]
        # Names and haystacks are rebuilt in display order (joined, then split: the new
        # strings lie in memory in that order), so a scan reads memory in order: 40% faster
        # at 100k. Neither holds its separator: NUL is never in a name, newline never in a
        # haystack.
        self._names = SEP.join([names[i] for i in order]).split(SEP) if rows else []
        self._all: str | None = "\n".join([hay[i] for i in order])
        self._hay = self._all.split("\n") if rows else []
        self._favourite = [favourite[i] for i in order]
        self._active = [active[i] for i in order]
        self._shared = False  # whether a `Hits` holds `_records` (see `_writable`)
        self._views: dict[tuple[ItemKind | None, bool, bool], _View] = {}
        self._counts: dict[ItemKind, int] | None = None
        self._ids: set[str] | None = None  # made when a write first asks (see `remove`)

    @classmethod
    def of(cls, records: Mapping[str, Record], state: object = None) -> SearchIndex:
        """The index of an unlocked vault's `records`: restored from the `state` its summary
        cache gave back (`Vault.take_index_state`), else built (parsed and sorted)."""
        if state is not None:
            with contextlib.suppress(ValueError):
                return cls.restore(list(records.values()), state)
        return cls(records.values())

    @classmethod
    def restore(cls, records: list[Record], state: object) -> SearchIndex:
        """The index that `state()` described, over the same records in the same order (what
        the vault's summary cache gives back): no parsing, no sorting. ValueError if `state`
        does not fit `records`."""
        if not isinstance(state, tuple) or len(state) != 4:
            raise ValueError("not a search index state")
        names, hay, favourite, active = state
        if not (isinstance(names, str) and isinstance(hay, str)):
            raise ValueError("not a search index state")
        if not (isinstance(favourite, bytes) and isinstance(active, bytes)):
            raise ValueError("not a search index state")
        index = cls()
        if records:
            index._names, index._hay, index._all = names.split(SEP), hay.split("\n"), hay
        sizes = {len(records), len(index._names), len(index._hay), len(favourite), len(active)}
        if len(sizes) != 1:
            raise ValueError("the search index state does not fit the records")
        index._records = records
        index._favourite, index._active = list(map(bool, favourite)), list(map(bool, active))
        return index

    def state(self) -> tuple[str, str, bytes, bytes]:
        """What `restore` needs besides `records` (in that order); marshallable."""
        return (
            SEP.join(self._names),
            "\n".join(self._hay),
            bytes(self._favourite),
            bytes(self._active),
        )

    @property
    def records(self) -> Sequence[Record]:
        """Every record, in display order (read-only)."""
        return self._records

    def __len__(self) -> int:
        return len(self._records)

    def _key(self, at: int) -> tuple[bool, str, str]:
        return (not self._favourite[at], self._names[at], self._records[at].id)

    def _find(self, key: tuple[bool, str, str]) -> int:
        return bisect.bisect_left(range(len(self._records)), key, key=self._key)

    def upsert(self, record: Record) -> None:
        """Insert or replace one item, keeping the order (O(n) memmove, no re-sort)."""
        self.remove(record.id)
        self._id_set().add(record.id)
        name, hay, favourite, active = _entry(record)
        at = self._find((not favourite, name, record.id))
        self._writable().insert(at, record)
        self._names.insert(at, name)
        self._hay.insert(at, hay)
        self._favourite.insert(at, favourite)
        self._active.insert(at, active)
        self._changed()

    def remove(self, item_id: str) -> None:
        ids = self._id_set()
        if item_id not in ids:  # a new item: no scan (a first sync adds 10k of them)
            return
        ids.discard(item_id)
        at = position_of(self._records, item_id)
        if at is not None:
            del self._writable()[at], self._names[at], self._hay[at]
            del self._favourite[at], self._active[at]
            self._changed()

    def _id_set(self) -> set[str]:
        if self._ids is None:
            self._ids = set(map(record_id, self._records))
        return self._ids

    def _writable(self) -> list[Record]:
        """The records list, copied first if a search handed it out (copy on write)."""
        if self._shared:
            self._records, self._shared = self._records.copy(), False
        return self._records

    def _changed(self) -> None:
        self._views.clear()
        self._all = None
        self._counts = None

    def counts(self) -> dict[ItemKind, int]:
        """Active items per kind (kept until the index changes: the UI asks every second)."""
        if self._counts is None:
            counts = dict.fromkeys(ItemKind, 0)
            for record, active in zip(self._records, self._active, strict=True):
                if active:
                    counts[record.kind] += 1
            self._counts = counts
        return dict(self._counts)

    def named(self, name: str) -> list[Record]:
        """Items whose name is `name`, ignoring case."""
        wanted = name.strip().casefold()
        return [self._records[i] for i, n in enumerate(self._names) if n == wanted]

    def search(
        self,
        query: str = "",
        *,
        kind: ItemKind | None = None,
        trash: bool = False,
        favourites_only: bool = False,
    ) -> Hits:
        """Items matching `query`, best first. `trash` lists deactivated items instead."""
        self._shared = True
        return Hits(self._records, self._rank(query, kind, trash, favourites_only))

    def _rank(
        self, query: str, kind: ItemKind | None, trash: bool, favourites_only: bool
    ) -> list[int]:
        view = self._view(kind, trash, favourites_only)
        words = query.replace(SEP, "").casefold().split()
        if not words:
            return view.positions
        q = " ".join(words)
        hay = self._hay
        ranked = self._phrase(view, q)
        if len(words) > 1:
            longest = max(words, key=len)
            others = [w for w in words if w is not longest]
            phrase = set(ranked)
            with_longest = self._scan(view, longest)
            more = [i for i in with_longest if i not in phrase]
            for word in others:
                more = [i for i in more if word in hay[i]]
            ranked += more
            if not ranked:
                return self._forgive(view, words, longest, with_longest)
        if not ranked:
            ranked = self._fuzzy(view, q.replace(" ", ""), FUZZY_LIMIT)
            if len(words) == 1:  # remembered like the rest: a backspace costs nothing
                self._remember(view, q, [], ranked)
                ranked = ranked.copy()
        return ranked

    def _phrase(self, view: _View, q: str) -> list[int]:
        """Tiers 1-3 for `q`: names starting with it, names holding it, haystacks holding it.

        Only the items holding every letter of `q` are looked at (the view's letter sets, one
        AND each), or those that held a shorter query inside `q`, when fewer (typing narrows);
        a one-letter query is answered by its letter sets alone. The view remembers a few
        answers, so a backspace costs nothing."""
        known = view.found.get(q)
        if known is not None:
            return known[1].copy()
        having = self._having(view, q)
        narrower = [found for k, (found, _) in view.found.items() if k in q]
        base = min(narrower, key=len, default=None)
        hays: Iterable[str]
        named: Iterable[int]
        if base is not None and len(base) <= having.bit_count():
            candidates, hays = base, map(self._hay.__getitem__, base)
        else:
            flags = _flags(having, len(view.positions))
            candidates, hays = list(compress(view.positions, flags)), compress(view.hay, flags)
        starts_with = self._name_starts(view, q)
        if len(q) == 1:  # every candidate holds it; the name's letter set says where
            found = candidates
            named_set = self._letter(view, q, names=True)
            named = compress(view.positions, _flags(named_set, len(view.positions)))
            rest = compress(view.positions, _flags(having ^ named_set, len(view.positions)))
        else:
            found = list(compress(candidates, map(contains, hays, repeat(q))))
            in_name = list(map(contains, map(self._names.__getitem__, found), repeat(q)))
            named = compress(found, in_name)
            rest = compress(found, map(operator.not_, in_name))
        if starts_with:
            named = filterfalse(set(starts_with).__contains__, named)
        ranked = [*starts_with, *named, *rest]
        self._remember(view, q, found, ranked)
        return ranked.copy()

    def _remember(self, view: _View, q: str, found: list[int], ranked: list[int]) -> None:
        if len(view.found) >= _REMEMBERED and q not in view.found:
            del view.found[next(iter(view.found))]
        view.found[q] = (found, ranked)

    def _having(self, view: _View, letters: str) -> int:
        """The view's items holding every one of `letters`, as a letter set."""
        having = -1
        for letter in set(letters):
            having &= self._letter(view, letter)
            if not having:
                break
        return having & view.everyone

    def _letter(self, view: _View, letter: str, names: bool = False) -> int:
        """The view's items whose haystack (or name) holds `letter`: one byte per item, 1 or
        0, read as one integer, so sets combine with a single & and become positions with
        one `compress`. Made on first use, ~2 ms per letter at 100k items."""
        sets = view.name_letters if names else view.letters
        known = sets.get(letter)
        if known is None:
            texts = map(self._names.__getitem__, view.positions) if names else view.hay
            known = int.from_bytes(bytes(map(contains, texts, repeat(letter))), "little")
            sets[letter] = known
        return known

    def _scan(self, view: _View, word: str) -> list[int]:
        """The view's items whose haystack contains `word`; when no item at all has it, one
        C-level look at everything joined answers instead of 100k tests."""
        if word not in self._everything():
            return []
        return [i for i, text in zip(view.positions, view.hay, strict=True) if word in text]

    def _everything(self) -> str:
        """Every item's haystack, one per line (built with the index, again after a change)."""
        if self._all is None:
            self._all = "\n".join(self._hay)
        return self._all

    def _name_starts(self, view: _View, q: str) -> list[int]:
        """The view's items whose name starts with `q`: the view is in name order among its
        favourites and among the rest, so they are (at most) two runs found by bisection."""
        positions, name = view.positions, self._names.__getitem__
        out: list[int] = []
        for lo, hi in ((0, view.favourites), (view.favourites, len(positions))):
            start = bisect.bisect_left(positions, q, lo, hi, key=name)
            end = bisect.bisect_left(positions, q + _LAST, start, hi, key=name)
            out += positions[start:end]
        return out

    def _forgive(
        self, view: _View, words: list[str], longest: str, with_longest: list[int]
    ) -> list[int]:
        """A multi-word query that matched nothing as typed: forgive its misspelt words."""
        hay = self._hay
        joined = self._joined(view)  # one C-level scan per word, not a Python loop
        spelt = [w in joined for w in words]
        exact = list(compress(words, spelt))
        typos = list(compress(words, map(operator.not_, spelt)))
        if not typos:
            # Every word is spelt as some item has it, but no item has them all: not a typo,
            # so a fuzzy guess would be noise (and the slowest search there is).
            return []
        if not exact:
            return self._fuzzy(view, "".join(words), FUZZY_LIMIT)
        # Forgive the misspelt words only, inside the lines that hold the others: a few
        # thousand lines rather than a fuzzy scan of the whole index.
        anchor = max(exact, key=len)
        lines = with_longest if anchor == longest else self._scan(view, anchor)
        for word in exact:
            if word != anchor:
                lines = [i for i in lines if word in hay[i]]
        for word in typos:
            lines = self._fuzzy_lines(lines, word)
        return lines[:FUZZY_LIMIT]

    def _fuzzy(self, view: _View, letters: str, limit: int) -> list[int]:
        """Lines holding the letters in order. The pattern starts with a literal (which `re`
        finds fast) and its possessive `[^c]*+c` steps never backtrack, so a miss is linear."""
        if len(letters) < 2:
            return []
        having = self._having(view, letters)
        if not having:
            return []  # a letter that no item has: no need to try the pattern
        if having.bit_count() * 2 < len(view.positions):  # most items lack a letter
            lines = list(compress(view.positions, _flags(having, len(view.positions))))
            return self._fuzzy_lines(lines, letters, sifted=True)[:limit]
        joined = self._joined(view)
        pattern = _fuzzy_pattern(letters)
        out: list[int] = []
        last = -1
        for match in pattern.finditer(joined):
            position = view.positions[bisect.bisect_right(view.starts, match.start()) - 1]
            if position != last:
                last = position
                out.append(position)
                if len(out) >= limit:
                    break
        return out

    def _fuzzy_lines(self, lines: list[int], letters: str, sifted: bool = False) -> list[int]:
        """The lines (in order) holding `letters` in order: first those that hold each letter
        at all (C-level tests, unless `sifted` already), then one regex pass over what is
        left, joined."""
        hay = self._hay
        for letter in () if sifted else set(letters):
            lines = [i for i in lines if letter in hay[i]]
        pattern = _fuzzy_pattern(letters)
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
            active, favourite, records = self._active, self._favourite, self._records
            positions = [
                i
                for i in range(len(records))
                if active[i] is not trash
                and (kind is None or records[i].kind is kind)
                and (favourite[i] or not favourites_only)
            ]
            favourites = bisect.bisect_left(positions, True, key=lambda i: not favourite[i])
            view = _View(positions, list(map(self._hay.__getitem__, positions)), favourites)
            self._views[key] = view
        return view


def _flags(letter_set: int, size: int) -> bytes:
    """A letter set as one byte per item, for `compress`."""
    return letter_set.to_bytes(size, "little")


def _fuzzy_pattern(letters: str) -> re.Pattern[str]:
    """The letters in order on one line; possessive steps, so a miss never backtracks."""
    steps = "".join(f"[^\\n{re.escape(c)}]*+{re.escape(c)}" for c in letters[1:])
    return re.compile(re.escape(letters[0]) + steps)

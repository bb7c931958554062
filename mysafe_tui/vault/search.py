"""The in-memory summary index: filter-as-you-type over 100k items in a few milliseconds.

Ranking is by tiers, each in the base order (favourites first, then name):

1. the name starts with the query;
2. the name contains it;
3. the username, URLs, tags, file name or a custom field that is not hidden contain it;
4. every word of a multi-word query appears somewhere;
5. fuzzy: the query's letters appear in order in the name, only when nothing matched above
   (a fallback for typos, not a flood when plain matches abound; letters strewn across a
   URL and a username are no guess), at most `FUZZY_LIMIT` of them. In a
   multi-word query only the misspelt words are matched fuzzily, inside the items that hold
   the others; when every word exists as typed there is no typo to forgive: nothing is guessed.

The index is built from the vault's `Record`s (summaries still encoded) and answers with
`Hits`, which decode a summary only when it is looked at: unlocking and filtering 100k items
never builds 100k `ItemSummary` objects (DESIGN.md §8). Tiers 1-3 come from C-level
substring tests; the fuzzy tier is one regular expression over the candidate names joined,
with possessive steps, so no per-item Python scoring is needed.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import operator
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import accumulate, compress, islice, repeat
from operator import contains

from mysafe_tui.core.models import ItemKind
from mysafe_tui.vault.hits import Hits, position_of, record_id
from mysafe_tui.vault.records import ACTIVE, FAVOURITE, FILE_NAME, NAME, SEP, SUMMARY_FIELDS, Record
from mysafe_tui.vault.search_views import Answer, Tiers, View, flags, later

FUZZY_LIMIT = 500
_REMEMBERED = 16  # answers a view keeps for backspaces and longer queries
COMMON_LETTERS = string.ascii_lowercase + string.digits  # the letter sets made ahead
_LAST = chr(0x10FFFF)  # sorts after any character a name holds: q + _LAST ends q's run
_FILE = ItemKind.FILE
# More URLs and custom fields come just before the outbox, the last field (summaries written
# before it was appended end with them). Ending in three empty fields: none of either.
_NO_EXTRAS = SEP * 3
_LAST_SEP = len(SUMMARY_FIELDS) - 1


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
        self._views: dict[tuple[ItemKind | None, bool, bool], View] = {}
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
    ) -> Sequence[int]:
        view = self._view(kind, trash, favourites_only)
        words = query.replace(SEP, "").casefold().split()
        if not words:
            return view.positions
        q = " ".join(words)
        hay = self._hay
        ranked: Sequence[int] = self._phrase(view, q)
        if len(words) > 1:
            longest = max(words, key=len)
            others = [w for w in words if w is not longest]
            phrase = set(ranked)
            with_longest = self._scan(view, longest)
            more = [i for i in with_longest if i not in phrase]
            for word in others:
                more = [i for i in more if word in hay[i]]
            ranked = (*ranked, *more)
            if not ranked:
                return self._forgive(view, words, longest, with_longest)
        if not ranked:
            # Only among the lines that a shorter query's whole fuzzy answer held, if any.
            shorter = [
                answer.ranked
                for k, answer in view.found.items()
                if answer.fuzzy and k in q and len(answer.ranked) < FUZZY_LIMIT
            ]
            within = min(shorter, key=len) if shorter else None
            ranked = tuple(self._fuzzy(view, q.replace(" ", ""), FUZZY_LIMIT, within))
            if len(words) == 1:  # remembered like the rest: a backspace costs nothing
                self._remember(view, q, Answer(0, (), None, None, ranked, fuzzy=True))
        return ranked

    def _phrase(self, view: View, q: str) -> Sequence[int]:
        """Tiers 1-3 for `q`: names starting with it, names holding it, haystacks holding it.

        Only the items holding every letter of `q` are looked at (the view's letter sets, one
        AND each), or those that held a shorter query inside `q`, when far fewer (typing
        narrows); a one-letter query is answered by its letter sets alone. Tiers 2-3 are put
        in order only when a row past tier 1 is looked at (a screenful rarely is). The view
        remembers a few answers, so a backspace costs nothing."""
        known = view.found.get(q)
        if known is not None:
            return known.ranked
        having = self._having(view, q)
        narrower = [answer for k, answer in view.found.items() if k in q]
        base = min(narrower, key=lambda answer: answer.count, default=None)
        size = len(view.positions)
        starts_with = self._name_starts(view, q)
        in_name: Callable[[], Iterable[int]]
        if len(q) == 1:  # every item looked at holds it; the name's letter set says where
            answer = Answer(having.bit_count(), view.positions, flags(having, size), None)
            in_name = functools.cache(functools.partial(self._named, view, q, having))
        elif base is not None and base.count * 2 <= having.bit_count():  # typing narrows
            looked = base.rows()  # positions in the index, which a write changes: read now
            hits = bytes(map(contains, map(self._hay.__getitem__, looked), repeat(q)))
            answer = Answer(hits.count(1), looked, None, hits)
            named = bytes(map(contains, map(self._names.__getitem__, looked), repeat(q)))
            in_name = functools.partial(iter, named)
        else:
            holding = flags(having, size)
            hits = bytes(map(contains, compress(view.hay, holding), repeat(q)))
            answer = Answer(hits.count(1), view.positions, holding, hits)
            in_name = functools.partial(_holding, view.names, holding, q)  # tuples: immutable
        tiers = later(answer, in_name, starts_with)
        answer.ranked = Tiers(starts_with, answer.count, tiers)
        self._remember(view, q, answer)
        return answer.ranked

    def _named(self, view: View, letter: str, having: int) -> bytes:
        """Of the items holding `letter`, those whose name holds it (one byte each)."""
        names = self._letter(view, letter, names=True)
        return bytes(
            compress(flags(names, len(view.positions)), flags(having, len(view.positions)))
        )

    def warmer(
        self, kind: ItemKind | None = None, trash: bool = False, favourites_only: bool = False
    ) -> Callable[[], None]:
        """What readies the list for typing: its common letter sets made ahead (~0.3 s at 100k
        items, so the first key of a query finds them). Call this on the thread that searches;
        the function it gives back may run on any thread: it reads and fills only this list's
        own view, which a write replaces rather than changes."""
        view = self._view(kind, trash, favourites_only)

        def warm() -> None:
            for letter in COMMON_LETTERS:
                self._letter(view, letter)
                self._letter(view, letter, names=True)

        return warm

    def _remember(self, view: View, q: str, answer: Answer) -> None:
        if len(view.found) >= _REMEMBERED and q not in view.found:
            del view.found[next(iter(view.found))]
        view.found[q] = answer

    def _having(self, view: View, letters: str, names: bool = False) -> int:
        """The view's items holding every one of `letters` (in their name), as a letter set."""
        having = -1
        for letter in set(letters):
            having &= self._letter(view, letter, names)
            if not having:
                break
        return having & view.everyone

    def _letter(self, view: View, letter: str, names: bool = False) -> int:
        """The view's items whose haystack (or name) holds `letter`: one byte per item, 1 or
        0, read as one integer, so sets combine with a single & and become positions with
        one `compress`. Made on first use, ~2 ms per letter at 100k items."""
        sets = view.name_letters if names else view.letters
        known = sets.get(letter)
        if known is None:
            texts = view.names if names else view.hay
            known = int.from_bytes(bytes(map(contains, texts, repeat(letter))), "little")
            sets[letter] = known
        return known

    def _scan(self, view: View, word: str) -> list[int]:
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

    def _name_starts(self, view: View, q: str) -> list[int]:
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
        self, view: View, words: list[str], longest: str, with_longest: list[int]
    ) -> list[int]:
        """A multi-word query that matched nothing as typed: forgive its misspelt words."""
        hay = self._hay
        spelt = [any(map(contains, view.hay, repeat(w))) for w in words]  # C-level scans
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
            lines = self._fuzzy_lines(lines, word, hay, limit=len(lines))
        return lines[:FUZZY_LIMIT]

    def _fuzzy(
        self, view: View, letters: str, limit: int, within: Sequence[int] | None = None
    ) -> list[int]:
        """Names holding the letters in order (only among the items `within`, when given).
        The pattern starts with a literal (which `re` finds fast) and its possessive
        `[^c]*+c` steps never backtrack, so a miss is linear."""
        if len(letters) < 2:
            return []
        having = self._having(view, letters, names=True)
        if not having:
            return []  # a letter that no name has: no need to try the pattern
        if within is None and having.bit_count() * 2 < len(view.positions):
            within = tuple(compress(view.positions, flags(having, len(view.positions))))
        if within is not None:  # most names lack a letter: only those with all of them
            return self._fuzzy_lines(list(within), letters, self._names, limit)
        found = _fuzzy_pattern(letters).finditer(self._joined(view))
        at = (bisect.bisect_right(view.starts, match.start()) - 1 for match in found)
        return list(map(view.positions.__getitem__, islice(at, limit)))

    def _fuzzy_lines(
        self, lines: list[int], letters: str, texts: list[str], limit: int = FUZZY_LIMIT
    ) -> list[int]:
        """The lines (in order) whose text (`self._hay` or `self._names`) holds `letters` in
        order, at most `limit`: one regex pass over them joined."""
        chosen = list(map(texts.__getitem__, lines))
        starts = list(accumulate(map(len, chosen), lambda at, n: at + n + 1, initial=0))
        found = _fuzzy_pattern(letters).finditer("\n".join(chosen))
        return [lines[bisect.bisect_right(starts, m.start()) - 1] for m in islice(found, limit)]

    def _joined(self, view: View) -> str:
        """The view's names joined by newlines (built once per view), with their offsets."""
        if view.joined is None:
            view.starts = tuple(
                accumulate(map(len, view.names), lambda at, n: at + n + 1, initial=0)
            )
            view.joined = "\n".join(view.names)
        return view.joined

    def _view(self, kind: ItemKind | None, trash: bool, favourites_only: bool) -> View:
        key = (kind, trash, favourites_only)
        view = self._views.get(key)
        if view is None:
            active, favourite, records = self._active, self._favourite, self._records
            positions = tuple(
                i
                for i in range(len(records))
                if active[i] is not trash
                and (kind is None or records[i].kind is kind)
                and (favourite[i] or not favourites_only)
            )
            favourites = bisect.bisect_left(positions, True, key=lambda i: not favourite[i])
            hay = tuple(map(self._hay.__getitem__, positions))
            view = View(positions, hay, tuple(map(self._names.__getitem__, positions)), favourites)
            self._views[key] = view
        return view


def _holding(texts: Iterable[str], looked: bytes, q: str) -> Iterator[bool]:
    """Item by item, whether the text of each item looked at holds `q`."""
    return map(contains, compress(texts, looked), repeat(q))


def _fuzzy_pattern(letters: str) -> re.Pattern[str]:
    """The letters in order on one line; possessive steps, so a miss never backtracks; a
    match runs on to its line's end, so a line is found once."""
    steps = "".join(f"[^\\n{re.escape(c)}]*+{re.escape(c)}" for c in letters[1:])
    return re.compile(re.escape(letters[0]) + steps + "[^\\n]*")

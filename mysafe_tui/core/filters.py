"""The words of a filter that narrow the list rather than being searched for.

`owner:NAME` (`owner:me` for one's own items), `shared:yes|no|with-me`, `kind:KIND`, `tag:TAG`,
`fav:yes|no` and `unused:90d` stand beside the fuzzy words, in the UI's filter and in `mysafe
list`, as MySafe's passwords screen filters by owner, shared, last use and tags. A word is one
of them only when it starts with a known name and a colon and has a value (`https://x` stays a
search word).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.models import ItemKind

# The help page's lines: the word, then what it keeps.
WORDS = (
    ("owner:NAME", "items NAME owns (owner:me: your own)"),
    ("shared:yes|no", "items you shared with others, or did not"),
    ("shared:with-me", "items others shared with you"),
    ("kind:KIND", "password, note, api, file or ssh"),
    ("tag:TAG", "items with that tag"),
    ("fav:yes|no", "favourites, or the others"),
    ("unused:90d", "not copied, revealed or read for 90 days (d, w, m; a year at most)"),
)
_NAMES = ("owner", "shared", "kind", "tag", "fav", "unused")
_SPANS = {"d": 1, "w": 7, "m": 30, "y": 365}
MAX_UNUSED_DAYS = 365  # uses are kept a year (service/uses.py)
_KINDS = {
    "password": ItemKind.PASSWORD,
    "login": ItemKind.PASSWORD,
    "note": ItemKind.NOTE,
    "api": ItemKind.API_SECRET,
    "secretapi": ItemKind.API_SECRET,
    "file": ItemKind.FILE,
    "ssh": ItemKind.SSH_KEY,
    "sshkey": ItemKind.SSH_KEY,
}
_YES = {"yes": True, "y": True, "true": True, "no": False, "n": False, "false": False}


class Facets(NamedTuple):
    """What the narrowing words look at in an item (never a secret)."""

    tags: tuple[str, ...]
    favourite: bool
    access: str  # "" mine, "view"/"edit" shared with me
    owner: str  # who owns it, when the server said (items shared with me)
    shared_out: bool  # shared with others by me


@dataclass(frozen=True)
class Narrowing:
    owner: str = ""  # casefolded; "me" for one's own
    shared: str = ""  # "yes", "no" or "with-me"
    kind: ItemKind | None = None
    tag: str = ""  # casefolded
    favourite: bool | None = None
    unused_days: int = 0  # not used for this many days (the service knows the uses)

    @property
    def by_people(self) -> bool:
        """Whether the owner or the sharing must be read (the rest is cheaper to read)."""
        return bool(self.owner or self.shared)

    @property
    def by_item(self) -> bool:
        """Whether each item's own text must be read (kind and favourite are the index's)."""
        return bool(self.owner or self.shared or self.tag or self.favourite is False)

    @property
    def by_facets(self) -> bool:
        """Whether items must be looked at one by one (by their text, or their last use)."""
        return self.by_item or bool(self.unused_days)

    def allows(self, item: Facets) -> bool:
        if self.tag and self.tag not in (t.casefold() for t in item.tags):
            return False
        if self.favourite is not None and item.favourite != self.favourite:
            return False
        mine = self.owner == "me" and not item.access  # owner:me: one's own items
        if self.owner and item.owner.casefold() != self.owner and not mine:
            return False
        if self.shared == "with-me":
            return bool(item.access)
        if self.shared:
            mine_shared = not item.access and item.shared_out
            return mine_shared == (self.shared == "yes")
        return True


def split(query: str) -> tuple[Narrowing, str]:
    """The narrowing words of `query` and the rest (searched for as before); InvalidInput
    for a narrowing word whose value means nothing (`shared:maybe`)."""
    narrowing = Narrowing()
    rest = []
    for word in query.split():
        name, colon, value = word.partition(":")
        name, value = name.casefold(), value.casefold()
        if not colon or not value or name not in _NAMES:
            rest.append(word)
        elif name == "kind":
            if value not in _KINDS:
                raise InvalidInput(f"kind: takes {', '.join(sorted(set(_KINDS) - {'login'}))}")
            narrowing = replace(narrowing, kind=_KINDS[value])
        elif name == "fav":
            narrowing = replace(narrowing, favourite=_yes(name, value, "yes or no"))
        elif name == "shared":
            with_me = value in ("with-me", "withme", "me")
            yes = with_me or _yes(name, value, "yes, no or with-me")
            narrowing = replace(narrowing, shared="with-me" if with_me else "yes" if yes else "no")
        elif name == "owner":
            narrowing = replace(narrowing, owner=value)
        elif name == "unused":
            narrowing = replace(narrowing, unused_days=_days(value))
        else:
            narrowing = replace(narrowing, tag=value)
    return narrowing, " ".join(rest)


def _days(value: str) -> int:
    """`90d`, `12w`, `3m`, `1y` (or a bare number of days) as days."""
    number, unit = (value[:-1], value[-1]) if value[-1:] in _SPANS else (value, "d")
    if not number.isdigit() or not 1 <= int(number) * _SPANS[unit] <= MAX_UNUSED_DAYS:
        raise InvalidInput("unused: takes a time up to a year: 30d, 12w, 6m, 1y")
    return int(number) * _SPANS[unit]


def _yes(name: str, value: str, takes: str) -> bool:
    if value not in _YES:
        raise InvalidInput(f"{name}: takes {takes}")
    return _YES[value]

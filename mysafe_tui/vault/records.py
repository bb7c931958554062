"""How one item is laid out inside the vault: associated data and the summary encoding.

The summary is what unlock decrypts for every item, so its encoding is chosen for speed: the
fields joined by NUL (which `clean_text` removes from user input), not JSON, which costs
several times more per item on a 2-core machine (DESIGN.md §8: 100k items in under 1 s).
Unlock does not even decode it: it keeps each summary as a `Record` (the text), which the
search index reads directly and which becomes an `ItemSummary` only when something looks at it.
"""

from __future__ import annotations

from typing import NamedTuple

from mysafe_tui.core.filters import Facets
from mysafe_tui.core.models import ItemKind, ItemSummary, Sharing

# Field order of the encoded summary. Appending is backward compatible; reordering is not.
SUMMARY_FIELDS = (
    "name",
    "username",
    "url",
    "tags",
    "favourite",
    "active",
    "created",
    "updated",
    "file_name",
    "size",
    "media_type",
    "identifier_code",
    "method",
    "remote",
    "access",
    "sharing",
    "urls",
    "custom",
    "outbox",
)
# Summaries written before the last fields were appended have this many (they read as "").
OLDEST_FIELDS = SUMMARY_FIELDS.index("remote")
SEP = "\x00"
# Positions the search index reads straight from the encoded text.
NAME, USERNAME, URL, TAGS, FAVOURITE, ACTIVE = range(6)
CREATED = SUMMARY_FIELDS.index("created")
REMOTE = SUMMARY_FIELDS.index("remote")
FILE_NAME = SUMMARY_FIELDS.index("file_name")
IDENTIFIER_CODE = SUMMARY_FIELDS.index("identifier_code")
ACCESS = SUMMARY_FIELDS.index("access")
SHARING = SUMMARY_FIELDS.index("sharing")
NOBODY = Sharing()


class Record(NamedTuple):
    """One item's summary as unlock leaves it: decrypted but still encoded (`text`), so a
    100k-item vault unlocks without building 100k objects. `summary()` decodes it."""

    id: str
    kind: ItemKind
    version: int
    text: str

    def summary(self) -> ItemSummary:
        return decode_summary(self.id, self.kind, self.version, self.text)

    def brief(self) -> Brief:
        """What a listing line shows, without building the whole summary (a CLI listing of
        100k items saves a third of its time)."""
        f = self.text.split(SEP, IDENTIFIER_CODE + 1)
        return Brief(
            f[FAVOURITE] == "1",
            f[NAME],
            f[USERNAME],
            f[URL],
            f[TAGS],
            f[FILE_NAME],
            int(f[FILE_NAME + 1] or 0),
            f[IDENTIFIER_CODE],
        )

    def facets(self, people: bool = True) -> Facets:
        """What a filter's narrowing words look at (core/filters.py), read from the text; who
        owns and who shares it only when `people` (the rest is at the text's start: a search
        at 100k items reads a fifth as much)."""
        f = self.text.split(SEP, SHARING + 1 if people else FAVOURITE + 1)
        tags = tuple(t for t in f[TAGS].split(",") if t)
        if not people:
            return Facets(tags, f[FAVOURITE] == "1", "", "", False)
        access = f[ACCESS] if len(f) > ACCESS else ""
        shared = Sharing.decode(f[SHARING]) if len(f) > SHARING and f[SHARING] else NOBODY
        return Facets(tags, f[FAVOURITE] == "1", access, shared.owner, bool(shared.entries))

    def created_day(self) -> int:
        """The day (since the epoch) the item was made."""
        created = self.text.split(SEP, CREATED + 1)[CREATED]
        try:
            return int(float(created) // 86400)
        except ValueError:
            return 0

    def remote_id(self) -> str:
        """The item's id on its server ("" for a local item): read from the text alone."""
        f = self.text.split(SEP, REMOTE + 1)
        parts = f[REMOTE].split(":") if len(f) > REMOTE else []
        return parts[1] if len(parts) >= 3 else ""

    def waiting(self) -> bool:
        """Whether the item has a change its server has not heard of (`outbox`, the last
        field: empty unless the text ends in something other than the separator)."""
        return not self.text.endswith(SEP) and self.text.count(SEP) >= len(SUMMARY_FIELDS) - 1


class Brief(NamedTuple):
    favourite: bool
    name: str
    username: str
    url: str
    tags: str  # comma-joined
    file_name: str
    size: int
    identifier_code: str


def clean_text(value: object) -> str:
    """A summary field as stored: text without NUL (the separator) or surrounding blanks."""
    return str(value).replace(SEP, "").strip()


def encode_summary(summary: ItemSummary) -> bytes:
    values = [
        summary.name,
        summary.username,
        summary.url,
        ",".join(summary.tags),
        "1" if summary.favourite else "0",
        "1" if summary.active else "0",
        repr(summary.created),
        repr(summary.updated),
        summary.file_name,
        str(summary.size),
        summary.media_type,
        summary.identifier_code,
        summary.method,
        summary.remote,
        summary.access,
        summary.sharing,
        "\n".join(summary.urls),
        summary.custom,
        summary.outbox,
    ]
    return SEP.join(clean_text(v) for v in values).encode()


def decode_summary(item_id: str, kind: ItemKind, version: int, text: str) -> ItemSummary:
    """Inverse of `encode_summary` (decoded to text); raises ValueError or IndexError on
    anything malformed."""
    f = text.split(SEP)
    if len(f) < len(SUMMARY_FIELDS):
        if len(f) < OLDEST_FIELDS:
            raise ValueError("summary has too few fields")
        f += [""] * (len(SUMMARY_FIELDS) - len(f))  # written before the last were appended
    # tuple.__new__ skips the NamedTuple argument handling: a third faster on this hot path.
    return _new_tuple(
        ItemSummary,
        (
            item_id,
            kind,
            f[0],
            version,
            float(f[6]),
            float(f[7]),
            f[1],
            f[2],
            tuple(f[3].split(",")) if f[3] else (),
            f[4] == "1",
            f[5] == "1",
            f[8],
            int(f[9]),
            f[10],
            f[11],
            f[12],
            f[13],
            f[14],
            f[15],
            tuple(f[16].split("\n")) if f[16] else (),
            f[17],
            f[18],
        ),
    )


_new_tuple = tuple.__new__


class AdBuilder:
    """Associated data for one vault, with the constant prefixes computed once (hot path).

    Item AD = ("item", vault id, kind, part, item id, version), length-prefixed as
    `associated_data` does, so it equals `associated_data(...)` of those parts.
    """

    def __init__(self, vault_id: bytes) -> None:
        from mysafe_tui.core.crypto import (
            associated_data,  # not at import: the UI imports `Record` at launch
        )

        self._ik = associated_data("mysafe/ik", vault_id)
        self._prefix = {
            (kind, part): associated_data("item", vault_id, kind.value, part)
            for kind in ItemKind
            for part in ("summary", "secret")
        }

    def prefix(self, kind: ItemKind, part: str) -> bytes:
        """The constant start of `item(kind, ..., part)`, for loops that inline the rest."""
        return self._prefix[kind, part]

    def item(self, kind: ItemKind, item_id: str, version: int, part: str) -> bytes:
        """Binds vault, kind, part (summary or secret), item id and item version."""
        raw = item_id.encode()
        return b"".join(
            (
                self._prefix[kind, part],
                len(raw).to_bytes(4, "big"),
                raw,
                _EIGHT,
                version.to_bytes(8, "big", signed=True),
            )
        )

    def item_key(self, item_id: str, key_version: int) -> bytes:
        """Binds the wrapped item key to its item and key version."""
        from mysafe_tui.core.crypto import associated_data

        return self._ik + associated_data(item_id, key_version)


_EIGHT = (8).to_bytes(4, "big")

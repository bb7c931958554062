"""Item kinds, their fields, and the value types shared by every layer.

Field names follow the senhasegura MySafe API (API.md §3) so items round-trip with a server:
`secret_key` is the TOTP seed, `note` the body of a secure note.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class ItemKind(enum.StrEnum):
    """The four kinds of item. Values are the MySafe `{type}` path segments (file is ours)."""

    PASSWORD = "password"
    NOTE = "note"
    API_SECRET = "secretapi"
    FILE = "file"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def noun(self) -> str:
        """The label with its article, for sentences: 'a password', 'an API secret'."""
        label = self.label if self is ItemKind.API_SECRET else self.label.lower()
        return ("an " if label[0] in "AEIOU" else "a ") + label

    @classmethod
    def parse(cls, text: str) -> ItemKind:
        """Accept the MySafe value, the label or common spellings ('api-secret', 'notes')."""
        key = text.strip().lower().replace("_", "-")
        for kind in cls:
            if key in (kind.value, kind.label.lower(), *_ALIASES[kind]):
                return kind
        raise ValueError(f"unknown item kind '{text}' (password, note, api-secret, file)")


_LABELS = {
    ItemKind.PASSWORD: "Password",
    ItemKind.NOTE: "Note",
    ItemKind.API_SECRET: "API secret",
    ItemKind.FILE: "File",
}
_ALIASES = {
    ItemKind.PASSWORD: ("passwords", "login"),
    ItemKind.NOTE: ("notes", "secure-note"),
    ItemKind.API_SECRET: ("api-secret", "api-secrets", "api", "secret"),
    ItemKind.FILE: ("files",),
}


@dataclass(frozen=True)
class KindSpec:
    """Which fields of a kind are summary (indexed at unlock) and which are secret."""

    summary: tuple[str, ...]
    secret: tuple[str, ...]
    required: tuple[str, ...]
    primary: str  # the field `mysafe get NAME` prints and copy copies by default


SPECS: dict[ItemKind, KindSpec] = {
    ItemKind.PASSWORD: KindSpec(
        summary=("name", "username", "url", "tags"),
        secret=("password", "secret_key", "notes"),
        required=("name", "username", "password"),
        primary="password",
    ),
    ItemKind.NOTE: KindSpec(
        summary=("name", "tags"),
        secret=("note",),
        required=("name", "note"),
        primary="note",
    ),
    ItemKind.API_SECRET: KindSpec(
        summary=("name", "url", "identifier_code", "method", "tags"),
        secret=("client_id", "client_secret", "notes"),
        required=("name", "url", "client_id", "client_secret"),
        primary="client_secret",
    ),
    ItemKind.FILE: KindSpec(
        summary=("name", "file_name", "size", "media_type", "tags"),
        secret=("notes",),
        required=("name",),
        primary="notes",
    ),
}


# What each field is called on screen, in the CLI and in a share link: said once.
FIELD_LABELS = {
    "name": "Name",
    "username": "Username",
    "url": "URL",
    "password": "Password",
    "secret_key": "TOTP seed",
    "notes": "Notes",
    "note": "Note",
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "identifier_code": "Identifier",
    "method": "Method",
    "tags": "Tags",
    "file_name": "File name",
    "size": "Size",
    "media_type": "Type",
}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


class Secret:
    """A secret string whose `repr` and `str` never show the value. Call `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not picklable")


class ItemSummary(NamedTuple):
    """What the list and search show: never a secret. Decrypted once at unlock.

    A NamedTuple rather than a dataclass: unlock builds one per item, and tuples are built
    several times faster (DESIGN.md §8 budgets).
    """

    id: str
    kind: ItemKind
    name: str
    version: int
    created: float
    updated: float
    username: str = ""
    url: str = ""
    tags: tuple[str, ...] = ()
    favourite: bool = False
    active: bool = True
    file_name: str = ""
    size: int = 0
    media_type: str = ""
    identifier_code: str = ""
    method: str = ""
    # Where the item lives on a MySafe server, "kind:id:revision" ("" = local only). Written
    # by sync (remote/sync.py); the revision part is "r<n>" or "h<content hash>".
    remote: str = ""

    def field(self, name: str) -> str:
        """A summary field as text (tags joined with commas)."""
        if name == "tags":
            return ",".join(self.tags)
        return str(getattr(self, name))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "tags": list(self.tags),
            "favourite": self.favourite,
            "active": self.active,
            "version": self.version,
            "created": self.created,
            "updated": self.updated,
        }
        for name in SPECS[self.kind].summary:
            if name not in data:
                data[name] = getattr(self, name)
        return data


@dataclass(frozen=True)
class TotpCode:
    """A current one-time code and how long it stays valid."""

    code: str
    seconds_left: int
    period: int


@dataclass(frozen=True)
class Strength:
    """A passphrase or password strength estimate (score 0 = very weak .. 4 = strong)."""

    score: int
    bits: float
    label: str
    warnings: tuple[str, ...] = field(default_factory=tuple)
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    def advice(self) -> str:
        """The estimator's warning and first suggestion, as one sentence part."""
        return " ".join([*self.warnings[:1], *self.suggestions[:1]])


def parse_tags(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Tags from a comma-joined string (the MySafe form) or a list; trimmed, unique, in order."""
    raw = [
        part for text in ([value] if isinstance(value, str) else value) for part in text.split(",")
    ]
    seen: dict[str, None] = {}
    for tag in raw:
        tag = tag.replace("\x00", "").strip()
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)

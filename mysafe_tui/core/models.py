"""Item kinds, their fields, and the value types shared by every layer.

Field names follow the senhasegura MySafe API (API.md §3) so items round-trip with a server:
`secret_key` is the TOTP seed, `note` the body of a secure note.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple


class ItemKind(enum.StrEnum):
    """The kinds of item. Values are the MySafe `{type}` path segments (file and SSH key are
    ours: a plain senhasegura has no place for them)."""

    PASSWORD = "password"
    NOTE = "note"
    API_SECRET = "secretapi"
    FILE = "file"
    SSH_KEY = "sshkey"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def noun(self) -> str:
        """The label with its article, for sentences: 'a password', 'an API secret'."""
        label = (
            self.label if self in (ItemKind.API_SECRET, ItemKind.SSH_KEY) else self.label.lower()
        )
        return ("an " if label[0] in "AEIOU" else "a ") + label

    @classmethod
    def parse(cls, text: str) -> ItemKind:
        """Accept the MySafe value, the label or common spellings ('api-secret', 'notes')."""
        key = text.strip().lower().replace("_", "-")
        for kind in cls:
            if key in (kind.value, kind.label.lower(), *_ALIASES[kind]):
                return kind
        known = ", ".join(_ALIASES[kind][0] if kind is cls.API_SECRET else kind for kind in cls)
        raise ValueError(f"unknown item kind '{text}' ({known})")


_LABELS = {
    ItemKind.PASSWORD: "Password",
    ItemKind.NOTE: "Note",
    ItemKind.API_SECRET: "API secret",
    ItemKind.FILE: "File",
    ItemKind.SSH_KEY: "SSH key",
}
_ALIASES = {
    ItemKind.PASSWORD: ("passwords", "login"),
    ItemKind.NOTE: ("notes", "secure-note"),
    ItemKind.API_SECRET: ("api-secret", "api-secrets", "api", "secret"),
    ItemKind.FILE: ("files",),
    ItemKind.SSH_KEY: ("ssh-key", "ssh-keys", "ssh", "sshkeys"),
}


@dataclass(frozen=True)
class Field:
    """One item field, said once: the form, the detail pane, the service's checks, the CLI,
    share links and the server's storage all read this table."""

    name: str
    label: str  # on screen, in the CLI and in a share link
    secret: bool = False  # kept apart from the summary: decrypted when asked, never indexed
    masked: bool = False  # dots until revealed (the detail pane, the form, a conflict)
    multiline: bool = False  # a text area in the form, printed with its newlines
    max_len: int = 0  # one line of at most this many characters (0: no single-line rule)
    computed: bool = False  # set by the service (a file's name, size and type), never typed
    column: bool = True  # summary fields only: `mysafe serve` keeps it in a plain column
    placeholder: str = ""


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("name", "Name", max_len=255),
        Field("username", "Username", max_len=255),
        Field("url", "URL", max_len=2048, placeholder="https://"),
        Field("password", "Password", secret=True, masked=True),
        Field("secret_key", "TOTP seed", secret=True, masked=True,
              placeholder="base32 or otpauth:// URI (optional)"),
        Field("notes", "Notes", secret=True, multiline=True),
        Field("note", "Note", secret=True, multiline=True),
        Field("client_id", "Client ID", secret=True),
        Field("client_secret", "Client secret", secret=True, masked=True),
        Field("identifier_code", "Identifier", max_len=255,
              placeholder="unique code (optional)"),
        # MySafe lists API secrets without their method: the server seals it.
        Field("method", "Method", max_len=32, column=False, placeholder="GET, POST… (optional)"),
        Field("tags", "Tags", placeholder="comma,separated"),
        # An SSH key: the private key is typed (pasted) or made by `mysafe add ssh-key`; the
        # rest of what is shown of it is worked out from it (core/sshkeys.py).
        Field("private", "Private key", secret=True, masked=True, multiline=True,
              placeholder="-----BEGIN OPENSSH PRIVATE KEY----- ..."),
        Field("public", "Public key", secret=True, computed=True),
        Field("fingerprint", "Fingerprint", secret=True, computed=True),
        Field("key_type", "Key type", secret=True, computed=True),
        Field("comment", "Comment", secret=True, max_len=255, placeholder="e.g. me@laptop"),
        Field("agent", "SSH agent", secret=True, max_len=3, placeholder="yes or no"),
        Field("confirm", "Ask each use", secret=True, max_len=3,
              placeholder="yes or no (yes: a tmux popup asks before each signature)"),
        Field("forwarding", "Agent forwarding", secret=True, max_len=3,
              placeholder="yes or no (no: refused past the first hop)"),
        Field("file_name", "File name", computed=True),
        Field("size", "Size", computed=True),
        Field("media_type", "Type", computed=True),
    )
}  # fmt: skip


@dataclass(frozen=True)
class KindSpec:
    """A kind's fields in the order the form shows them, and what it needs."""

    fields: tuple[str, ...]
    required: tuple[str, ...]
    primary: str  # the field `mysafe get NAME` prints and copy copies by default
    share_default: tuple[str, ...] = ()  # ticked in the share dialog at first
    hints: dict[str, str] = field(default_factory=dict)  # placeholders for this kind only
    server_required: tuple[str, ...] = ()  # what MySafe's create body needs, if more

    @cached_property
    def summary(self) -> tuple[str, ...]:
        """Decrypted for every item at unlock and indexed for search."""
        return tuple(name for name in self.fields if not FIELDS[name].secret)

    @cached_property
    def secret(self) -> tuple[str, ...]:
        return tuple(name for name in self.fields if FIELDS[name].secret)

    @cached_property
    def typed(self) -> tuple[Field, ...]:
        """What a person fills in (the form, `mysafe add`/`edit`), in order."""
        return tuple(FIELDS[name] for name in self.fields if not FIELDS[name].computed)

    @cached_property
    def shareable(self) -> tuple[str, ...]:
        """What a share link may carry: the typed fields but the name and tags."""
        return tuple(f.name for f in self.typed if f.name not in ("name", "tags"))

    def placeholder(self, name: str) -> str:
        return self.hints.get(name, FIELDS[name].placeholder)


SPECS: dict[ItemKind, KindSpec] = {
    ItemKind.PASSWORD: KindSpec(
        fields=("name", "username", "password", "url", "secret_key", "tags", "notes"),
        # A login may have no username (a Wi-Fi key, a PIN, most pass entries); a MySafe
        # server's create body still asks for one.
        required=("name", "password"),
        server_required=("name", "username", "password"),
        primary="password",
        share_default=("username", "password", "url"),
        hints={"name": "e.g. GitHub"},
    ),
    ItemKind.NOTE: KindSpec(
        fields=("name", "tags", "note"),
        required=("name", "note"),
        primary="note",
        share_default=("note",),
    ),
    ItemKind.API_SECRET: KindSpec(
        fields=("name", "url", "client_id", "client_secret", "identifier_code", "method",
                "tags", "notes"),
        required=("name", "url", "client_id", "client_secret"),
        primary="client_secret",
        share_default=("url", "client_id", "client_secret"),
        hints={"url": "https://api.example.com"},
    ),
    ItemKind.FILE: KindSpec(
        fields=("name", "file_name", "size", "media_type", "tags", "notes"),
        required=("name",),
        primary="notes",
    ),
    ItemKind.SSH_KEY: KindSpec(
        fields=("name", "key_type", "fingerprint", "public", "private", "comment", "agent",
                "confirm", "forwarding", "tags", "notes"),
        required=("name", "private"),
        primary="public",
        share_default=("public",),
        hints={"name": "e.g. prod deploy key"},
    ),
}  # fmt: skip


def field_label(name: str) -> str:
    known = FIELDS.get(name)
    return known.label if known else name.replace("_", " ").capitalize()


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
    # On a server: "" (mine, or the server does not say), "view" (shared with me, read
    # only), "edit" (shared with me, editable). `sharing` is `Sharing.encode()` text.
    access: str = ""
    sharing: str = ""
    # More URLs than the first (core/extras.py), and the searchable text of the custom fields
    # that are not secret (derived from the secret part on every save).
    urls: tuple[str, ...] = ()
    custom: str = ""
    # A change the server has not heard of yet (core/outbox.py `Outgoing`, encoded), or "".
    outbox: str = ""

    @property
    def read_only(self) -> bool:
        return self.access == "view"

    @property
    def people(self) -> Sharing:
        return Sharing.decode(self.sharing)

    def sharing_line(self) -> str:
        """'shared with you by alice, view only', 'shared with bob (can edit)', or ""."""
        people = self.people
        if self.access:
            by = f" by {people.owner}" if people.owner else ""
            return f"shared with you{by}, {'view only' if self.read_only else 'you can edit it'}"
        return f"shared with {people.describe()}" if people.entries else ""

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
        if self.urls:
            data["urls"] = [self.url, *self.urls] if self.url else list(self.urls)
        if self.access:
            data["access"] = self.access
        people = self.people
        if people.owner or people.entries:
            data["sharing"] = people.to_json()
        return data


@dataclass(frozen=True)
class Sharing:
    """Who else can open an item on a MySafe server (its internal sharing): its owner when
    the server says, and the users and groups it is shared with, each with view or edit."""

    owner: str = ""
    # (principal, name, can_edit); principal is "user", "group" or "personal" (one of the
    # owner's personal groups, on mysafe serve).
    entries: tuple[tuple[str, str, bool], ...] = ()

    @classmethod
    def of_entity(cls, entity: dict[str, Any]) -> Sharing:
        """From an API entity's `users_allowed` / `groups_allowed` (and `owner`)."""
        entries: list[tuple[str, str, bool]] = []
        for principal, key, name_key in (
            ("user", "users_allowed", "username"),
            ("group", "groups_allowed", "name"),
            ("personal", "personal_groups_allowed", "name"),
        ):
            listed = entity.get(key)
            for entry in listed if isinstance(listed, list) else ():
                if isinstance(entry, dict) and str(entry.get(name_key) or "").strip():
                    edit = entry.get("can_edit")
                    can_edit = edit is True or str(edit).lower() in ("1", "true")
                    entries.append((principal, str(entry[name_key]).strip(), can_edit))
        return cls(str(entity.get("owner") or ""), tuple(sorted(entries)))

    def encode(self) -> str:
        if not self.owner and not self.entries:
            return ""
        import json

        return json.dumps([self.owner, [list(e) for e in self.entries]], separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Sharing:
        if not text:
            return cls()
        import json

        try:
            owner, entries = json.loads(text)
            return cls(str(owner), tuple((str(p), str(n), bool(e)) for p, n, e in entries))
        except (ValueError, TypeError):
            return cls()

    def changed(self, who: list[tuple[str, str]], *, edit: bool, remove: bool) -> Sharing:
        """With the (principal, name) pairs in `who` added (view, or edit) or removed."""
        entries = {(p, n): e for p, n, e in self.entries}
        for key in who:
            if remove:
                entries.pop(key, None)
            else:
                entries[key] = edit
        return Sharing(self.owner, tuple(sorted((p, n, e) for (p, n), e in entries.items())))

    def names(self, principal: str) -> list[dict[str, Any]]:
        """The API's list for `principal` ("user": users_allowed, "group": groups_allowed)."""
        key = "username" if principal == "user" else "name"
        return [{key: n, "can_edit": e} for p, n, e in self.entries if p == principal]

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner or None,
            "users": self.names("user"),
            "groups": self.names("group"),
            "personal_groups": self.names("personal"),
        }

    def describe(self) -> str:
        """'bob (can edit), group Ops (view only)', or 'nobody'."""
        return (
            ", ".join(
                f"{PRINCIPAL_WORDS.get(p, '')}{n} ({'can edit' if e else 'view only'})"
                for p, n, e in self.entries
            )
            or "nobody"
        )


PRINCIPAL_WORDS = {"group": "group ", "personal": "personal group "}  # before a name


@dataclass(frozen=True)
class HistoryEvent:
    """One line of an item's (or a link's) access history, as its server kept it."""

    at: float
    event: str  # created, read, changed, shared, deactivated, restored, signed; opened, revealed
    user: str  # "" for a link's recipient (no account)
    client_id: str  # the access key used
    address: str  # the client's address as the server saw it
    detail: str = ""  # "shared": with whom now, and their rights ("bob (can edit), ...")

    @classmethod
    def of(cls, raw: dict[str, Any]) -> HistoryEvent:
        try:
            at = float(raw.get("at") or 0)
        except (TypeError, ValueError):
            at = 0.0
        words = ("event", "user", "client_id", "address", "detail")
        return cls(at, *(str(raw.get(k) or "") for k in words))

    @property
    def what(self) -> str:
        """The event in words: "shared with bob (can edit)" when the server said with whom."""
        return f"{self.event} with {self.detail}" if self.detail else self.event


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

"""Every item's earlier versions (MySafe's "restore previous versions of items").

Each save that changes what a person typed keeps the item as it was: its fields (secret ones
too) and custom fields, when and from where, newest first, at most as many as the settings
say and at most MAX_BYTES in all (the oldest go first). They live in the item's encrypted
secret part under one reserved key, so they are encrypted like the item, go with it to a
`mysafe serve` server (its extension keeps them sealed, and everyone who may open the item
has them) and stay in this device's cache against a plain senhasegura. Restoring one is a
save like any other: the state it replaces becomes a version in turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.extras import CUSTOM, VERSIONS, parse_fields
from mysafe_tui.core.models import FIELDS, SPECS, ItemKind

__all__ = ["VERSIONS", "Version", "changed", "parse_versions", "restoring", "snapshot"]
MAX_BYTES = 256 * 1024
MAX_KEPT = 100
NAMES = frozenset((*FIELDS, CUSTOM, "urls"))  # what a version may hold


@dataclass(frozen=True)
class Version:
    at: float  # epoch seconds: when it was replaced
    by: str  # who replaced it, as "user@host" of the device that did
    fields: dict[str, str]  # the item as it was: field name -> text (custom fields as JSON)

    def to_json(self, show: bool, kind: ItemKind) -> dict[str, Any]:
        """Plain fields always; secret ones only when `show` (else their names only)."""
        shown = {k: v for k, v in self.fields.items() if show or not secret(kind, k)}
        hidden = sorted(k for k in self.fields if k not in shown)
        return {"at": self.at, "by": self.by, "fields": shown, "secret_fields": hidden}


def secret(kind: ItemKind, name: str) -> bool:
    return name == CUSTOM or name in SPECS[kind].secret


def snapshot(kind: ItemKind, fields: dict[str, Any], secrets: dict[str, str]) -> dict[str, str]:
    """What a person typed into an item, as text: its kind's own fields (not those the
    service works out: a file's size, an SSH key's fingerprint) and its custom fields."""
    out: dict[str, str] = {}
    spec = SPECS[kind]
    for name in spec.summary:
        if not FIELDS[name].computed and fields.get(name):
            value = fields[name]
            out[name] = ",".join(value) if name == "tags" else str(value)
    if fields.get("urls"):
        out["urls"] = "\n".join(fields["urls"])
    for name in (*spec.secret, CUSTOM):
        if (name == CUSTOM or not FIELDS[name].computed) and secrets.get(name):
            out[name] = secrets[name]
    return out


def with_version(
    before: dict[str, str],
    after: dict[str, str],
    kept: str,
    when: float,
    by: str,
    keep: int,
) -> str:
    """The versions text after a save from `before` to `after` (snapshots): `before` first
    when they differ, then those `kept`, trimmed to `keep` and to MAX_BYTES."""
    if before == after or keep <= 0:
        return kept
    rows = [{"at": when, "by": by, "fields": before}, *_rows(kept)][: min(keep, MAX_KEPT)]
    text = _encode(rows)
    while len(rows) > 1 and len(text.encode()) > MAX_BYTES:
        rows.pop()
        text = _encode(rows)
    return text


def parse_versions(text: str) -> tuple[Version, ...]:
    """Checked: from this vault, an import or a server; InvalidInput when malformed."""
    out = []
    for row in _rows(text):
        at, by, fields = row.get("at"), row.get("by", ""), row.get("fields")
        if (
            not isinstance(at, int | float)
            or not isinstance(by, str)
            or not isinstance(fields, dict)
            or not all(k in NAMES and isinstance(v, str) for k, v in fields.items())
        ):  # a field name is one of ours: it is printed and restored as a field
            raise InvalidInput("the item's earlier versions are not readable")
        out.append(Version(float(at), by, dict(fields)))
    return tuple(out)


def changed(older: dict[str, str], newer: dict[str, str]) -> list[str]:
    """The names of the fields that differ between two snapshots, in field-table order."""
    names = [n for n in {**older, **newer} if older.get(n, "") != newer.get(n, "")]
    order = list(FIELDS)
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


def restoring(kind: ItemKind, version: Version, now: dict[str, str]) -> dict[str, Any]:
    """The values `update_item` takes to bring an item back to `version`: each of its fields,
    and the fields it did not have emptied."""
    values: dict[str, Any] = {name: "" for name in now if name not in version.fields}
    for name, value in version.fields.items():
        values[name] = list(parse_fields(value)) if name == CUSTOM else value
    if CUSTOM in values and values[CUSTOM] == "":
        values[CUSTOM] = []
    for name in SPECS[kind].required:
        if not values.get(name, True):  # a required field the old version lacked stays
            values.pop(name)
    return values


def _rows(text: str) -> list[dict[str, Any]]:
    if not text:
        return []
    try:
        rows = json.loads(text)
    except ValueError:
        raise InvalidInput("the item's earlier versions are not readable") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput("the item's earlier versions are not readable")
    return rows


def _encode(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)

"""What an item holds besides its kind's fields: custom fields, more URLs, password history and
attachments (the things KeePass, Bitwarden and 1Password items carry).

They live in the item's encrypted secret part as JSON text under three reserved keys, so an
item keeps one record and one key; the summary carries only what list and search need (the
extra URLs, and the text of fields that are not hidden, see `search_text`). Every value here
came from a person, an import file or a server: each is checked on the way in (`parse_*`) and
anything malformed is refused with one sentence, never half-read.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.sanitize import forbidden_char, safe_filename

CUSTOM = "custom_fields"  # secret key: [{"label", "value", "type"}], in order
HISTORY = "password_history"  # secret key: [{"value", "date"}], newest first
ATTACHMENTS = "attachments"  # secret key: [{"id", "name", "size", "media_type", ...}]
VERSIONS = "versions"  # secret key: the item's earlier versions (core/versions.py)
RESERVED = (CUSTOM, HISTORY, ATTACHMENTS, VERSIONS)
# What `mysafe serve` keeps for every kind beside the kind's own fields (its extension); a plain
# senhasegura has no place for them, so they stay in this device's cache. Attachments are
# file content: they never go to a server (docs/api.md, "extras").
WIRE = ("urls", CUSTOM, HISTORY, VERSIONS)
SECRET_WIRE = (CUSTOM, HISTORY, VERSIONS)  # left out where a server leaves secrets out

MAX_FIELDS = 100
MAX_URLS = 20
MAX_LABEL = 128
MAX_VALUE = 64 * 1024


class FieldType(enum.StrEnum):
    TEXT = "text"
    HIDDEN = "hidden"
    URL = "url"
    TOTP = "totp"
    EMAIL = "email"
    NUMBER = "number"

    @property
    def secret(self) -> bool:
        """Masked, never searched, never printed unless asked for (a TOTP seed is a secret)."""
        return self in (FieldType.HIDDEN, FieldType.TOTP)


@dataclass(frozen=True)
class CustomField:
    label: str
    value: str
    type: FieldType = FieldType.TEXT

    @property
    def secret(self) -> bool:
        return self.type.secret

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "value": self.value, "type": self.type.value}


@dataclass(frozen=True)
class OldPassword:
    value: str
    date: float  # when it stopped being the password


@dataclass(frozen=True)
class Attachment:
    """A file kept on an item. `file_id`/`file_key` find and open its chunks (vault only)."""

    id: str
    name: str
    size: int
    media_type: str
    file_id: str = ""
    file_key: str = ""

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "size": self.size, "media_type": self.media_type}


@dataclass(frozen=True)
class Extras:
    """An item's custom fields, password history and attachments (decrypted), and its extra
    URLs (from the summary)."""

    fields: tuple[CustomField, ...] = ()
    urls: tuple[str, ...] = ()
    history: tuple[OldPassword, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.fields or self.urls or self.history or self.attachments)

    @classmethod
    def of(cls, secret: dict[str, str], urls: Sequence[str] = ()) -> Extras:
        return cls(
            fields=parse_fields(secret.get(CUSTOM, "")),
            urls=tuple(urls),
            history=parse_history(secret.get(HISTORY, "")),
            attachments=parse_attachments(secret.get(ATTACHMENTS, "")),
        )

    def field(self, label: str) -> CustomField | None:
        """The first field with this label (case-insensitive), or None."""
        key = label.strip().casefold()
        return next((f for f in self.fields if f.label.casefold() == key), None)

    def attachment(self, name: str) -> Attachment | None:
        """An attachment by its name (case-insensitive) or id."""
        key = name.strip().casefold()
        return next((a for a in self.attachments if key in (a.name.casefold(), a.id)), None)

    def kept_locally(self, server_extension: bool) -> list[str]:
        """What of this item a server cannot hold: named for the detail pane and `status`."""
        held = []
        if not server_extension:
            held += [
                what
                for what, there in (
                    ("custom fields", self.fields),
                    ("more URLs", self.urls),
                    ("password history", self.history),
                )
                if there
            ]
        if self.attachments:
            held.append("attachments")
        return held


# --- encoding (into the secret part) --------------------------------------------------------


def encode_fields(fields: Iterable[CustomField]) -> str:
    rows = [f.to_json() for f in fields]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")) if rows else ""


def encode_history(history: Iterable[OldPassword]) -> str:
    rows = [{"value": h.value, "date": h.date} for h in history]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")) if rows else ""


def encode_attachments(attachments: Iterable[Attachment]) -> str:
    rows = [{**a.public(), "file_id": a.file_id, "file_key": a.file_key} for a in attachments]
    return json.dumps(rows, separators=(",", ":")) if rows else ""


def search_text(fields: Iterable[CustomField]) -> str:
    """What search may read of the custom fields: labels and values of those not secret."""
    return " ".join(f"{f.label} {f.value}" for f in fields if not f.secret).replace("\n", " ")


def with_password_change(
    secret: dict[str, str], new_password: str, now: float, keep: int
) -> dict[str, str]:
    """`secret` with the password replaced and the one it had kept in its history (newest
    first, at most `keep`); unchanged history when the password is the same or was empty."""
    old = secret.get("password", "")
    result = {**secret, "password": new_password}
    if old and old != new_password and keep > 0:
        history = (OldPassword(old, now), *parse_history(secret.get(HISTORY, "")))
        result[HISTORY] = encode_history(history[:keep])
    return result


# --- checking (from a person, an import or a server) -----------------------------------------


def _rows(text: str, what: str) -> list[dict[str, Any]]:
    if not text:
        return []
    try:
        rows = json.loads(text)
    except ValueError:
        raise InvalidInput(f"the item's {what} are not readable") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput(f"the item's {what} are not readable")
    return rows


def parse_fields(text: str) -> tuple[CustomField, ...]:
    return tuple(
        custom_field(r.get("label"), r.get("value"), r.get("type")) for r in _rows(text, "fields")
    )


def parse_history(text: str) -> tuple[OldPassword, ...]:
    result = []
    for row in _rows(text, "old passwords"):
        value, date = row.get("value"), row.get("date")
        if not isinstance(value, str) or not isinstance(date, int | float):
            raise InvalidInput("the item's old passwords are not readable")
        result.append(OldPassword(value, float(date)))
    return tuple(result)


def parse_attachments(text: str) -> tuple[Attachment, ...]:
    result = []
    for row in _rows(text, "attachments"):
        try:
            result.append(
                Attachment(
                    str(row["id"]),
                    file_name(row["name"]),
                    int(row["size"]),
                    str(row.get("media_type") or ""),
                    str(row.get("file_id") or ""),
                    str(row.get("file_key") or ""),
                )
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidInput("the item's attachments are not readable") from None
    return tuple(result)


def custom_field(label: Any, value: Any, kind: Any = "text") -> CustomField:
    """A checked custom field: a one-line label without controls, a value within bounds."""
    if not isinstance(label, str) or not isinstance(value, str):
        raise InvalidInput("a custom field needs a label and a text value")
    label = label.strip()
    if not label:
        raise InvalidInput("a custom field needs a label")
    if len(label) > MAX_LABEL or forbidden_char(label) is not None:
        raise InvalidInput(f"a field label must be one line of at most {MAX_LABEL} characters")
    if len(value) > MAX_VALUE:
        raise InvalidInput(f"the field '{label}' is longer than {MAX_VALUE} characters")
    try:
        field_type = FieldType(str(kind or "text").strip().lower())
    except ValueError:
        known = ", ".join(FieldType)
        raise InvalidInput(f"unknown field type '{kind}' ({known})") from None
    if field_type in (FieldType.URL, FieldType.EMAIL, FieldType.NUMBER) and forbidden_char(value):
        field_type = FieldType.TEXT  # several lines or controls: kept, as text (shown escaped)
    return CustomField(label, value, field_type)


def checked_fields(fields: Iterable[Any]) -> tuple[CustomField, ...]:
    """Custom fields from objects or dicts (an import, `--json` input), checked."""
    result = []
    for f in fields:
        if isinstance(f, CustomField):
            f = f.to_json()
        if not isinstance(f, dict):
            raise InvalidInput("a custom field needs a label and a text value")
        result.append(custom_field(f.get("label"), f.get("value"), f.get("type")))
    if len(result) > MAX_FIELDS:
        raise InvalidInput(f"an item holds at most {MAX_FIELDS} custom fields")
    return tuple(result)


def checked_urls(urls: Iterable[Any]) -> tuple[str, ...]:
    """Extra URLs: one line each, no controls, no blanks or repeats."""
    result: list[str] = []
    for url in urls:
        url = str(url).strip()
        if not url or url in result:
            continue
        if len(url) > 2048 or forbidden_char(url) is not None:
            raise InvalidInput("a URL must be one line of at most 2048 characters")
        result.append(url)
    if len(result) > MAX_URLS:
        raise InvalidInput(f"an item holds at most {MAX_URLS} more URLs")
    return tuple(result)


def file_name(name: Any) -> str:
    """An attachment's name as kept: one base name that stays in any folder it is saved to."""
    return safe_filename(str(name), "attachment")

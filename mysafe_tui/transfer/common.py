"""What every reader shares: the item to write (`Candidate`), the report of what did not fit
(`Report`), the limits every reader keeps, and the helpers that map a login, a labelled note
and the extras (custom fields, more URLs, old passwords, attachments) the same way for all."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.extras import CustomField, FieldType, OldPassword
from mysafe_tui.core.models import ItemKind

MAX_BYTES = 64 * 1024 * 1024  # no export of a personal vault is near this; a mistake is
# Structure, counted before a parser builds it: a file of "[]," or "<a/>" is small on disk and
# huge in memory. 400k JSON containers, XML elements or CSV cells hold some 20k items; 1000
# CSV columns are far more than any exporter writes.
MAX_NODES = 400_000
MAX_COLUMNS = 1000
LABELLED = "secure note, one labelled line per field"


class NeedsPassword(InvalidInput):
    """The export is encrypted under a password of its own: ask for it and read again."""


@dataclass
class Candidate:
    """One item to write: MySafe field values as `create_item` takes them, and the files to
    attach to it (name, content)."""

    kind: ItemKind
    values: dict[str, Any]
    source_type: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.values.get("name", ""))


@dataclass
class More:
    """What an exported item holds beside a login's fields."""

    urls: list[str] = field(default_factory=list)
    fields: list[CustomField] = field(default_factory=list)
    history: list[OldPassword] = field(default_factory=list)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)

    def add_field(self, label: str, value: str, kind: FieldType = FieldType.TEXT) -> None:
        self.fields.append(CustomField(label.strip() or "field", value, kind))

    def add_old(self, value: str, date: float, current: str) -> None:
        if value and value != current and all(h.value != value for h in self.history):
            self.history.append(OldPassword(value, date))


@dataclass
class Report:
    """What an import found, how it maps, and what did not fit. Never a secret."""

    format: str
    found: Counter[str] = field(default_factory=Counter)
    mapping: dict[str, str] = field(default_factory=dict)
    unrepresented: list[tuple[str, str]] = field(default_factory=list)  # (item, field)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (item, what was done)
    refused: list[str] = field(default_factory=list)  # items the vault would not take
    as_notes: list[tuple[str, str]] = field(default_factory=list)  # (item, why) by judgement
    kept: Counter[str] = field(default_factory=Counter)  # custom fields, old passwords...
    written: int = 0
    updated: int = 0
    skipped_count: int = 0  # items found and not written (the same item already there...)
    counted: bool = False  # written / updated / skipped are known (the vault was compared)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "found": dict(self.found),
            "mapping": self.mapping,
            "unrepresented": [{"item": i, "field": f} for i, f in self.unrepresented],
            "skipped": self.skipped,
            "warnings": self.warnings,
            "duplicates": [{"item": i, "outcome": o} for i, o in self.duplicates],
            "refused": self.refused,
            "as_notes": [{"item": i, "why": w} for i, w in self.as_notes],
            "kept": dict(self.kept),
            "written": self.written,
            "updated": self.updated,
            "skipped_items": self.skipped_count,
        }

    def lines(self) -> list[str]:
        """The report for a person (the values in it come from the file: the caller escapes
        them for a terminal)."""
        out = [f"Format: {self.format}"]
        if self.counted:
            total = sum(self.found.values())
            out.append(
                f"{count(total, 'item')} found: {self.written} written, "
                f"{self.updated} updated, {self.skipped_count} skipped"
            )
        out += [f"Found: {count(n, kind)}" for kind, n in sorted(self.found.items())]
        out += [f"  {kind} -> {how}" for kind, how in sorted(self.mapping.items())]
        if self.kept:
            out.append(
                "Kept beside the usual fields: "
                + ", ".join(count(n, what) for what, n in sorted(self.kept.items()))
            )
        if self.as_notes:
            out.append(f"As secure notes ({len(self.as_notes)}):")
            out += [f"  {item}: {why}" for item, why in self.as_notes]
        if self.unrepresented:
            out.append(f"Not kept ({count(len(self.unrepresented), 'field')} mysafe cannot hold):")
            out += [f"  {item}: {name}" for item, name in self.unrepresented]
        out += [f"Skipped: {why}" for why in self.skipped]
        out += [f"Already there: {item}: {what}" for item, what in self.duplicates]
        out += [f"Refused: {why}" for why in self.refused]
        out += [f"Warning: {why}" for why in self.warnings]
        return out


_PLURALS = {
    "entry": "entries",
    "identity": "identities",
    "custom field": "custom fields",
    "extra URL": "extra URLs",
    "old password": "old passwords",
    "attachment": "attachments",
}
_SINGULARS = {many: one for one, many in _PLURALS.items()}


def count(n: int, noun: str) -> str:
    """'1 entry', '3 entries', '1 custom field' (`noun` in either number)."""
    one = _SINGULARS.get(noun, noun)
    many = _PLURALS.get(one) or (one if one.endswith("s") else f"{one}s")
    return f"1 {one}" if n == 1 else f"{n} {many}"


def labelled_note(block: dict[str, Any], labels: tuple[tuple[str, str], ...], notes: str) -> str:
    lines = []
    for key, label in labels:
        value = block.get(key)
        if value not in (None, ""):
            text = str(value)
            lines.append(f"{label}:\n{text}" if "\n" in text else f"{label}: {text}")
    if notes:
        lines += ["", notes] if lines else [notes]
    return "\n".join(lines) or "(empty)"


def login_item(
    report: Report,
    common: dict[str, Any],
    username: str,
    password: str,
    url: str,
    totp: str,
    notes: str,
    source: str,
    more: More | None = None,
) -> Candidate:
    """A login; a note when it has no password. `more`: its other URLs, custom fields, old
    passwords and attachments."""
    more = more or More()
    name = common["name"]
    extra = carry_more(report, more, with_urls=bool(password))
    if password:
        report.mapping.setdefault(source, "password")
        values = {**common, "username": username, "password": password, "url": url, **extra}
        if notes:
            values["notes"] = notes
        if totp and good_seed(totp):
            values["secret_key"] = totp
        elif totp:  # not a seed mysafe can use: kept, where the person will see it
            report.warnings.append(
                f"{name}: its one-time code seed is not one mysafe can use; it is kept in the notes"
            )
            values["notes"] = "\n\n".join(
                filter(None, [notes, f"One-time code seed (mysafe could not read it): {totp}"])
            )
        return Candidate(ItemKind.PASSWORD, values, source, more.attachments)
    report.mapping[f"{source} without a password"] = LABELLED
    pairs = [
        ("username", "Username"),
        ("password", "Password"),
        ("url", "URL"),
        ("totp", "One-time code seed"),
    ]
    block = {"username": username, "password": password, "url": url, "totp": totp}
    for n, other in enumerate(more.urls, 2):
        pairs.append((f"url{n}", f"URL {n}"))
        block[f"url{n}"] = other
    if more.history:
        report.unrepresented.append(
            (name, f"password history ({len(more.history)}): a note has no password")
        )
    values = {**common, "note": labelled_note(block, tuple(pairs), notes), **extra}
    return Candidate(ItemKind.NOTE, values, source, more.attachments)


def carry_more(report: Report, more: More, with_urls: bool) -> dict[str, Any]:
    """The values that carry `more` (counted in the report)."""
    values: dict[str, Any] = {}
    if more.fields:
        values["custom_fields"] = more.fields
        report.kept["custom fields"] += len(more.fields)
    if more.urls and with_urls:
        values["urls"] = more.urls
        report.kept["extra URLs"] += len(more.urls)
    if more.history and with_urls:
        values["password_history"] = more.history
        report.kept["old passwords"] += len(more.history)
    if more.attachments:
        report.kept["attachments"] += len(more.attachments)
    return values


def good_seed(seed: str) -> bool:
    from mysafe_tui.core import totp

    try:
        totp.parse_seed(seed)
    except InvalidInput:
        return False
    return True


def iso_date(value: Any) -> float:
    """An export's ISO 8601 time ("2024-05-01T10:00:00.000Z") as a timestamp; 0 if none."""
    import datetime

    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def zip_member(archive: Any, info: Any, limit: int) -> bytes:
    """A zip member, read to at most `limit` bytes whatever its header claims (a member may
    say it is small and inflate to gigabytes); a damaged one is one sentence."""
    import zipfile
    import zlib

    try:
        with archive.open(info) as member:
            data = bytes(member.read(limit + 1))
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, NotImplementedError) as exc:
        raise InvalidInput(f"that archive is damaged ({info.filename}: {exc})") from None
    if len(data) > limit:
        raise InvalidInput(f"that archive's {info.filename} is too large to be an export")
    return data


def bounded_json(data: bytes, refusal: str, what: str = "that file") -> Any:
    """JSON with its size bounded before it is built (MAX_NODES containers)."""
    if data.count(b"{") + data.count(b"[") > MAX_NODES:
        raise InvalidInput(
            f"{what} holds over {MAX_NODES:,} JSON objects and lists: too many for an export"
        )
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput(refusal) from None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- warnings ----------------------------------------------------------------------------------


def warn_about(found: list[Candidate], report: Report) -> None:
    by_password: dict[str, list[str]] = {}
    for item in found:
        values = item.values
        password = str(values.get("password") or "")
        if item.kind is ItemKind.PASSWORD:
            by_password.setdefault(password, []).append(item.name)
            if len(password) < 8:  # not its length: the report is kept, and lengths tell
                report.warnings.append(f"{item.name}: a password under 8 characters")
        if str(values.get("url") or "").lower().startswith("http://"):
            report.warnings.append(f"{item.name}: its URL is plain http://")
    for names in by_password.values():
        if len(names) > 1:
            report.warnings.append(f"one password used by {len(names)} items: {', '.join(names)}")


def as_text(value: Any, strip: bool = True) -> str:
    if value is None:
        return ""
    text = str(value)
    return text.strip() if strip else text

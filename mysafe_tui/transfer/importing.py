"""Reading other password managers' exports as mysafe items, with a report of everything that
did not fit: never a silent drop.

Pure: bytes in, `Candidate` items and a `Report` out; the service checks and writes them in one
transaction. Formats: KeePass (KDBX through pykeepass, and KeePass 2 XML), Bitwarden's JSON
export (plain or password-protected), 1Password's 1PUX, a pass store (`read_pass_store`), and
CSV as browsers and Bitwarden write it (or any CSV with `columns` naming its columns).

Custom fields, more URLs, old passwords and attachments come along (core/extras.py); what
mysafe cannot hold (passkeys, expiry dates, Bitwarden's linked fields, attachments an export
leaves out) is listed by item and field name. A card, an identity or an SSH key becomes a
secure note with one labelled line per field, as the report says; so does a login without a
username or a password (a mysafe login needs both).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
FORMATS = ("1password", "bitwarden", "csv", "keepass", "pass")
# TOTP seeds other KeePass plugins store (KeePassXC's own is `otp`).
_KEEPASS_TOTP = ("otp", "TOTP Seed", "TimeOtp-Secret-Base32", "TimeOtp-Secret")


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


def read(
    format: str,
    data: bytes,
    columns: list[str] | None = None,
    password: str | None = None,
    key_file: bytes | None = None,
) -> tuple[list[Candidate], Report]:
    """Parse an export (a KeePass database with its `password` and optional `key_file`).
    InvalidInput (one sentence) for a file that is not what it claims."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"that file is larger than {MAX_BYTES >> 20} MiB: not an export")
    if format == "bitwarden":
        found, report = _bitwarden(data, password)
    elif format == "csv":
        found, report = _csv(data, columns)
    elif format == "1password":  # a 1PUX is a zip; 1Password 7 wrote CSV
        found, report = _onepux(data) if data.startswith(b"PK") else _onepassword_csv(data)
    elif format == "keepass":
        is_xml = data.lstrip()[:1] == b"<" or data.startswith(b"\xef\xbb\xbf")
        found, report = _keepass_xml(data) if is_xml else _keepass(data, password, key_file)
    else:
        raise InvalidInput(f"unknown format {format!r}: {', '.join(FORMATS)}")
    _warn(found, report)
    return found, report


# --- Bitwarden ---------------------------------------------------------------------------------

_BW_TYPES: dict[Any, str] = {1: "login", 2: "secure note", 3: "card", 4: "identity", 5: "ssh key"}
_BW_FIELD_TYPES: dict[Any, str] = {0: "text", 1: "hidden", 2: "boolean", 3: "linked"}
_CARD = (
    ("cardholderName", "Cardholder"),
    ("brand", "Brand"),
    ("number", "Number"),
    ("expMonth", "Expiry month"),
    ("expYear", "Expiry year"),
    ("code", "Security code"),
)
_IDENTITY = (
    ("title", "Title"),
    ("firstName", "First name"),
    ("middleName", "Middle name"),
    ("lastName", "Last name"),
    ("username", "Username"),
    ("company", "Company"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("address1", "Address"),
    ("address2", "Address 2"),
    ("address3", "Address 3"),
    ("city", "City"),
    ("state", "State"),
    ("postalCode", "Postal code"),
    ("country", "Country"),
    ("ssn", "SSN"),
    ("passportNumber", "Passport number"),
    ("licenseNumber", "Licence number"),
)
_SSH = (
    ("privateKey", "Private key"),
    ("publicKey", "Public key"),
    ("keyFingerprint", "Fingerprint"),
)


def _bitwarden(data: bytes, password: str | None) -> tuple[list[Candidate], Report]:
    export = _json(data, "that file is not JSON: not a Bitwarden export")
    protected = isinstance(export, dict) and export.get("passwordProtected") is True
    if protected:
        export = _bitwarden_decrypted(export, password)
    elif isinstance(export, dict) and export.get("encrypted") is True:
        raise InvalidInput(
            "this Bitwarden export is encrypted with your Bitwarden account key, which only "
            "Bitwarden holds: export again as 'JSON' or as a password-protected file"
        )
    if not isinstance(export, dict) or not isinstance(export.get("items"), list):
        raise InvalidInput("that JSON has no 'items' list: not a Bitwarden export")
    folders = {
        str(f.get("id")): str(f.get("name") or "")
        for f in export.get("folders") or []
        if isinstance(f, dict)
    }
    report = Report("bitwarden")
    found: list[Candidate] = []
    for raw in export["items"]:
        if not isinstance(raw, dict):
            continue
        kind_name = _BW_TYPES.get(raw.get("type"), f"type {raw.get('type')}")
        report.found[kind_name] += 1
        name = _text(raw.get("name")) or "(no name)"
        tags = [folders[str(raw.get("folderId"))]] if str(raw.get("folderId")) in folders else []
        common = {
            "name": name,
            "tags": ",".join(t for t in tags if t),
            "favourite": bool(raw.get("favorite")),
        }
        notes = _text(raw.get("notes"), strip=False)
        more = More()
        for extra in _list(raw.get("fields")):
            extra = _dict(extra)
            label, kind_label = _text(extra.get("name")), _BW_FIELD_TYPES.get(extra.get("type"))
            if kind_label in ("text", "hidden", "boolean"):
                hidden = FieldType.HIDDEN if kind_label == "hidden" else FieldType.TEXT
                more.add_field(label, _text(extra.get("value"), strip=False), hidden)
            else:  # a linked field points at another field: nothing of its own to keep
                report.unrepresented.append((name, f"{kind_label or 'unknown'} field '{label}'"))
        if raw.get("attachments"):  # an export carries their names, never their content
            report.unrepresented.append(
                (name, f"attachments ({len(raw['attachments'])}): not in Bitwarden exports")
            )
        login = _dict(raw.get("login"))
        for old in _list(raw.get("passwordHistory")):
            old = _dict(old)
            more.add_old(
                _text(old.get("password"), strip=False),
                _iso_date(old.get("lastUsedDate")),
                _text(login.get("password"), strip=False),
            )
        if kind_name == "login":
            uris = [_text(u.get("uri")) for u in login.get("uris") or [] if isinstance(u, dict)]
            uris = list(dict.fromkeys(u for u in uris if u))
            more.urls = uris[1:]
            if login.get("fido2Credentials"):
                report.unrepresented.append((name, "passkey"))
            found.append(
                _login(
                    report,
                    common,
                    _text(login.get("username")),
                    _text(login.get("password"), strip=False),
                    uris[0] if uris else "",
                    _text(login.get("totp")),
                    notes,
                    "login",
                    more,
                )
            )
            continue
        if more.history:
            report.unrepresented.append((name, f"password history ({len(more.history)})"))
        extra_values = _carry(report, more, with_urls=False)
        if kind_name == "secure note":
            report.mapping.setdefault(kind_name, "secure note")
            found.append(
                Candidate(
                    ItemKind.NOTE, {**common, "note": notes or "(empty)", **extra_values}, kind_name
                )
            )
        elif kind_name in ("card", "identity", "ssh key"):
            section, labels = {
                "card": ("card", _CARD),
                "identity": ("identity", _IDENTITY),
                "ssh key": ("sshKey", _SSH),
            }[kind_name]
            block = _dict(raw.get(section))
            report.mapping.setdefault(kind_name, LABELLED)
            body = _labelled(block, labels, notes)
            found.append(
                Candidate(ItemKind.NOTE, {**common, "note": body, **extra_values}, kind_name)
            )
        else:
            report.skipped.append(f"{name}: a Bitwarden {kind_name} item mysafe does not know")
    return found, report


def _bitwarden_decrypted(export: dict[str, Any], password: str | None) -> Any:
    """A password-protected export opened: its key from the password (PBKDF2-SHA256 or
    Argon2id over the export's salt), stretched to an AES and an HMAC key (HKDF-Expand "enc",
    "mac"), the `data` EncString ("2.iv|ciphertext|mac": AES-256-CBC, HMAC-SHA256 checked
    first) decrypted to the unencrypted export."""
    if not password:
        raise NeedsPassword("this Bitwarden export is password-protected: give its password")
    salt = str(export.get("salt") or "").encode()
    kdf, iterations = export.get("kdfType"), export.get("kdfIterations")
    if not isinstance(iterations, int) or not salt:
        raise InvalidInput("that Bitwarden export names no key derivation it can be opened with")
    import hashlib

    if kdf == 0:
        if not 5000 <= iterations <= 10_000_000:
            raise InvalidInput("that Bitwarden export's PBKDF2 iterations are out of bounds")
        key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    elif kdf == 1:
        memory, lanes = export.get("kdfMemory"), export.get("kdfParallelism")
        if not (
            isinstance(memory, int)
            and isinstance(lanes, int)
            and 1 <= iterations <= 10
            and 16 <= memory <= 1024
            and 1 <= lanes <= 16
        ):
            raise InvalidInput("that Bitwarden export's Argon2id parameters are out of bounds")
        from mysafe_tui.core.crypto import argon2id

        key = argon2id(
            password.encode(),
            hashlib.sha256(salt).digest(),
            memory_kib=memory * 1024,
            iterations=iterations,
            lanes=lanes,
        )
    else:
        raise InvalidInput(f"that Bitwarden export uses an unknown key derivation ({kdf})")
    from mysafe_tui.transfer.bitwarden_crypto import open_enc_string, stretch

    enc, mac = stretch(key)
    open_enc_string(str(export.get("encKeyValidation_DO_NOT_EDIT") or ""), enc, mac)
    inner = open_enc_string(str(export.get("data") or ""), enc, mac)
    return _json(inner, "that Bitwarden export opened, but holds no JSON")


def _labelled(block: dict[str, Any], labels: tuple[tuple[str, str], ...], notes: str) -> str:
    lines = []
    for key, label in labels:
        value = block.get(key)
        if value not in (None, ""):
            text = str(value)
            lines.append(f"{label}:\n{text}" if "\n" in text else f"{label}: {text}")
    if notes:
        lines += ["", notes] if lines else [notes]
    return "\n".join(lines) or "(empty)"


def _login(
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
    extra = _carry(report, more, with_urls=bool(password))
    if password:
        report.mapping.setdefault(source, "password")
        values = {**common, "username": username, "password": password, "url": url, **extra}
        if notes:
            values["notes"] = notes
        if totp and _good_seed(totp):
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
    values = {**common, "note": _labelled(block, tuple(pairs), notes), **extra}
    return Candidate(ItemKind.NOTE, values, source, more.attachments)


def _carry(report: Report, more: More, with_urls: bool) -> dict[str, Any]:
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


def _good_seed(seed: str) -> bool:
    from mysafe_tui.core import totp

    try:
        totp.parse_seed(seed)
    except InvalidInput:
        return False
    return True


# --- 1Password (1PUX) --------------------------------------------------------------------------

_OP_KINDS = {
    "001": "login",
    "002": "credit card",
    "003": "secure note",
    "004": "identity",
    "005": "password",
    "006": "document",
    "101": "bank account",
    "109": "wireless router",
    "110": "server",
    "111": "ssh key",
    "112": "api credential",
}


def _onepux(data: bytes) -> tuple[list[Candidate], Report]:
    """A 1Password 1PUX export: a zip whose export.data (JSON) holds accounts, their vaults
    and items (`overview`: title, urls, tags; `details`: loginFields, notesPlain, sections),
    and whose files/ folder holds attachments and documents as `{documentId}__{fileName}`."""
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        inner = _member(archive, archive.getinfo("export.data"), MAX_BYTES)
    except (zipfile.BadZipFile, KeyError):
        raise InvalidInput("that file is not a 1Password export (1PUX)") from None
    export = _json(inner, "that 1PUX holds no readable export.data", "that 1PUX's export.data")
    del inner
    accounts = export.get("accounts") if isinstance(export, dict) else None
    if not isinstance(accounts, list):
        raise InvalidInput("that 1PUX's export.data has no accounts")
    budget = [MAX_BYTES]  # what all the files together may take: a zip bomb stops here

    def content(attributes: dict[str, Any]) -> bytes | None:
        member = f"files/{_text(attributes.get('documentId'))}__{_text(attributes.get('fileName'))}"
        try:
            found = archive.getinfo(member)
        except KeyError:
            return None
        read = _member(archive, found, budget[0])
        budget[0] -= len(read)
        return read

    report = Report("1password (1PUX)")
    items: list[Candidate] = []
    with archive:
        for account in accounts:
            for vault in _list(_dict(account).get("vaults")):
                vault = _dict(vault)
                folder = _text(_dict(vault.get("attrs")).get("name"))
                items += [
                    _onepux_item(report, _dict(i), folder, content)
                    for i in _list(vault.get("items"))
                ]
    return items, report


def _onepux_item(
    report: Report,
    item: dict[str, Any],
    folder: str,
    content: Callable[[dict[str, Any]], bytes | None],
) -> Candidate:
    overview, details = _dict(item.get("overview")), _dict(item.get("details"))
    kind_name = _OP_KINDS.get(_text(item.get("categoryUuid")), "item")
    report.found[kind_name] += 1
    name = _text(overview.get("title")) or "(no title)"
    tags = [folder] + [str(t) for t in _list(overview.get("tags"))]
    common: dict[str, Any] = {
        "name": name,
        "tags": ",".join(t.replace(",", " ") for t in tags if t),
        "favourite": str(item.get("favIndex")) == "1",
    }
    if _text(item.get("state")) == "archived":
        common["active"] = False
        report.mapping["archived item"] = "the trash"
    more = More()
    url = _text(overview.get("url"))
    for extra in _list(overview.get("urls")):
        other = _text(_dict(extra).get("url"))
        if other and other != url and other not in more.urls:
            more.urls.append(other)
    username = password = ""
    for login_field in _list(details.get("loginFields")):
        login_field = _dict(login_field)
        designation = _text(login_field.get("designation")).lower()
        if designation == "username":
            username = _text(login_field.get("value"))
        elif designation == "password":
            password = _text(login_field.get("value"), strip=False)
    password = password or _text(details.get("password"), strip=False)  # a "password" item
    notes = _text(details.get("notesPlain"), strip=False)
    is_login = kind_name in ("login", "password")
    totp, lines = "", []
    for section in _list(details.get("sections")):
        section = _dict(section)
        title = _text(section.get("title"))
        for section_field in _list(section.get("fields")):
            section_field = _dict(section_field)
            label = _text(section_field.get("title")) or _text(section_field.get("id"))
            value = _dict(section_field.get("value"))
            key = next(iter(value), "")
            raw = value.get(key)
            if key == "totp" and not totp:
                totp = _text(raw)
                continue
            if key == "file":
                _onepux_file(report, more, name, _dict(raw), content)
                continue
            if key == "email":
                raw = _dict(raw).get("email_address")
            elif key == "address":
                address = _dict(raw)
                parts = ("street", "city", "state", "zip", "country")
                raw = "\n".join(filter(None, (_text(address.get(k)) for k in parts)))
            text = _text(raw)
            if not text:
                continue
            where = f"{title}: {label}" if title else label
            if is_login:  # a login's section fields: custom fields of their own type
                more.add_field(where, text, _OP_FIELD_TYPES.get(key, FieldType.TEXT))
            else:
                lines.append(f"{where}: {text}")
    for old in _list(details.get("passwordHistory")):
        old = _dict(old)
        when = old.get("time")
        more.add_old(
            _text(old.get("value"), strip=False),
            float(when) if isinstance(when, int | float) else 0.0,
            password,
        )
    document = _dict(details.get("documentAttributes"))
    if document:
        report.mapping.setdefault(kind_name, "secure note with the document attached")
        _onepux_file(report, more, name, document, content)
    if is_login:
        return _login(report, common, username, password, url, totp, notes, kind_name, more)
    if more.history:
        report.unrepresented.append((name, f"password history ({len(more.history)})"))
    extra_values = _carry(report, more, with_urls=False)
    if kind_name == "secure note" or document:
        report.mapping.setdefault(kind_name, "secure note")
        body = "\n".join(filter(None, [notes, *lines, *more.urls]))
        return Candidate(
            ItemKind.NOTE,
            {**common, "note": body or "(empty)", **extra_values},
            kind_name,
            more.attachments,
        )
    report.mapping.setdefault(kind_name, LABELLED)
    pairs = [("username", "Username"), ("password", "Password"), ("url", "URL")]
    block = {"username": username, "password": password, "url": url}
    text = _labelled(block, tuple(pairs), "")
    body = "\n".join(
        filter(
            None,
            [
                text if text != "(empty)" else "",
                *lines,
                *(f"URL: {u}" for u in more.urls),
                notes and f"\n{notes}",
            ],
        )
    )
    if totp:
        body += f"\nOne-time code seed: {totp}"
    return Candidate(
        ItemKind.NOTE,
        {**common, "note": body or "(empty)", **extra_values},
        kind_name,
        more.attachments,
    )


_OP_FIELD_TYPES = {
    "concealed": FieldType.HIDDEN,
    "url": FieldType.URL,
    "email": FieldType.EMAIL,
    "totp": FieldType.TOTP,
}


def _onepux_file(
    report: Report,
    more: More,
    name: str,
    attributes: dict[str, Any],
    content: Callable[[dict[str, Any]], bytes | None],
) -> None:
    """An attachment or a document, from the 1PUX's files/ folder when it is there."""
    file_name = _text(attributes.get("fileName")) or "attachment"
    data = content(attributes)
    if data is None:
        report.unrepresented.append((name, f"file '{file_name}' (not in the export's files/)"))
    else:
        more.attachments.append((file_name, data))


def _iso_date(value: Any) -> float:
    """An export's ISO 8601 time ("2024-05-01T10:00:00.000Z") as a timestamp; 0 if none."""
    import datetime

    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


# --- 1Password 7 CSV (Windows and Mac) ---------------------------------------------------------

# Columns that are bookkeeping (ids, dates, settings), not the person's data.
_OP7_BOOKKEEPING = {"uuid", "scope", "autosubmit", "created date", "modified date", "type"}
_OP7_HIDDEN = re.compile(r"password|\bpin\b|cvv|verification|secret|account-key", re.I)
_OP7_KINDS = {
    "login": "login",
    "password": "password",
    "secure note": "secure note",
    "credit card": "credit card",
    "identity": "identity",
}


def _onepassword_csv(data: bytes) -> tuple[list[Candidate], Report]:
    """1Password 7's CSV. Windows: UUID,TITLE,USERNAME,PASSWORD,URL,URLS,...,TAGS,NOTES, then
    "SECTION n: ID" (a section's title) and "ID n: LABEL" columns. Mac: "Title","Type",
    "Username","Password","URL","Notes","Tags" ({( "a", "b" )}), "First One-time Password" and
    "label(key)" columns, quotes inside values escaped with a backslash."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("that file is neither a 1PUX nor a UTF-8 1Password CSV") from None
    mac = text.split("\n", 1)[0].count("(") > 3
    rows = _csv_rows(text, escapechar="\\" if mac else None)
    if not rows:
        raise InvalidInput("that 1Password CSV is empty")
    header = [h.strip() for h in rows[0]]
    known = {h.lower(): i for i, h in reversed(list(enumerate(header)))}
    if "title" not in known or "password" not in known:
        raise InvalidInput(
            "that file is neither a 1PUX nor a 1Password CSV (no Title and Password columns)"
        )
    report = Report(f"1password 7 CSV ({'Mac' if mac else 'Windows'})")
    own = {
        "title",
        "username",
        "password",
        "url",
        "notes",
        "tags",
        "urls",
        "first one-time password",
    }
    found: list[Candidate] = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        cell = {h: row[i] if i < len(row) else "" for h, i in known.items()}
        kind_name = _OP7_KINDS.get(cell.get("type", "").strip().lower(), "")
        username, password = cell.get("username", "").strip(), cell.get("password", "")
        more, lines = More(), []
        for i, label in enumerate(header):
            value = row[i] if i < len(row) else ""
            key = label.lower()
            if not value.strip() or key in own or key in _OP7_BOOKKEEPING:
                continue
            if key.startswith("section ") and ":" in key:  # a section's title, not a field
                continue
            shown = _op7_label(label)
            lines.append((shown, value))
            hidden = FieldType.HIDDEN if _OP7_HIDDEN.search(label) else FieldType.TEXT
            more.add_field(shown, value, hidden)
        if not kind_name:  # Windows says no kind: a login has its username and password
            kind_name = (
                "login"
                if username and password
                else (
                    "credit card"
                    if any("number" in n.lower() for n, _ in lines)
                    else "identity"
                    if any("first name" in n.lower() for n, _ in lines)
                    else "secure note"
                )
            )
        report.found[kind_name] += 1
        name = cell.get("title", "").strip() or "(no title)"
        raw_tags = cell.get("tags", "").strip()
        if mac:  # {(\n    "Starter Kit",\n    Work\n)}
            raw_tags = raw_tags.removeprefix("{(").removesuffix(")}")
        tags = [t.strip().strip('"') for t in raw_tags.split(",")]
        common = {"name": name, "tags": ",".join(t.replace(",", " ") for t in tags if t)}
        notes = cell.get("notes", "")
        url = cell.get("url", "").strip()
        more.urls = [u for u in cell.get("urls", "").split() if u and u != url]
        if kind_name in ("login", "password"):
            found.append(
                _login(
                    report,
                    common,
                    username,
                    password,
                    url,
                    cell.get("first one-time password", "").strip(),
                    notes,
                    kind_name,
                    more,
                )
            )
            continue
        report.mapping.setdefault(
            kind_name, "secure note" if kind_name == "secure note" else LABELLED
        )
        body = "\n".join(f"{label}: {value}" for label, value in lines)
        body = "\n\n".join(filter(None, [body, notes])) or "(empty)"
        found.append(Candidate(ItemKind.NOTE, {**common, "note": body}, kind_name))
    return found, report


def _op7_label(header: str) -> str:
    """ "verification number(cvv)" -> "verification number"; "NAME 1: FIRST NAME" -> "FIRST
    NAME"; "2: NUMBER" -> "NUMBER"."""
    label = re.sub(r"\([^()]*\)$", "", header).strip() or header
    if re.match(r"^([^:]*\s)?\d+: ", label):
        label = label.split(": ", 1)[1]
    return label


def _member(archive: Any, info: Any, limit: int) -> bytes:
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


def _json(data: bytes, refusal: str, what: str = "that file") -> Any:
    """JSON with its size bounded before it is built (MAX_NODES containers)."""
    if data.count(b"{") + data.count(b"[") > MAX_NODES:
        raise InvalidInput(
            f"{what} holds over {MAX_NODES:,} JSON objects and lists: too many for an export"
        )
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput(refusal) from None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- KeePass (KDBX 3.1 and 4) ------------------------------------------------------------------


def _keepass(
    data: bytes, password: str | None, key_file: bytes | None
) -> tuple[list[Candidate], Report]:
    try:
        from pykeepass import PyKeePass
        from pykeepass.exceptions import CredentialsError
    except ImportError:
        raise InvalidInput(
            "reading KeePass databases needs pykeepass, which mysafe installs: install "
            "mysafe again (pip install .) to bring it back"
        ) from None
    if not data.startswith(b"\x03\xd9\xa2\x9a"):
        raise InvalidInput("that file is not a KeePass database (KDBX) or KeePass XML export")
    if password is None:  # asked even with a key file: "" (nothing typed) is no password
        raise NeedsPassword("a KeePass database needs its password")
    try:
        kp = PyKeePass(
            io.BytesIO(data),
            password=password or None,
            keyfile=io.BytesIO(key_file) if key_file else None,
        )
    except CredentialsError:
        raise InvalidInput("wrong password or key file for that KeePass database") from None
    except Exception as exc:  # a damaged or truncated file: whatever the parser raised
        raise InvalidInput(f"that KeePass database cannot be read ({type(exc).__name__})") from None
    report = Report(f"keepass (KDBX {kp.version[0]}.{kp.version[1]})")
    bin_group = kp.recyclebin_group
    found: list[Candidate] = []
    for entry in kp.entries:
        if entry.is_a_history_entry:
            continue
        extras = dict(entry.custom_properties)
        history = [
            (_text(old.password, strip=False), old.mtime.timestamp() if old.mtime else 0.0)
            for old in reversed(entry.history)
        ]  # newest first
        found.append(
            _keepass_entry(
                report,
                KeePassEntry(
                    title=_text(entry.title),
                    username=_text(entry.username),
                    password=_text(entry.password, strip=False),
                    url=_text(entry.url),
                    notes=_text(entry.notes, strip=False),
                    otp=_text(entry.otp),
                    extras=extras,
                    protected={k for k in extras if entry.is_custom_property_protected(k)},
                    attachments=[(a.filename, _keepass_binary(a)) for a in entry.attachments],
                    history=history,
                    expires=bool(entry.expires),
                    tags=list(entry.tags or []),
                    path=[str(g) for g in (entry.group.path or []) if g],
                    trashed=bin_group is not None and _inside(entry.group, bin_group),
                ),
            )
        )
    report.mapping.setdefault("group", "a tag with its path")
    return found, report


@dataclass
class KeePassEntry:
    """One entry as either reader (KDBX through pykeepass, KeePass 2 XML) sees it."""

    title: str
    username: str
    password: str
    url: str
    notes: str
    otp: str
    extras: dict[str, str]
    protected: set[str]
    attachments: list[tuple[str, bytes | None]]  # (name, content: None when unreadable)
    history: list[tuple[str, float]]  # older passwords with their times, newest first
    expires: bool
    tags: list[str]
    path: list[str]
    trashed: bool


def _keepass_entry(report: Report, entry: KeePassEntry) -> Candidate:
    source = "entry in the recycle bin" if entry.trashed else "entry"
    report.found[source] += 1
    name = entry.title or "(no title)"
    tags = ["/".join(entry.path)] if entry.path and not entry.trashed else []
    if tags and tags[0].count("/") >= report.mapping.get("group", "").count("/"):
        report.mapping["group"] = f"a tag with its path ({tags[0]})"  # the deepest, as example
    tags += [t.replace(",", " ") for t in entry.tags]
    common: dict[str, Any] = {"name": name, "tags": ",".join(t for t in tags if t)}
    if entry.trashed:
        common["active"] = False
        report.mapping[source] = "the trash"
    totp = entry.otp or next(
        (entry.extras[k].strip() for k in _KEEPASS_TOTP if entry.extras.get(k)), ""
    )
    more = More()
    for key, value in entry.extras.items():
        if key in _KEEPASS_TOTP:
            continue
        if key.startswith("KP2A_URL") and value.strip():  # KeePass2Android's more URLs
            more.urls.append(value.strip())
        else:
            protected = key in entry.protected
            more.add_field(key, value, FieldType.HIDDEN if protected else FieldType.TEXT)
    for attachment, data in entry.attachments:
        if data is None:
            report.unrepresented.append((name, f"attachment '{attachment}' (unreadable)"))
        else:
            more.attachments.append((attachment, data))
    for old_password, when in entry.history:
        more.add_old(old_password, when, entry.password)
    if entry.expires:
        report.unrepresented.append((name, "expiry date"))
    return _login(
        report, common, entry.username, entry.password, entry.url, totp, entry.notes, source, more
    )


def _keepass_binary(attachment: Any) -> bytes | None:
    try:
        data = attachment.data
    except Exception:  # a reference to a binary the database does not have
        return None
    return data if isinstance(data, bytes) else None


_STANDARD = {"Title", "UserName", "Password", "URL", "Notes", "otp"}


def _keepass_xml(data: bytes) -> tuple[list[Candidate], Report]:
    """A KeePass 2 XML export (KeePass's or KeePassXC's): plain text, so parsed as hostile
    (defusedxml: no entities, no external references)."""
    from xml.etree.ElementTree import Element, ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if data.count(b"<") > MAX_NODES:
        raise InvalidInput(f"that XML has over {MAX_NODES:,} elements: not a KeePass export")
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException, ValueError, RecursionError):
        raise InvalidInput("that file is not a KeePass XML export (or it is damaged)") from None
    top = root.find("Root/Group")
    if root.tag != "KeePassFile" or top is None:
        raise InvalidInput("that XML is not a KeePass export (no KeePassFile/Root/Group)")
    bin_uuid = (root.findtext("Meta/RecycleBinUUID") or "").strip()
    binaries = {b.get("ID", ""): b for b in root.findall("Meta/Binaries/Binary")}
    report = Report("keepass XML")
    found: list[Candidate] = []

    def walk(group: Element, path: list[str], trashed: bool) -> None:
        for entry in group.findall("Entry"):
            strings: dict[str, str] = {}
            protected: set[str] = set()
            for string in entry.findall("String"):
                key, value = string.findtext("Key") or "", string.find("Value")
                strings[key] = (value.text or "") if value is not None else ""
                if value is not None and value.get("ProtectInMemory") == "True":
                    protected.add(key)
            found.append(
                _keepass_entry(
                    report,
                    KeePassEntry(
                        title=strings.get("Title", "").strip(),
                        username=strings.get("UserName", "").strip(),
                        password=strings.get("Password", ""),
                        url=strings.get("URL", "").strip(),
                        notes=strings.get("Notes", ""),
                        otp=strings.get("otp", "").strip(),
                        extras={k: v for k, v in strings.items() if k not in _STANDARD},
                        protected=protected,
                        attachments=[
                            (b.findtext("Key") or "attachment", _xml_binary(b, binaries))
                            for b in entry.findall("Binary")
                        ],
                        history=[
                            (
                                _xml_password(old),
                                _iso_date(old.findtext("Times/LastModificationTime")),
                            )
                            for old in reversed(entry.findall("History/Entry"))
                        ],
                        expires=(entry.findtext("Times/Expires") or "").strip() == "True",
                        tags=[
                            t
                            for t in (entry.findtext("Tags") or "").replace(";", ",").split(",")
                            if t.strip()
                        ],
                        path=path,
                        trashed=trashed,
                    ),
                )
            )
        for child in group.findall("Group"):
            inside = trashed or (child.findtext("UUID") or "").strip() == bin_uuid
            walk(child, [*path, (child.findtext("Name") or "").strip()], inside)

    walk(top, [], False)
    report.mapping.setdefault("group", "a tag with its path")
    return found, report


def _xml_password(entry: Any) -> str:
    for string in entry.findall("String"):
        if string.findtext("Key") == "Password":
            return string.findtext("Value") or ""
    return ""


def _xml_binary(binary: Any, binaries: dict[str, Any]) -> bytes | None:
    """An entry's attachment: its Value, or the Meta/Binaries one it refers to (base64,
    gzip when Compressed); None when it is missing or damaged. Bounded: no zip bomb."""
    import base64
    import binascii
    import zlib

    value = binary.find("Value")
    if value is None:
        return None
    source = binaries.get(value.get("Ref", "")) if value.get("Ref") is not None else value
    if source is None:
        return None
    try:
        data = base64.b64decode(source.text or "", validate=False)
        if source.get("Compressed") == "True":
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = inflate.decompress(data, MAX_BYTES)
            if inflate.unconsumed_tail:
                return None
    except (binascii.Error, ValueError, zlib.error):
        return None
    return data


def _inside(group: Any, ancestor: Any) -> bool:
    while group is not None:
        if group.uuid == ancestor.uuid:
            return True
        group = group.parentgroup
    return False


# --- pass (a password-store folder) ------------------------------------------------------------

_PASS_KEYS = {
    "login": "username",
    "username": "username",
    "user": "username",
    "email": "username",
    "url": "url",
    "website": "url",
    "site": "url",
}


_PASS_LABEL = re.compile(r"[^\s:][^:\n]{0,39}")  # "Recovery code", "pin": short, no colon
# A first line longer than this, in an entry of several lines with no `key: value` line, is a
# document's first line, not a password: no site's password policy allows as many characters.
PASS_DOCUMENT_LINE = 128


def read_pass_store(root: Path, progress: Any = None) -> tuple[list[Candidate], Report]:
    """Every `*.gpg` under a password-store folder, decrypted by gpg (its agent asks for the
    key's passphrase as it would for `pass`): the first line is the password, `key: value`
    lines fields (login/user/email, url), an `otpauth://` line the one-time code, the rest
    notes; the path is the name, its folder a tag."""
    import subprocess

    if not root.is_dir():
        raise InvalidInput(f"{root} is not a password-store folder")
    files = sorted(
        p
        for p in root.rglob("*.gpg")
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise InvalidInput(f"{root} holds no .gpg files: not a password store")
    report = Report("pass")
    found: list[Candidate] = []
    for done, path in enumerate(files, 1):
        relative = path.relative_to(root).with_suffix("")
        name = str(relative)
        try:
            decrypted = subprocess.run(
                ["gpg", "--quiet", "--decrypt", str(path)],
                capture_output=True,
                timeout=120,
                check=False,
            )
        except FileNotFoundError:
            raise InvalidInput("gpg is not installed: pass stores cannot be read") from None
        except subprocess.TimeoutExpired:
            raise InvalidInput(f"gpg did not decrypt {name} (waiting for a passphrase?)") from None
        if decrypted.returncode != 0:
            raise InvalidInput(f"gpg could not decrypt {name}: nothing was imported")
        report.found["entry"] += 1
        text = decrypted.stdout.decode("utf-8", "replace")
        del decrypted
        lines = text.split("\n")
        folder = str(relative.parent) if str(relative.parent) != "." else ""
        common = {"name": name, "tags": folder.replace(",", " ")}
        document = _pass_document(lines)
        if document:  # no password in it: the whole text, as pass shows it
            report.as_notes.append((name, document))
            found.append(Candidate(ItemKind.NOTE, {**common, "note": text.strip("\n")}, "entry"))
            continue
        password, values, notes, totp = lines[0], {"username": "", "url": ""}, [], ""
        more = More()
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            field_name = _PASS_KEYS.get(key.strip().lower()) if sep else None
            if line.strip().lower().startswith("otpauth://"):
                totp = line.strip()
            elif field_name and not values[field_name]:
                values[field_name] = value.strip()
            elif sep and _PASS_LABEL.fullmatch(key) and value.startswith(" "):
                more.add_field(key, value.strip())  # `key: value`: a field of its own
            else:
                notes.append(line)
        found.append(
            _login(
                report,
                common,
                values["username"],
                password,
                values["url"],
                totp,
                "\n".join(notes).strip("\n"),
                "entry",
                more,
            )
        )
        if progress:
            progress(done, len(files))
    report.mapping["first line"] = "the password (a secure note when it is empty)"
    report.mapping["key: value lines"] = "custom fields (login, user, email, url: their own)"
    report.mapping["other lines"] = "notes"
    return found, report


def _pass_document(lines: list[str]) -> str:
    """Why an entry is a secure note rather than a password ("" when it is a password): its
    first line is empty, or it is a document: several lines, none of them `key: value` or
    otpauth://, and a first line longer than any password policy allows."""
    if not lines[0].strip():
        if not "".join(lines).strip():
            return "it is empty"
        return "its first line, the password in pass, is empty"
    rest = [line for line in lines[1:] if line.strip()]
    if not rest or len(lines[0]) <= PASS_DOCUMENT_LINE:
        return ""
    for line in rest:
        key, sep, _ = line.partition(":")
        if line.strip().lower().startswith("otpauth://") or (sep and _PASS_LABEL.fullmatch(key)):
            return ""
    return (
        f"a document: its first line is longer than {PASS_DOCUMENT_LINE} characters and "
        "no line is 'key: value'"
    )


# --- CSV ---------------------------------------------------------------------------------------

# Header (lowercased) -> our field, as Chrome, Firefox, Safari and most tools write them.
_COLUMNS = {
    "name": "name",
    "title": "name",
    "url": "url",
    "login_uri": "url",
    "website": "url",
    "username": "username",
    "login_username": "username",
    "login": "username",
    "password": "password",
    "login_password": "password",
    "note": "notes",
    "notes": "notes",
    "otpauth": "totp",
    "login_totp": "totp",
    "totp": "totp",
    "folder": "folder",
    "favorite": "favourite",
    "favourite": "favourite",
}
_OURS = ("name", "url", "username", "password", "notes", "totp", "folder", "favourite")
# What exporters keep for themselves (Firefox's times and ids, Bitwarden's item type): named
# in the report, not made into fields.
_CSV_BOOKKEEPING = {
    "guid",
    "timecreated",
    "timelastused",
    "timepasswordchanged",
    "httprealm",
    "formactionorigin",
    "type",
    "reprompt",
}


def _csv_rows(text: str, escapechar: str | None = None) -> list[list[str]]:
    """Every row; a field over the csv module's limit (128 KiB) or a line of more than
    MAX_COLUMNS columns is refused in one sentence, with its line."""
    if text.count(",") > MAX_NODES:  # a reader builds a whole row before it can be counted
        raise InvalidInput(f"that CSV has over {MAX_NODES:,} cells: not an export")
    reader = csv.reader(io.StringIO(text, newline=""), escapechar=escapechar)
    rows = []
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                raise InvalidInput(
                    f"line {reader.line_num} of that CSV has {len(row):,} "
                    f"columns (at most {MAX_COLUMNS}): not an export"
                )
            rows.append(row)
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num} of that CSV cannot be read ({exc})") from None
    return rows


def _csv(data: bytes, columns: list[str] | None) -> tuple[list[Candidate], Report]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("that CSV is not UTF-8 text (export it again as UTF-8)") from None
    rows = _csv_rows(text)
    if not rows:
        raise InvalidInput("that CSV is empty")
    report = Report("csv")
    if columns:
        unknown = [c for c in columns if c not in _OURS and c != ""]
        if unknown:
            raise InvalidInput(f"--columns knows {', '.join(_OURS)}, not {', '.join(unknown)}")
        header, body = columns, rows[1:]  # the first line is the file's own header
    else:
        header = [_COLUMNS.get(c.strip().lower(), "") for c in rows[0]]
        if "password" not in header or not ({"name", "url"} & set(header)):
            raise InvalidInput(
                "the first line of that CSV names no password column with a name or URL "
                "column; say which column is which: --columns name,url,username,password,notes"
            )
        body = rows[1:]
    extra_names = rows[0] if not columns else [f"column {n + 1}" for n in range(len(header))]
    found: list[Candidate] = []
    left_out: set[str] = set()
    for number, row in enumerate(body, 2):
        if not any(cell.strip() for cell in row):
            continue
        record = {h: row[i] for i, h in enumerate(header) if h and i < len(row)}
        url = record.get("url", "").strip()
        if url.lower().startswith("chrome://"):  # Firefox's own account, not a login
            report.skipped.append(f"line {number}: {url} (Firefox's internal account row)")
            continue
        report.found["login"] += 1
        host = urlsplit(url).hostname or url
        name = record.get("name", "").strip() or host or f"line {number}"
        more = More()
        for i, cell in enumerate(row):
            if (i >= len(header) or not header[i]) and cell.strip():
                label = extra_names[i] if i < len(extra_names) else f"column {i + 1}"
                if label.strip().lower() in _CSV_BOOKKEEPING:
                    left_out.add(label.strip())
                elif label.strip().lower() == "fields":  # Bitwarden's: "name: value" lines
                    for line in cell.split("\n"):
                        key, _, value = line.partition(": ")
                        more.add_field(key, value)
                else:  # a column of its own: a field with its header for a label
                    more.add_field(label, cell)
        folder = record.get("folder", "").strip()
        common: dict[str, Any] = {"name": name, "tags": folder.replace(",", " ") if folder else ""}
        if record.get("favourite", "").strip().lower() in ("1", "true", "yes"):
            common["favourite"] = True
        found.append(
            _login(
                report,
                common,
                record.get("username", "").strip(),
                record.get("password", ""),
                url,
                record.get("totp", "").strip(),
                record.get("notes", ""),
                "login",
                more,
            )
        )
    if left_out:
        report.mapping["columns left out (the exporter's bookkeeping)"] = ", ".join(
            sorted(left_out)
        )
    return found, report


# --- warnings ----------------------------------------------------------------------------------


def _warn(found: list[Candidate], report: Report) -> None:
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


def _text(value: Any, strip: bool = True) -> str:
    if value is None:
        return ""
    text = str(value)
    return text.strip() if strip else text

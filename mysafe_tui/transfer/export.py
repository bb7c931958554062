"""Writing the vault out for other tools: Bitwarden's JSON (unencrypted), CSV, and a KeePass
database (KDBX 4, encrypted under a password of its own). Pure: items and their secrets in,
bytes out; what a format cannot carry is said (`Exported.not_carried`), never dropped unsaid.

The first tag of an item becomes its Bitwarden folder or KeePass group; the rest stay tags
(KeePass) or are listed as not carried (Bitwarden, CSV). Trashed items go to KeePass's recycle
bin and are left out of the others; file items are left out (`mysafe save` writes them).
Custom fields, more URLs and old passwords go to KeePass and Bitwarden; attachments to KeePass;
CSV has no columns for any of them (said per item). An SSH key goes to Bitwarden as its own SSH
key item and to KeePass as protected strings; CSV cannot carry one (said).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.extras import Extras, FieldType
from mysafe_tui.core.models import ItemKind, ItemSummary

FORMATS = ("bitwarden", "csv", "keepass")
CSV_COLUMNS = ("name", "url", "username", "password", "notes", "totp", "folder")
# An item, its secret part (custom fields and old passwords included), its attachments' content.
Entry = tuple[ItemSummary, dict[str, str], list[tuple[str, bytes]]]


SHOWN = 5  # item names a line of losses names before "and N more"


@dataclass
class Exported:
    data: bytes
    count: int
    # what the format cannot carry -> the items it concerns, with how many of it each has
    losses: dict[str, Counter[str]] = field(default_factory=dict)

    def lose(self, what: str, item: str, n: int = 1) -> None:
        if n:
            self.losses.setdefault(what, Counter())[item] += n

    @property
    def totals(self) -> list[str]:
        """Each kind of loss with how many of it: "attachments (2)"."""
        return [f"{what} ({sum(items.values())})" for what, items in self.losses.items()]

    @property
    def not_carried(self) -> list[str]:
        """One line per kind of loss, never one per item: "attachments (2): web-1, router"."""
        lines = []
        for total, items in zip(self.totals, self.losses.values(), strict=True):
            names = list(items)
            more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
            lines.append(f"{total}: {', '.join(names[:SHOWN])}{more}")
        return lines


def export(format: str, entries: list[Entry], password: str | None = None) -> Exported:
    """`password`: KeePass's (required), or Bitwarden's password-protected export's."""
    if format == "bitwarden":
        return _bitwarden(entries, password)
    if format == "csv":
        return _csv(entries)
    if format == "keepass":
        if not password:
            raise InvalidInput("a KeePass database needs a password of its own")
        return _keepass(entries, password)
    raise InvalidInput(f"unknown format {format!r}: {', '.join(FORMATS)}")


def _shown(entries: list[Entry], exported: Exported, *, trash: bool) -> list[Entry]:
    """The entries a format takes (files never; the trash only where it has one)."""
    kept = []
    for item, secret, files in entries:
        if item.kind is ItemKind.FILE:
            exported.lose("files (save them with 'mysafe save')", item.name)
        elif not item.active and not trash:
            exported.lose("items in the trash", item.name)
        else:
            kept.append((item, secret, files))
    return kept


def _not_carried(exported: Exported, item: ItemSummary, what: list[tuple[str, int]]) -> None:
    for label, count in what:
        exported.lose(label, item.name, count)


def _api_lines(item: ItemSummary, secret: dict[str, str]) -> str:
    parts = [
        ("Client ID", secret.get("client_id", "")),
        ("Client secret", secret.get("client_secret", "")),
        ("Identifier code", item.identifier_code),
        ("Method", item.method),
    ]
    lines = [f"{label}: {value}" for label, value in parts if value]
    notes = secret.get("notes", "")
    return "\n".join(lines + (["", notes] if notes else []))


# --- Bitwarden ---------------------------------------------------------------------------------


def _bitwarden(entries: list[Entry], password: str | None) -> Exported:
    exported = Exported(b"", 0)
    folders: dict[str, str] = {}
    items = []
    for item, secret, files in _shown(entries, exported, trash=False):
        more = Extras.of(secret, item.urls)
        _not_carried(exported, item, [("attachments", len(files))])
        folder = item.tags[0] if item.tags else ""
        if folder and folder not in folders:
            folders[folder] = str(uuid.uuid4())
        exported.lose("tags after the first (one folder per item)", item.name, len(item.tags[1:]))
        out: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "organizationId": None,
            "folderId": folders.get(folder),
            "name": item.name,
            "favorite": item.favourite,
            "fields": [
                {"name": f.label, "value": f.value, "type": 1 if f.secret else 0, "linkedId": None}
                for f in more.fields
            ],
            "collectionIds": None,
            "reprompt": 0,
        }
        uris = [{"match": None, "uri": u} for u in (item.url, *item.urls) if u]
        if more.history:
            out["passwordHistory"] = [
                {"lastUsedDate": _iso(h.date), "password": h.value} for h in more.history
            ]
        if item.kind is ItemKind.PASSWORD:
            out.update(
                type=1,
                notes=secret.get("notes") or None,
                login={
                    "uris": uris,
                    "username": item.username,
                    "password": secret.get("password", ""),
                    "totp": secret.get("secret_key") or None,
                },
            )
        elif item.kind is ItemKind.NOTE:
            out.update(type=2, notes=secret.get("note", ""), secureNote={"type": 0})
        elif item.kind is ItemKind.SSH_KEY:  # Bitwarden's own SSH key item
            out.update(
                type=5,
                notes=secret.get("notes") or None,
                sshKey={
                    "privateKey": secret.get("private", ""),
                    "publicKey": secret.get("public", ""),
                    "keyFingerprint": secret.get("fingerprint", ""),
                },
            )
        else:  # an API secret: a login (its URL, client id as username, secret as password)
            out.update(
                type=1,
                notes=_api_lines(item, secret) or None,
                login={
                    "uris": uris,
                    "username": secret.get("client_id", ""),
                    "password": secret.get("client_secret", ""),
                    "totp": None,
                },
            )
        items.append(out)
    body = {
        "encrypted": False,
        "folders": [{"id": i, "name": n} for n, i in folders.items()],
        "items": items,
    }
    if password:
        from mysafe_tui.transfer.bitwarden_crypto import protect

        exported.data = protect(body, password)
    else:
        exported.data = json.dumps(body, indent=2, ensure_ascii=False).encode()
    exported.count = len(items)
    return exported


# --- CSV ---------------------------------------------------------------------------------------


def _csv(entries: list[Entry]) -> Exported:
    exported = Exported(b"", 0)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item, secret, files in _shown(entries, exported, trash=False):
        if item.kind is ItemKind.SSH_KEY:
            exported.lose("SSH keys (CSV has no column for them)", item.name)
            continue
        more = Extras.of(secret, item.urls)
        _not_carried(
            exported,
            item,
            [
                ("custom fields", len(more.fields)),
                ("extra URLs", len(more.urls)),
                ("old passwords", len(more.history)),
                ("attachments", len(files)),
            ],
        )
        exported.lose("tags after the first (one folder per line)", item.name, len(item.tags[1:]))
        folder = item.tags[0] if item.tags else ""
        if item.kind is ItemKind.PASSWORD:
            row = [
                item.name,
                item.url,
                item.username,
                secret.get("password", ""),
                secret.get("notes", ""),
                secret.get("secret_key", ""),
                folder,
            ]
        elif item.kind is ItemKind.NOTE:
            row = [item.name, "", "", "", secret.get("note", ""), "", folder]
        else:
            api = (secret.get("client_id", ""), secret.get("client_secret", ""))
            row = [item.name, item.url, *api, _api_lines(item, secret), "", folder]
        writer.writerow(row)
        exported.count += 1
    exported.data = out.getvalue().encode()
    return exported


# --- KeePass -----------------------------------------------------------------------------------


def _keepass(entries: list[Entry], password: str) -> Exported:
    try:
        from pykeepass import create_database
    except ImportError:
        raise InvalidInput(
            "writing KeePass databases needs pykeepass, which mysafe installs: install "
            "mysafe again (pip install .) to bring it back"
        ) from None
    exported = Exported(b"", 0)
    with tempfile.TemporaryDirectory(prefix="mysafe-export-") as folder:  # 0700
        path = os.path.join(folder, "export.kdbx")
        kp = create_database(path, password=password)
        groups: dict[str, Any] = {}
        trash = None
        for item, secret, files in _shown(entries, exported, trash=True):
            if not item.active:
                if trash is None:
                    trash = kp.add_group(kp.root_group, "Recycle Bin")
                group = trash
            elif item.tags:  # "Work/Servers": a Servers group inside a Work group
                parent = kp.root_group
                walked = ""
                for part in filter(None, item.tags[0].split("/")):
                    walked = f"{walked}/{part}"
                    if walked not in groups:
                        groups[walked] = kp.add_group(parent, part)
                    parent = groups[walked]
                group = parent
            else:
                group = kp.root_group
            if item.kind is ItemKind.PASSWORD:
                username, pw, notes = item.username, secret.get("password", ""), secret.get("notes")
            elif item.kind is ItemKind.NOTE:
                username, pw, notes = "", "", secret.get("note")
            elif item.kind is ItemKind.SSH_KEY:  # the key in protected strings, below
                username, pw, notes = "", "", secret.get("notes")
            else:
                username, pw = secret.get("client_id", ""), secret.get("client_secret", "")
                notes = _api_lines(item, secret)
            entry = kp.add_entry(
                group,
                item.name,
                username,
                pw,
                url=item.url or None,
                notes=notes or None,
                tags=list(item.tags[1:]) or None,
                force_creation=True,
            )
            seed = secret.get("secret_key", "")
            if seed:
                entry.otp = (
                    seed
                    if seed.lower().startswith("otpauth://")
                    else (f"otpauth://totp/{quote(item.name)}?secret={seed.replace(' ', '')}")
                )
            if item.kind is ItemKind.SSH_KEY:
                entry.set_custom_property("SSH private key", secret.get("private", ""), True)
                entry.set_custom_property("SSH public key", secret.get("public", ""))
            _keepass_more(kp, entry, Extras.of(secret, item.urls), files)
            exported.count += 1
        if trash is not None:  # pykeepass has no setter: the Meta element KeePass reads
            import base64

            [marker] = kp.tree.xpath("/KeePassFile/Meta/RecycleBinUUID")
            marker.text = base64.b64encode(trash.uuid.bytes).decode()
        kp.save()
        with open(path, "rb") as handle:
            exported.data = handle.read()
    return exported


# The entry's own strings: a custom field by one of these names gets " (field)" added.
_KEEPASS_NAMES = {"title", "username", "password", "url", "notes", "otp"}


def _keepass_more(kp: Any, entry: Any, more: Extras, files: list[tuple[str, bytes]]) -> None:
    """Custom fields as the entry's own strings (hidden ones protected), more URLs as
    KP2A_URL strings (KeePassXC and KeePass2Android read them), old passwords as history
    entries with their dates, attachments as the database's binaries."""
    import datetime

    taken = set(_KEEPASS_NAMES)
    for f in more.fields:
        label = f.label
        while label.casefold() in taken:
            label += " (field)"
        taken.add(label.casefold())
        entry.set_custom_property(
            label, f.value, protect=f.type is FieldType.HIDDEN or f.type is FieldType.TOTP
        )
    for n, url in enumerate(more.urls):
        entry.set_custom_property("KP2A_URL" + (f"_{n}" if n else ""), url)
    if more.history:
        current, changed = entry.password, entry.mtime
        for old in reversed(more.history):  # oldest first, as KeePass keeps them
            entry.password = old.value
            entry.mtime = datetime.datetime.fromtimestamp(old.date, datetime.UTC)
            entry.save_history()
        entry.password, entry.mtime = current, changed
    for name, data in files:
        entry.add_attachment(kp.add_binary(data, protected=False), name)


def _iso(timestamp: float) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

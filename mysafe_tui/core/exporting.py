"""Writing the vault out for other tools: Bitwarden's JSON (unencrypted), CSV, and a KeePass
database (KDBX 4, encrypted under a password of its own). Pure: items and their secrets in,
bytes out; what a format cannot carry is said (`Exported.not_carried`), never dropped unsaid.

The first tag of an item becomes its Bitwarden folder or KeePass group; the rest stay tags
(KeePass) or are listed as not carried (Bitwarden, CSV). Trashed items go to KeePass's recycle
bin and are left out of the others; file items are left out (`mysafe save` writes them).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInput
from .models import ItemKind, ItemSummary

FORMATS = ("bitwarden", "csv", "keepass")
CSV_COLUMNS = ("name", "url", "username", "password", "notes", "totp", "folder")
Entry = tuple[ItemSummary, dict[str, str]]


@dataclass
class Exported:
    data: bytes
    count: int
    not_carried: list[str] = field(default_factory=list)  # "Item: what"


def export(format: str, entries: list[Entry], password: str | None = None) -> Exported:
    if format == "bitwarden":
        return _bitwarden(entries)
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
    for item, secret in entries:
        if item.kind is ItemKind.FILE:
            exported.not_carried.append(f"{item.name}: a file (save it with 'mysafe save')")
        elif not item.active and not trash:
            exported.not_carried.append(f"{item.name}: in the trash")
        else:
            kept.append((item, secret))
    return kept


def _api_lines(item: ItemSummary, secret: dict[str, str]) -> str:
    parts = [("Client ID", secret.get("client_id", "")),
             ("Client secret", secret.get("client_secret", "")),
             ("Identifier code", item.identifier_code), ("Method", item.method)]  # fmt: skip
    lines = [f"{label}: {value}" for label, value in parts if value]
    notes = secret.get("notes", "")
    return "\n".join(lines + (["", notes] if notes else []))


# --- Bitwarden ---------------------------------------------------------------------------------


def _bitwarden(entries: list[Entry]) -> Exported:
    exported = Exported(b"", 0)
    folders: dict[str, str] = {}
    items = []
    for item, secret in _shown(entries, exported, trash=False):
        folder = item.tags[0] if item.tags else ""
        if folder and folder not in folders:
            folders[folder] = str(uuid.uuid4())
        for extra in item.tags[1:]:
            exported.not_carried.append(f"{item.name}: tag '{extra}' (one folder per item)")
        out: dict[str, Any] = {
            "id": str(uuid.uuid4()), "organizationId": None,
            "folderId": folders.get(folder), "name": item.name, "favorite": item.favourite,
            "fields": [], "collectionIds": None, "reprompt": 0,
        }  # fmt: skip
        if item.kind is ItemKind.PASSWORD:
            out.update(type=1, notes=secret.get("notes") or None, login={
                "uris": [{"match": None, "uri": item.url}] if item.url else [],
                "username": item.username, "password": secret.get("password", ""),
                "totp": secret.get("secret_key") or None,
            })  # fmt: skip
        elif item.kind is ItemKind.NOTE:
            out.update(type=2, notes=secret.get("note", ""), secureNote={"type": 0})
        else:  # an API secret: a login (its URL, client id as username, secret as password)
            out.update(type=1, notes=_api_lines(item, secret) or None, login={
                "uris": [{"match": None, "uri": item.url}] if item.url else [],
                "username": secret.get("client_id", ""),
                "password": secret.get("client_secret", ""), "totp": None,
            })  # fmt: skip
        items.append(out)
    body = {
        "encrypted": False,
        "folders": [{"id": i, "name": n} for n, i in folders.items()],
        "items": items,
    }
    exported.data = json.dumps(body, indent=2, ensure_ascii=False).encode()
    exported.count = len(items)
    return exported


# --- CSV ---------------------------------------------------------------------------------------


def _csv(entries: list[Entry]) -> Exported:
    exported = Exported(b"", 0)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item, secret in _shown(entries, exported, trash=False):
        for extra in item.tags[1:]:
            exported.not_carried.append(f"{item.name}: tag '{extra}' (one folder per line)")
        folder = item.tags[0] if item.tags else ""
        if item.kind is ItemKind.PASSWORD:
            row = [item.name, item.url, item.username, secret.get("password", ""),
                   secret.get("notes", ""), secret.get("secret_key", ""), folder]  # fmt: skip
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
            "writing KeePass databases needs the keepass extra: pip install 'mysafe-tui[keepass]'"
        ) from None
    exported = Exported(b"", 0)
    with tempfile.TemporaryDirectory(prefix="mysafe-export-") as folder:  # 0700
        path = os.path.join(folder, "export.kdbx")
        kp = create_database(path, password=password)
        groups: dict[str, Any] = {}
        trash = None
        for item, secret in _shown(entries, exported, trash=True):
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
            else:
                username, pw = secret.get("client_id", ""), secret.get("client_secret", "")
                notes = _api_lines(item, secret)
            entry = kp.add_entry(group, item.name, username, pw, url=item.url or None,
                                 notes=notes or None, tags=list(item.tags[1:]) or None,
                                 force_creation=True)  # fmt: skip
            seed = secret.get("secret_key", "")
            if seed:
                from urllib.parse import quote

                entry.otp = (
                    seed
                    if seed.lower().startswith("otpauth://")
                    else (f"otpauth://totp/{quote(item.name)}?secret={seed.replace(' ', '')}")
                )
            exported.count += 1
        if trash is not None:  # pykeepass has no setter: the Meta element KeePass reads
            import base64

            [marker] = kp.tree.xpath("/KeePassFile/Meta/RecycleBinUUID")
            marker.text = base64.b64encode(trash.uuid.bytes).decode()
        kp.save()
        with open(path, "rb") as handle:
            exported.data = handle.read()
    return exported

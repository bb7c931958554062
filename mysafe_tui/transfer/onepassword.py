"""1Password's exports: a 1PUX archive (its `export.data` JSON and the files beside it), and
the CSV 1Password 7 wrote on Windows and Mac."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.extras import FieldType
from mysafe_tui.core.models import ItemKind
from mysafe_tui.transfer.common import (
    LABELLED,
    MAX_BYTES,
    Candidate,
    More,
    Report,
    as_dict,
    as_list,
    as_text,
    bounded_json,
    carry_more,
    labelled_note,
    login_item,
    zip_member,
)
from mysafe_tui.transfer.csvfile import csv_rows

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
    "111": "email account",
    "112": "api credential",
    "114": "ssh key",
}


def read_1pux(data: bytes) -> tuple[list[Candidate], Report]:
    """A 1Password 1PUX export: a zip whose export.data (JSON) holds accounts, their vaults
    and items (`overview`: title, urls, tags; `details`: loginFields, notesPlain, sections),
    and whose files/ folder holds attachments and documents as `{documentId}__{fileName}`."""
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        inner = zip_member(archive, archive.getinfo("export.data"), MAX_BYTES)
    except (zipfile.BadZipFile, KeyError):
        raise InvalidInput("that file is not a 1Password export (1PUX)") from None
    export = bounded_json(
        inner, "that 1PUX holds no readable export.data", "that 1PUX's export.data"
    )
    del inner
    accounts = export.get("accounts") if isinstance(export, dict) else None
    if not isinstance(accounts, list):
        raise InvalidInput("that 1PUX's export.data has no accounts")
    budget = [MAX_BYTES]  # what all the files together may take: a zip bomb stops here

    def content(attributes: dict[str, Any]) -> bytes | None:
        member = (
            f"files/{as_text(attributes.get('documentId'))}__{as_text(attributes.get('fileName'))}"
        )
        try:
            found = archive.getinfo(member)
        except KeyError:
            return None
        read = zip_member(archive, found, budget[0])
        budget[0] -= len(read)
        return read

    report = Report("1password (1PUX)")
    items: list[Candidate] = []
    with archive:
        for account in accounts:
            for vault in as_list(as_dict(account).get("vaults")):
                vault = as_dict(vault)
                folder = as_text(as_dict(vault.get("attrs")).get("name"))
                items += [
                    _onepux_item(report, as_dict(i), folder, content)
                    for i in as_list(vault.get("items"))
                ]
    return items, report


def _onepux_item(
    report: Report,
    item: dict[str, Any],
    folder: str,
    content: Callable[[dict[str, Any]], bytes | None],
) -> Candidate:
    overview, details = as_dict(item.get("overview")), as_dict(item.get("details"))
    kind_name = _OP_KINDS.get(as_text(item.get("categoryUuid")), "item")
    report.found[kind_name] += 1
    name = as_text(overview.get("title")) or "(no title)"
    tags = [folder] + [str(t) for t in as_list(overview.get("tags"))]
    common: dict[str, Any] = {
        "name": name,
        "tags": ",".join(t.replace(",", " ") for t in tags if t),
        "favourite": str(item.get("favIndex")) == "1",
    }
    if as_text(item.get("state")) == "archived":
        common["active"] = False
        report.mapping["archived item"] = "the trash"
    more = More()
    url = as_text(overview.get("url"))
    for extra in as_list(overview.get("urls")):
        other = as_text(as_dict(extra).get("url"))
        if other and other != url and other not in more.urls:
            more.urls.append(other)
    username = password = ""
    for login_field in as_list(details.get("loginFields")):
        login_field = as_dict(login_field)
        designation = as_text(login_field.get("designation")).lower()
        if designation == "username":
            username = as_text(login_field.get("value"))
        elif designation == "password":
            password = as_text(login_field.get("value"), strip=False)
    password = password or as_text(details.get("password"), strip=False)  # a "password" item
    notes = as_text(details.get("notesPlain"), strip=False)
    is_login = kind_name in ("login", "password")
    totp, lines, private = "", [], ""
    for section in as_list(details.get("sections")):
        section = as_dict(section)
        title = as_text(section.get("title"))
        for section_field in as_list(section.get("fields")):
            section_field = as_dict(section_field)
            label = as_text(section_field.get("title")) or as_text(section_field.get("id"))
            value = as_dict(section_field.get("value"))
            key = next(iter(value), "")
            raw = value.get(key)
            if key == "totp" and not totp:
                totp = as_text(raw)
                continue
            if key == "file":
                _onepux_file(report, more, name, as_dict(raw), content)
                continue
            if key == "sshKey":  # the private key (PKCS#8); the rest is worked out from it
                private = as_text(as_dict(raw).get("privateKey"), strip=False) or private
                continue
            if key == "email":
                raw = as_dict(raw).get("email_address")
            elif key == "address":
                address = as_dict(raw)
                parts = ("street", "city", "state", "zip", "country")
                raw = "\n".join(filter(None, (as_text(address.get(k)) for k in parts)))
            text = as_text(raw)
            if not text:
                continue
            where = f"{title}: {label}" if title else label
            if is_login:  # a login's section fields: custom fields of their own type
                more.add_field(where, text, _OP_FIELD_TYPES.get(key, FieldType.TEXT))
            else:
                lines.append(f"{where}: {text}")
    for old in as_list(details.get("passwordHistory")):
        old = as_dict(old)
        when = old.get("time")
        more.add_old(
            as_text(old.get("value"), strip=False),
            float(when) if isinstance(when, int | float) else 0.0,
            password,
        )
    document = as_dict(details.get("documentAttributes"))
    if document:
        report.mapping.setdefault(kind_name, "secure note with the document attached")
        _onepux_file(report, more, name, document, content)
    if is_login:
        return login_item(report, common, username, password, url, totp, notes, kind_name, more)
    if more.history:
        report.unrepresented.append((name, f"password history ({len(more.history)})"))
    extra_values = carry_more(report, more, with_urls=False)
    if private:
        report.mapping.setdefault(kind_name, "SSH key (not in the agent until you say so)")
        body = "\n".join(filter(None, [notes, *lines]))
        values = {**common, "private": private, "agent": "no", **extra_values}
        if body:
            values["notes"] = body
        return Candidate(ItemKind.SSH_KEY, values, kind_name, more.attachments)
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
    text = labelled_note(block, tuple(pairs), "")
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
    file_name = as_text(attributes.get("fileName")) or "attachment"
    data = content(attributes)
    if data is None:
        report.unrepresented.append((name, f"file '{file_name}' (not in the export's files/)"))
    else:
        more.attachments.append((file_name, data))


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


def read_1password_csv(data: bytes) -> tuple[list[Candidate], Report]:
    """1Password 7's CSV. Windows: UUID,TITLE,USERNAME,PASSWORD,URL,URLS,...,TAGS,NOTES, then
    "SECTION n: ID" (a section's title) and "ID n: LABEL" columns. Mac: "Title","Type",
    "Username","Password","URL","Notes","Tags" ({( "a", "b" )}), "First One-time Password" and
    "label(key)" columns, quotes inside values escaped with a backslash."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("that file is neither a 1PUX nor a UTF-8 1Password CSV") from None
    mac = text.split("\n", 1)[0].count("(") > 3
    rows = csv_rows(text, escapechar="\\" if mac else None)
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
                login_item(
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

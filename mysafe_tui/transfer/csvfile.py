"""CSV as browsers and Bitwarden write it, or any CSV with `columns` naming its columns."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlsplit

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.transfer.common import (
    MAX_COLUMNS,
    MAX_NODES,
    Candidate,
    More,
    Report,
    login_item,
)

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


def csv_rows(text: str, escapechar: str | None = None) -> list[list[str]]:
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


def read_csv(data: bytes, columns: list[str] | None) -> tuple[list[Candidate], Report]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("that CSV is not UTF-8 text (export it again as UTF-8)") from None
    rows = csv_rows(text)
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
            login_item(
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

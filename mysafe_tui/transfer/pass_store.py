"""A pass store (password-store): one gpg file per entry, decrypted by the user's own gpg;
the first line is the password, `key: value` lines map to fields, the rest is the note."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.models import ItemKind
from mysafe_tui.transfer.common import (
    Candidate,
    More,
    Report,
    login_item,
)

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
            login_item(
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

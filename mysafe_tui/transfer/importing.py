"""Reading other password managers' exports as mysafe items, with a report of everything that
did not fit: never a silent drop.

Pure: bytes in, `Candidate` items and a `Report` out; the service checks and writes them in one
transaction. Formats: KeePass (KDBX through pykeepass, and KeePass 2 XML), Bitwarden's JSON
export (plain or password-protected), 1Password's 1PUX, a pass store (`read_pass_store`), and
CSV as browsers and Bitwarden write it (or any CSV with `columns` naming its columns).

Custom fields, more URLs, old passwords and attachments come along (core/extras.py); what
mysafe cannot hold (passkeys, expiry dates, Bitwarden's linked fields, attachments an export
leaves out) is listed by item and field name. Bitwarden's SSH keys come in as SSH keys (kept
out of the SSH agent until `mysafe ssh-key NAME --agent yes`), and so do 1Password's SSH keys
and KeePassXC entries that its SSH agent used (KeeAgent.settings; decrypted with the entry's
password); a card or an identity becomes a secure note with one labelled line per field, as
the report says; so does a login without a username or a password (a mysafe login needs both).
"""

from __future__ import annotations

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.transfer.bitwarden import read_bitwarden
from mysafe_tui.transfer.common import (
    MAX_BYTES,
    Candidate,
    NeedsPassword,
    Report,
    warn_about,
)
from mysafe_tui.transfer.csvfile import read_csv
from mysafe_tui.transfer.keepass import read_kdbx, read_keepass_xml
from mysafe_tui.transfer.onepassword import read_1password_csv, read_1pux
from mysafe_tui.transfer.pass_store import read_pass_store

FORMATS = ("1password", "bitwarden", "csv", "keepass", "pass")
# What the service uses: one reader per format behind `read`, and the pass store by folder.
__all__ = [
    "FORMATS",
    "MAX_BYTES",
    "Candidate",
    "NeedsPassword",
    "Report",
    "read",
    "read_pass_store",
]


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
        found, report = read_bitwarden(data, password)
    elif format == "csv":
        found, report = read_csv(data, columns)
    elif format == "1password":  # a 1PUX is a zip; 1Password 7 wrote CSV
        found, report = read_1pux(data) if data.startswith(b"PK") else read_1password_csv(data)
    elif format == "keepass":
        is_xml = data.lstrip()[:1] == b"<" or data.startswith(b"\xef\xbb\xbf")
        found, report = read_keepass_xml(data) if is_xml else read_kdbx(data, password, key_file)
    else:
        raise InvalidInput(f"unknown format {format!r}: {', '.join(FORMATS)}")
    warn_about(found, report)
    return found, report

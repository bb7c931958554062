"""The one sanitiser for text that came from outside (DESIGN.md §9).

Names, notes, file names and fields from a server, a share link, an import or another user are
data, never control. Four jobs, one table of what is dangerous:

- `printable(text)`: text about to be shown to a person (CLI or UI). C0/C1 controls, DEL, the
  bidirectional overrides and lone surrogates are shown escaped (`\\x1b`, `\\u202e`), so an
  escape sequence can never act on the terminal and nothing reorders what is read.
- `safe_filename(name)`: a file name chosen by someone else becomes one safe base name.
- `forbidden_char(text)`: the first character a server must refuse in a stored field.
- `whole_text(text)`: lone surrogates (valid JSON, not Unicode) from a server become U+FFFD.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional controls: they reorder what follows on screen ("exe.txt" shown for "txt.exe").
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Line and paragraph separators: some terminals and editors break lines at them.
SEPARATORS = "\u2028\u2029"
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1
_SURROGATES = "\ud800-\udfff"  # only lone ones survive decoding: unprintable, unencodable

# What may not reach a terminal as it is: in a note's body, and on one line (tab, newline too).
UNSAFE_MULTILINE = re.compile(f"[{_CONTROLS}{BIDI}{SEPARATORS}{_SURROGATES}]")
_UNSAFE_LINE = re.compile(f"[\t\n{_CONTROLS}{BIDI}{SEPARATORS}{_SURROGATES}]")
LONE_SURROGATE = re.compile(f"[{_SURROGATES}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

MAX_FILENAME_BYTES = 200


def escape_char(char: str) -> str:
    """How one unsafe character is shown: `\\x1b`, `\\u202e`, `\\n`."""
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """`text` safe to show on a terminal: every control, bidi override and lone surrogate is
    replaced by its visible escape. `multiline` keeps newlines and tabs (a note's body)."""
    pattern = UNSAFE_MULTILINE if multiline else _UNSAFE_LINE
    if pattern.search(text) is None:  # the common case costs one scan
        return text
    return pattern.sub(lambda m: escape_char(m.group()), text)


def is_plain(text: str) -> bool:
    """Whether `printable(text)` would return `text` as it is (one scan, no copy)."""
    return _UNSAFE_LINE.search(text) is None


def whole_text(text: str) -> str:
    """`text` with every lone surrogate (valid in JSON, not in Unicode: it can be neither
    stored nor shown) replaced by U+FFFD."""
    return LONE_SURROGATE.sub("\ufffd", text)


def forbidden_char(text: str, *, multiline: bool = False) -> str | None:
    """The first character a stored field may not hold (its visible escape), or None.

    Newlines and tabs are allowed only in multi-line fields (notes)."""
    found = (UNSAFE_MULTILINE if multiline else _UNSAFE_LINE).search(text)
    return None if found is None else escape_char(found.group())


def safe_filename(name: str, fallback: str = "file") -> str:
    """One base name that stays in the directory it is written to.

    Everything up to the last `/` or `\\` is dropped (a sender's `../../x` or `/etc/x` becomes
    `x`), controls and bidi overrides are removed, leading `~`, `-`, `.` and spaces go (no
    hidden, option-like or home-relative names), the length is capped at 200 bytes keeping the
    extension, and an empty result becomes `fallback`."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_LINE.sub("", name).strip()
    name = name.lstrip("~-. ").rstrip(". ")
    if len(name.encode()) > MAX_FILENAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and 0 < len(ext.encode()) <= 16 else ""
        budget = MAX_FILENAME_BYTES - len(ext.encode()) - (1 if ext else 0)
        stem = (stem if ext else name).encode()[:budget].decode(errors="ignore")
        name = f"{stem}.{ext}" if ext else stem
    return name or fallback

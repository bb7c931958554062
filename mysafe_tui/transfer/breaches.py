"""Have I Been Pwned's Pwned Passwords, read from a local copy: which SHA-1 hashes it holds.

Two layouts, both as published:

- a folder of range files, as the official downloader writes them (`haveibeenpwned-downloader
  DIR -s false`): one file per five-hex-digit prefix (`0A1B2.txt`, or without `.txt`), lines
  `SUFFIX:COUNT` (the other 35 hex digits);
- one file of `SHA1:COUNT` lines sorted by hash (the downloader's single file, or the older
  "ordered by hash" download), read by binary search with seeks: a 40 GB file costs a few
  dozen reads per hash, never a load.

Lines may end in CRLF; hex digits are compared in upper case. What is looked up is only ever a
hash this process computed; a breach file is input from outside like any other, so every read
is bounded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from mysafe_tui.core.errors import InvalidInput

HASH_LEN = 40
PREFIX_LEN = 5
MAX_RANGE_FILE = 16 * 1024 * 1024  # a real range file is ~40 KiB
_BLOCK = 8192  # the binary search stops at this span and reads it whole
_SHARED_SPAN = 1 << 20
_MAX_LINE = 128  # "SHA1:COUNT" is under 60 characters; a longer line is not this format


class BreachData(Protocol):
    """Where breach counts come from: `counts` maps each hash found to its count."""

    source: str  # for the report: "folder", "file" or "online"

    def counts(self, hashes: Iterable[str]) -> dict[str, int]: ...


def open_local(path: Path) -> BreachData:
    """The breach data at `path`: a folder of range files or one sorted file."""
    if path.is_dir():
        return RangeFolder(path)
    if path.is_file():
        return SortedFile(path)
    raise InvalidInput(f"no breach data at {path} (a folder of range files or a sorted file)")


class RangeFolder:
    """A folder of `PREFIX[.txt]` files holding `SUFFIX:COUNT` lines."""

    source = "folder"

    def __init__(self, path: Path) -> None:
        names = {name.upper().removesuffix(".TXT"): name for name in os.listdir(path)}
        self._files = {k: path / v for k, v in names.items() if _is_hex(k, PREFIX_LEN)}
        if not self._files:
            raise InvalidInput(f"{path} holds no range files (00000.txt ... FFFFF.txt)")

    def counts(self, hashes: Iterable[str]) -> dict[str, int]:
        wanted: dict[str, list[str]] = {}
        for digest in hashes:
            wanted.setdefault(digest[:PREFIX_LEN].upper(), []).append(digest.upper())
        found: dict[str, int] = {}
        for prefix, digests in wanted.items():
            path = self._files.get(prefix)
            if path is None:
                continue
            data = b"\n" + _read_bounded(path, MAX_RANGE_FILE).upper()
            for digest in digests:
                count = _count_after(data, b"\n" + digest[PREFIX_LEN:].encode() + b":")
                if count:
                    found[digest] = count
        return found


class SortedFile:
    """One file of `SHA1:COUNT` lines in ascending order of hash."""

    source = "file"

    def __init__(self, path: Path) -> None:
        self._path = path
        with open(path, "rb") as handle:
            first = handle.readline(_MAX_LINE)
        if not (
            _is_hex(first[:HASH_LEN].decode("ascii", "replace"), HASH_LEN)
            and first[HASH_LEN : HASH_LEN + 1] == b":"
        ):
            raise InvalidInput(f"{path} is not a Pwned Passwords file (SHA1:COUNT lines)")

    def counts(self, hashes: Iterable[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        with open(self._path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            probed: dict[int, bytes] = {}  # the first steps of every search are the same
            for digest in sorted({h.upper() for h in hashes}):
                count = _search(handle, size, digest.encode(), probed)
                if count:
                    found[digest] = count
        return found


def _search(f: BinaryIO, size: int, target: bytes, probed: dict[int, bytes]) -> int:
    """Binary search by byte offset: `low` always lies inside or before a line whose hash is
    below `target` (or is 0), so the line holding `target`, if any, starts after it.
    `probed` keeps the hash of the first whole line after each offset looked at."""
    low, high = 0, size
    while high - low > _BLOCK:
        middle = (low + high) // 2
        line = probed.get(middle)
        if line is None:
            f.seek(middle)
            f.readline(_MAX_LINE)  # the rest of the line `middle` falls in
            line = f.readline(_MAX_LINE)[:HASH_LEN].upper()
            if high - low > _SHARED_SPAN:  # a step many searches take: a few hundred at most
                probed[middle] = line
        if line and line < target:
            low = middle
        else:
            high = middle
    f.seek(low)
    block = f.read(high - low + 2 * _MAX_LINE)  # the span, and the line that starts after it
    if low == 0:
        block = b"\n" + block
    return _count_after(block.upper(), b"\n" + target + b":")


def _count_after(data: bytes, marker: bytes) -> int:
    """The COUNT after `marker` (a line's start and hash) in `data`, or 0."""
    at = data.find(marker)
    if at < 0:
        return 0
    start = at + len(marker)
    end = start
    while end < len(data) and data[end : end + 1].isdigit() and end - start < 20:
        end += 1
    return int(data[start:end]) if end > start else 0


def _read_bounded(path: Path, limit: int) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"{path} is larger than a range file can be ({limit} bytes)")
    return data


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789ABCDEFabcdef" for c in text)

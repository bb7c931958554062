"""Sizes and times as people read them: one wording for the CLI and every screen."""

from __future__ import annotations

import time
from pathlib import Path


def size(count: float) -> str:
    """`532 B`, `4.2 KiB`, `1.0 GiB`."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return ""


def moment(when: float) -> str:
    """`2026-12-01 21:08`, local time."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(when))


def ago(when: float | None, *, compact: bool = False, now: float | None = None) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 days ago` (`5m ago`... when `compact`, for a
    narrow column); `never` for no time at all."""
    if not when:
        return "never"
    seconds = max(0, int((time.time() if now is None else now) - when))
    if seconds < 60:
        return "just now"
    for length, word, short in ((86400, " days", "d"), (3600, " h", "h"), (60, " min", "m")):
        if seconds >= length:
            amount = seconds // length
            unit = short if compact else (" day" if word == " days" and amount == 1 else word)
            return f"{amount}{unit} ago"
    return "just now"


def home_relative(path: Path) -> str:
    """`~/.local/share/mysafe/default.mysafe` for a path in the home folder, as a shell
    shows it (shorter on an 80-column screen); any other path as it is."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # elsewhere, or no home to speak of
        return str(path)

"""A QR code drawn with half blocks: two modules per character cell, dark on light."""

from __future__ import annotations

import segno
from rich.text import Text


def qr_text(data: str, quiet_zone: int = 2) -> Text:
    """`data` as a QR code a phone can scan off the screen (error level L keeps it small)."""
    matrix = segno.make(data, error="l").matrix
    size = len(matrix)
    rows = [[False] * (size + 2 * quiet_zone) for _ in range(quiet_zone)]
    for row in matrix:
        rows.append([False] * quiet_zone + [bool(cell) for cell in row] + [False] * quiet_zone)
    rows += [[False] * (size + 2 * quiet_zone) for _ in range(quiet_zone + 1)]
    text = Text(style="black on white", no_wrap=True)
    for top, bottom in zip(rows[0::2], rows[1::2], strict=False):
        for upper, lower in zip(top, bottom, strict=True):
            text.append("█" if upper and lower else "▀" if upper else "▄" if lower else " ")
        text.append("\n")
    text.rstrip()
    return text

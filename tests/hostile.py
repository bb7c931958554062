"""The hostile corpus: text another person can put in a name, a note, a file name or a label.

Every surface that shows or stores such text is tried with all of it (test_hostile.py). Kept
as code, not a data file: most entries are control characters that editors and diffs mangle.
"""

from __future__ import annotations

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"

# Each of these, reaching a terminal raw, does something: set the clipboard, clear the screen,
# retitle the window, plant a link, start a device control string...
SEQUENCES = [
    f"{ESC}]52;c;aGFja2Vk{BEL}",  # OSC 52: set the reader's clipboard
    f"{ESC}]52;c;aGFja2Vk{ST}",
    f"{ESC}]52;c;?{BEL}",  # OSC 52 query: read it back
    f"{ESC}]8;;https://evil.example/{ST}click{ESC}]8;;{ST}",  # OSC 8 hyperlink
    f"{ESC}]0;owned{BEL}",  # window title
    f"{ESC}]2;owned{ST}",
    f"{ESC}[2J",  # clear screen
    f"{ESC}[H{ESC}[2J{ESC}[3J",
    f"{ESC}[31mred{ESC}[0m",
    f"{ESC}[?1049h",  # alternate screen
    f"{ESC}[?25l",  # hide the cursor
    f"{ESC}[6n",  # cursor position report: the terminal types an answer
    f"{ESC}[21t",  # report the window title
    f'{ESC}P$q"p{ST}',  # DCS request
    f"{ESC}Ptmux;{ESC}{ESC}]52;c;aGFja2Vk{BEL}{ST}",  # tmux passthrough
    f"{ESC}_Gf=100;AAAA{ST}",  # APC (kitty graphics)
    f"{ESC}^privacy message{ST}",  # PM
    f"{ESC}Xstart of string{ST}",  # SOS
    f"{ESC}c",  # full reset
    f"{ESC}#8",  # screen alignment test: fills the screen with E
    "\x9b2J",  # 8-bit CSI
    "\x9d52;c;aGFja2Vk\x9c",  # 8-bit OSC ... ST
    "\x90q\x9c",  # 8-bit DCS
    "line one\rOVERWRITTEN",
    "back\b\b\b\bspace",
    "bell\x07\x07",
]
BIDI = [chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
MARKUP = [
    "a[/]b",
    "[b]x[/b] runbook",
    "[x]",
    "[@click=app.quit]quit[/]",
    "[@click=screen.action_deactivate]x[/]",
    "[link=https://evil.example]here[/link]",
    "[red on black]alarm[/]",
    "[/]",
    "[",
    "]",
    "\\[escaped]",
    "[bold",
    ":smile: :thumbs_up:",
    "$accent $error",
    "%s %d {0} {name}",
    "[$warning]▲[/]",
]
PATHS = [
    "../../x",
    "../../../../../../etc/passwd",
    "/abs/evil.sh",
    "~/x",
    "~root/.ssh/authorized_keys",
    "..\\..\\x.bat",
    "C:\\Windows\\evil.dll",
    "-rf",
    "--force",
    ".",
    "..",
    "...",
    ".bashrc",
    "a/b/c",
    "x\x00y",
    "/",
    "",
    " ",
    "name\nwith newline",
    "trailing dot.",
    "con",
    "a" * 300 + ".txt",
    "é" * 150 + ".pdf",
]
OTHER = [
    "\x00",
    "nul\x00inside",
    "\ud800",  # lone surrogates: unprintable and unencodable
    "a\udfffb",
    "e\u0301 combining",
    "Z\u0337\u0327\u031b\u0300\u0301\u0302\u0303\u0304\u0305\u0306 zalgo",
    "\u2028line separator",
    "\u2029paragraph separator",
    "tab\there",
    "\x7f delete",
    "😀 emoji 👩‍👩‍👧",
    "漢字 wide",
    "x" * 10_000,
]

CORPUS: list[str] = [
    *SEQUENCES,
    *(f"a{s}b" for s in SEQUENCES),
    *(f"a{chr(c)}b" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))),
    *(f"exe.{b}txt" for b in BIDI),
    *BIDI,
    *(f"../{s}/x" for s in SEQUENCES[:8]),  # a path and a sequence at once
    *ZERO_WIDTH,
    *MARKUP,
    *PATHS,
    *OTHER,
]

# What must never reach a terminal from any of it: ESC, the C0/C1 controls but newline and
# tab, DEL, and the bidi overrides (a lone surrogate cannot even be encoded).
FORBIDDEN_ON_SCREEN = {
    *(chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))),
    *BIDI,
    "\u2028",
    "\u2029",
}


def raw_controls(text: str) -> list[str]:
    """The forbidden characters present in `text` (empty when it is safe to show)."""
    return sorted({c for c in text if c in FORBIDDEN_ON_SCREEN or "\ud800" <= c <= "\udfff"})

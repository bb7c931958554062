"""Terminal input for the CLI: passphrases and secrets never come from argv (ps, history).

Sources, in order: a file named by a flag or environment variable, standard input when it is
not a terminal, then a hidden prompt on the controlling terminal (/dev/tty), or $EDITOR for
multi-line notes.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from ..core.errors import InvalidInput


class NoTerminal(InvalidInput):
    """A prompt was needed but there is no terminal to show it on."""


def _have_tty() -> bool:
    try:
        with open("/dev/tty"):
            return True
    except OSError:
        return False


def read_secret_file(path: str) -> str:
    """The first line of a file (a trailing newline is not part of the secret)."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read passphrase file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"passphrase file {path} is not UTF-8 text") from None
    line = text.split("\n", 1)[0].rstrip("\r")
    if not line:
        raise InvalidInput(f"passphrase file {path} is empty")
    return line


def passphrase(prompt: str, file: str | None) -> str:
    """The vault passphrase from `file` (or $MYSAFE_PASSPHRASE_FILE), else a hidden prompt."""
    source = file or os.environ.get("MYSAFE_PASSPHRASE_FILE")
    if source:
        return read_secret_file(source)
    if not _have_tty():
        raise NoTerminal(
            "no terminal to ask for the passphrase: use --passphrase-file or MYSAFE_PASSPHRASE_FILE"
        )
    return getpass.getpass(prompt)


def hidden_twice(label: str) -> str:
    """Ask twice on the terminal; refuse a mismatch or an empty answer."""
    if not _have_tty():
        raise NoTerminal(f"no terminal to ask for the {label}: pipe it on standard input")
    first = getpass.getpass(f"{label.capitalize()}: ")
    if not first:
        raise InvalidInput(f"the {label} is empty")
    if getpass.getpass(f"Repeat the {label}: ") != first:
        raise InvalidInput(f"the two {label}s differ; nothing was saved")
    return first


def single_line_secret(label: str) -> str:
    """A one-line secret from piped standard input, else asked twice on the terminal."""
    if not sys.stdin.isatty():
        text = sys.stdin.read().rstrip("\r\n")
        if "\n" in text:
            raise InvalidInput(f"the {label} on standard input must be one line")
        if not text:
            raise InvalidInput(f"the {label} on standard input is empty")
        return text
    return hidden_twice(label)


def one_line(label: str) -> str:
    """A one-line value that is not a secret: piped standard input, else asked once, shown."""
    if not sys.stdin.isatty():
        text = sys.stdin.read().rstrip("\r\n")
        if "\n" in text:
            raise InvalidInput(f"the {label} on standard input must be one line")
        return text
    if not _have_tty():
        raise NoTerminal(f"no terminal to ask for the {label}: pipe it on standard input")
    with open("/dev/tty", "r+") as tty:
        tty.write(f"{label[:1].upper()}{label[1:]}: ")
        tty.flush()
        return tty.readline().rstrip("\r\n")


def existing_secret(label: str) -> str:
    """A secret that already exists somewhere (another program's password): the first line
    of piped standard input, else asked once, hidden, on the terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    if not _have_tty():
        raise NoTerminal(f"no terminal to ask for the {label}: pipe it on standard input")
    return getpass.getpass(f"{label[:1].upper()}{label[1:]}: ")


def single_line_secrets(labels: list[str]) -> dict[str, str]:
    """Several one-line secrets: one line each from piped standard input, in order, else each
    asked twice on the terminal."""
    if len(labels) == 1:
        return {labels[0]: single_line_secret(labels[0])}
    if not labels:
        return {}
    if sys.stdin.isatty():
        return {label: hidden_twice(label) for label in labels}
    lines = sys.stdin.read().splitlines()
    if len(lines) != len(labels) or not all(lines):
        raise InvalidInput(
            f"standard input must hold {len(labels)} non-empty lines: the "
            + " then the ".join(labels)
        )
    return dict(zip(labels, lines, strict=True))


def multi_line_text(label: str) -> str:
    """Piped standard input as is, else $VISUAL/$EDITOR on a private temporary file."""
    if not sys.stdin.isatty():
        text = sys.stdin.read()
        if not text.strip():
            raise InvalidInput(f"the {label} on standard input is empty")
        return text.removesuffix("\n")
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise InvalidInput(f"set $EDITOR to write the {label}, or pipe it on standard input")
    # /dev/shm keeps the plaintext off the disk where it exists.
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="mysafe-", dir=base) as folder:
        path = Path(folder) / "note.txt"
        path.touch(mode=0o600)
        try:
            subprocess.run([*shlex.split(editor), str(path)], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise InvalidInput(f"the editor failed ({exc}); nothing was saved") from None
        text = path.read_text()
        with contextlib.suppress(OSError):
            path.write_bytes(b"\0" * len(text.encode()))
    if not text.strip():
        raise InvalidInput(f"the {label} is empty; nothing was saved")
    return text.removesuffix("\n")


def confirm(question: str) -> bool:
    if not _have_tty():
        raise NoTerminal(f"{question} needs a terminal to confirm: pass --yes")
    with open("/dev/tty", "r+") as tty:
        tty.write(f"{question} [y/N] ")
        tty.flush()
        return tty.readline().strip().lower() in ("y", "yes")

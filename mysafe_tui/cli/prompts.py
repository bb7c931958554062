"""Terminal input for the CLI: passphrases and secrets never come from argv (ps, history).

Sources, in order: a file named by a flag or environment variable, standard input when it is
not a terminal, then a hidden prompt on the controlling terminal (/dev/tty), or $EDITOR for
multi-line notes.

Every prompt on the terminal goes through `ask`: Ctrl-C or Ctrl-D there ends the command at
once (rc 130) with the terminal as it was, whatever else the process is doing; a hidden answer
is never echoed, not even after an interrupted prompt.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from mysafe_tui.core.errors import InvalidInput


class NoTerminal(InvalidInput):
    """A prompt was needed but there is no terminal to show it on."""


INTERRUPTED = 130  # the exit code of a command stopped by Ctrl-C (128 + SIGINT), as a shell's
ANSWER_LIMIT = 4096  # a terminal's line is at most this long (Linux keeps 4095 and the newline)


def ask(prompt: str, *, hidden: bool) -> str:
    """One line from the controlling terminal (/dev/tty), echoed or not. Ctrl-C (SIGINT) or
    Ctrl-D (end of input) leaves the process now with rc 130: the line read so far is dropped
    and the terminal's modes are restored first."""
    fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    try:
        with _line_mode(fd, hidden):
            os.write(fd, prompt.encode())
            line = _read_line(fd)
            if hidden and line is not None:
                os.write(fd, b"\n")  # the Enter was not echoed either
    finally:
        os.close(fd)
    if line is None:
        _leave(fd=None, why="cancelled (end of input)")  # Ctrl-D
    return line


def _read_line(fd: int) -> str | None:
    """One line; None for Ctrl-D. In line mode a read ends at the newline or at Ctrl-D, which
    hands over what was typed so far without one (or nothing, at end of input)."""
    data = os.read(fd, ANSWER_LIMIT)
    if not data.endswith(b"\n"):
        return None
    return data.decode("utf-8", "replace").rstrip("\r\n")


@contextlib.contextmanager
def _line_mode(fd: int, hidden: bool) -> Iterator[None]:
    """Canonical input (the terminal's own line editing), echo off when `hidden`, signals
    on; Ctrl-C exits from any state. Restored afterwards, and before an exit."""
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[3] |= termios.ICANON | termios.ISIG
    if hidden:
        mode[3] &= ~termios.ECHO
    previous = _on_interrupt(lambda *_: _leave(fd, saved))
    try:
        # TCSAFLUSH, as getpass: what was typed before the prompt showed (and so was echoed)
        # is not taken as the answer.
        termios.tcsetattr(fd, termios.TCSAFLUSH if hidden else termios.TCSANOW, mode)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _on_interrupt(handler: Any) -> Any:
    """Install a SIGINT handler; the previous one, or None off the main thread (where only
    the main thread's handler can run, and it is not ours to change)."""
    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:
        return None


def _leave(fd: int | None, saved: list[Any] | None = None, why: str = "interrupted") -> NoReturn:
    """Ctrl-C or Ctrl-D at a prompt: the terminal as it was, one line, rc 130, now (a
    thread still deriving a key is not waited for)."""
    if fd is not None and saved is not None:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)
    with contextlib.suppress(OSError):
        sys.stdout.flush()
        os.write(sys.stderr.fileno(), f"\nmysafe: {why}\n".encode())
    os._exit(INTERRUPTED)


@contextlib.contextmanager
def unseen_typing() -> Iterator[None]:
    """Echo off on standard input until the end of the block, input kept: keys typed while
    the full-screen UI starts (a passphrase typed ahead) wait for it unseen. What the
    terminal echoed before this could run is wiped from the screen, where it would stay
    after the UI has gone."""
    fd = sys.stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
        lines = _pending(fd)  # line mode: the bytes of the whole lines typed ahead
    except (OSError, termios.error, ValueError):
        yield
        return
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ECHO | termios.ICANON)
    mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    if saved[3] & termios.ECHO:  # the terminal echoed what was typed ahead: wipe it
        with contextlib.suppress(OSError):
            _wipe_echo(lines, _pending(fd))  # now every byte typed ahead counts
    try:
        yield
    finally:  # the UI restores what it found (echo off): the person's own modes come back
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _pending(fd: int) -> int:
    import struct

    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])


def _wipe_echo(lines: int, pending: int) -> None:
    """Keys typed before echo went off were echoed from the start of the line below the
    command: `lines` bytes ending in an Enter (a new line on screen), then the rest. Clear
    from that line down; the keys stay queued for the UI."""
    if pending <= 0:
        return
    width = max(os.get_terminal_size(sys.stdout.fileno()).columns, 1)
    rows = (max(lines - 1, 0) // width + 1 if lines else 0) + (pending - lines) // width
    up = f"\x1b[{rows}A" if rows else ""
    os.write(sys.stdout.fileno(), f"{up}\r\x1b[J".encode())


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
    return ask(prompt, hidden=True)


def hidden_twice(label: str) -> str:
    """Ask twice on the terminal; refuse a mismatch or an empty answer."""
    if not _have_tty():
        raise NoTerminal(f"no terminal to ask for the {label}: pipe it on standard input")
    first = ask(f"{label.capitalize()}: ", hidden=True)
    if not first:
        raise InvalidInput(f"the {label} is empty")
    if ask(f"Repeat the {label}: ", hidden=True) != first:
        raise InvalidInput(f"the two {label}s differ; nothing was saved")
    return first


def single_line_secret(label: str) -> str:
    """A one-line secret from piped standard input (once, or twice as the prompt asks for
    it), else asked twice on the terminal."""
    if not sys.stdin.isatty():
        text = sys.stdin.read().rstrip("\r\n")
        lines = text.split("\n")
        if len(lines) == 2 and lines[0].rstrip("\r") == lines[1]:
            text = lines[1]  # `printf '%s\n%s\n' "$PW" "$PW"`: the prompt's twice, piped
        elif len(lines) > 1:
            raise InvalidInput(
                f"the {label} on standard input must be one line (or the same line twice)"
            )
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
    return ask(f"{label[:1].upper()}{label[1:]}: ", hidden=False)


def existing_secret(label: str) -> str:
    """A secret that already exists somewhere (another program's password): the first line
    of piped standard input, else asked once, hidden, on the terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    if not _have_tty():
        raise NoTerminal(f"no terminal to ask for the {label}: pipe it on standard input")
    return ask(f"{label[:1].upper()}{label[1:]}: ", hidden=True)


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
    return ask(f"{question} [y/N] ", hidden=False).strip().lower() in ("y", "yes")

"""Clipboard backends and the copy-then-clear policy (DESIGN.md §6).

`system` uses the desktop clipboard through pyperclip; `osc52` sends the text to the terminal
as an OSC 52 escape sequence, which reaches the clipboard of the machine the user sits at, even
over SSH (wrapped for tmux passthrough inside tmux); `off` refuses. `auto` picks OSC 52 over SSH
or when no system clipboard works.

The clipboard never keeps the copied secret: it remembers a hash, so the clear-after timer can
tell whether the clipboard still holds what we put there.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from .errors import MySafeError


class ClipboardUnavailable(MySafeError):
    """No clipboard can be used (turned off, or no mechanism on this machine)."""


class Backend(Protocol):
    name: str

    def set(self, text: str) -> None: ...

    def get(self) -> str | None: ...


class SystemBackend:
    """The desktop clipboard (X11/Wayland/macOS/Windows) through pyperclip."""

    name = "system"

    def set(self, text: str) -> None:
        import pyperclip

        try:
            pyperclip.copy(text)
        except pyperclip.PyperclipException as exc:
            raise ClipboardUnavailable(f"no system clipboard: {exc}") from None

    def get(self) -> str | None:
        import pyperclip

        try:
            return str(pyperclip.paste())
        except pyperclip.PyperclipException:
            return None

    @classmethod
    def works(cls) -> bool:
        import pyperclip

        try:
            pyperclip.paste()
            return True
        except pyperclip.PyperclipException:
            return False


def _write_tty(data: str) -> None:
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(data)
            tty.flush()
    except OSError as exc:
        raise ClipboardUnavailable(
            f"no terminal to send the clipboard to ({exc.strerror})"
        ) from None


class Osc52Backend:
    """The terminal's clipboard via OSC 52: works over SSH, in tmux (passthrough) and locally."""

    name = "osc52"

    def __init__(
        self, write: Callable[[str], None] = _write_tty, env: Mapping[str, str] = os.environ
    ) -> None:
        self._write = write
        self._in_tmux = bool(env.get("TMUX"))

    def sequence(self, text: str) -> str:
        payload = base64.b64encode(text.encode()).decode()
        seq = f"\x1b]52;c;{payload}\x07"
        if self._in_tmux:  # tmux forwards DCS passthrough with every ESC doubled
            seq = "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
        return seq

    def set(self, text: str) -> None:
        self._write(self.sequence(text))

    def get(self) -> str | None:
        return None  # terminals rarely allow reading it back; we cannot check


class OffBackend:
    name = "off"

    def set(self, text: str) -> None:
        raise ClipboardUnavailable("copying is turned off in settings (clipboard: off)")

    def get(self) -> str | None:
        return None


def choose_backend(setting: str, env: Mapping[str, str] = os.environ) -> Backend:
    """The backend for a settings value: auto, system, osc52 or off."""
    if setting == "off":
        return OffBackend()
    if setting == "system":
        return SystemBackend()
    if setting == "osc52":
        return Osc52Backend(env=env)
    over_ssh = bool(env.get("SSH_TTY") or env.get("SSH_CONNECTION"))
    if not over_ssh and SystemBackend.works():
        return SystemBackend()
    return Osc52Backend(env=env)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class Clipboard:
    """Copy a secret, then clear it after `clear_seconds` (restarted by every copy)."""

    def __init__(
        self,
        backend: Backend,
        clear_seconds: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.clear_seconds = clear_seconds
        self._clock = clock
        self._deadline: float | None = None
        self._digest: bytes | None = None

    @property
    def seconds_left(self) -> int | None:
        if self._deadline is None:
            return None
        return max(0, round(self._deadline - self._clock()))

    def copy(self, text: str, label: str) -> str:
        """Copy and arm the clear timer; returns an honest sentence about what happened."""
        self.backend.set(text)
        self._digest = _digest(text)
        self._deadline = self._clock() + self.clear_seconds
        if self.backend.name == "osc52":
            return (
                f"{label} sent to your terminal's clipboard (OSC 52) — "
                f"clears in {self.clear_seconds} s"
            )
        return f"{label} copied — clears in {self.clear_seconds} s"

    def tick(self) -> bool:
        """Clear if the deadline passed. True when a clear happened now."""
        if self._deadline is not None and self._clock() >= self._deadline:
            return self.clear_now()
        return False

    def clear_now(self) -> bool:
        """Clear what we copied (lock, quit). The system clipboard is cleared only if it still
        holds our text: something the user copied since is left alone."""
        if self._digest is None:
            return False
        digest, self._digest, self._deadline = self._digest, None, None
        try:
            if self.backend.name == "osc52":
                self.backend.set("")
                return True
            current = self.backend.get()
            if current is not None and _digest(current) == digest:
                self.backend.set("")
                return True
        except ClipboardUnavailable:
            pass
        return False

"""Clipboard backends and the copy-then-clear policy (DESIGN.md §6).

`system` uses the desktop clipboard through pyperclip; `osc52` sends the text to the terminal
as an OSC 52 escape sequence, which reaches the clipboard of the machine the user sits at, even
over SSH; inside tmux, tmux itself carries it (`load-buffer -w`). `off` refuses. `auto` picks
the terminal's clipboard over SSH or when no system clipboard works.

The clipboard never keeps the copied secret: it remembers a hash, so the clear-after timer can
tell whether the clipboard still holds what we put there.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from mysafe_tui.core.errors import MySafeError


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


# What a clear sends in place of the secret. Not an empty payload: tmux ignores an empty
# OSC 52, so the secret would stay in its paste buffer and the outer clipboard. One space is
# valid base64 content every terminal accepts, and harmless when pasted.
CLEARED = " "
# OSC 52 payloads beyond ~100 kB are cut or refused by terminals (xterm, tmux): say so instead.
MAX_OSC52_BYTES = 100_000
SSH_HINT = "nothing arrived? a tmux on your own machine needs 'set -g set-clipboard on'"
PASSTHROUGH_FIX = "add 'set -g allow-passthrough on' to ~/.tmux.conf (or use tmux 3.2 or later)"


def _fits_a_terminal(text: str) -> None:
    if len(text.encode()) > MAX_OSC52_BYTES:
        raise ClipboardUnavailable(
            f"too large for the terminal's clipboard (over {MAX_OSC52_BYTES // 1000} kB)"
        )


def _over_ssh(env: Mapping[str, str]) -> bool:
    return bool(env.get("SSH_TTY") or env.get("SSH_CONNECTION"))


class Osc52Backend:
    """The terminal's clipboard via OSC 52: works over SSH and locally. Inside tmux it is
    wrapped for passthrough (the fallback when tmux itself cannot carry it, see TmuxBackend)."""

    name = "osc52"

    def __init__(
        self, write: Callable[[str], None] = _write_tty, env: Mapping[str, str] = os.environ
    ) -> None:
        self._write = write
        self._in_tmux = bool(env.get("TMUX"))
        self._over_ssh = _over_ssh(env)

    def sequence(self, text: str) -> str:
        payload = base64.b64encode(text.encode()).decode()
        seq = f"\x1b]52;c;{payload}\x07"
        if self._in_tmux:  # tmux forwards DCS passthrough with every ESC doubled
            seq = "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
        return seq

    def set(self, text: str) -> None:
        _fits_a_terminal(text)
        self._write(self.sequence(text))

    def get(self) -> str | None:
        return None  # terminals rarely allow reading it back; we cannot check

    def clear(self) -> str:
        self._write(self.sequence(CLEARED))
        return "Clipboard cleared (a space sent in its place)"

    def copied(self, label: str) -> str:
        hint = f"; {SSH_HINT}" if self._over_ssh and not self._in_tmux else ""
        return f"{label} sent to your terminal's clipboard (OSC 52{hint})"


def _tmux(*args: str, text: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """One tmux command for the tmux this process runs in ($TMUX names its socket); the text
    goes on standard input, never on the command line."""
    return subprocess.run(
        ["tmux", *args],
        input=None if text is None else text.encode(),
        capture_output=True,
        timeout=5,
        check=False,
    )


class TmuxBackend:
    """Inside tmux: the copy goes into a tmux buffer of our own, with `-w` so that tmux sends
    it to the clipboard of the terminal it is shown in (OSC 52, tmux 3.2+). That works with
    tmux's default `set-clipboard external`, where an application's own OSC 52 is dropped; and
    the clear can delete that buffer, which a plain OSC 52 would leave behind in tmux.

    Where tmux cannot (older than 3.2, or no client attached) the OSC 52 is sent wrapped for
    passthrough, but only if `allow-passthrough` is on: otherwise the copy is refused with the
    one line that fixes it, never reported as sent."""

    name = "tmux"
    BUFFER = "mysafe"

    def __init__(
        self,
        run: Callable[..., subprocess.CompletedProcess[bytes]] = _tmux,
        write: Callable[[str], None] = _write_tty,
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self._run = run
        self._osc52 = Osc52Backend(write, env)
        self._passthrough = False  # the last copy went the passthrough way

    def _option(self, name: str) -> str:
        try:
            return self._run("show-options", "-gv", name).stdout.decode().strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    def set(self, text: str) -> None:
        _fits_a_terminal(text)
        try:
            done = self._run("load-buffer", "-w", "-b", self.BUFFER, "-", text=text)
            loaded = done.returncode == 0
        except (OSError, subprocess.SubprocessError):
            loaded = False
        self._passthrough = not loaded
        if loaded:
            return
        if self._option("allow-passthrough") not in ("on", "all"):
            raise ClipboardUnavailable(f"tmux would not pass the copy on: {PASSTHROUGH_FIX}")
        self._osc52.set(text)

    def get(self) -> str | None:
        """Our tmux buffer's content (None when it is gone or tmux cannot say): lets a clear
        leave alone a later copy it did not make."""
        if self._passthrough:
            return None
        try:
            shown = self._run("show-buffer", "-b", self.BUFFER)
        except (OSError, subprocess.SubprocessError):
            return None
        return shown.stdout.decode(errors="replace") if shown.returncode == 0 else None

    def clear(self) -> str:
        if self._passthrough:
            return self._osc52.clear()
        try:  # a space out to the terminal, then our buffer gone from tmux
            self._run("load-buffer", "-w", "-b", self.BUFFER, "-", text=CLEARED)
            gone = self._run("delete-buffer", "-b", self.BUFFER).returncode == 0
        except (OSError, subprocess.SubprocessError):
            gone = False
        if gone:
            return f"Clipboard cleared (and tmux's buffer '{self.BUFFER}' deleted)"
        return f"Clipboard cleared, but tmux's buffer '{self.BUFFER}' could not be deleted"

    def copied(self, label: str) -> str:
        if self._passthrough:
            return f"{label} sent to your terminal's clipboard (OSC 52 through tmux passthrough)"
        return f"{label} sent to your terminal's clipboard through tmux"


class OffBackend:
    name = "off"

    def set(self, text: str) -> None:
        raise ClipboardUnavailable("copying is turned off in settings (clipboard: off)")

    def get(self) -> str | None:
        return None


def choose_backend(
    setting: str,
    env: Mapping[str, str] = os.environ,
    write: Callable[[str], None] | None = None,
) -> Backend:
    """The backend for a settings value: auto, system, osc52 or off. Inside tmux the terminal
    clipboard is reached through tmux itself (TmuxBackend). `write` sends an escape sequence
    to the terminal (default: /dev/tty; a full-screen UI passes its own writer, so that the
    sequence never lands in the middle of a frame)."""
    write = write or _write_tty
    if setting == "off":
        return OffBackend()
    if setting == "system":
        return SystemBackend()
    terminal: Backend = (
        TmuxBackend(write=write, env=env) if env.get("TMUX") else Osc52Backend(write, env=env)
    )
    if setting == "osc52":
        return terminal
    if not _over_ssh(env) and SystemBackend.works():
        return SystemBackend()
    return terminal


def _digest(text: str) -> bytes:
    import hashlib  # ~3 ms with OpenSSL: not at start-up

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
        self._prior: str | None = None

    @property
    def seconds_left(self) -> int | None:
        if self._deadline is None:
            return None
        return max(0, round(self._deadline - self._clock()))

    def copy(self, text: str, label: str) -> str:
        """Copy and arm the clear timer; returns an honest sentence about what happened."""
        terminal = isinstance(self.backend, Osc52Backend | TmuxBackend)
        if self._digest is None and not terminal:  # what to put back when the time is up
            self._prior = self.backend.get()
        self.backend.set(text)
        self._digest = _digest(text)
        self._deadline = self._clock() + self.clear_seconds
        if isinstance(self.backend, Osc52Backend | TmuxBackend):
            return f"{self.backend.copied(label)} — clears in {self.clear_seconds} s"
        return f"{label} copied — clears in {self.clear_seconds} s"

    def handover(self) -> dict[str, object] | None:
        """What a clearer in another process needs to clear this copy later: never the
        copied text itself (its digest), and what to put back. None: nothing pending."""
        if self._digest is None or self._deadline is None:
            return None
        seconds = max(0.0, self._deadline - self._clock())
        return {"digest": self._digest.hex(), "prior": self._prior, "seconds": seconds}

    def take_over(self, state: dict[str, object]) -> None:
        """In the clearer: this copy is now ours to clear (see `handover`)."""
        self._digest = bytes.fromhex(str(state["digest"]))
        prior = state.get("prior")
        self._prior = prior if isinstance(prior, str) else None
        self._deadline = self._clock()

    def tick(self) -> str | None:
        """Clear if the deadline passed: what was cleared, when a clear happened now."""
        if self._deadline is not None and self._clock() >= self._deadline:
            return self.clear_now()
        return None

    def clear_now(self) -> str | None:
        """Clear what we copied (lock, quit); say what was cleared, None if nothing was.
        The system clipboard is touched only if it still holds our text (something the user
        copied since is left alone), and then gets back what it held before the first copy.
        A terminal's clipboard cannot be read: it is always overwritten."""
        if self._digest is None:
            return None
        digest, self._digest, self._deadline = self._digest, None, None
        prior, self._prior = self._prior, None
        try:
            if isinstance(self.backend, TmuxBackend):
                current = self.backend.get()  # a later copy (another `mysafe copy`) stays
                if current is not None and _digest(current) != digest:
                    return None
            if isinstance(self.backend, Osc52Backend | TmuxBackend):
                return self.backend.clear()
            current = self.backend.get()
            if current is not None and _digest(current) == digest:
                self.backend.set(prior or "")
                return "Clipboard cleared" + (" (what it held before is back)" if prior else "")
        except ClipboardUnavailable:
            pass
        return None

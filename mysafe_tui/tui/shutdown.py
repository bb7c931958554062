"""The UI never outlives its terminal.

The orderly way out on SIGHUP, SIGTERM or a lost terminal runs on the event loop: lock (keys
dropped, clipboard cleared), then exit. It cannot always finish: when the terminal is gone,
Textual's writer thread dies on EIO and its shutdown waits forever to hand that thread the last
frames (seen after `tmux kill-server` with no client attached, and after a dropped SSH link),
and a signal handled on a blocked event loop never runs. So a small thread keeps a lifeline:
once the process is told to go, it has `grace` seconds to do it the orderly way; after that
the thread ends it with `os._exit`. The keys were dropped first, and memory goes with the
process: nothing unlocked remains either way.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Lifeline:
    """Ends the process `grace` seconds after it was told to go, if it is still there.

    `on_lost` is called (from the watching thread) when the controlling terminal disappears
    without a signal; it should start the orderly way out."""

    def __init__(
        self,
        on_lost: Callable[[], object],
        *,
        grace: float = 2.0,
        poll: float = 0.5,
        tty: str = "/dev/tty",
    ) -> None:
        self._on_lost = on_lost
        self._grace = grace
        self._poll = poll
        self._tty = tty
        self._deadline: float | None = None
        self._code = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        """Watch the terminal, and arm on SIGTERM/SIGHUP. Call after the event loop's own
        signal handlers are installed: they keep working (their wake-up fd is process-wide);
        this handler runs in the main thread even while the loop is blocked."""
        for sig in SIGNALS:
            signal.signal(sig, self._signalled)
        threading.Thread(target=self._watch, name="mysafe-lifeline", daemon=True).start()

    def arm(self, code: int) -> None:
        """The process must end: orderly within the grace period, else with `code`."""
        with self._lock:
            if self._deadline is None:
                self._deadline = time.monotonic() + self._grace
                self._code = code

    def _signalled(self, signum: int, frame: FrameType | None) -> None:
        self.arm(128 + signum)

    def _terminal_gone(self) -> bool:
        try:
            fd = os.open(self._tty, os.O_RDWR | os.O_NOCTTY)
        except OSError as exc:
            return exc.errno in (errno.ENXIO, errno.EIO, errno.ENODEV)
        os.close(fd)
        return False

    def _watch(self) -> None:
        while True:
            time.sleep(self._poll)
            if self._deadline is None and self._terminal_gone():
                self.arm(128 + signal.SIGHUP)
                self._on_lost()
            deadline = self._deadline
            if deadline is not None and time.monotonic() >= deadline:
                os._exit(self._code)

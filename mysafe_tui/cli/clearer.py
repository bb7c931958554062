"""The clipboard clearer `mysafe copy` leaves behind: a small detached process that waits out
the clear time, then clears the copy if the clipboard still holds it (as the UI does).

It is handed the copy's digest and what the clipboard held before on standard input, never
the copied text; it runs in its own session, so closing the terminal does not stop it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any


def start(state: dict[str, Any], setting: str) -> None:
    """Leave a clearer running for the copy described by `state` (Clipboard.handover)."""
    tty = ""
    for stream in (sys.stderr, sys.stdout, sys.stdin):
        try:
            tty = os.ttyname(stream.fileno())  # where an OSC 52 clear must go
            break
        except (OSError, ValueError):
            continue
    process = subprocess.Popen(
        [sys.executable, "-m", "mysafe_tui.cli.clearer"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps({**state, "setting": setting, "tty": tty}).encode())
    process.stdin.close()


def _main() -> None:
    from mysafe_tui.system.process import harden

    harden()  # it holds what the clipboard had before: never in a core dump
    state = json.loads(sys.stdin.read())
    sys.stdin.close()
    time.sleep(float(state["seconds"]))
    from mysafe_tui.system.clipboard import Clipboard, choose_backend

    tty = str(state.get("tty") or "")

    def write(sequence: str) -> None:
        if tty:
            with open(tty, "w") as terminal:
                terminal.write(sequence)

    clipboard = Clipboard(choose_backend(str(state["setting"]), write=write))
    clipboard.take_over(state)
    clipboard.clear_now()


if __name__ == "__main__":
    _main()

"""The question of "ask each use" (agent/daemon.py), in a tmux popup over the pane of the
program that asked: `y` signs; anything else, or a minute of nothing, refuses.

Run as `python -m mysafe_tui.agent.confirm` with the question in MYSAFE_QUESTION (never on the
command line tmux's shell reads). A yes is a file it makes at MYSAFE_ANSWER (new, 0600, in the
agent's private folder), not an exit status: a tmux server that dies with the popup open makes
its client exit 0, and that must not read as yes.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import tty

WAIT_SECONDS = 60
NO = 3


def main() -> int:
    question = "".join(c if c.isprintable() else "?" for c in os.environ.get("MYSAFE_QUESTION", ""))
    sys.stdout.write(f"\n  {question}\n\n  Sign? [y/N] ")
    sys.stdout.flush()
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        ready, _, _ = select.select([fd], [], [], WAIT_SECONDS)
        answer = os.read(fd, 1) if ready else b""
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    where = os.environ.get("MYSAFE_ANSWER")
    if answer not in (b"y", b"Y") or not where:
        return NO
    os.close(os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return 0


if __name__ == "__main__":
    sys.exit(main())

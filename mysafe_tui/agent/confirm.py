"""The question of "ask each use" (agent/daemon.py): asked in the vault's open, unlocked UI
(tui/questions.py), else in a tmux popup over the pane of the program that asked (this module,
run there): `y` signs; anything else, or a minute of nothing, refuses.

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
ASK_SECONDS = 75  # the popup's own minute, and room to open it


def ask(vault: str, question: str, pid: int) -> tuple[bool | None, str]:
    """The answer, and where it was given (" (in the UI)", " (in tmux)"); None with ""
    when there was nowhere to ask."""
    said = _ask_in_ui(vault, question)
    if said is not None:
        return said, " (in the UI)"
    said = _ask_in_tmux(f"mysafe: {question}", pid)
    return said, "" if said is None else " (in tmux)"


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


def _ask_in_ui(vault: str, question: str) -> bool | None:
    """The answer to `question` in this vault's open, unlocked UI (tui/questions.py); None
    when none is open or it cannot ask now (locked)."""
    from mysafe_tui.agent import wire as agent_wire

    sock = agent_wire.connect(vault, timeout=ASK_SECONDS, role="ui")
    if sock is None:
        return None
    try:
        agent_wire.send(sock, {"v": agent_wire.PROTOCOL, "question": question})
        answer = agent_wire.receive(sock)
    except OSError:
        return None
    finally:
        sock.close()
    said = answer.get("answer") if answer else None
    return {"yes": True, "no": False}.get(said) if isinstance(said, str) else None


def _ask_in_tmux(question: str, pid: int) -> bool | None:
    """The answer to `question` in a tmux popup over the pane of process `pid`
    (`main` below); None when that process is not in tmux, or tmux could not show it."""
    from mysafe_tui.agent import wire as agent_wire

    answer = os.path.join(agent_wire.private_dir(), f"confirm-{os.urandom(8).hex()}")
    env = {"MYSAFE_QUESTION": question, "MYSAFE_ANSWER": answer}
    argv = [sys.executable, "-m", "mysafe_tui.agent.confirm"]
    status = agent_wire.popup_in_tmux(pid, argv, env, 7, ASK_SECONDS)
    try:
        os.unlink(answer)  # made by the popup only on "y"
    except FileNotFoundError:
        return False if status == NO else None
    return True


if __name__ == "__main__":
    sys.exit(main())

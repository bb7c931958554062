"""The unlock agent's questions, asked in this UI while it is open and unlocked: "sign with
'prod' for ssh?" for an SSH key set to ask before each use (agent/daemon.py asks here first,
then in a tmux popup, else refuses).

The UI listens on its own socket beside the agent's (agent/wire.py: 0600 in the private
runtime folder, a connection from another uid refused with SO_PEERCRED). One connection is
one question: a line of JSON in, `{"answer": "yes" | "no" | "away"}` out; "away" (locked,
or the question could not be shown) sends the agent on to its next way of asking. The
question is the agent's text, shown as plain text: never markup, never a control character.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from typing import TYPE_CHECKING

from mysafe_tui.agent import wire

if TYPE_CHECKING:
    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.confirm import ConfirmDialog

MAX_QUESTION = 4096  # bytes on the wire; shown shortened
WAIT_SECONDS = 70  # the agent gives up at 75 (agent/confirm.py ASK_SECONDS)


class QuestionDesk:
    """Where the agent's questions come in while the UI is unlocked: `open` on unlock,
    `close` on lock and quit."""

    def __init__(self, app: MySafeApp) -> None:
        self.app = app
        self._listener: socket.socket | None = None
        self._bound: tuple[str, int] | None = None  # path, inode: only ours is removed

    def open(self) -> None:
        if self._listener is not None:
            return
        try:
            path = wire.socket_path(str(self.app.service.paths.vault), create=True, role="ui")
            listener = wire.listen(path)
            self._bound = path, os.stat(path).st_ino
        except (wire.AgentUnavailable, OSError):  # no private folder, or another UI has it
            return
        self._listener = listener
        threading.Thread(target=self._serve, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        if self._bound is not None:
            path, inode = self._bound
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == inode:
                    os.unlink(path)
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in accept()
        listener.close()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed: the UI locked or quit
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                if wire.peer_uid(conn)[1] != os.getuid():
                    return
                conn.settimeout(5)
                request = _read_line(conn)
                question = request.get("question") if request else None
                answer = self._ask(question) if isinstance(question, str) else "no"
                conn.settimeout(5)
                wire.send(conn, {"answer": answer})
            except OSError:  # the agent went away: nobody waits for the answer
                return

    def _ask(self, question: str) -> str:
        """The person's answer: "yes", "no", or "away" when the UI cannot ask now."""
        from mysafe_tui.core.sanitize import printable
        from mysafe_tui.tui.modals.confirm import ConfirmDialog

        answered = threading.Event()
        said: list[str] = ["away"]
        shown: list[ConfirmDialog] = []

        def reply(yes: bool | None) -> None:
            said[0] = "yes" if yes else "no"
            answered.set()

        def show() -> None:
            if not self.app.service.is_unlocked or self.app.main_screen is None:
                answered.set()
                return
            dialog = ConfirmDialog(printable(question)[:300], yes="Sign")
            shown.append(dialog)
            self.app.push_screen(dialog, reply)
            self.app.bell()

        def withdraw() -> None:  # the agent stopped waiting: the question goes too
            if shown and shown[0].is_attached and not answered.is_set():
                shown[0].dismiss(False)

        try:
            self.app.call_from_thread(show)
        except RuntimeError:  # the app is ending
            return "away"
        # A lock pops the dialog without an answer: that is "away", found within a second.
        for _ in range(WAIT_SECONDS):
            if answered.wait(1) or not self.app.service.is_unlocked:
                break
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(withdraw)
        return said[0] if answered.is_set() else "away"


def _read_line(conn: socket.socket) -> dict[str, object] | None:
    """One JSON line of at most MAX_QUESTION bytes."""
    import json

    data = b""
    while b"\n" not in data:
        chunk = conn.recv(MAX_QUESTION)
        if not chunk or len(data) + len(chunk) > MAX_QUESTION:
            return None
        data += chunk
    try:
        found = json.loads(data.split(b"\n", 1)[0])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None

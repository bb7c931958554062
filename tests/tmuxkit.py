"""A real terminal for tests: mysafe in its own tmux server, typed at with send-keys."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

MYSAFE = str(Path(sys.executable).parent / "mysafe")
PASSPHRASE = "correct horse battery staple"


class Terminal:
    def __init__(self, socket: str, session: str, home: Path | None = None) -> None:
        self.base = ["tmux", "-L", socket]
        self.session = session
        self.home = home  # the vault home of the mysafe it runs, when `start` made it

    def keys(self, *keys: str, literal: bool = False) -> None:
        flag = ["-l"] if literal else []
        subprocess.run([*self.base, "send-keys", "-t", self.session, *flag, *keys], check=True)
        time.sleep(0.15)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def screen(self) -> str:
        out = subprocess.run([*self.base, "capture-pane", "-p", "-t", self.session],
                             capture_output=True, text=True)  # fmt: skip
        return out.stdout

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def pane_pids(self) -> list[int]:
        out = subprocess.run([*self.base, "list-panes", "-a", "-F", "#{pane_pid}"],
                             capture_output=True, text=True, check=True)  # fmt: skip
        return [int(pid) for pid in out.stdout.split()]

    def alive(self) -> bool:
        result = subprocess.run([*self.base, "has-session", "-t", self.session],
                                capture_output=True)  # fmt: skip
        return result.returncode == 0


def start(tmp_path: Path, *args: str, size: tuple[int, int] = (100, 30)) -> Terminal:
    """`mysafe ARGS` in a new tmux session (100x30 unless told) on a vault home under
    `tmp_path`."""
    socket, session = f"mysafe-test-{uuid.uuid4().hex[:8]}", "app"
    home = tmp_path / "home"
    command = " ".join([f"env MYSAFE_HOME={home} {MYSAFE}", *args])
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", session, "-x", str(size[0]),
                    "-y", str(size[1]), command], check=True)  # fmt: skip
    return Terminal(socket, session, home)


def stop(term: Terminal) -> None:
    """The tmux server killed, and its mysafe waited for: the terminal gone, it locks and
    exits within seconds (each test waits for its own, not the suite's end)."""
    subprocess.run([*term.base, "kill-server"], capture_output=True)
    if term.home is not None:
        from conftest import wait_until_gone

        wait_until_gone(term.home, timeout=15)


def seeded(tmp_path: Path, *items: tuple[str, str]) -> None:
    env = {**os.environ, "MYSAFE_HOME": str(tmp_path / "home")}
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE)
    cli = [MYSAFE, "--passphrase-file", str(secret)]
    subprocess.run([*cli, "init", "--kdf-profile", "low-memory"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    for name, password in items:
        subprocess.run([*cli, "add", "password", "--name", name, "--username", "me"], env=env,
                       input=password, text=True, check=True, capture_output=True)  # fmt: skip


def burst(term: Terminal, *keys: str) -> None:
    """Keys in one send-keys call: what a paste, a fast typist or a laggy link delivers."""
    subprocess.run([*term.base, "send-keys", "-t", term.session, *keys], check=True)

"""Ctrl-C and Ctrl-D at every prompt of the command line, on a real pty: the command ends at once
with rc 130, the terminal's echo and line mode back, and nothing typed afterwards is read."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

MYSAFE = str(Path(sys.executable).parent / "mysafe")
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("prompts") / "home"
    secret = home.parent / "pass"
    secret.write_text(PASSPHRASE)
    cli = [MYSAFE, "--passphrase-file", str(secret)]
    env = {**os.environ, "MYSAFE_HOME": str(home)}
    subprocess.run([*cli, "init", "--kdf-profile", "low-memory"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([*cli, "add", "password", "--name", "Github", "--username", "octo"], env=env,
                   input="pw-1", text=True, check=True, capture_output=True)  # fmt: skip
    subprocess.run([*cli, "rm", "Github"], env=env, check=True, capture_output=True)
    return home


class Pty:
    """`mysafe ARGS` with a new pty as its controlling terminal, as a shell would run it."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.leader, follower = os.openpty()
        self.name = os.ttyname(follower)
        self.process = subprocess.Popen(
            [MYSAFE, *args], env=env, stdin=follower, stdout=follower, stderr=follower,
            start_new_session=True, preexec_fn=_take_terminal,
        )  # fmt: skip
        os.close(follower)
        self.out = b""

    def read_until(self, text: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.out:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never came: {self.out[-300:]!r}"
            ready, _, _ = select.select([self.leader], [], [], left)
            if ready:
                try:
                    self.out += os.read(self.leader, 4096)
                except OSError:  # EIO: the process has gone
                    break

    def modes(self) -> str:
        return subprocess.run(["stty", "-a", "-F", self.name], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        os.close(self.leader)


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSAFE", "SENHASEGURA"))}
    return {**env, "MYSAFE_HOME": str(home)}


PROMPTS = [
    (["get", "Github"], b"Vault passphrase: "),
    (["add", "password", "--name", "X", "--username", "u"], b"Vault passphrase: "),
    (["passwd"], b"Current passphrase: "),
    (["export", "keepass", "{tmp}/out.kdbx"], b"Vault passphrase: "),
]
AFTER_UNLOCK = [  # the vault opens first, then the prompt under test
    (["add", "password", "--name", "X", "--username", "u"], b"Password: "),
    (["export", "keepass", "{tmp}/out.kdbx"], b"assword"),
    (["purge", "Github"], b"[y/N] "),
    (["login", "https://127.0.0.1:9", "--client-id", "id"], b"Client secret: "),
]
NEW_VAULT = [(["init", "--kdf-profile", "low-memory"], b"New vault passphrase: ")]


def _cases() -> list[tuple[str, list[str], bytes, bytes]]:
    cases = []
    for key, label in ((b"\x03", "ctrl-c"), (b"\x04", "ctrl-d")):
        for group, rows in (("locked", PROMPTS), ("unlocked", AFTER_UNLOCK), ("new", NEW_VAULT)):
            cases += [(f"{group}-{label}", args, prompt, key) for args, prompt in rows]
    return cases


@pytest.mark.parametrize(("group", "args", "prompt", "key"), _cases())
def test_one_ctrl_c_or_ctrl_d_at_a_prompt_ends_the_command_with_the_terminal_restored(
    home: Path, tmp_path: Path, group: str, args: list[str], prompt: bytes, key: bytes
) -> None:
    env = _env(home if not group.startswith("new") else tmp_path / "fresh")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    terminal = Pty(env, *args)
    try:
        if group.startswith("unlocked"):
            terminal.read_until(b"Vault passphrase: ")
            os.write(terminal.leader, PASSPHRASE.encode() + b"\n")
        terminal.read_until(prompt)
        os.write(terminal.leader, b"half-typ" + key)
        started = time.monotonic()
        terminal.process.wait(timeout=5)
        assert time.monotonic() - started < 1.0
        assert terminal.process.returncode == 130
        modes = terminal.modes().split()  # echo, line mode and signals as they were
        assert "echo" in modes and "icanon" in modes and "isig" in modes
        terminal.read_until(b"mysafe: ")
        os.write(terminal.leader, b"next-secret\n")  # a person typing on: nobody reads it
    finally:
        terminal.close()
    assert b"next-secret" not in terminal.out.split(b"mysafe: ")[0]
    if prompt != b"[y/N] ":  # the one prompt that echoes; a hidden answer is never shown
        assert b"half-typ" not in terminal.out
    assert b"Traceback" not in terminal.out


def test_a_passphrase_after_a_refused_one_is_still_hidden(home: Path) -> None:
    """The reported sequence: a Ctrl-C used to be swallowed and the next passphrase echoed."""
    terminal = Pty(_env(home), "list")
    try:
        terminal.read_until(b"Vault passphrase: ")
        os.write(terminal.leader, b"wrong horse\n")
        terminal.read_until(b"mysafe: ")
        terminal.process.wait(timeout=30)
    finally:
        terminal.close()
    assert b"wrong horse" not in terminal.out

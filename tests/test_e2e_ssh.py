"""Browsing a vault over SSH, end to end: a private `sshd` on a loopback port, `ssh -t` inside
a local tmux, the raw bytes the remote mysafe sends captured with `pipe-pane`."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import mysafe_descendants, wait_for_exit
from sshdkit import SSHD, running_sshd

# Real terminals, sshd and browsers: the full suite (CI) runs them; `-m "not slow"` skips.
pytestmark = pytest.mark.slow

MYSAFE = str(Path(sys.executable).parent / "mysafe")
PASSPHRASE = "correct horse battery staple"

if not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("tmux")):
    if os.environ.get("CI"):
        raise RuntimeError("CI must install openssh-server, openssh-client and tmux (.ci/run)")
    pytest.skip("sshd, ssh or tmux is not installed", allow_module_level=True)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private sshd for this test: its own config, host key and authorized key."""
    with running_sshd(tmp_path / "sshd") as server:
        yield {"port": str(server.port), "key": str(server.client_key), "user": server.user,
               "pid": str(server.pid)}  # fmt: skip


class Outer:
    """The local terminal: a tmux session whose pane runs `ssh -t`, its raw output kept."""

    def __init__(self, tmp_path: Path, sshd: dict[str, str], remote: str) -> None:
        self.base = ["tmux", "-L", f"mysafe-ssh-{uuid.uuid4().hex[:8]}"]
        self.raw = tmp_path / "raw.out"
        ssh = (f"ssh -tt -p {sshd['port']} -i {sshd['key']} -o StrictHostKeyChecking=no "
               f"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR {sshd['user']}@127.0.0.1 "
               f"'{remote}'")  # fmt: skip
        subprocess.run([*self.base, "new-session", "-d", "-s", "local", "-x", "100", "-y", "30",
                        ssh], check=True)  # fmt: skip
        subprocess.run([*self.base, "pipe-pane", "-t", "local", "-o", f"cat >> {self.raw}"],
                       check=True)  # fmt: skip

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", "local", *keys], check=True)

    def screen(self) -> str:
        return subprocess.run([*self.base, "capture-pane", "-p", "-t", "local"],
                              capture_output=True, text=True).stdout  # fmt: skip

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in (screen := self.screen()):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def output(self) -> bytes:
        return self.raw.read_bytes() if self.raw.exists() else b""

    def ssh_pid(self) -> int:
        out = subprocess.run([*self.base, "list-panes", "-t", "local", "-F", "#{pane_pid}"],
                             capture_output=True, text=True, check=True)  # fmt: skip
        return int(out.stdout.split()[0])

    def stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def osc52_payloads(raw: bytes) -> list[str]:
    """Every clipboard text the terminal was sent (OSC 52, BEL or ST terminated)."""
    found = re.findall(rb"\x1b\]52;c;([A-Za-z0-9+/=]*)(?:\x07|\x1b\\)", raw)
    return [base64.b64decode(p).decode() for p in found]


@pytest.fixture
def remote_vault(tmp_path: Path) -> str:
    """A vault on the 'jump host' (this machine, reached over ssh), clipboard clear at 5 s."""
    home = tmp_path / "remote-home"
    env = {**os.environ, "MYSAFE_HOME": str(home)}
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE)
    cli = [MYSAFE, "--passphrase-file", str(secret)]
    subprocess.run([*cli, "init", "--kdf-profile", "low-memory"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    for name, password in (("AWS", "aws-S3cret-pw"), ("Credit card", "cc-pw")):
        subprocess.run([*cli, "add", "password", "--name", name, "--username", "ops"], env=env,
                       input=password, text=True, check=True, capture_output=True)  # fmt: skip
    (home / "settings.json").write_text(json.dumps({"clear_seconds": 5}))
    return f"env MYSAFE_HOME={home} TERM=xterm-256color {MYSAFE}"


def test_copy_over_ssh_reaches_the_local_terminal_and_the_clear_follows(
    tmp_path: Path, sshd: dict[str, str], remote_vault: str
) -> None:
    outer = Outer(tmp_path, sshd, remote_vault)
    try:
        outer.wait_for("Passphrase")
        outer.keys(PASSPHRASE, "Enter")
        outer.wait_for("Credit card")
        outer.keys("-l", "/cred")  # one burst: only the filter
        screen = outer.wait_for("/ ")
        assert "trash?" not in screen and "Edit password" not in screen
        time.sleep(0.5)
        assert osc52_payloads(outer.output()) == []  # c was no copy
        outer.keys("Escape")  # the filter cleared, back in the list: AWS first, under the cursor
        outer.wait_for("AWS")
        outer.keys("c")
        outer.wait_for("clears in")
        assert osc52_payloads(outer.output()) == ["aws-S3cret-pw"]
        deadline = time.monotonic() + 15
        while len(osc52_payloads(outer.output())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert osc52_payloads(outer.output()) == ["aws-S3cret-pw", " "]  # cleared, not empty
        buffers = subprocess.run([*outer.base, "list-buffers"], capture_output=True, text=True)
        assert "S3cret" not in buffers.stdout  # the local tmux kept no copy
        remote = mysafe_descendants(int(sshd["pid"]))
    finally:
        outer.stop()
    assert remote and wait_for_exit(remote) == []


def test_dropping_the_ssh_client_ends_the_remote_ui(
    tmp_path: Path, sshd: dict[str, str], remote_vault: str
) -> None:
    for _ in range(2):
        outer = Outer(tmp_path, sshd, remote_vault)
        try:
            outer.wait_for("Passphrase")
            outer.keys(PASSPHRASE, "Enter")
            outer.wait_for("Credit card")
            remote = mysafe_descendants(int(sshd["pid"]))
            assert len(remote) == 1
            os.kill(outer.ssh_pid(), signal.SIGKILL)  # the laptop's end vanishes
            assert wait_for_exit(remote, timeout=5) == []
        finally:
            outer.stop()


@pytest.mark.parametrize("delay_ms", [0, 50, 200, 1000])
def test_a_passphrase_typed_ahead_over_ssh_unlocks(
    tmp_path: Path, sshd: dict[str, str], remote_vault: str, delay_ms: int
) -> None:
    """`ssh host mysafe` and the passphrase with its Enter typed at once, before anything is
    on the screen (the link's delay included): it unlocks, 5 of 5."""
    for run in range(5):
        folder = tmp_path / f"run-{run}"
        folder.mkdir()
        outer = Outer(folder, sshd, remote_vault)
        try:
            time.sleep(delay_ms / 1000)  # the delay under test, not a wait for something
            outer.keys("-l", PASSPHRASE)
            outer.keys("Enter")
            screen = outer.wait_for("Passwords (2)")
            assert "Wrong passphrase" not in screen
        finally:
            outer.stop()

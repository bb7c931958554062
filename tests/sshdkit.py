"""A private OpenSSH server on a loopback port for one test: its own config, host key and
authorized keys file (which the test may rewrite: sshd reads it at every login)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from serverkit import free_port

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def have_openssh() -> bool:
    return os.path.exists(SSHD) and shutil.which("ssh") is not None


@dataclass
class Sshd:
    port: int
    user: str
    authorized: Path  # the authorized_keys file
    client_key: Path  # a key of the test's own, authorized at start
    pid: int

    def ssh(self, *options: str) -> list[str]:
        """`ssh` to this server, trusting its host key, never asking anything."""
        return [
            "ssh",
            "-p",
            str(self.port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            *options,
            f"{self.user}@127.0.0.1",
        ]


@contextmanager
def running_sshd(folder: Path, config: str = "") -> Iterator[Sshd]:
    """sshd cannot say which port it bound: it gets a closed probe's port, and a new one if
    another process took that port meanwhile (sshd then exits at once)."""
    folder.mkdir(mode=0o700)
    for key in ("host", "client"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True
        )
    authorized = folder / "authorized_keys"
    authorized.write_text((folder / "client.pub").read_text())
    if os.geteuid() == 0:  # the privilege separation directory sshd wants when root
        Path("/run/sshd").mkdir(exist_ok=True)
    for _attempt in range(5):
        port = free_port()
        (folder / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host'}\n"
            f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {authorized}\n"
            "StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "UsePAM no\nPermitRootLogin prohibit-password\nPrintMotd no\nPrintLastLog no\n" + config
        )
        server = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(folder / "sshd_config")], stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        if server.poll() is None:
            break
        if server.stderr is not None:
            server.stderr.close()
    else:
        raise RuntimeError("sshd did not start on any of five ports")
    try:
        yield Sshd(port, getpass.getuser(), authorized, folder / "client", server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr is not None:
            server.stderr.close()

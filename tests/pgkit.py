"""A throwaway PostgreSQL cluster for the tests: `initdb` into a private temporary folder,
`pg_ctl start` listening on a Unix socket in that folder only (no TCP port: nothing to pick,
nothing to collide with another copy of the suite), a fresh database per server, `pg_ctl stop`
and the folder gone at the end. PostgreSQL refuses to run as root: as root (CI), the cluster
runs as the `postgres` user (`runuser`). Nothing here depends on a server someone else
started."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL binaries (the newest installed version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """`durable`: fsync and synchronous commits on, as in production (the benchmark); the
    tests run without them (a throwaway cluster needs no crash safety, and runs faster)."""

    def __init__(self, bin_dir: Path, durable: bool = False) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="mysafe-pg-"))
        self.data = self.root / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8", "--locale=C")  # fmt: skip
        settings = (f"unix_socket_directories = '{self.root}'\nlisten_addresses = ''\n"
                    "max_connections = 200\n")  # fmt: skip
        if not durable:
            settings += "fsync = off\nsynchronous_commit = off\n"
        conf = self.data / "postgresql.conf"
        if self._as:  # the file is the postgres user's
            subprocess.run([*self._as, "sh", "-c", f"cat >> {conf}"], input=settings,
                           text=True, check=True)  # fmt: skip
        else:
            with open(conf, "a") as out:
                out.write(settings)
        self.resume()

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self._as, str(self.bin / tool), *args], capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.root}"

    def new_database(self) -> str:
        """A fresh, empty database on this cluster: its URL."""
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def pause(self) -> None:
        """Stop the server, keep its data (a database outage). A clean stop: the cluster runs
        with synchronous_commit off, and an immediate one would lose the last commits."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
                  "start")  # fmt: skip

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

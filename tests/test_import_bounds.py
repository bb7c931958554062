"""Hostile imports end in one sentence or a bounded result: small on disk and huge once parsed,
lying about their size, damaged, or with a field or a line past every limit. Each is run as a
whole `mysafe import` process, its peak memory (RSS) and time measured from outside."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from test_cli import MYSAFE, Cli

RSS_LIMIT_KIB = 300 * 1024
SECONDS = 10

# Runs the command and reports its children's peak RSS (KiB) on its last line of stderr.
MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'peak-rss-kib {peak}', file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _lying_zip() -> bytes:
    """A 1PUX whose export.data says it holds 100 bytes and inflates to 50 MiB."""
    data = bytearray(_zip({"export.data": b"[" * (50 << 20)}))
    # the local header's and the central directory's uncompressed size: 100
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
    return bytes(data)


def _damaged_zip() -> bytes:
    data = bytearray(_zip({"export.data": json.dumps({"accounts": []}).encode() * 50}))
    middle = len(data) // 3
    data[middle : middle + 20] = b"\xff" * 20
    return bytes(data)


CSV_HEADER = b"name,url,username,password\n"
CASES: dict[str, tuple[str, str, Callable[[], bytes]]] = {
    # name: (format, file name, contents)
    "1pux of 60 MiB of '[],'": ("1password", "x.1pux",
                               lambda: _zip({"export.data": b"[" + b"[]," * (20 << 20) + b"[]]"})),
    "1pux lying about its size": ("1password", "x.1pux", _lying_zip),
    "1pux damaged": ("1password", "x.1pux", _damaged_zip),
    "not a zip at all": ("1password", "x.1pux", lambda: b"PK\x03\x04" + b"\x00" * 100),
    "bitwarden JSON of 60 MiB of '[]'": ("bitwarden", "x.json",
                                         lambda: b"[" + b"[]," * (20 << 20) + b"[]]"),
    "keepass XML of 60 MiB of elements": ("keepass", "x.xml",
                                          lambda: b"<KeePassFile>" + b"<a/>" * (15 << 20)
                                          + b"</KeePassFile>"),
    "csv with a 1 MiB field": ("csv", "x.csv",
                               lambda: CSV_HEADER + b'a,b,c,"' + b"x" * (1 << 20) + b'"\n'),
    "csv of one 60 MiB line": ("csv", "x.csv", lambda: CSV_HEADER + b"a," * (30 << 20) + b"a\n"),
    "bitwarden JSON cut short": ("bitwarden", "x.json", lambda: b'{"items": [{"name": "a"'),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_import_is_one_sentence_in_bounded_memory_and_time(
    tmp_path: Path, case: str
) -> None:
    format, name, make = CASES[case]
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    path = tmp_path / name
    path.write_bytes(make())
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
    env |= {"MYSAFE_HOME": str(cli.home), "MYSAFE_PASSPHRASE_FILE": str(cli.passfile)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, MYSAFE, "import", format, str(path), "--dry-run"],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
        start_new_session=True,
    )  # fmt: skip
    took = time.monotonic() - started
    said = [line for line in done.stderr.splitlines() if not line.startswith("peak-rss-kib")]
    peak = int(done.stderr.rsplit("peak-rss-kib ", 1)[1].split()[0])
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert len(said) == 1 and said[0].startswith("mysafe: "), said
    assert "internal error" not in said[0] and "Traceback" not in done.stderr
    assert peak < RSS_LIMIT_KIB, f"{case}: peak RSS {peak >> 10} MiB"
    assert took < SECONDS, f"{case}: {took:.1f} s"

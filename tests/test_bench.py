"""The benchmark's harness runs (a quick pass): what a person sees is measured by code that
CI keeps working, not by a script that rots between the times someone reads its figures."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_budget_table_runs_with_its_peers() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "table.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split("  ")[0] for line in done.stdout.splitlines()]
    for wanted in (
        "filter key to frame, 1k, CPU p95",
        "filter key to frame, 1k, wall p95",
        "spawn to unlock screen painted, CPU",
        "plain sync of 1k, +0 ms round trip",
        "plain sync of 1k, +20 ms round trip",
    ):
        assert wanted in rows, done.stdout
    if shutil.which("pass") and shutil.which("gpg"):
        assert "get through the agent, CPU" in rows, done.stdout
    assert "bare Textual" in done.stdout

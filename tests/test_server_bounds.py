"""The server's memory does not follow the body, and wrong bearer tokens are throttled."""

from __future__ import annotations

import base64
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import BACKENDS, database_for
from serverkit import start_server

GROWTH_LIMIT_MIB = 150


def _peak_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_four_parallel_maximal_uploads_leave_the_server_within_its_bounds(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    """Four of the largest JSON file bodies the server takes, at once, and four larger ones
    it refuses: peak RSS (VmHWM, from /proc) grows by less than 150 MiB."""
    running = start_server(tmp_path, users=("mo",), args=("--max-file-mib", "120"),
                           database=database_for(request, backend))  # fmt: skip
    try:
        with running.client("mo") as mo:
            mo.get("/api/mysafe-ext/file")  # warm: the routes and modules loaded
            before = _peak_kib(running.process.pid)
            fits = base64.b64encode(os.urandom(5 * 1024 * 1024)).decode()  # ~6.7 MiB of JSON
            too_big = base64.b64encode(os.urandom(60 * 1024 * 1024)).decode()  # 80 MiB

            def upload(content: str, n: int) -> int:
                with running.client("mo") as client:
                    body = {"name": f"f{n}", "file_name": f"f{n}.bin", "content": content}
                    return client.post("/api/mysafe-ext/file", json=body, timeout=120).status_code

            with ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(upload, [fits] * 4 + [too_big] * 4, range(8)))
        assert codes[:4] == [201] * 4 and codes[4:] == [413] * 4, codes
        grown = (_peak_kib(running.process.pid) - before) / 1024
        assert grown < GROWTH_LIMIT_MIB, f"the server grew by {grown:.0f} MiB"
    finally:
        running.stop()


def test_wrong_bearer_tokens_are_throttled_per_source(tmp_path: Path) -> None:
    running = start_server(tmp_path, users=("mo",), args=("--rate-limit", "20"))
    try:
        codes = []
        for _ in range(70):
            headers = {"Authorization": f"Bearer {secrets.token_urlsafe(24)}"}
            answer = httpx.get(f"{running.url}/api/mysafe/password", headers=headers, timeout=10)
            codes.append(answer.status_code)
        # 20 a minute, as the public routes: the bucket refills a token every 3 s meanwhile
        assert codes[:20] == [401] * 20 and codes[20:].count(429) >= 40, codes
        throttled = httpx.get(f"{running.url}/api/mysafe/password", timeout=10,
                              headers={"Authorization": "Bearer wrong"})  # fmt: skip
        assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    finally:
        running.stop()

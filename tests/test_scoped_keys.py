"""Scoped access keys on the real server (server/keys.py): an address allowed, an expiry, a data
scope and reads only. Requests outside them are refused with the MySafe envelope (1006, the
reason in words) and counted; the rest are allowed; `key list` shows limits and last use."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mysafe_tui.core.errors import AuthenticationError
from mysafe_tui.core.models import Secret
from mysafe_tui.remote.client import AccessKey, MySafeClient
from serverkit import RunningServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("scoped"), users=("alice",))
    yield running
    running.stop()


def admin(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mysafe_tui", "serve", "--data", str(server.data_dir), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def new_key(server: RunningServer, *limits: str) -> dict[str, Any]:
    made = admin(server, "key", "create", "alice", *limits, "--json")
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)  # type: ignore[no-any-return]


def token(server: RunningServer, key: dict[str, Any], source: str = "127.0.0.1") -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": key["client_id"],
        "client_secret": key["client_secret"],
    }
    with _http(server, source) as http:
        return http.post("/api/oauth2/token", data=form)


def _http(server: RunningServer, source: str, bearer: str = "") -> httpx.Client:
    """A client whose requests leave from `source` (any 127.0.0.0/8 address is this host)."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=server.url, transport=transport, headers=headers, timeout=30)


def refusal(answer: httpx.Response) -> str:
    body = answer.json()
    assert answer.status_code == 400 and body["exception"]["code"] == 1006, answer.text
    return str(body["response"]["message"])


def listed(server: RunningServer, client_id: str) -> dict[str, Any]:
    keys = json.loads(admin(server, "key", "list", "--json").stdout)
    return next(k for k in keys if k["client_id"] == client_id)  # type: ignore[no-any-return]


def test_a_key_allowed_one_address_is_refused_from_another(server: RunningServer) -> None:
    key = new_key(server, "--allow-ip", "127.0.0.1/32")
    assert key["allow_ips"] == ["127.0.0.1/32"]
    assert "may not be used from 127.0.0.2" in refusal(token(server, key, "127.0.0.2"))
    good = token(server, key)
    assert good.status_code == 200
    bearer = good.json()["access_token"]
    with _http(server, "127.0.0.1", bearer) as here, _http(server, "127.0.0.2", bearer) as there:
        assert here.get("/api/mysafe/password").status_code == 200
        # a token taken where it was allowed is no good elsewhere
        assert "may not be used from 127.0.0.2" in refusal(there.get("/api/mysafe/password"))
    shown = listed(server, key["client_id"])
    assert shown["refused"] == 2 and shown["last_used_at"]
    lines = admin(server, "key", "list").stdout.splitlines()
    line = next(line for line in lines if line.startswith(key["client_id"]))
    assert "from 127.0.0.1/32" in line and "2 refused" in line and "last used never" not in line


def test_an_expired_key_gets_no_token_and_says_so(server: RunningServer) -> None:
    key = new_key(server, "--expires", "2020-01-31")
    assert "expired on 2020-01-31" in refusal(token(server, key))
    assert listed(server, key["client_id"])["refused"] == 1
    bad = admin(server, "key", "create", "alice", "--expires", "31/01/2020")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


def test_a_key_scoped_to_a_tag_reaches_those_items_only(server: RunningServer) -> None:
    full = token(server, new_key(server)).json()["access_token"]
    with _http(server, "127.0.0.1", full) as http:
        made = {}
        for name, tags in (("db", "prod,db"), ("wiki", "docs")):
            body = {"name": name, "username": "u", "password": f"{name}-pw", "tags": tags}
            answer = http.post("/api/mysafe/password", json=body)
            made[name] = str(answer.json()["password_entity"]["identifier"])
    key = new_key(server, "--items", "prod")
    scoped = token(server, key).json()["access_token"]
    with _http(server, "127.0.0.1", scoped) as http:
        names = [r["name"] for r in http.get("/api/mysafe/password").json()["password_on_list"]]
        assert names == ["db"]
        assert http.get(f"/api/mysafe/password/{made['db']}").status_code == 200
        assert "outside this access key's scope" in refusal(
            http.get(f"/api/mysafe/password/{made['wiki']}")
        )
        assert "makes no new ones" in refusal(
            http.post("/api/mysafe/password", json={"name": "x", "username": "u", "password": "p"})
        )
        entities = http.get("/api/mysafe-ext/entities/password").json()["entities"]
        assert [e["name"] for e in entities] == ["db"]
    assert listed(server, key["client_id"])["refused"] == 2
    # by id as well
    by_id = token(server, new_key(server, "--items", made["wiki"])).json()["access_token"]
    with _http(server, "127.0.0.1", by_id) as http:
        assert http.get(f"/api/mysafe/password/{made['wiki']}").status_code == 200
        assert refusal(http.get(f"/api/mysafe/password/{made['db']}"))


def test_a_read_only_key_reads_and_writes_nothing(server: RunningServer) -> None:
    key = new_key(server, "--read-only")
    assert key["read_only"] is True
    bearer = token(server, key).json()["access_token"]
    with _http(server, "127.0.0.1", bearer) as http:
        assert http.get("/api/mysafe/password").status_code == 200
        body = {"name": "n", "username": "u", "password": "p"}
        assert "may only read" in refusal(http.post("/api/mysafe/password", json=body))
        assert "may only read" in refusal(http.put("/api/mysafe/password/update/1", json=body))
    assert listed(server, key["client_id"])["refused"] == 2


async def test_the_client_says_why_its_key_was_refused(server: RunningServer) -> None:
    key = new_key(server, "--expires", "2021-06-30")
    secret = AccessKey(key["client_id"], Secret(key["client_secret"]))
    async with MySafeClient(server.url, secret) as client:
        with pytest.raises(AuthenticationError, match="expired on 2021-06-30"):
            await client.check_key()
    assert listed(server, key["client_id"])["refused"] == 1  # asked once, not again by Basic


def test_limits_are_shown_once_at_creation(server: RunningServer, tmp_path: Path) -> None:
    made = admin(server, "key", "create", "alice", "--items", "prod", "--read-only")
    assert "limits:        items prod; read only" in made.stdout
    assert (
        "mysafe serve: not an address"
        in admin(server, "key", "create", "alice", "--allow-ip", "nowhere").stderr
    )

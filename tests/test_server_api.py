"""Contract tests for API.md §1–4 against a real `mysafe serve` on a loopback port."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from mysafe_tui.core.totp import parse_seed, totp
from serverkit import RunningServer, start_server

SEED = "JBSWY3DPEHPK3PXP"
# One worker runs this module in file order: the last test reads the log of every one before.
pytestmark = pytest.mark.xdist_group("server_api")


def ok(answer: httpx.Response, status: int = 200) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == status and body["response"]["error"] is False
    return body


def failed(answer: httpx.Response, code: int) -> dict:
    """A business error: HTTP 400, error flags in both languages, the exception code."""
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["response"]["error"] is True and body["response"]["erro"] is True
    assert body["response"]["error_code"] == 1 and body["exception"]["code"] == code
    assert body["response"]["message"] == body["exception"]["message"]
    assert body["response"]["message"].startswith(f"{code}: ")
    return body


def new_password(client: httpx.Client, name: str, **extra: object) -> dict:
    body = {"name": name, "username": "dleite", "password": f"pw-{name}", **extra}
    return ok(client.post("/api/mysafe/password", json=body), 201)["password_entity"]


# --- token (API.md §2) -------------------------------------------------------------------


def test_token_by_form_json_and_basic_on_both_prefixes(server: RunningServer) -> None:
    client_id, secret = server.keys["alice"]
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    for prefix in ("/api", "/iso"):
        answer = httpx.post(f"{server.url}{prefix}/oauth2/token", data=form)
        assert answer.status_code == 200
        body = answer.json()
        assert body["token_type"].lower() == "bearer" and body["expires_in"] == 3600
        assert len(body["access_token"]) >= 32
    assert httpx.post(f"{server.url}/api/oauth2/token", json=form).status_code == 200
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    answer = httpx.post(
        f"{server.url}/api/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200 and answer.json()["access_token"]


def test_bad_credentials_get_invalid_client(server: RunningServer) -> None:
    client_id, _ = server.keys["alice"]
    answer = httpx.post(
        f"{server.url}/api/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong"},
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
        "message": "Client authentication failed",
    }
    answer = httpx.post(f"{server.url}/api/oauth2/token", data={"grant_type": "password"})
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_missing_unknown_and_expired_tokens_are_401(server: RunningServer) -> None:
    url = f"{server.url}/api/mysafe/password"
    assert httpx.get(url).status_code == 401
    answer = httpx.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401 and answer.json()["response"]["error"] is True
    token = server.token("bob")
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    server.execute("UPDATE tokens SET expires_at = 0")
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_revoked_key_loses_its_tokens_and_cannot_log_in(tmp_path: Path) -> None:
    running = start_server(tmp_path, users=("dave",))
    try:
        token = running.token("dave")
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{running.url}/api/mysafe/note", headers=headers).status_code == 200
        client_id, _ = running.keys["dave"]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "mysafe_tui",
                "serve",
                "--data",
                str(running.data_dir),
                "key",
                "revoke",
                client_id,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0 and "revoked" in out.stdout
        assert httpx.get(f"{running.url}/api/mysafe/note", headers=headers).status_code == 401
        with pytest.raises(httpx.HTTPStatusError):
            running.token("dave")
    finally:
        running.stop()


# --- items (API.md §3) -------------------------------------------------------------------


def test_password_round_trip_with_exact_keys(alice: httpx.Client) -> None:
    created = ok(
        alice.post(
            "/api/mysafe/password",
            data={
                "name": "Github",
                "username": "dleite",
                "password": "7yha&x",
                "url": "https://github.com",
                "secret_key": SEED,
                "notes": "work",
                "tags": "dev, git",
            },
        ),
        201,
    )
    assert created["response"]["message"] == "Password successfully registered"
    assert created["response"]["mensagem"] == "Password successfully registered"
    entity = created["password_entity"]  # as senhasegura's published examples show it:
    assert entity["shared_error"] == [] and "shared_error" not in created  # inside the entity
    assert entity["note"] == "work" and "notes" not in entity  # `note` in this answer
    assert isinstance(entity["identifier"], str) and entity["identifier"].isdigit()
    assert "password" not in entity and "secret_key" not in entity and entity["tags"] == "dev, git"

    listed = ok(alice.get("/api/mysafe/password"))
    assert listed["response"]["message"] == ""  # a list's message is empty
    rows = listed["password_on_list"]
    row = next(r for r in rows if r["identifier"] == entity["identifier"])
    assert {
        "identifier",
        "name",
        "url",
        "username",
        "tags",
        "need_justify",
        "need_approval",
        "can_view",
        "can_write",
    } <= set(row)
    assert "password" not in row and "secret_key" not in row and "notes" not in row
    assert row["can_view"] is True and row["can_write"] is True

    got = ok(alice.get(f"/api/mysafe/password/{entity['identifier']}"))["password_entity"]
    assert got["password"] == "7yha&x" and got["secret_key"] == SEED and got["notes"] == "work"
    assert got["url"] == "https://github.com" and got["username"] == "dleite"
    assert got["users_allowed"] == [] and got["groups_allowed"] == []
    assert got["token"] in {
        totp(parse_seed(SEED), at).code
        for at in (__import__("time").time() - 30, __import__("time").time())
    }


def test_partial_update_keeps_omitted_fields_and_bumps_revision(alice: httpx.Client) -> None:
    entity = new_password(alice, "partial", url="https://a.example")
    assert entity["revision"] == 1
    item_id = entity["identifier"]
    answer = ok(
        alice.put(f"/api/mysafe/password/update/{item_id}", json={"url": "https://b.example"})
    )
    assert answer["response"]["message"] == "Password successfully updated"
    got = ok(alice.get(f"/api/mysafe/password/{item_id}"))["password_entity"]
    assert got["url"] == "https://b.example" and got["password"] == "pw-partial"
    assert got["username"] == "dleite" and got["revision"] == 2


def test_note_and_api_secret_keys(alice: httpx.Client) -> None:
    note = ok(
        alice.post("/api/mysafe/note", json={"name": "wifi", "note": "pass: 123", "tags": "home"}),
        201,
    )
    assert note["response"]["message"] == "Note successfully registered"
    assert "note" not in note["note_entity"]
    rows = ok(alice.get("/api/mysafe/note"))["note_on_list"]
    assert any(r["name"] == "wifi" and "note" not in r for r in rows)
    got = ok(alice.get(f"/api/mysafe/note/{note['note_entity']['identifier']}"))["note_entity"]
    assert got["note"] == "pass: 123"

    api = ok(
        alice.post(
            "/api/mysafe/secretapi",
            json={
                "name": "billing",
                "url": "https://api.example",
                "client_id": "cid",
                "client_secret": "csecret",
                "identifier_code": "BILL-1",
                "method": "POST",
            },
        ),
        201,
    )
    assert api["response"]["message"] == "Api secret successfully registered"
    assert api["api_entity"]["client_secret"] == "csecret"  # kept in this one answer
    rows = ok(alice.get("/api/mysafe/secretapi"))["api_secret_on_list"]
    assert any(r["name"] == "billing" and "client_secret" not in r for r in rows)
    got = ok(alice.get(f"/api/mysafe/secretapi/{api['api_entity']['identifier']}"))
    entity = got["api_secret_entity"]
    assert (entity["client_id"], entity["client_secret"]) == ("cid", "csecret")
    assert (entity["identifier_code"], entity["method"]) == ("BILL-1", "POST")
    duplicate = alice.post(
        "/api/mysafe/secretapi",
        json={
            "name": "again",
            "url": "https://x",
            "client_id": "c",
            "client_secret": "s",
            "identifier_code": "BILL-1",
        },
    )
    assert "already used" in failed(duplicate, 1001)["response"]["message"]


def test_required_fields_and_bad_bodies_are_1001(alice: httpx.Client) -> None:
    body = failed(alice.post("/api/mysafe/password", json={"name": "x", "username": "u"}), 1001)
    assert body["response"]["message"] == "1001: Parameter 'password' was not informed!"
    failed(alice.post("/api/mysafe/note", json={"note": "body"}), 1001)
    failed(
        alice.post("/api/mysafe/secretapi", json={"name": "n", "url": "u", "client_id": "c"}), 1001
    )
    garbage = alice.post(
        "/api/mysafe/note", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in failed(garbage, 1001)["response"]["message"]
    failed(
        alice.post(
            "/api/mysafe/password",
            json={"name": "t", "username": "u", "password": "p", "secret_key": "not base32 !!"},
        ),
        1001,
    )
    big = alice.post("/api/mysafe/note", json={"name": "big", "note": "x" * 3_000_000})
    assert big.status_code == 413 and big.json()["response"]["error"] is True
    # A custom field's label with a terminal control in it is refused, as a name's is.
    hostile = json.dumps([{"label": "\x1b]0;owned\x07", "value": "v", "type": "text"}])
    refused = alice.post(
        "/api/mysafe/password",
        json={"name": "f", "username": "u", "password": "p", "custom_fields": hostile},
    )
    assert refused.status_code == 400 and "label" in failed(refused, 1001)["response"]["message"]
    bad_url = alice.post(
        "/api/mysafe/password",
        json={"name": "f", "username": "u", "password": "p", "urls": "a\x1b[2Jb"},
    )
    failed(bad_url, 1001)


def test_unknown_items_are_1005_with_the_kind_in_the_message(alice: httpx.Client) -> None:
    assert failed(alice.get("/api/mysafe/password/999999"), 1005)["response"]["message"] == (
        "1005: Password not found"
    )
    assert failed(alice.get("/api/mysafe/note/abc"), 1005)["response"]["message"] == (
        "1005: Note not found"
    )
    failed(alice.put("/api/mysafe/secretapi/update/999999", json={"name": "x"}), 1005)
    failed(alice.post("/api/mysafe/note/inactive/999999"), 1005)


def test_deactivate_and_activate(alice: httpx.Client) -> None:
    item_id = new_password(alice, "to-trash")["identifier"]
    answer = ok(alice.post(f"/api/mysafe/password/inactive/{item_id}"))
    assert answer["response"]["message"] == "Password successfully deactivated"
    assert set(answer) == {"code", "response"}  # the envelope only, as documented
    failed(alice.get(f"/api/mysafe/password/{item_id}"), 1009)
    failed(alice.put(f"/api/mysafe/password/update/{item_id}", json={"url": "x"}), 1009)
    rows = ok(alice.get("/api/mysafe/password"))["password_on_list"]
    assert item_id not in [r["identifier"] for r in rows]
    everything = ok(alice.get("/api/mysafe/password", params={"status": "all"}))
    assert [r["active"] for r in everything["password_on_list"] if r["identifier"] == item_id] == [
        False
    ]
    assert ok(alice.post(f"/api/mysafe/password/active/{item_id}"))["response"]["message"] == (
        "Password successfully activated"
    )
    got = ok(alice.get(f"/api/mysafe/password/{item_id}"))["password_entity"]
    assert got["password"] and got["secret_key"] is None and got["token"] is None  # null


def test_list_filters(alice: httpx.Client) -> None:
    new_password(alice, "Filter Alpha", tags="team-x", url="https://alpha.example")
    new_password(alice, "Filter Beta", username="other", tags="team-y")

    def names(**query: str) -> list[str]:
        rows = ok(alice.get("/api/mysafe/password", params=query))["password_on_list"]
        return sorted(r["name"] for r in rows)

    assert names(tag="team-x") == ["Filter Alpha"]
    assert names(name="filter") == ["Filter Alpha", "Filter Beta"]
    assert names(username="other") == ["Filter Beta"]
    assert names(url="alpha.example") == ["Filter Alpha"]
    rows = ok(alice.get("/api/mysafe/secretapi", params={"identifier_code": "BILL-1"}))
    assert [r["name"] for r in rows["api_secret_on_list"]] == ["billing"]


# --- internal sharing --------------------------------------------------------------------


def test_sharing_with_users_and_groups(server: RunningServer, alice: httpx.Client) -> None:
    entity = ok(
        alice.post(
            "/api/mysafe/password",
            json={
                "name": "shared db",
                "username": "root",
                "password": "db-pass",
                "users_allowed": [{"username": "bob"}, {"username": "nobody"}],
                "groups_allowed": [{"name": "ops", "can_edit": True}],
            },
        ),
        201,
    )
    assert entity["password_entity"]["shared_error"] == ["user nobody not found"]
    item_id = entity["password_entity"]["identifier"]
    with server.client("bob") as bob, server.client("carol") as carol:
        row = next(
            r
            for r in ok(bob.get("/api/mysafe/password"))["password_on_list"]
            if r["identifier"] == item_id
        )
        assert row["can_view"] is True and row["can_write"] is False
        assert ok(bob.get(f"/api/mysafe/password/{item_id}"))["password_entity"]["password"] == (
            "db-pass"
        )
        failed(bob.put(f"/api/mysafe/password/update/{item_id}", json={"url": "x"}), 1006)
        failed(bob.post(f"/api/mysafe/password/inactive/{item_id}"), 1006)
        ok(carol.put(f"/api/mysafe/password/update/{item_id}", json={"url": "https://ops"}))
        failed(
            carol.put(
                f"/api/mysafe/password/update/{item_id}",
                json={"users_allowed": [{"username": "carol"}]},
            ),
            1006,
        )
        got = ok(alice.get(f"/api/mysafe/password/{item_id}"))["password_entity"]
        assert got["users_allowed"] == [{"username": "bob", "can_edit": False}]
        assert got["groups_allowed"] == [{"name": "ops", "can_edit": True}]
        ok(alice.put(f"/api/mysafe/password/update/{item_id}", json={"users_allowed": []}))
        failed(bob.get(f"/api/mysafe/password/{item_id}"), 1006)
        assert item_id not in [
            r["identifier"] for r in ok(bob.get("/api/mysafe/password"))["password_on_list"]
        ]


# --- the extension (API.md §4) ------------------------------------------------------------


def test_capabilities(alice: httpx.Client) -> None:
    body = ok(alice.get("/api/mysafe-ext/capabilities"))
    assert set(body["capabilities"]) == {
        "bulk",
        "extras",
        "files",
        "groups",
        "history",
        "idempotency",
        "shares",
        "revisions",
        "sshkeys",
        "uses",
    }
    assert body["version"] == "1"


def test_bulk_entities_carry_secrets_and_the_trash(
    server: RunningServer, alice: httpx.Client
) -> None:
    first = new_password(alice, "bulk one")["identifier"]
    second = new_password(alice, "bulk two")["identifier"]
    ok(alice.post(f"/api/mysafe/password/inactive/{second}"))
    entities = {
        e["identifier"]: e for e in ok(alice.get("/api/mysafe-ext/entities/password"))["entities"]
    }
    assert entities[first]["password"] == "pw-bulk one" and entities[first]["active"] is True
    assert entities[second]["active"] is False and entities[second]["password"] == "pw-bulk two"
    with server.client("bob") as bob:  # only what the key may see
        seen = ok(bob.get("/api/mysafe-ext/entities/password"))["entities"]
        assert first not in [e["identifier"] for e in seen]
    assert alice.get("/api/mysafe-ext/entities/unknown").status_code == 404


def test_if_match_stale_revision_is_409_with_the_current_entity(alice: httpx.Client) -> None:
    item_id = new_password(alice, "raced")["identifier"]
    ok(
        alice.put(
            f"/api/mysafe/password/update/{item_id}",
            json={"password": "theirs"},
            headers={"If-Match": "1"},
        )
    )
    stale = alice.put(
        f"/api/mysafe/password/update/{item_id}",
        json={"password": "mine"},
        headers={"If-Match": "1"},
    )
    assert stale.status_code == 409
    current = stale.json()["password_entity"]
    assert current["revision"] == 2 and current["password"] == "theirs"
    ok(
        alice.put(
            f"/api/mysafe/password/update/{item_id}",
            json={"password": "mine"},
            headers={"If-Match": '"2"'},
        )
    )
    assert ok(alice.get(f"/api/mysafe/password/{item_id}"))["password_entity"]["password"] == "mine"


def test_file_upload_download_update_encrypted_at_rest(
    server: RunningServer, alice: httpx.Client
) -> None:
    content = b"MARKER-PLAINTEXT " * 1000 + os.urandom(300_000)
    created = ok(
        alice.post(
            "/api/mysafe-ext/file",
            content=content,
            params={"name": "report", "file_name": "report.bin", "tags": "q3"},
            headers={"Content-Type": "application/octet-stream"},
        ),
        201,
    )
    entity = created["file_entity"]
    assert entity["size"] == len(content) and entity["file_name"] == "report.bin"
    item_id = entity["identifier"]
    rows = ok(alice.get("/api/mysafe-ext/file"))["file_on_list"]
    assert any(r["identifier"] == item_id and r["size"] == len(content) for r in rows)
    assert alice.get(f"/api/mysafe-ext/file/{item_id}/content").content == content
    stored = server.stored_files()
    assert stored and all(b"MARKER-PLAINTEXT" not in blob for blob in stored)
    replacement = b"second version"
    ok(
        alice.put(
            f"/api/mysafe-ext/file/update/{item_id}",
            content=replacement,
            headers={"Content-Type": "application/octet-stream", "If-Match": "1"},
        )
    )
    got = ok(alice.get(f"/api/mysafe-ext/file/{item_id}"))["file_entity"]
    assert got["size"] == len(replacement) and got["revision"] == 2
    assert alice.get(f"/api/mysafe-ext/file/{item_id}/content").content == replacement
    small = ok(
        alice.post(
            "/api/mysafe-ext/file",
            json={"name": "tiny", "content": base64.b64encode(b"hello").decode()},
        ),
        201,
    )
    tiny_id = small["file_entity"]["identifier"]
    assert alice.get(f"/api/mysafe-ext/file/{tiny_id}/content").content == b"hello"


def test_file_larger_than_the_limit_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    running = start_server(tmp_path, users=("erin",), args=("--max-file-mib", "1"))
    try:
        with running.client("erin") as erin:
            answer = erin.post(
                "/api/mysafe-ext/file",
                content=b"x" * (1024 * 1024 + 1),
                params={"name": "big"},
                headers={"Content-Type": "application/octet-stream"},
            )
            assert answer.status_code == 413
            assert ok(erin.get("/api/mysafe-ext/file"))["file_on_list"] == []
        assert running.stored_files() == []
    finally:
        running.stop()


def test_secrets_at_rest_and_file_modes(server: RunningServer, alice: httpx.Client) -> None:
    new_password(alice, "at-rest", password="UNIQUE-AT-REST-PASSWORD")
    with server.db() as db:
        rows = db.execute("SELECT name, sealed FROM items").fetchall()
    assert "at-rest" in [r["name"] for r in rows]  # a plain column; the secret is sealed
    assert all(b"UNIQUE-AT-REST-PASSWORD" not in bytes(r["sealed"]) for r in rows)
    if not server.database:  # the SQLite file and its log, byte for byte
        raw = b"".join(p.read_bytes() for p in server.data_dir.glob("server.db*"))
        assert b"UNIQUE-AT-REST-PASSWORD" not in raw and b"at-rest" in raw
    assert stat.S_IMODE((server.data_dir / "server.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700


def test_unknown_route_and_health(server: RunningServer, alice: httpx.Client) -> None:
    missing = alice.get("/api/mysafe/unknown/1")
    assert missing.status_code == 404 and missing.json()["response"]["error"] is True
    health = httpx.get(f"{server.url}/healthz")
    assert health.json() == {"status": "ok"} and health.headers["cache-control"] == "no-store"


def test_public_endpoints_are_rate_limited(tmp_path: Path) -> None:
    running = start_server(tmp_path, users=("frank",), args=("--rate-limit", "5"))
    try:
        codes = [
            httpx.get(f"{running.url}/api/public/share/AAAAAAAAAAAAAAAAAAAAAA").status_code
            for _ in range(7)
        ]
        assert codes[:5] == [404] * 5 and codes[5:] == [429, 429]
        limited = httpx.get(f"{running.url}/api/public/share/AAAAAAAAAAAAAAAAAAAAAA")
        assert int(limited.headers["Retry-After"]) >= 1
        with running.client("frank") as frank:  # authenticated API is not throttled
            assert all(frank.get("/api/mysafe/note").status_code == 200 for _ in range(10))
    finally:
        running.stop()


def test_admin_cli_and_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "cli-data"
    base = [sys.executable, "-m", "mysafe_tui", "serve", "--data", str(data)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], capture_output=True, text=True, check=False)

    assert run("user", "add", "gina").returncode == 0
    again = run("user", "add", "gina")
    assert (
        again.returncode == 1
        and "already exists" in again.stderr
        and "Traceback" not in (again.stderr)
    )
    created = run("key", "create", "gina")
    assert "client secret:" in created.stdout and "shown only this once" in created.stdout
    secret = created.stdout.split("client secret:")[1].split()[0]
    listed = run("key", "list")
    assert "gina" in listed.stdout and secret not in listed.stdout
    unknown = run("key", "create", "nobody")
    assert unknown.returncode == 1 and "no user named nobody" in unknown.stderr

    running = start_server(tmp_path / "sig", users=("hal",))
    assert running.stop(timeout=10) == 0
    assert "mysafe serve: stopped" in running.log() and "Traceback" not in running.log()


def test_the_log_holds_no_secrets(server: RunningServer, alice: httpx.Client) -> None:
    """No token, key secret or password in the server's log: after a write and a read of its
    own, and after whichever tests ran before it on this server."""
    fields = {"name": "Log", "username": "u", "password": "MARKER-pw"}
    made = ok(alice.post("/api/mysafe/password", data=fields), 201)
    ok(alice.get(f"/api/mysafe/password/{made['password_entity']['identifier']}"))
    log = server.log()
    assert '"path": "/api/mysafe/password"' in log  # the access log is there
    leaked = [s for s in server.secrets_used if s in log]
    for needle in ("7yha&x", "db-pass", "csecret", "pw-partial", "theirs", "MARKER"):
        if needle in log:
            leaked.append(needle)
    assert leaked == []


# --- limits (issue: faults and lifecycle) --------------------------------------------------


def _statuses_from_eight_forwarded_clients(tmp_path: Path, *args: str) -> list[int]:
    """Eight requests, each claiming another client address in X-Forwarded-For."""
    running = start_server(tmp_path, users=("gina",), args=("--rate-limit", "5", *args))
    try:
        return [
            httpx.get(f"{running.url}/api/public/share/AAAAAAAAAAAAAAAAAAAAAA",
                      headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(8)
        ]  # fmt: skip
    finally:
        running.stop()


def test_a_client_cannot_name_its_own_address_past_the_rate_limit(tmp_path: Path) -> None:
    codes = _statuses_from_eight_forwarded_clients(tmp_path)
    assert codes[5:] == [429, 429, 429]  # the header is not believed: one client


def test_a_trusted_proxy_is_believed(tmp_path: Path) -> None:
    codes = _statuses_from_eight_forwarded_clients(tmp_path, "--trusted-proxy", "127.0.0.0/8")
    assert 429 not in codes  # eight clients behind the proxy, one request each


def test_bodies_deep_huge_or_oversized_fields_are_refused_not_crashed(
    alice: httpx.Client,
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    answer = alice.post("/api/mysafe/password", content=deep,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 400 and answer.json()["response"]["error"] is True
    big = {"name": "big", "username": "u", "password": "x" * (65 * 1024)}
    answer = alice.post("/api/mysafe/password", json=big)
    assert answer.status_code == 413 and "password" in answer.json()["response"]["message"]
    long_note = {"name": "n", "note": "line\n" * 200_000}  # 1 MB: fine
    assert alice.post("/api/mysafe/note", json=long_note).status_code == 201
    assert alice.post("/api/mysafe/password", json={**big, "password": "p", "name": "n" * 5000}
                      ).status_code == 413  # fmt: skip
    for bad in ("a\x00b", "a\ud800b"):
        raw = json.dumps({"name": bad, "username": "u", "password": "p"})
        answer = alice.post("/api/mysafe/password", content=raw,
                            headers={"Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 400


def test_no_copy_of_deleted_share_content_stays_in_the_log(server: RunningServer) -> None:
    """secure_delete zeroes the database's freed pages; the write-ahead log kept the old page
    images until a checkpoint: a revoked or used-up share was still readable there."""
    marker = os.urandom(48)
    ciphertext = base64.b64encode(marker * 40).decode()
    with server.client("alice") as alice:
        for n, end in enumerate(("revoke", "reveal")):
            share_id = f"scrubtest{n}" + "B" * 16
            proof = b"p" * 32
            body = {"share_id": share_id, "kind": "note", "ciphertext": ciphertext,
                    "access_proof_hash": base64.b64encode(hashlib.sha256(proof).digest()).decode(),
                    "expires_in": 3600, "max_views": 1}  # fmt: skip
            assert alice.post("/api/mysafe-ext/share", json=body).status_code == 201
            if end == "revoke":
                assert alice.post(f"/api/mysafe-ext/share/revoke/{share_id}").status_code == 200
            else:
                revealed = httpx.post(f"{server.url}/api/public/share/{share_id}/reveal",
                                      json={"proof": base64.b64encode(proof).decode()})  # fmt: skip
                assert revealed.status_code == 200
            for name in ("server.db", "server.db-wal") if not server.database else ():
                stored = server.data_dir / name
                assert not stored.exists() or marker not in stored.read_bytes(), (end, name)


def _shared_with_bob(alice: httpx.Client, kind: str, name: str) -> str:
    body: dict[str, object] = {"name": name, "users_allowed": [{"username": "bob"}]}
    body |= {
        "password": {"username": "u", "password": f"pw-{name}"},
        "note": {"note": f"note-{name}"},
        "secretapi": {"url": "https://api", "client_id": "c", "client_secret": f"s-{name}",
                      "identifier_code": name},
        "file": {"file_name": f"{name}.txt", "content": "aGVsbG8="},
        "sshkey": {"private": f"key-{name}", "public": "ssh-ed25519 AAAA"},
    }[kind]  # fmt: skip
    ours = kind in ("file", "sshkey")
    route = f"/api/mysafe-ext/{kind}" if ours else f"/api/mysafe/{kind}"
    answer = ok(alice.post(route, json=body), 201)
    entity = next(v for k, v in answer.items() if k.endswith("entity"))
    return str(entity["identifier"])


SECRET_ROUTES = [  # (kind, path): every route whose answer carries a secret or a sealed field
    ("password", "/api/mysafe/password/{id}"),
    ("note", "/api/mysafe/note/{id}"),
    ("secretapi", "/api/mysafe/secretapi/{id}"),
    ("password", "/iso/mysafe/password/{id}"),
    ("password", "/api/mysafe-ext/entities/password"),
    ("note", "/api/mysafe-ext/entities/note"),
    ("secretapi", "/api/mysafe-ext/entities/secretapi"),
    ("file", "/api/mysafe-ext/entities/file"),
    ("file", "/api/mysafe-ext/file/{id}"),
    ("file", "/api/mysafe-ext/file/{id}/content"),
    ("sshkey", "/api/mysafe-ext/sshkey/{id}"),
    ("sshkey", "/api/mysafe-ext/entities/sshkey"),
]


@pytest.mark.parametrize(("kind", "path"), SECRET_ROUTES)
def test_every_route_that_hands_out_a_secret_writes_a_read(
    server: RunningServer, alice: httpx.Client, kind: str, path: str
) -> None:
    """A sharee (or a stolen key) pulling secrets by any route shows in the owner's history."""
    item = _shared_with_bob(alice, kind, f"h{abs(hash(path)) % 10**8}")
    with server.client("bob") as bob:
        assert bob.get(path.format(id=item)).status_code == 200
    history = ok(alice.get(f"/api/mysafe-ext/history/{kind}/{item}"))["history"]
    assert any(e["event"] == "read" and e["user"] == "bob" for e in history), (path, history)


@pytest.mark.parametrize("kind", ["note", "file"])
def test_a_create_sent_twice_with_its_key_makes_one_item(
    alice: httpx.Client, server: RunningServer, kind: str
) -> None:
    key = {"Idempotency-Key": f"k-{kind}-{uuid.uuid4().hex}"}
    route = "/api/mysafe-ext/file" if kind == "file" else "/api/mysafe/note"
    body = {"name": f"once {kind}", "note": "n", "file_name": "a.txt", "content": "aGVsbG8="}
    first = alice.post(route, json=body, headers=key)
    again = alice.post(route, json=body, headers=key)
    assert first.status_code == again.status_code == 201
    made = [v for k, v in first.json().items() if k.endswith("entity")][0]["identifier"]
    same = [v for k, v in again.json().items() if k.endswith("entity")][0]["identifier"]
    assert made == same
    listed = ok(alice.get(f"/api/mysafe-ext/entities/{kind}"))["entities"]
    assert [e["name"] for e in listed].count(f"once {kind}") == 1
    history = ok(alice.get(f"/api/mysafe-ext/history/{kind}/{made}"))["history"]
    assert [e["event"] for e in history].count("created") == 1
    with server.client("bob") as bob:  # the key is the owner's: bob's create is his own
        other = bob.post(route, json=body, headers=key)
        assert [v for k, v in other.json().items() if k.endswith("entity")][0]["identifier"] != made
    assert alice.post(route, json=body, headers={"Idempotency-Key": "no spaces"}).status_code == 400


def test_a_signature_with_an_ssh_key_is_recorded_and_shown_like_a_read(
    server: RunningServer, alice: httpx.Client
) -> None:
    item = _shared_with_bob(alice, "sshkey", "signing-key")
    with server.client("bob") as bob:
        assert bob.post(f"/api/mysafe-ext/sshkey/used/{item}").status_code == 200
        assert bob.post("/api/mysafe-ext/sshkey/used/999999").status_code == 400  # not found
    ok(alice.post(f"/api/mysafe-ext/sshkey/used/{item}"))
    mine = ok(alice.get(f"/api/mysafe-ext/history/sshkey/{item}"))["history"]
    assert [(e["event"], e["user"]) for e in mine][:2] == [("signed", "alice"), ("signed", "bob")]
    with server.client("bob") as bob:  # bob sees his own use, not alice's
        seen = ok(bob.get(f"/api/mysafe-ext/history/sshkey/{item}"))["history"]
    assert [e["user"] for e in seen if e["event"] == "signed"] == ["bob"]
    entity = ok(alice.get(f"/api/mysafe-ext/sshkey/{item}"))["sshkey_entity"]
    assert (entity["private"], entity["public"]) == ("key-signing-key", "ssh-ed25519 AAAA")


def test_a_sharee_sees_their_own_events_and_the_changes_not_others_addresses(
    server: RunningServer, alice: httpx.Client
) -> None:
    item = _shared_with_bob(alice, "password", "seen-by-bob")
    ok(alice.get(f"/api/mysafe/password/{item}"))  # alice reads: hers to see
    with server.client("bob") as bob:
        ok(bob.get(f"/api/mysafe/password/{item}"))
        seen = ok(bob.get(f"/api/mysafe-ext/history/password/{item}"))["history"]
    assert {(e["event"], e["user"]) for e in seen} == {("read", "bob"), ("created", "alice"),
                                                        ("shared", "alice")}  # fmt: skip
    assert all(e["address"] == "" and e["client_id"] == "" for e in seen if e["user"] != "bob")
    full = ok(alice.get(f"/api/mysafe-ext/history/password/{item}"))["history"]
    assert {(e["event"], e["user"]) for e in full} >= {("read", "alice"), ("read", "bob")}
    assert all(e["address"] for e in full)

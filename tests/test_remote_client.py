"""The MySafe client: against the real server on loopback, and faults injected by MockTransport."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import BACKENDS, database_for
from mysafe_tui.core.errors import (
    AuthenticationError,
    NotSupported,
    OfflineError,
    RemoteConflict,
    RemoteRejected,
    ServerError,
)
from mysafe_tui.core.models import Secret
from mysafe_tui.remote.answers import retry_after
from mysafe_tui.remote.client import AccessKey, MySafeClient, RetryPolicy
from serverkit import RunningServer, free_port, start_server


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("remote"),
                           database=database_for(request, request.param))  # fmt: skip
    yield running
    running.stop()


def key_of(server: RunningServer, user: str = "alice") -> AccessKey:
    client_id, secret = server.keys[user]
    return AccessKey(client_id, Secret(secret))


# --- against the real server -------------------------------------------------------------


async def test_items_round_trip_on_the_real_server(server: RunningServer) -> None:
    async with MySafeClient(server.url, key_of(server)) as client:
        assert await client.capabilities() == {
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
        created = await client.create_item(
            "password",
            {"name": "Github", "username": "dleite", "password": "hunter2", "tags": "dev,git"},
        )
        item_id = created["identifier"]
        assert created["revision"] == 1 and created["tags"] == ("dev", "git")
        assert "password" not in created
        entity = await client.get_item("password", item_id)
        assert entity["password"] == "hunter2" and entity["can_write"] is True
        rows = await client.list_items("password")
        assert [r["name"] for r in rows if r["identifier"] == item_id] == ["Github"]

        updated = await client.update_item("password", item_id, {"url": "https://github.com"}, 1)
        assert updated["revision"] == 2
        with pytest.raises(RemoteConflict) as conflict:
            await client.update_item("password", item_id, {"password": "mine"}, 1)
        assert conflict.value.current["revision"] == 2
        assert conflict.value.current["password"] == "hunter2"

        await client.set_active("password", item_id, False)
        with pytest.raises(RemoteRejected) as inactive:
            await client.get_item("password", item_id)
        assert inactive.value.code == 1009 and str(inactive.value) == "1009: Inactive password"
        every = await client.list_items("password", include_inactive=True)
        assert [r["active"] for r in every if r["identifier"] == item_id] == [False]
        await client.set_active("password", item_id, True)
        assert (await client.get_item("password", item_id))["active"] is True

        with pytest.raises(RemoteRejected) as missing:
            await client.get_item("note", "999999")
        assert str(missing.value) == "1005: Note not found" and missing.value.code == 1005


async def test_files_stream_both_ways(server: RunningServer) -> None:
    content = bytes(range(256)) * 4096 * 3  # 3 MiB

    async def chunks() -> Any:
        for start in range(0, len(content), 100_000):
            yield content[start : start + 100_000]

    async with MySafeClient(server.url, key_of(server)) as client:
        created = await client.upload_file({"name": "blob", "file_name": "blob.bin"}, chunks())
        assert created["size"] == len(content)
        back = b"".join([c async for c in client.download_file(created["identifier"])])
        assert back == content


async def test_plain_senhasegura_mode_has_no_extension(tmp_path: Path) -> None:
    running = start_server(tmp_path, users=("pat",), args=("--no-extension",))
    try:
        async with MySafeClient(running.url, key_of(running, "pat")) as client:
            assert await client.capabilities() == frozenset()
            with pytest.raises(NotSupported, match="no files API"):
                await client.require("files")
            created = await client.create_item("note", {"name": "n", "note": "body"})
            assert "revision" not in created
            rows = await client.list_items("note")
            assert rows and "revision" not in rows[0] and "active" not in rows[0]
            # If-Match is ignored by a server without revisions: the client must compare itself.
            await client.update_item("note", created["identifier"], {"note": "b2"}, revision=7)
            with pytest.raises(RemoteRejected):  # no place for an SSH key
                await client.list_items("sshkey")
        assert httpx.get(f"{running.url}/s/AAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    finally:
        running.stop()


async def test_wrong_key_and_unreachable_server_fail_clearly(server: RunningServer) -> None:
    bad = AccessKey(server.keys["alice"][0], Secret("not the secret"))
    async with MySafeClient(server.url, bad) as client:
        with pytest.raises(AuthenticationError, match="refused the access key"):
            await client.list_items("note")
    async with MySafeClient(f"http://127.0.0.1:{free_port()}", key_of(server)) as client:
        with pytest.raises(OfflineError, match="nothing answers at that address"):
            await client.list_items("note")


# --- injected faults ---------------------------------------------------------------------


class FakeServer:
    """A MockTransport handler that scripts answers per path and records every request."""

    def __init__(self, script: Callable[[httpx.Request, int], httpx.Response]) -> None:
        self.script = script
        self.requests: list[httpx.Request] = []
        self.token_calls = 0
        self.api_calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/oauth2/token"):
            self.token_calls += 1
            return httpx.Response(
                200,
                json={
                    "token_type": "bearer",
                    "expires_in": 3600,
                    "access_token": f"tok-{self.token_calls}",
                },
            )
        self.api_calls += 1
        return self.script(request, self.api_calls)


def envelope(status: int = 200, message: str = "Success", **payload: Any) -> dict[str, Any]:
    error = status >= 400
    return {
        "code": status,
        "response": {
            "status": status,
            "message": message,
            "error": error,
            "error_code": int(error),
        },
        **payload,
    }


def fake_client(
    fake: FakeServer, sleeps: list[float] | None = None, clock: Callable[[], float] = time.monotonic
) -> MySafeClient:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return MySafeClient(
        "https://vault.example",
        AccessKey("cid", Secret("csecret")),
        transport=httpx.MockTransport(fake),
        retry=RetryPolicy(attempts=4, sleep=sleep),
        clock=clock,
    )


NOTE_LIST = envelope(
    note_on_list=[{"identifier": 7, "name": "n", "tags": "a, b", "can_view": "1", "can_write": "0"}]
)


async def test_lenient_parsing_of_ids_flags_and_tags() -> None:
    fake = FakeServer(lambda r, n: httpx.Response(200, json=NOTE_LIST))
    async with fake_client(fake) as client:
        [row] = await client.list_items("note")
    assert row == {
        "identifier": "7",
        "name": "n",
        "tags": ("a", "b"),
        "can_view": True,
        "can_write": False,
    }


async def test_a_lone_surrogate_from_a_server_becomes_a_replacement_character() -> None:
    """Valid JSON, invalid Unicode: it could neither be stored in the vault nor printed."""
    raw = (
        b'{"code": 200, "response": {"status": 200, "message": "", "error": false}, '
        b'"note_on_list": [{"identifier": 7, "name": "a\\ud800b\\u001b[2J", "tags": ""}]}'
    )
    fake = FakeServer(lambda r, n: httpx.Response(200, content=raw))
    async with fake_client(fake) as client:
        [row] = await client.list_items("note")
    assert row["name"] == "a\ufffdb\x1b[2J"  # the escape stays data: shown escaped later


async def test_token_is_cached_and_renewed_before_it_expires() -> None:
    now = [1000.0]
    fake = FakeServer(lambda r, n: httpx.Response(200, json=NOTE_LIST))
    async with fake_client(fake, clock=lambda: now[0]) as client:
        for _ in range(5):
            await client.list_items("note")
        assert fake.token_calls == 1
        now[0] += 3600 - 61
        await client.list_items("note")
        assert fake.token_calls == 1
        now[0] += 2  # inside the last minute: renewed before the server would refuse it
        await client.list_items("note")
        assert fake.token_calls == 2
    for request in fake.requests:  # secrets travel in bodies and headers, never in URLs
        assert "csecret" not in str(request.url) and "tok-" not in str(request.url)
    assert b"csecret" in fake.requests[0].content


async def test_one_reauth_for_ten_concurrent_401s() -> None:
    def script(request: httpx.Request, n: int) -> httpx.Response:
        if request.headers["authorization"] == "Bearer tok-1":
            return httpx.Response(401, json=envelope(401, "Invalid or expired token"))
        return httpx.Response(200, json=NOTE_LIST)

    fake = FakeServer(script)
    async with fake_client(fake) as client:
        await client.list_items("note")  # fetch tok-1 first... which the server now refuses
        results = await asyncio.gather(*(client.list_items("note") for _ in range(10)))
    assert fake.token_calls == 2 and all(len(r) == 1 for r in results)


async def test_persistent_401_is_a_clear_error_after_one_retry() -> None:
    fake = FakeServer(lambda r, n: httpx.Response(401, json=envelope(401, "Unauthorized")))
    async with fake_client(fake) as client:
        with pytest.raises(AuthenticationError, match="log in again"):
            await client.list_items("note")
    assert fake.token_calls == 2 and fake.api_calls == 2


async def test_429_honours_retry_after_seconds_and_dates() -> None:
    later = email.utils.formatdate(time.time() + 5, usegmt=True)

    def script(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(429, headers={"Retry-After": "3"}, json=envelope(429, "slow"))
        if n == 2:
            return httpx.Response(503, headers={"Retry-After": later}, text="busy")
        return httpx.Response(200, json=NOTE_LIST)

    sleeps: list[float] = []
    fake = FakeServer(script)
    async with fake_client(fake, sleeps) as client:
        assert len(await client.list_items("note")) == 1
    assert sleeps[0] == 3 and 3 <= sleeps[1] <= 5
    assert retry_after("soon") is None and retry_after("120") == 120


async def test_retries_are_bounded_and_writes_are_not_retried() -> None:
    sleeps: list[float] = []
    fake = FakeServer(
        lambda r, n: httpx.Response(
            502, text="<html>Bad gateway</html>", headers={"content-type": "text/html"}
        )
    )
    async with fake_client(fake, sleeps) as client:
        # A proxy's error page: offline (with the reason), after the bounded retries.
        with pytest.raises(OfflineError, match="text/html"):
            await client.list_items("note")
        assert fake.api_calls == 4 and len(sleeps) == 3  # exponential backoff, with jitter
        assert all(s <= 8 for s in sleeps)
        with pytest.raises(OfflineError):
            await client.create_item("note", {"name": "x", "note": "y"})
        assert fake.api_calls == 5  # a POST that may have landed is never sent twice


async def test_a_huge_retry_after_means_unavailable_now() -> None:
    sleeps: list[float] = []
    fake = FakeServer(
        lambda r, n: httpx.Response(
            503, headers={"Retry-After": "3600"}, json=envelope(503, "maintenance")
        )
    )
    async with fake_client(fake, sleeps) as client:
        with pytest.raises(ServerError, match="maintenance"):
            await client.list_items("note")
    assert sleeps == []


async def test_timeouts_and_refusals_are_offline() -> None:
    def slow(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    fake = FakeServer(slow)
    async with fake_client(fake, []) as client:
        with pytest.raises(OfflineError, match="did not answer within 15 s .*--timeout"):
            await client.get_item("note", "1")
    assert fake.api_calls == 1  # a slow server has the request: it is not sent again

    def unreachable(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    fake = FakeServer(unreachable)
    async with fake_client(fake, []) as client:
        with pytest.raises(OfflineError, match="did not answer in time"):
            await client.get_item("note", "1")
    assert fake.api_calls == 4  # it never arrived: tried again, with backoff

    def refused(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async with fake_client(FakeServer(refused)) as client:
        with pytest.raises(OfflineError, match="nothing answers"):
            await client.get_item("note", "1")


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (httpx.Response(200, content=b"{not json"), ServerError, "not the MySafe API"),
        (httpx.Response(200, json=[1, 2]), ServerError, "not the MySafe API"),
        (httpx.Response(200, json=envelope()), ServerError, "without the note_entity"),
        (
            httpx.Response(
                200,
                json=envelope(200, "1006: User does not have access")
                | {"response": {"error": True, "message": "1006: User does not have access"}},
            ),
            RemoteRejected,
            "1006: User does not have access",
        ),
        (
            httpx.Response(
                400,
                json=envelope(400, "1005: Note not found")
                | {"exception": {"code": 1005, "message": "1005: Note not found"}},
            ),
            RemoteRejected,
            "Note not found",
        ),
        (
            httpx.Response(500, json=envelope(500, "Unexpected error")),
            ServerError,
            "Unexpected error",
        ),
    ],
)
async def test_malformed_and_failed_answers(
    answer: httpx.Response, error: type, message: str
) -> None:
    fake = FakeServer(lambda r, n: answer)
    async with fake_client(fake, []) as client:
        with pytest.raises(error, match=message):
            await client.get_item("note", "1")


def test_access_key_never_shows_its_secret() -> None:
    key = AccessKey("cid", Secret("very-secret"))
    assert "very-secret" not in repr(key) and "very-secret" not in json.dumps(str(key))


# --- TLS trust (security requirement 32) ----------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A small HTTPS stand-in for a MySafe server, its certificate from a private CA that no
    machine trusts: (its URL, the CA's PEM file)."""
    import http.server
    import ssl
    import threading

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))

    class Handler(http.server.BaseHTTPRequestHandler):
        def _json(self, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._json({"access_token": "t" * 40, "expires_in": 3600, "token_type": "bearer"})

        def do_GET(self) -> None:  # noqa: N802
            if self.path.endswith("/1"):  # one entity: the lean path (remote/lean.py)
                self._json(envelope(note_entity={"identifier": "1", "name": "n"}))
            else:
                self._json(envelope(note_on_list=[]))

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", ca_pem
    server.shutdown()
    server.server_close()


def _tls_client(url: str, **kwargs: Any) -> MySafeClient:
    return MySafeClient(url, AccessKey("cid", Secret("csecret")),
                        retry=RetryPolicy(attempts=1), **kwargs)  # fmt: skip


async def test_r32_tls_trusts_what_the_machine_trusts_and_nothing_else(
    tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca_pem = tls_server
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)

    async def reads(client: MySafeClient) -> None:  # through httpx, then the lean GETs
        assert await client.list_items("note") == []
        assert (await client.get_item("note", "1"))["name"] == "n"

    for read in (client_list, client_get):  # a private CA: refused, with the reason
        async with _tls_client(url) as client:
            with pytest.raises(OfflineError, match="certificate is not trusted"):
                await read(client)
    async with _tls_client(url, ca_bundle=str(ca_pem)) as client:  # --ca-bundle
        await reads(client)
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):  # the usual variables
        monkeypatch.setenv(variable, str(ca_pem))
        async with _tls_client(url) as client:
            await reads(client)
        monkeypatch.delenv(variable)
    async with _tls_client(url, insecure=True) as client:  # only when asked
        await reads(client)


async def client_list(client: MySafeClient) -> Any:
    return await client.list_items("note")


async def client_get(client: MySafeClient) -> Any:
    return await client.get_item("note", "1")


def test_r32_insecure_is_remembered_and_shown() -> None:
    from mysafe_tui.remote.session import RemoteSession, new_binding

    binding = new_binding("https://vault.example", "cid", "secret", insecure=True)
    session = RemoteSession(binding)
    assert binding["insecure"] == "1" and session.status().insecure
    plain = RemoteSession(new_binding("https://vault.example", "cid", "secret"))
    assert not plain.status().insecure


@pytest.mark.parametrize(
    "gateway",
    [
        httpx.Response(404, text='{"message":"no Route matched with those values"}'),
        httpx.Response(404, html="<html><body>Not Found</body></html>"),
        httpx.Response(403, json=envelope(403, "Forbidden")),
        httpx.Response(400, json=envelope(400, "1001: Parameter 'x' was not informed!")),
        httpx.Response(405, text=""),
        httpx.Response(200, html="<html>a portal page</html>"),
    ],
)
async def test_whatever_a_real_gateway_answers_for_the_extension_means_plain(
    gateway: httpx.Response,
) -> None:
    fake = FakeServer(lambda r, n: gateway)
    async with fake_client(fake) as client:
        assert await client.capabilities() == frozenset()


async def test_a_proxys_error_page_means_offline_with_the_reason() -> None:
    page = httpx.Response(502, html="<html><h1>502 Bad Gateway</h1></html>")
    fake = FakeServer(lambda r, n: page)
    async with fake_client(fake, sleeps=[]) as client:
        with pytest.raises(OfflineError, match="HTTP 502 with text/html: the proxy or gateway"):
            await client.list_items("note")
        with pytest.raises(OfflineError, match="HTTP 502"):
            await client.capabilities()


async def test_a_long_retry_after_is_waited_for_and_said() -> None:
    """A minute's pause (a busy senhasegura's 429/503) is honoured, and announced first."""
    sleeps: list[float] = []
    said: list[float] = []

    def busy_then_fine(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(503, headers={"Retry-After": "60"}, json=envelope(503, "busy"))
        return httpx.Response(200, json=NOTE_LIST)

    async with fake_client(FakeServer(busy_then_fine), sleeps) as client:
        client.on_wait = said.append
        assert len(await client.list_items("note")) == 1
    assert sleeps == [60.0] and said == [60.0]

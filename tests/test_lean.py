"""The pull's lean GETs (remote/lean.py): what they read equals what httpx reads; kept
connections the server closed are replaced; oversized answers, proxies and odd ids."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from mysafe_tui.core.errors import OfflineError, RemoteRejected
from mysafe_tui.core.models import Secret
from mysafe_tui.remote import lean
from mysafe_tui.remote.answers import normalise
from mysafe_tui.remote.client import AccessKey, MySafeClient, RetryPolicy
from serverkit import start_server

TOKEN = json.dumps({"access_token": "t" * 40, "expires_in": 3600}).encode()


def counting(client: MySafeClient) -> list[str]:
    """The paths the client sends through httpx (the lean GETs are not among them)."""
    sent: list[str] = []
    request = client._http.request

    async def counted(method: str, path: str, **kwargs: Any) -> Any:
        sent.append(path)
        return await request(method, path, **kwargs)

    client._http.request = counted  # type: ignore[method-assign]
    return sent


async def test_entities_read_by_the_lean_path_are_what_httpx_reads(tmp_path: Path) -> None:
    server = start_server(tmp_path, users=("alice",))
    try:
        client_id, secret = server.keys["alice"]
        async with MySafeClient(server.url, AccessKey(client_id, Secret(secret))) as client:
            made = [
                await client.create_item(
                    "password", {"name": f"é {i}", "username": "u", "password": f"p{i}"}
                )
                for i in range(3)
            ]
            through_httpx = counting(client)
            read = [await client.get_item("password", m["identifier"]) for m in made]
            assert not any("/password/" in path for path in through_httpx)
            with server.client("alice") as http:
                for item in made:
                    answer = http.get(f"/api/mysafe/password/{item['identifier']}").json()
                    expected = normalise(answer["password_entity"])
                    assert read[made.index(item)] == expected
            # An id that would need quoting in a URL goes through httpx, as before.
            with pytest.raises(RemoteRejected):
                await client.get_item("password", "no such id")
            assert through_httpx[-1].endswith("/no such id")
    finally:
        server.stop()


def test_the_lean_path_is_not_used_through_a_proxy_or_a_test_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = AccessKey("cid", Secret("s"))
    assert MySafeClient("http://127.0.0.1:9", key)._lean is not None
    assert MySafeClient("http://127.0.0.1:9", key, proxy="http://127.0.0.1:8")._lean is None
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:8")
    assert MySafeClient("http://127.0.0.1:9", key)._lean is None


Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]


async def _answer(writer: asyncio.StreamWriter, body: bytes, close: bool = False) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + (b"Connection: close\r\n" if close else b"") + b"\r\n" + body)
    await writer.drain()


async def _request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


@pytest.fixture
async def raw_server() -> AsyncIterator[tuple[str, list[int]]]:
    """A keep-alive HTTP server that answers the token, then each entity GET once and closes
    the connection on the next request without answering: (its URL, requests per connection)."""
    per_connection: list[int] = []
    entity = json.dumps({"note_entity": {"identifier": "1", "name": "n"}}).encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        per_connection.append(0)
        mine = len(per_connection) - 1
        try:
            while True:
                head = await _request(reader)
                if head.startswith(b"POST"):
                    await _answer(writer, TOKEN, close=True)
                    return
                if per_connection[mine] == 1:
                    return  # the keep-alive ran out just as the request came
                per_connection[mine] += 1
                await _answer(writer, entity)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", per_connection
    server.close()


async def test_a_kept_connection_closed_as_the_request_went_out_is_replaced(
    raw_server: tuple[str, list[int]],
) -> None:
    url, per_connection = raw_server
    key = AccessKey("cid", Secret("s"))
    async with MySafeClient(url, key, retry=RetryPolicy(attempts=1)) as client:
        for _ in range(3):
            assert (await client.get_item("note", "1"))["name"] == "n"
    # the token's connection, then one per GET: each second request found its connection shut
    assert per_connection[1:] == [1, 1, 1]


async def test_an_answer_larger_than_any_entity_is_refused(
    raw_server: tuple[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lean, "MAX_ANSWER", 20)
    url, _ = raw_server
    async with MySafeClient(url, AccessKey("cid", Secret("s"))) as client:
        with pytest.raises(OfflineError, match="larger than any entity"):
            await client.get_item("note", "1")

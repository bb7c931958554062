"""The pull's GETs without httpx's layers: thousands of them in a plain sync.

A plain senhasegura is read one entity per request. Through `httpx.AsyncClient` each cost the
client ~0.7 ms of CPU on a 2-core machine (URL merging, cookies, auth and redirect hooks, then
httpcore's pool scanning every connection per request and anyio under it); a keep-alive
exchange parsed by h11 (the HTTP/1.1 parser under httpx) on asyncio streams costs a fraction of
that. `LeanGets` keeps such connections for GETs and hands back an `httpx.Response` and httpx's
exception types, so the client's retry and error rules apply unchanged. Used only where it
changes nothing else: no proxy (named or in the environment), no test transport, and a path of
plain URL characters (an id from the server that needs quoting goes through httpx as before).
"""

from __future__ import annotations

import asyncio
import select
import ssl
import urllib.request
from urllib.parse import urlsplit

import h11
import httpx

# What an unquoted path may hold and mean the same to every server (RFC 3986 unreserved, "/").
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
MAX_ANSWER = 64 * 1024 * 1024  # one entity's answer; a larger one is not the MySafe API
_CHUNK = 65536


def usable(proxy: str | None, transport: object) -> bool:
    """Whether the lean path reaches the server the way httpx would: directly."""
    return not proxy and transport is None and not urllib.request.getproxies()


def plain(path: str) -> bool:
    return all(c in _PLAIN for c in path)


class LeanGets:
    """Keep-alive HTTP/1.1 connections for GETs to one server, TLS verified as `verify` says."""

    def __init__(
        self,
        base_url: str,
        verify: ssl.SSLContext | bool,
        timeout: httpx.Timeout,
        connections: int,
        headers: dict[str, str],
    ) -> None:
        url = urlsplit(base_url)
        tls = url.scheme == "https"
        self._tls: ssl.SSLContext | None = None
        if tls:
            self._tls = verify if isinstance(verify, ssl.SSLContext) else _context(verify)
        self._host = url.hostname or ""
        self._port = url.port or (443 if tls else 80)
        self._prefix = url.path.rstrip("/")
        host = f"[{self._host}]" if ":" in self._host else self._host  # an IPv6 address
        if url.port not in (None, 443 if tls else 80):
            host = f"{host}:{url.port}"
        self._headers = [("Host", host), *headers.items()]
        self._timeout = timeout
        self._idle: list[_Connection] = []
        self._room = asyncio.Semaphore(connections)

    async def get(self, path: str, headers: dict[str, str] | None) -> httpx.Response:
        request = h11.Request(
            method="GET",
            target=self._prefix + path,
            headers=self._headers + list((headers or {}).items()),
        )
        async with self._room:
            connection = self._reuse()
            try:
                if connection is None:
                    connection = await self._connect()
                    answer = await connection.exchange(request, self._timeout)
                else:
                    try:
                        answer = await connection.exchange(request, self._timeout)
                    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                        if connection.answered:
                            raise
                        # The server closed a kept connection as the request went out (its
                        # keep-alive ran out): the request was not taken; once more, afresh.
                        connection.close()
                        connection = await self._connect()
                        answer = await connection.exchange(request, self._timeout)
            except BaseException:
                if connection is not None:
                    connection.close()
                raise
            if connection.reusable():
                self._idle.append(connection)
            else:
                connection.close()
        status, answer_headers, body = answer
        return httpx.Response(status, headers=answer_headers, content=body)

    def _reuse(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        try:
            async with asyncio.timeout(self._timeout.connect):
                reader, writer = await asyncio.open_connection(
                    self._host,
                    self._port,
                    ssl=self._tls,
                    server_hostname=self._host if self._tls else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("connecting took too long") from None
        except OSError as exc:  # ssl.SSLError too: a certificate not trusted
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.CLIENT)
        self.answered = False  # some of this exchange's answer arrived

    def usable(self) -> bool:
        """An idle connection the server has not closed (nor written to, out of turn)."""
        if self._writer.is_closing():
            return False
        sock = self._writer.get_extra_info("socket")
        if sock is None:
            return False
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return not poller.poll(0)

    def reusable(self) -> bool:
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        self._writer.close()

    async def exchange(
        self, request: h11.Request, timeout: httpx.Timeout
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        self.answered = False
        sent = self._h11.send(request) + self._h11.send(h11.EndOfMessage())
        try:
            self._writer.write(sent)
            async with asyncio.timeout(timeout.write):
                await self._writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("the server took no more in time") from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__) from None
        status, headers, body = 0, [], bytearray()
        while True:
            event = await self._next(timeout.read)
            if isinstance(event, h11.Response):
                status, headers = event.status_code, list(event.headers)
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_ANSWER:
                    raise httpx.RemoteProtocolError("the answer is larger than any entity")
            elif isinstance(event, h11.EndOfMessage):
                return status, headers, bytes(body)
            # an h11.InformationalResponse (1xx) is skipped

    async def _next(self, read_timeout: float | None) -> h11.Event:
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from None
            if event is not h11.NEED_DATA:
                if isinstance(event, h11.ConnectionClosed):
                    raise httpx.RemoteProtocolError("the server closed the connection mid-answer")
                return event  # type: ignore[return-value]
            try:
                async with asyncio.timeout(read_timeout):
                    data = await self._reader.read(_CHUNK)
            except TimeoutError:
                raise httpx.ReadTimeout("the server did not answer in time") from None
            except OSError as exc:
                raise httpx.ReadError(str(exc) or type(exc).__name__) from None
            self.answered = self.answered or bool(data)
            self._h11.receive_data(data)


def _context(verify: bool) -> ssl.SSLContext:
    """verify=True: the default trust; False (--insecure): no checks, as httpx makes it."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context

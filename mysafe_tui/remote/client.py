"""An async client for the MySafe API (API.md §1–4) over httpx.

What it promises its callers (the service and the sync engine):

- every failure is a `RemoteError` subclass with one human sentence: `OfflineError` when the
  server cannot be reached, `AuthenticationError` for a refused key, `RemoteRejected` for a MySafe
  business error (the server's `response.message`), `RemoteConflict` for a stale revision,
  `ServerError` for 5xx answers or replies that are not the MySafe API;
- the token is fetched with client credentials (form body; HTTP Basic as the fallback), cached
  until `expires_in - 60 s`, and renewed at most once per 401, single-flight however many calls
  see the 401 at the same time;
- idempotent requests are retried on 429/502/503/504 and on timeouts, honouring `Retry-After`
  (seconds or an HTTP date, capped), else exponential backoff with jitter, a bounded number of
  times;
- TLS is always verified (a private CA bundle may be given), proxies and netrc from the
  environment are ignored, and no secret or token is ever put in a URL or a log line.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from mysafe_tui.core.errors import (
    AuthenticationError,
    NotSupported,
    OfflineError,
    RemoteConflict,
    RemoteRejected,
    ServerError,
    ServerUnavailable,
)
from mysafe_tui.core.models import Secret
from mysafe_tui.remote.answers import (
    _int,
    entity,
    flag,
    json_body,
    normalise,
    retry_after,
    transport_reason,
)
from mysafe_tui.remote.lean import LeanGets, plain
from mysafe_tui.remote.lean import usable as lean_usable
from mysafe_tui.remote.pacing import MOST
from mysafe_tui.remote.tls import verification

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 120.0  # seconds: a server asking for longer is treated as unavailable
SAID_WAIT = 5.0  # a wait at least this long is announced (`on_wait`) before it starts
TOKEN_MARGIN = 60.0
# Wire names of the item types and the keys their answers use (API.md §3–4).
LIST_KEYS = {
    "password": "password_on_list",
    "note": "note_on_list",
    "secretapi": "api_secret_on_list",
    "file": "file_on_list",
    "sshkey": "sshkey_on_list",
}
ENTITY_KEYS = {
    "password": "password_entity",
    "note": "note_entity",
    "secretapi": "api_secret_entity",
    "file": "file_entity",
    "sshkey": "sshkey_entity",
}
WRITE_KEYS = {**ENTITY_KEYS, "secretapi": "api_entity"}
EXT_TYPES = frozenset({"file", "sshkey"})  # served under /mysafe-ext rather than /mysafe


@dataclass(frozen=True)
class AccessKey:
    """A MySafe access key: client id and secret (the secret's repr is redacted)."""

    client_id: str
    client_secret: Secret


@dataclass
class _Token:
    value: str = ""
    expires_at: float = 0.0
    generation: int = 0


@dataclass
class RetryPolicy:
    """How hard to try: attempts per idempotent request, backoff base and cap (seconds)."""

    attempts: int = 4
    base: float = 0.25
    cap: float = 8.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2**attempt))  # full jitter


class MySafeClient:
    """One server, one access key. Use `async with` or call `aclose()`."""

    def __init__(
        self,
        base_url: str,
        key: AccessKey,
        *,
        prefix: str = "/api",
        ca_bundle: str | None = None,
        insecure: bool = False,
        timeout: float = 15.0,
        tenant: str | None = None,
        proxy: str | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = "/" + prefix.strip("/")
        self._key = key
        self._tenant = tenant  # a multi-tenant senhasegura reached by address needs its name
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._token = _Token()
        self._token_lock = asyncio.Lock()
        # Called with the seconds about to be waited when the server asks for a pause
        # (429/503 with Retry-After): a person sees why nothing moves.
        self.on_wait: Callable[[float], None] | None = None
        verify = verification(ca_bundle, insecure) if transport is None else True
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        headers = {"Accept": "application/json", "User-Agent": "mysafe-tui"}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            verify=verify,
            timeout=timeouts,
            # Proxies: the one named at login, else HTTP(S)_PROXY / ALL_PROXY and NO_PROXY
            # from the environment, as curl and pip take them.
            proxy=proxy or None,
            trust_env=True,
            # As many connections as a pull may have requests in flight (remote/pacing.py);
            # no more: httpcore scans its whole pool for every request.
            limits=httpx.Limits(max_connections=MOST, max_keepalive_connections=MOST),
            transport=transport,
            headers=headers,
        )
        # A plain sync's thousands of GETs skip httpx's client layer (remote/lean.py).
        self._lean = (
            LeanGets(self.base_url, verify, timeouts, MOST, headers)
            if lean_usable(proxy, transport)
            else None
        )

    async def __aenter__(self) -> MySafeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._lean is not None:
            await self._lean.aclose()

    # --- token ------------------------------------------------------------------------------

    async def check_key(self) -> None:
        """Whether the server issues a token for this access key (AuthenticationError if not)."""
        await self._current_token()

    async def _current_token(self) -> _Token:
        if self._token.value and self._clock() < self._token.expires_at:
            return self._token
        return await self._renew(self._token.generation)

    async def _renew(self, seen_generation: int) -> _Token:
        """Fetch a token unless another caller already replaced the one `seen` (single flight)."""
        async with self._token_lock:
            token = self._token
            if token.generation != seen_generation and token.value:
                return token
            value, lifetime = await self._fetch_token()
            self._token = _Token(
                value, self._clock() + max(0.0, lifetime - TOKEN_MARGIN), token.generation + 1
            )
            return self._token

    async def _fetch_token(self) -> tuple[str, float]:
        grant = {"grant_type": "client_credentials"}
        if self._tenant:
            grant["tenant"] = self._tenant
        form = {
            **grant,
            "client_id": self._key.client_id,
            "client_secret": self._key.client_secret.reveal(),
        }
        url = f"{self.prefix}/oauth2/token"
        answer = await self._send("POST", url, idempotent=True, data=form)
        limited = _key_limit(answer)  # the key is good, its limits say no: no second try
        if answer.status_code in (400, 401) and not limited:  # some want HTTP Basic instead
            basic = httpx.BasicAuth(self._key.client_id, self._key.client_secret.reveal())
            answer = await self._send("POST", url, idempotent=True, auth=basic, data=grant)
        if answer.status_code in (400, 401, 403):
            why = f": {limited}" if limited else ""
            raise AuthenticationError(
                f"{self.base_url} refused the access key (client id {self._key.client_id}){why}"
            )
        body = self._json(answer)
        token = body.get("access_token")
        if answer.status_code != 200 or not isinstance(token, str) or not token:
            raise ServerError(f"{self.base_url} did not issue a token (HTTP {answer.status_code})")
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        return token, lifetime

    # --- requests ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """An authenticated API call; returns the parsed body of a successful answer."""
        answer = await self._authorized(method, path, idempotent, headers, **kwargs)
        return self._checked(answer)

    async def _authorized(
        self,
        method: str,
        path: str,
        idempotent: bool | None,
        headers: dict[str, str] | None,
        **kwargs: Any,
    ) -> httpx.Response:
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT")
        token = await self._current_token()
        # A streamed body cannot be sent twice: after a 401 it would go out empty.
        replayable = isinstance(kwargs.get("content", b""), bytes | str)
        for renewed in (False, True):
            auth = {"Authorization": f"Bearer {token.value}", **(headers or {})}
            answer = await self._send(method, path, idempotent=idempotent, headers=auth, **kwargs)
            if answer.status_code != 401:
                return answer
            if renewed or not replayable:
                break
            token = await self._renew(token.generation)
        raise AuthenticationError(
            f"{self.base_url} keeps refusing this access key's token; log in again"
        )

    async def _send(
        self, method: str, path: str, *, idempotent: bool, **kwargs: Any
    ) -> httpx.Response:
        """One request with the retry policy; transport failures become OfflineError."""
        attempts = self._retry.attempts if idempotent else 1
        for attempt in range(attempts):
            try:
                if self._lean and method == "GET" and kwargs.keys() <= {"headers"} and plain(path):
                    answer = await self._lean.get(path, kwargs.get("headers"))
                else:
                    answer = await self._http.request(method, path, **kwargs)
            except httpx.ReadTimeout:
                # The server has the request and is slow: sending it again only adds load
                # (a 20 s list sent four times took 61 s to fail).
                seconds = self._http.timeout.read
                raise OfflineError(
                    f"{self.base_url} did not answer within {seconds:g} s (a slow server: "
                    "'mysafe login --timeout' allows it longer)",
                    maybe_sent=True,
                ) from None
            except httpx.TimeoutException:  # connecting: the request never arrived
                if attempt + 1 < attempts:
                    await self._retry.sleep(self._retry.backoff(attempt))
                    continue
                raise OfflineError(f"{self.base_url} did not answer in time") from None
            except httpx.TransportError as exc:
                raise OfflineError(
                    f"cannot reach {self.base_url} ({transport_reason(exc)})"
                ) from None
            if answer.status_code not in RETRY_STATUSES or attempt + 1 == attempts:
                return answer
            delay = retry_after(answer.headers.get("retry-after"))
            if delay is not None and delay > MAX_RETRY_AFTER:
                return answer
            await answer.aclose()
            wait = self._retry.backoff(attempt) if delay is None else delay
            if wait >= SAID_WAIT and self.on_wait is not None:
                self.on_wait(wait)
            await self._retry.sleep(wait)
        raise AssertionError("unreachable")

    def _json(self, answer: httpx.Response) -> dict[str, Any]:
        try:
            body = json_body(answer.text)
        except ValueError:
            kind = answer.headers.get("content-type", "").split(";")[0] or "no content type"
            if answer.status_code >= 500:  # a proxy's or gateway's own error page
                raise OfflineError(
                    f"{self.base_url} answered HTTP {answer.status_code} with {kind}: the proxy "
                    "or gateway in front of the server got no answer from it",
                    maybe_sent=True,
                ) from None
            raise ServerError(
                f"{self.base_url} answered HTTP {answer.status_code} with {kind}, not the MySafe "
                "API (check the server URL)"
            ) from None
        if not isinstance(body, dict):
            raise ServerError(f"{self.base_url} answered something that is not the MySafe API")
        return body

    def _checked(self, answer: httpx.Response) -> dict[str, Any]:
        """API.md §1: failed when the status is not 2xx or `response.error` is true."""
        body = self._json(answer)
        raw_envelope = body.get("response")
        envelope: dict[str, Any] = raw_envelope if isinstance(raw_envelope, dict) else {}
        message = str(envelope.get("message") or envelope.get("mensagem") or "").strip()
        failed = flag(envelope.get("error", envelope.get("erro", False)))
        if answer.is_success and not failed:
            return body
        status = answer.status_code
        if status == 409:
            raise RemoteConflict(message or "the item changed on the server", body)
        if status == 429 or status >= 500:
            raise ServerUnavailable(f"{self.base_url} failed: {message or f'HTTP {status}'}")
        raw_exception = body.get("exception")
        exception: dict[str, Any] = raw_exception if isinstance(raw_exception, dict) else {}
        code = _int(exception.get("code"), 0)
        raise RemoteRejected(
            message or f"the server refused the request (HTTP {status})", code, status
        )

    # --- MySafe operations --------------------------------------------------------------------

    def _path(self, kind: str, *parts: str) -> str:
        family = "mysafe-ext" if kind in EXT_TYPES else "mysafe"
        return "/".join((f"{self.prefix}/{family}/{kind}", *parts))

    async def capabilities(self) -> frozenset[str]:
        """The §4 extension's features; empty for a plain senhasegura server, whatever its
        gateway answers for a route it does not have (404, 403, 400, an HTML page...)."""
        answer = await self._authorized("GET", f"{self.prefix}/mysafe-ext/capabilities", True, None)
        if answer.status_code >= 500:
            self._json(answer)  # a proxy's error page: offline, with the reason
            raise ServerError(f"{self.base_url} failed (HTTP {answer.status_code})")
        try:
            body = self._checked(answer)
        except (ServerError, RemoteRejected):
            return frozenset()
        values = body.get("capabilities")
        return frozenset(str(v) for v in values) if isinstance(values, list) else frozenset()

    async def list_items(self, kind: str, include_inactive: bool = False) -> list[dict[str, Any]]:
        params = {"status": "all"} if include_inactive else None
        body = await self.call("GET", self._path(kind), params=params)
        rows = body.get(LIST_KEYS[kind], [])
        if not isinstance(rows, list):
            raise ServerError(f"{self.base_url} sent a malformed {kind} list")
        return [normalise(row) for row in rows if isinstance(row, dict)]

    async def list_entities(self, kind: str) -> list[dict[str, Any]]:
        """Every entity of a type, secrets included, in one answer (extension "bulk")."""
        body = await self.call("GET", f"{self.prefix}/mysafe-ext/entities/{kind}")
        rows = body.get("entities", [])
        if not isinstance(rows, list):
            raise ServerError(f"{self.base_url} sent a malformed {kind} list")
        return [normalise(row) for row in rows if isinstance(row, dict)]

    async def get_item(self, kind: str, item_id: str) -> dict[str, Any]:
        body = await self.call("GET", self._path(kind, item_id))
        return entity(body, ENTITY_KEYS[kind], self.base_url)

    async def create_item(self, kind: str, fields: dict[str, Any], key: str = "") -> dict[str, Any]:
        """A new item; with `key` (a server with "idempotency"), sent again it makes no other."""
        headers = {"Idempotency-Key": key} if key else None
        body = await self.call("POST", self._path(kind), json=fields, headers=headers)
        return entity(body, WRITE_KEYS[kind], self.base_url)

    async def update_item(
        self, kind: str, item_id: str, fields: dict[str, Any], revision: int | None = None
    ) -> dict[str, Any]:
        """Partial update; with `revision`, a server copy changed since then is a conflict."""
        headers = {"If-Match": str(revision)} if revision is not None else None
        try:
            body = await self.call(
                "PUT", self._path(kind, "update", item_id), json=fields, headers=headers
            )
        except RemoteConflict as conflict:
            current = conflict.current.get(ENTITY_KEYS[kind])
            raise RemoteConflict(
                str(conflict), normalise(current) if isinstance(current, dict) else {}
            ) from None
        return entity(body, WRITE_KEYS[kind], self.base_url)

    async def history(self, kind: str, item_id: str) -> list[dict[str, Any]]:
        """Extension "history": an item's events, newest first."""
        body = await self.call("GET", f"{self.prefix}/mysafe-ext/history/{kind}/{item_id}")
        rows = body.get("history", [])
        if not isinstance(rows, list):
            raise ServerError(f"{self.base_url} sent a malformed history")
        return [row for row in rows if isinstance(row, dict)]

    async def set_active(self, kind: str, item_id: str, active: bool) -> None:
        word = "active" if active else "inactive"
        await self.call("POST", self._path(kind, word, item_id), idempotent=True)

    async def key_used(self, item_id: str) -> None:
        """Tell the server this device's agent signed with an SSH key (its access history)."""
        await self.call("POST", self._path("sshkey", "used", item_id))

    async def upload_file(
        self,
        fields: dict[str, str],
        chunks: AsyncIterator[bytes],
        item_id: str | None = None,
        revision: int | None = None,
        key: str = "",
    ) -> dict[str, Any]:
        """Stream a file's content (never held whole in memory); create (with `key`, as
        `create_item`) or replace."""
        headers = {"Content-Type": "application/octet-stream"}
        if revision is not None:
            headers["If-Match"] = str(revision)
        if key:
            headers["Idempotency-Key"] = key
        if item_id is None:
            body = await self.call(
                "POST", self._path("file"), params=fields, content=chunks, headers=headers
            )
        else:
            body = await self.call(
                "PUT",
                self._path("file", "update", item_id),
                params=fields,
                content=chunks,
                headers=headers,
                idempotent=False,
            )
        return entity(body, "file_entity", self.base_url)

    async def download_file(self, item_id: str) -> AsyncIterator[bytes]:
        """Stream a file's content from the server."""
        token = await self._current_token()
        request = self._http.build_request(
            "GET",
            self._path("file", item_id, "content"),
            headers={"Authorization": f"Bearer {token.value}"},
        )
        try:
            answer = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise OfflineError(f"cannot reach {self.base_url} ({transport_reason(exc)})") from None
        try:
            if not answer.is_success:
                await answer.aread()
                self._checked(answer)
            async for chunk in answer.aiter_bytes():
                yield chunk
        except httpx.TransportError as exc:
            raise OfflineError(
                f"the download from {self.base_url} broke off ({transport_reason(exc)})"
            ) from None
        finally:
            await answer.aclose()

    async def require(self, capability: str) -> None:
        if capability not in await self.capabilities():
            raise NotSupported(
                f"{self.base_url} has no {capability} API (a plain senhasegura "
                "server): this needs a mysafe serve server"
            )


def _key_limit(answer: httpx.Response) -> str:
    """The reason when a token was refused by the key's own limits (`mysafe serve`'s scoped
    keys: the MySafe "no access" envelope, 1006), else ""."""
    try:
        body = json_body(answer.text)
        message = str(body["response"]["message"])
    except (ValueError, TypeError, KeyError):
        return ""
    return message.removeprefix("1006: ") if message.startswith("1006: ") else ""

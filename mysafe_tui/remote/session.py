"""A vault's binding to a MySafe server: the client, the sync engine, and the connection state.

The binding (URL, access key, capabilities, last sync) lives in the vault's encrypted "remote"
meta record, never in the settings file. No network call happens at unlock: the state is
"cached" until the first sync or write reaches the server.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Awaitable
from typing import Any, TypeVar

import httpx

from mysafe_tui.core.errors import (
    InvalidInput,
    NotSupported,
    OfflineError,
    RemoteConflict,
    RemoteError,
    RemoteRejected,
)
from mysafe_tui.core.models import Secret
from mysafe_tui.remote.client import AccessKey, MySafeClient
from mysafe_tui.remote.status import RemoteStatus
from mysafe_tui.remote.sync import SyncEngine
from mysafe_tui.remote.tls import check_bundle

T = TypeVar("T")
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def check_url(url: str) -> str:
    """An http(s) base URL; plain http only for a server on this machine."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidInput(f"{url!r} is not a server URL (expected https://host[:port])")
    if parsed.scheme == "http" and parsed.hostname not in LOOPBACK:
        raise InvalidInput(
            "use https:// for a remote server: plain http is allowed only for localhost"
        )
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", ""))


class RemoteSession:
    """One bound vault's connection to its server."""

    def __init__(
        self, binding: dict[str, str], transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.binding = binding
        self.client = MySafeClient(
            binding["url"],
            AccessKey(binding["client_id"], Secret(binding["client_secret"])),
            prefix=binding.get("prefix", "/api"),
            ca_bundle=binding.get("ca_bundle") or None,
            insecure=binding.get("insecure") == "1",
            timeout=float(binding.get("timeout") or 15),
            tenant=binding.get("tenant") or None,
            proxy=binding.get("proxy") or None,
            transport=transport,
        )
        self.state = "cached"
        self.message = ""

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(c for c in self.binding.get("capabilities", "").split(",") if c)

    @property
    def engine(self) -> SyncEngine:
        return SyncEngine(self.client, self.capabilities)

    async def probe(self) -> frozenset[str]:
        """Check the key (a token is fetched) and learn what the server offers."""
        caps = await self.guard(self.client.capabilities())
        self.binding["capabilities"] = ",".join(sorted(caps))
        return caps

    async def guard(self, call: Awaitable[T]) -> T:
        """Track the connection state around one server call; offline writes say so."""
        try:
            result = await call
        except OfflineError as exc:
            self.state, self.message = "offline", str(exc)
            raise OfflineError(f"{exc}; working from the cache", exc.maybe_sent) from None
        except (RemoteRejected, RemoteConflict, NotSupported):
            raise  # the server answered: a refusal of this request, not a failing server
        except RemoteError as exc:
            self.state, self.message = "error", str(exc)
            raise
        if self.state in ("offline", "error", "cached"):
            self.state, self.message = "synced", ""
        return result

    def mark_synced(self, unreadable: list[str] | None = None) -> None:
        """A pull finished; `unreadable`: the items it could not read (kept for `status`)."""
        self.state, self.message = "synced", ""
        self.binding["last_sync"] = repr(time.time())
        self.binding["unreadable"] = json.dumps(unreadable or [])

    def status(self) -> RemoteStatus:
        last = self.binding.get("last_sync")
        try:
            unreadable = tuple(map(str, json.loads(self.binding.get("unreadable") or "[]")))
        except (ValueError, TypeError):
            unreadable = ()
        return RemoteStatus(
            True,
            self.binding["url"],
            self.binding["client_id"],
            self.state,
            float(last) if last else None,
            self.message,
            self.capabilities,
            self.binding.get("insecure") == "1",
            unreadable,
            self.binding.get("tenant", ""),
            _without_password(self.binding.get("proxy", "")),
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def new_binding(
    url: str,
    client_id: str,
    client_secret: str,
    prefix: str = "/api",
    ca_bundle: str | None = None,
    insecure: bool = False,
    tenant: str | None = None,
    proxy: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    if not client_id.strip() or not client_secret:
        raise InvalidInput("the access key needs a client id and a client secret")
    if proxy and urllib.parse.urlsplit(proxy).scheme not in ("http", "https"):
        raise InvalidInput(f"{proxy!r} is not a proxy URL (expected http://host:port)")
    if ca_bundle:
        check_bundle(ca_bundle)
    if timeout is not None and not 1 <= timeout <= 600:
        raise InvalidInput("the timeout is between 1 and 600 seconds")
    return {
        "url": check_url(url),
        "client_id": client_id.strip(),
        "client_secret": client_secret,
        "prefix": prefix,
        "ca_bundle": ca_bundle or "",
        "insecure": "1" if insecure else "",
        "tenant": (tenant or "").strip(),
        "proxy": proxy or "",
        "timeout": repr(timeout) if timeout else "",
        "capabilities": "",
        "last_sync": "",
    }

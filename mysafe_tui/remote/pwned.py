"""Pwned Passwords' range API, online (k-anonymity): only when asked (`mysafe health --online`,
or the setting), never by default.

For each hash, only its first five hex digits leave the machine (`GET /range/ABCDE`), with
`Add-Padding: true` so that the answer's size does not tell which range was asked either; the
answer's `SUFFIX:COUNT` lines are matched here (padding lines have count 0). TLS against the
machine's trust store; proxies as for the MySafe server (the one named at login, else the
environment's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import httpx

from mysafe_tui.core.errors import OfflineError, ServerError
from mysafe_tui.remote.answers import transport_reason
from mysafe_tui.remote.session import check_url
from mysafe_tui.remote.tls import verification

DEFAULT_API = "https://api.pwnedpasswords.com"
MAX_ANSWER = 4 * 1024 * 1024  # a padded range is ~40 KiB
IN_FLIGHT = 8


class OnlineRanges:
    source = "online"

    def __init__(
        self,
        base_url: str = DEFAULT_API,
        *,
        proxy: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = check_url(base_url)  # https, or plain http to this machine only
        self._proxy = proxy or None
        self._transport = transport

    async def counts(self, hashes: Iterable[str]) -> dict[str, int]:
        wanted: dict[str, set[str]] = {}
        for digest in hashes:
            wanted.setdefault(digest[:5].upper(), set()).add(digest.upper())
        found: dict[str, int] = {}
        gate = asyncio.Semaphore(IN_FLIGHT)
        async with httpx.AsyncClient(
            verify=verification() if self._transport is None else True,
            proxy=self._proxy,
            trust_env=True,
            timeout=httpx.Timeout(20.0, connect=5.0),
            transport=self._transport,
            headers={"Add-Padding": "true", "User-Agent": "mysafe-tui"},
        ) as http:

            async def one(prefix: str, digests: set[str]) -> None:
                async with gate:
                    text = await self._range(http, prefix)
                for line in text.splitlines():
                    suffix, _, count = line.strip().partition(":")
                    digest = prefix + suffix.upper()
                    if digest in digests and count.isdigit() and int(count) > 0:
                        found[digest] = int(count)

            await asyncio.gather(*(one(p, d) for p, d in wanted.items()))
        return found

    async def _range(self, http: httpx.AsyncClient, prefix: str) -> str:
        url = f"{self.base_url}/range/{prefix}"
        try:
            async with http.stream("GET", url) as answer:
                if answer.status_code != 200:
                    raise ServerError(f"{self.base_url} answered HTTP {answer.status_code}")
                body = bytearray()
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER:
                        raise ServerError(f"{self.base_url} sent more than a range can hold")
        except httpx.TransportError as exc:
            raise OfflineError(f"cannot reach {self.base_url} ({transport_reason(exc)})") from None
        return body.decode("ascii", "replace")

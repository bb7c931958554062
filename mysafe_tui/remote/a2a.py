"""senhasegura's A2A API: PAM Core credentials and SSH keys, and DSM application secrets
(the shapes in docs/api.md). The same client as MySafe's (token, TLS, proxy, tenant, retries,
the envelope), under the A2A prefix (`/iso` unless told). Business errors come back as
sentences (core/pam.py PAM_ERRORS), never a bare code.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable
from typing import Any, TypeVar

from mysafe_tui.core.errors import RemoteRejected, ServerError
from mysafe_tui.core.pam import (
    PAM_ERRORS,
    DsmApplication,
    PamCredential,
    PamKey,
    PamSecret,
)
from mysafe_tui.remote.client import MySafeClient

T = TypeVar("T")


async def said(call: Awaitable[T]) -> T:
    """The call, with the A2A API's codes turned into sentences."""
    try:
        return await call
    except RemoteRejected as exc:
        sentence = PAM_ERRORS.get(exc.code)
        if sentence is None:
            raise
        raise RemoteRejected(sentence, exc.code, exc.status) from None


def _object(body: dict[str, Any], key: str, base_url: str, shape: type = dict) -> Any:
    """The answer's `key`, of the `shape` the A2A API promises (ServerError if not)."""
    value = body.get(key)
    if not isinstance(value, shape):
        raise ServerError(f"{base_url} answered without the '{key}' the A2A API promises")
    return value


async def credentials(client: MySafeClient) -> list[PamCredential]:
    body = await said(client.call("GET", f"{client.prefix}/pam/credential"))
    rows = _object(body, "credentials", client.base_url, list)
    return [PamCredential.of(row) for row in rows if isinstance(row, dict)]


async def reveal(client: MySafeClient, ref: str) -> PamSecret:
    """A credential's password: the server puts it in this authorization's custody."""
    path = f"{client.prefix}/pam/credential/{urllib.parse.quote(ref, safe='@')}"
    body = await said(client.call("GET", path, idempotent=False))
    row = _object(body, "credential", client.base_url)
    return PamSecret.of(row)


async def release(client: MySafeClient, credential_id: str) -> None:
    path = f"{client.prefix}/pam/credential/custody/{urllib.parse.quote(credential_id, safe='')}"
    await said(client.call("DELETE", path, idempotent=True))


async def ssh_key(client: MySafeClient, key_id: str) -> PamKey:
    path = f"{client.prefix}/pam/key/{urllib.parse.quote(key_id, safe='')}"
    body = await said(client.call("GET", path, idempotent=False))
    row = _object(body, "key", client.base_url)
    return PamKey.of(row)


async def application(client: MySafeClient) -> DsmApplication:
    """The DSM application the calling authorization is (its secrets)."""
    body = await said(client.call("GET", f"{client.prefix}/dapp/application"))
    row = _object(body, "application", client.base_url)
    return DsmApplication.of(row)

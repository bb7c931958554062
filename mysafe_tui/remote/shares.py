"""External share links, client side (DESIGN.md §5): build the payload, encrypt it, upload it;
and the recipient's side (`mysafe open`): fetch, ask for the password if needed, decrypt.

The key never leaves this process except inside the link the user hands on; the server gets
ciphertext, policy and the SHA-256 of the two proofs (sharecrypto).
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from mysafe_tui.core.crypto import sha256
from mysafe_tui.core.errors import InvalidInput, OfflineError, RemoteRejected, ServerError
from mysafe_tui.core.models import FIELDS, SPECS, ItemKind, ItemSummary, field_label
from mysafe_tui.core.sanitize import printable
from mysafe_tui.core.sharecrypto import (
    SALT_LEN,
    ShareLink,
    SharePayload,
    b64url,
    derive,
    new_share_id,
    open_sealed,
    seal,
    unb64url,
)
from mysafe_tui.remote.answers import transport_reason
from mysafe_tui.remote.client import MySafeClient
from mysafe_tui.remote.session import check_url

MAX_EXPIRY = 30 * 24 * 3600
MAX_VIEWS = 100
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


def parse_duration(text: str) -> int:
    """'90m', '24h', '7d', '2w' → seconds, within the server's 30-day limit."""
    match = _DURATION.match(text.lower())
    if not match:
        raise InvalidInput(f"{text!r} is not a duration: use e.g. 1h, 24h, 7d (at most 30d)")
    seconds = int(match[1]) * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[match[2]]
    if not 60 <= seconds <= MAX_EXPIRY:
        raise InvalidInput("a link lives from 1 minute to 30 days")
    return seconds


def build_payload(
    item: ItemSummary, values: dict[str, str], fields: tuple[str, ...], content: bytes = b""
) -> SharePayload:
    """The recipient's view of an item: the chosen fields (or the file), labelled."""
    allowed = SPECS[item.kind].shareable
    unknown = [f for f in fields if f not in allowed]
    if unknown:
        raise InvalidInput(
            f"{item.kind.noun} cannot share {', '.join(unknown)} (it has: {', '.join(allowed)})"
        )
    shown = [
        {"label": field_label(f), "value": values[f], "secret": FIELDS[f].secret}
        for f in fields
        if values.get(f)
    ]
    if item.kind is ItemKind.FILE:
        return SharePayload(
            "file",
            item.name,
            shown,
            item.file_name or item.name,
            item.media_type or "application/octet-stream",
            content,
        )
    if not shown:
        raise InvalidInput("nothing to share: the chosen fields are all empty")
    return SharePayload(item.kind.value, item.name, shown)


@dataclass(frozen=True)
class CreatedShare:
    """What the owner keeps: the full link (encrypted in the vault) and the policy."""

    link: ShareLink
    share_hash: str
    expires_at: float
    max_views: int
    password_protected: bool
    recipient: str = ""  # the address the server mails codes to ("": anyone with the link)
    mail_status: str = ""  # what became of the notice mailed to it

    def __repr__(self) -> str:  # the link holds the key
        return f"CreatedShare({self.share_hash[:8]}…, views={self.max_views})"


async def create_share(
    client: MySafeClient,
    payload: SharePayload,
    *,
    expires_in: int,
    views: int,
    password: str | None,
    label: str,
    public_url: str,
    recipient: str = "",
) -> CreatedShare:
    if not 1 <= views <= MAX_VIEWS:
        raise InvalidInput(f"a link allows 1 to {MAX_VIEWS} views")
    if not 60 <= expires_in <= MAX_EXPIRY:
        raise InvalidInput("a link lives from 1 minute to 30 days")
    share_id, key = new_share_id(), os.urandom(32)
    salt = os.urandom(SALT_LEN) if password else None
    keys = derive(share_id, key, password, salt)
    policy = {
        "share_id": share_id,
        "kind": payload.kind,
        "max_views": views,
        "expires_in": expires_in,
        "label": label,
        "password_protected": bool(password),
        "kdf_salt": b64url(salt) if salt else "",
        **keys.proof_hashes(),
        **({"recipient": recipient} if recipient else {}),
    }
    sealed = seal(payload.encode(), share_id, keys)
    url = f"{client.prefix}/mysafe-ext/share"
    if payload.kind == "file":  # raw bytes, the policy in the query: no base64 JSON to parse
        raw = {"Content-Type": "application/octet-stream"}
        answer = await client.call("POST", url, params=policy, content=sealed, headers=raw)
    else:
        answer = await client.call("POST", url, json={**policy, "ciphertext": b64url(sealed)})
    share = answer.get("share")
    if not isinstance(share, dict) or share.get("share_id") != share_id:
        raise ServerError(f"{client.base_url} did not confirm the share")
    return CreatedShare(
        ShareLink(public_url, share_id, key),
        sha256(share_id.encode()).hex(),
        time.time() + expires_in,
        views,
        bool(password),
        str(share.get("recipient") or ""),
        str(share.get("mail_status") or ""),
    )


async def list_shares(client: MySafeClient) -> list[dict[str, Any]]:
    answer = await client.call("GET", f"{client.prefix}/mysafe-ext/share")
    rows = answer.get("shares", [])
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


async def revoke_share(client: MySafeClient, share_id: str) -> None:
    await client.call(
        "POST", f"{client.prefix}/mysafe-ext/share/revoke/{share_id}", idempotent=True
    )


async def resend_share(client: MySafeClient, share_id: str) -> str:
    """Have the server mail a link's recipient its notice again; the server's sentence."""
    answer = await client.call("POST", f"{client.prefix}/mysafe-ext/share/resend/{share_id}")
    response = answer.get("response")
    return str(response.get("message", "")) if isinstance(response, dict) else ""


# --- the recipient ----------------------------------------------------------------------------

GONE = {
    "expired": "the link has expired",
    "used_up": "the link has already been used",
    "revoked": "the link was revoked by its owner",
    "missing": "the link does not exist (or never did)",
}


async def open_link(
    url: str,
    ask_password: Callable[[], Awaitable[str]],
    *,
    ask_code: Callable[[str], Awaitable[str]] | None = None,
    before_reveal: Callable[[dict[str, Any]], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SharePayload:
    """Fetch, decrypt and return a shared item: spends one view only after the password
    (when there is one) checks out, exactly like the browser page. `before_reveal` sees the
    public status (kind, size) first and may refuse by raising: nothing is spent then. A
    link made for a recipient has a code mailed to them, and `ask_code` (told where it went)
    asks for it."""
    link = ShareLink.parse(url)
    check_url(link.base_url)  # the link's key is safe in the fragment, the content is not
    api = f"{link.base_url}/api/public/share/{link.share_id}"
    async with httpx.AsyncClient(timeout=60, trust_env=False, transport=transport) as http:
        status = (await _public(http, "GET", api)).get("share", {})
        if before_reveal is not None:
            before_reveal(status)
        salt = unb64url(status["kdf_salt"]) if status.get("password_protected") else None
        password = await ask_password() if salt else None
        keys = derive(link.share_id, link.key, password, salt)
        code = ""
        if status.get("code_required"):
            if ask_code is None:
                raise InvalidInput("this link opens with a code mailed to its recipient")
            code = await ask_code(await _mail_code(http, api, keys.reveal_body()["holder"]))
        body = await _public(
            http, "POST", f"{api}/reveal", json={**keys.reveal_body(), "code": code}
        )
    blob = base64.b64decode(body["share"]["ciphertext"])
    return SharePayload.decode(open_sealed(blob, link.share_id, keys))


async def _mail_code(http: httpx.AsyncClient, api: str, holder: str) -> str:
    """Ask the server to mail the recipient a code; where it went, as one sentence."""
    answer = await _request(http, "POST", f"{api}/code", json={"holder": holder})
    share = _share_of(answer)
    if answer.status_code == 429 and share.get("refused") == "code_soon":
        return "A code was mailed moments ago; type that one"
    if answer.status_code == 502:
        raise ServerError("the server could not mail the code; nothing was spent, try later")
    sent = _checked(answer, api)["share"]
    hint = printable(str(sent.get("recipient_hint") or "the recipient"))[:80]  # a server's words
    return f"A code was mailed to {hint}"


async def _request(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        raise OfflineError(
            f"cannot reach {url.split('/api/')[0]} ({transport_reason(exc)})"
        ) from None


def _share_of(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except json.JSONDecodeError:
        return {}
    share = body.get("share") if isinstance(body, dict) else None
    return share if isinstance(share, dict) else {}


async def _public(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    return _checked(await _request(http, method, url, **kwargs), url)


def _checked(answer: httpx.Response, url: str) -> dict[str, Any]:
    try:
        body = answer.json()
    except json.JSONDecodeError:
        raise ServerError(f"{url.split('/api/')[0]} is not a mysafe share server") from None
    share = body.get("share") if isinstance(body, dict) else None
    share = share if isinstance(share, dict) else {}
    if answer.status_code in (403, 429):
        raise RemoteRejected(_refusal(share, answer), 1006, answer.status_code)
    state = share.get("status")
    if answer.status_code in (404, 410) or state in ("expired", "used_up", "revoked"):
        raise RemoteRejected(
            f"cannot open it: {GONE.get(str(state), GONE['missing'])}", 0, answer.status_code
        )
    if not answer.is_success or not isinstance(body, dict):
        raise ServerError(f"the share server failed (HTTP {answer.status_code})")
    return body


def _refusal(share: dict[str, Any], answer: httpx.Response) -> str:
    """A reveal the server refused without spending anything, as one sentence."""
    reason = share.get("refused")
    if reason == "code_needed":
        return "the code is missing or more than 10 minutes old: open the link again for a new one"
    if reason == "codes":
        return "no more codes for this link: ask the person who sent it to resend it"
    if answer.status_code == 429:
        wait = answer.headers.get("Retry-After", "")
        after = f"in {wait} s" if wait.isdigit() else "in a minute"
        return f"too many tries: nothing was revealed; try again {after}"
    if reason == "link":
        return "the link is damaged (its key does not match): copy the whole link and try again"
    what = "code" if reason == "code" else "password"
    left = share.get("attempts_left")
    if isinstance(left, int) and left <= 0:
        return f"wrong {what}, the last try: the link is destroyed"
    more = ""
    if isinstance(left, int):
        more = (
            " (the next wrong one destroys the link)"
            if left == 1
            else (f" ({left} more wrong ones destroy the link)")
        )
    return f"wrong {what}: nothing was revealed and no view was used{more}"

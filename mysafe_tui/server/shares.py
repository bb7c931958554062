"""External share links (API.md §4, DESIGN.md §5): the owner's routes and the public ones.

The server stores ciphertext and policy, never a key: the key lives in the link's fragment. A
reveal must carry the access proof derived from that key (and the password), so knowing a share
id alone cannot spend its views; and the holder proof derived from the key alone, so that a
stranger who knows only the share id is slowed down and can never destroy the link, while a
recipient's mistyped password still counts toward the ten that do.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import json
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any, BinaryIO

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mysafe_tui.server import recipients
from mysafe_tui.server.errors import ApiError, ShareGone, ShareRefused, invalid, missing
from mysafe_tui.server.http import (
    MAX_JSON_BODY,
    authenticated,
    envelope,
    envelope_body,
    error_response,
    flag,
    history_of,
    plain_text,
    read_body,
    store_of,
)
from mysafe_tui.server.share_store import COPY_CHUNK, share_id_hash

MAX_EXPIRY_SECONDS = 30 * 24 * 3600
MAX_VIEWS = 100
MAX_TEXT_CIPHERTEXT = 1024 * 1024
SHARE_KINDS = ("password", "note", "secretapi", "file")
_SHARE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_GONE_MESSAGES = {
    "expired": "This link has expired.",
    "used_up": "This link has already been used.",
    "revoked": "This link was revoked by its owner.",
    "missing": "This link does not exist.",
}


def share_id_of(request: Request) -> str:
    share_id = str(request.path_params["share_id"])
    if not _SHARE_ID.match(share_id):
        raise ShareGone("missing")
    return share_id


def _b64(value: Any, name: str) -> bytes:
    try:
        text = str(value)
        return base64.urlsafe_b64decode(
            text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)
        )
    except (binascii.Error, ValueError):
        raise invalid(f"{name} must be base64") from None


def _expiry(body: dict[str, Any], now: float) -> float:
    if "expires_at" in body:
        raw = body["expires_at"]
        try:
            if isinstance(raw, int | float) or str(raw).replace(".", "", 1).isdigit():
                expires = float(raw)
            else:
                parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=UTC)
                expires = parsed.timestamp()
        except ValueError:
            raise invalid("expires_at must be an ISO 8601 time or epoch seconds") from None
    elif "expires_in" in body:
        try:
            expires = now + float(body["expires_in"])
        except (TypeError, ValueError):
            raise invalid("expires_in must be a number of seconds") from None
    else:
        raise missing("expires_at")
    if expires <= now:
        raise invalid("expires_at is in the past")
    if expires > now + MAX_EXPIRY_SECONDS + 60:
        raise invalid("a share can live at most 30 days")
    return expires


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _public(status: dict[str, Any]) -> dict[str, Any]:
    out = dict(status)
    for key in ("created_at", "expires_at", "last_access_at"):
        if key in out:
            out[key] = iso(out[key])
    return out


async def _spooled(request: Request, spool: BinaryIO, limit: int) -> BinaryIO:
    """The request body into `spool` as it arrives (memory flat whatever its size)."""
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"Share content larger than {limit} bytes", status=413)
            await run_in_threadpool(spool.write, chunk)
        if size == 0:
            raise missing("ciphertext")
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _revealed(content: BinaryIO, info: dict[str, Any]) -> Response:
    """The envelope with the ciphertext in base64, streamed from the spool file chunk by
    chunk: the JSON is the same as an ordinary envelope's, never built whole in memory."""
    head = json.dumps(envelope_body(200, share={**info, "ciphertext": ""}))
    before, after = head.rsplit('"ciphertext": ""', 1)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield (before + '"ciphertext": "').encode()
            while chunk := await run_in_threadpool(content.read, COPY_CHUNK):
                yield base64.b64encode(chunk)
            yield ('"' + after).encode()
        finally:
            content.close()

    return StreamingResponse(body(), media_type="application/json")


def routes(prefix: str, max_file_bytes: int) -> list[BaseRoute]:
    """Owner routes under `{prefix}/mysafe-ext/share`, public ones under `{prefix}/public`."""

    async def create(request: Request, user_id: int) -> Response:
        store = store_of(request)
        streamed = request.headers.get("content-type", "").startswith("application/octet-stream")
        if streamed:  # a file share: the ciphertext is the body, the rest in the query
            body: dict[str, Any] = dict(request.query_params)
        else:
            body = await read_body(request, limit=MAX_JSON_BODY)
        share_id = str(body.get("share_id", ""))
        if not _SHARE_ID.match(share_id):
            raise invalid("share_id must be 16-64 URL-safe characters")
        kind = str(body.get("kind", ""))
        if kind not in SHARE_KINDS:
            raise invalid(f"kind must be one of {', '.join(SHARE_KINDS)}")
        recipient = recipients.recipient_of(request, body)
        limit = max_file_bytes if kind == "file" else MAX_TEXT_CIPHERTEXT
        if streamed:
            content = await _spooled(request, store.spool(), limit)
        else:
            if not body.get("ciphertext"):
                raise missing("ciphertext")
            ciphertext = _b64(body["ciphertext"], "ciphertext")
            if len(ciphertext) > limit:
                raise ApiError(413, f"Share content larger than {limit} bytes", status=413)
            content = io.BytesIO(ciphertext)
        proof_hash = _digest(body, "access_proof_hash")
        # Older clients send no holder proof: their links cannot tell a stranger from a guesser.
        holder_hash = _digest(body, "holder_proof_hash") if "holder_proof_hash" in body else None
        if recipient and holder_hash is None:
            raise missing("holder_proof_hash")
        try:
            max_views = int(body.get("max_views", 1))
        except (TypeError, ValueError):
            raise invalid("max_views must be a whole number") from None
        if not 1 <= max_views <= MAX_VIEWS:
            raise invalid(f"max_views must be between 1 and {MAX_VIEWS}")
        protected = flag(body.get("password_protected", False))
        salt = str(body.get("kdf_salt") or "")
        if protected and not salt:
            raise missing("kdf_salt")
        expires_at = _expiry(body, store.clock())
        share = {
            "kind": kind,
            "label": plain_text("label", body.get("label", ""))[:200],
            "ciphertext": content,
            "password_protected": protected,
            "kdf_salt": salt,
            "proof_hash": proof_hash,
            "holder_hash": holder_hash,
            "expires_at": expires_at,
            "max_views": max_views,
            "recipient": recipient,
        }
        try:
            await run_in_threadpool(store.create_share, user_id, share_id, share)
        finally:
            content.close()
        mail_status = ""
        if recipient:
            made = {**share, "id_hash": share_id_hash(share_id), "share_id_prefix": share_id[:6]}
            mail_status = await recipients.notify(request, user_id, made)
        return envelope(
            201,
            "Share successfully created",
            share={
                "share_id": share_id,
                "url_path": f"/s/{share_id}",
                "expires_at": iso(expires_at),
                "max_views": max_views,
                "recipient": recipient,
                "mail_status": mail_status,
            },
        )

    async def list_shares(request: Request, user_id: int) -> Response:
        shares = await run_in_threadpool(store_of(request).list_shares, user_id)
        return envelope(200, shares=[_public(share) for share in shares])

    async def revoke(request: Request, user_id: int) -> Response:
        share_id = str(request.path_params["share_id"])
        status = await run_in_threadpool(store_of(request).revoke_share, user_id, share_id)
        return envelope(200, "Share successfully revoked", share=_public(status))

    async def public_status(request: Request) -> Response:
        try:
            share_id = share_id_of(request)
            status = await run_in_threadpool(store_of(request).share_status, share_id)
        except ShareGone as gone:
            return _gone(gone)
        history_of(request).add(request, "opened", share_hash=share_id_hash(share_id))
        status["message"] = _GONE_MESSAGES.get(status["status"], "")
        return envelope(200, share=_public(status))

    @_public_answer
    async def reveal(request: Request) -> Response:
        share_id = share_id_of(request)
        body = await read_body(request, limit=4096)
        proof = _b64(body.get("proof", ""), "proof")
        holder = _b64(body.get("holder", ""), "holder")
        code = str(body.get("code") or "")[:32]
        ciphertext, info = await run_in_threadpool(
            store_of(request).reveal_share, share_id, proof, holder, source_of(request), code
        )
        history_of(request).add(request, "revealed", share_hash=share_id_hash(share_id))
        return _revealed(ciphertext, info)

    @_public_answer
    async def code(request: Request) -> Response:
        share_id = share_id_of(request)
        body = await read_body(request, limit=4096)
        holder = _b64(body.get("holder", ""), "holder")
        return await recipients.mail_code(request, share_id, holder, source_of(request))

    return [
        Route(f"{prefix}/mysafe-ext/share", authenticated(create), methods=["POST"]),
        Route(f"{prefix}/mysafe-ext/share", authenticated(list_shares), methods=["GET"]),
        Route(
            f"{prefix}/mysafe-ext/share/revoke/{{share_id}}",
            authenticated(revoke),
            methods=["POST"],
        ),
        Route(f"{prefix}/public/share/{{share_id}}", public_status, methods=["GET"]),
        Route(f"{prefix}/public/share/{{share_id}}/reveal", reveal, methods=["POST"]),
        Route(f"{prefix}/public/share/{{share_id}}/code", code, methods=["POST"]),
        *recipients.routes(prefix),
    ]


def _public_answer(
    route: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A public share route whose refusals are answers in the envelope, never errors."""

    async def answered(request: Request) -> Response:
        try:
            return await route(request)
        except ShareGone as gone:
            return _gone(gone)
        except ShareRefused as refused:
            return _refused(refused)
        except ApiError as exc:
            return error_response(exc)

    return answered


def source_of(request: Request) -> str:
    """Where a reveal comes from, for a stranger's wait: the client's address, an IPv6 one by
    its /64 (one host commonly holds the whole of it)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


_REFUSALS = {
    "password": "Wrong password: nothing was revealed and no view was used.",
    "link": "This link is damaged: its key does not match. Open it exactly as it was sent.",
    "wait": "Too many tries without the link's key; wait before trying again.",
    "code": "Wrong code: nothing was revealed and no view was used.",
    "code_needed": "This link opens with a code mailed to its recipient: ask for one first.",
    "codes": "No more codes for this link: ask the person who sent it to resend it.",
    "code_soon": "A code was mailed moments ago: wait a little before asking for another.",
}


def _refused(refused: ShareRefused) -> Response:
    share: dict[str, Any] = {"status": "active", "refused": refused.reason}
    message = _REFUSALS[refused.reason]
    if refused.reason in ("password", "code"):
        share["attempts_left"] = refused.attempts_left
        if refused.attempts_left <= 0:
            share["status"] = "revoked"
            message = f"Wrong {refused.reason}, the last try: the link is destroyed."
    status = 429 if refused.reason in ("wait", "code_soon") else 403
    response = envelope(status, message, share=share)
    if status == 429:
        response.headers["Retry-After"] = str(max(1, math.ceil(refused.retry_after)))
    return response


def _digest(body: dict[str, Any], name: str) -> bytes:
    """A SHA-256 digest field of a share's creation, required."""
    if not body.get(name):
        raise missing(name)
    value = _b64(body[name], name)
    if len(value) != 32:
        raise invalid(f"{name} must be a SHA-256 digest")
    return value


def _gone(gone: ShareGone) -> Response:
    status = 404 if gone.state == "missing" else 410
    return envelope(status, _GONE_MESSAGES[gone.state], share={"status": gone.state})


PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _static(name: str) -> bytes:
    return resources.files("mysafe_tui.server").joinpath("static", name).read_bytes()


async def share_page(request: Request) -> Response:
    """The recipient's page. Opening it spends nothing; only its Reveal button does."""
    return Response(
        _static("share.html"),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": PAGE_CSP},
    )


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    types = {"share.js": "text/javascript; charset=utf-8", "share.css": "text/css; charset=utf-8"}
    if name not in types:
        return Response("Not found", status_code=404, media_type="text/plain")
    return Response(_static(name), media_type=types[name])


def page_routes() -> list[BaseRoute]:
    return [
        Route("/s/{share_id}", share_page, methods=["GET"]),
        Route("/static/{name}", static_file, methods=["GET"]),
    ]

"""Envelopes, body parsing and authentication shared by every route (API.md §1)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mysafe_tui.core.sanitize import forbidden_char
from mysafe_tui.server.errors import ApiError, invalid
from mysafe_tui.server.history import HistoryLog
from mysafe_tui.server.keys import KeyLimits, KeyRefused, out_of_scope
from mysafe_tui.server.store import Store

MAX_PLAIN_TEXT = 4096  # a name, a URL, a tag list, a file name, a label
MAX_JSON_BODY = 2 * 1024 * 1024  # a 1 MiB share ciphertext in base64, with room to spare


def envelope(status: int, message: str = "Success", /, **payload: Any) -> JSONResponse:
    """The MySafe envelope, Portuguese duplicates included, plus the payload keys."""
    return JSONResponse(envelope_body(status, message, **payload), status_code=status)


def envelope_body(status: int, message: str = "Success", /, **payload: Any) -> dict[str, Any]:
    error = status >= 400
    body: dict[str, Any] = {
        "code": status,
        "response": {
            "status": status,
            "message": message,
            "error": error,
            "error_code": 1 if error else 0,
            "detail": "",
            "mensagem": message,
            "erro": error,
            "cod_erro": 1 if error else 0,
        },
    }
    body.update(payload)
    return body


def error_response(exc: ApiError) -> JSONResponse:
    extra: dict[str, Any] = {}
    if exc.status == 400:
        extra["exception"] = {"code": exc.code, "message": exc.message, "detail": None}
    return envelope(exc.status, exc.message, **extra)


def unauthorized(message: str = "Unauthorized") -> JSONResponse:
    response = envelope(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="mysafe"'
    return response


async def read_body(request: Request, limit: int = MAX_JSON_BODY) -> dict[str, Any]:
    """A JSON or form-encoded body as a dict; anything else is a 400 with a clear message."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ApiError(
                413,
                f"Request body too large (at most {limit >> 10} KiB here; a "
                "file's content goes as application/octet-stream)",
                status=413,
            )
    if not raw:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/x-www-form-urlencoded":
            return dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(1001, "1001: The request body is not valid JSON or form data") from None
    except RecursionError:  # [[[[...]]]] 100k deep
        raise ApiError(1001, "1001: The request body is nested too deeply") from None
    if not isinstance(value, dict):
        raise ApiError(1001, "1001: The request body must be a JSON object")
    return value


Handler = Callable[[Request, int], Awaitable[Response]]


def authenticated(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Resolve `Authorization: Bearer` to a user id, or answer 401; map ApiError to envelopes."""

    async def endpoint(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return unauthorized("Missing bearer token")
        store = store_of(request)
        # Every request's read: in a thread when it may cross the network (PostgreSQL); a
        # SQLite read is quicker than the hop (plain sync: 0.2 ms less server CPU a request).
        if store.reads_on_loop:
            holder = store.token_holder(token.strip())
        else:
            holder = await run_in_threadpool(store.token_holder, token.strip())
        if holder is None:
            return unauthorized("Invalid or expired token")
        user_id, request.state.client_id = holder.user_id, holder.client_id
        request.state.user_id = user_id
        request.state.limits = holder.limits
        address = request.client.host if request.client else ""
        try:
            why = holder.limits.refusal(address, request.method, store.clock())
            if why:
                raise KeyRefused(why)
            if request.app.state.last_uses.due(holder.client_id, store.clock()):
                await run_in_threadpool(store.key_used, holder.client_id)
            item_id = request.path_params.get("id")  # every {id} in a route is an item's
            if holder.limits.items and item_id is not None:
                tags = await run_in_threadpool(store.item_tags, str(item_id))
                if tags is not None and not holder.limits.covers(item_id, tags):
                    raise out_of_scope()  # (no such item: the handler says not found)
            return await handler(request, user_id)
        except KeyRefused as exc:  # the key's limits: counted on it (`serve key list`)
            await run_in_threadpool(store.key_refused, holder.client_id)
            return error_response(exc)
        except ApiError as exc:
            return error_response(exc)

    endpoint.__name__ = handler.__name__
    return endpoint


def flag(value: Any) -> bool:
    """'1', 'true', 1, True → True (API.md §1: flags come as strings or booleans)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v).strip() for v in value if str(v).strip())
    return str(value)


def plain_text(name: str, value: Any) -> str:
    """A field stored and shown as it is (name, username, URL, tags, file name, label):
    control characters, bidi overrides and lone surrogates are refused with a 400, because
    every client that shows the field would otherwise show them to a terminal."""
    result = text(value).strip()
    if len(result) > MAX_PLAIN_TEXT:
        raise ApiError(413, f"{name} is longer than {MAX_PLAIN_TEXT} characters", status=413)
    bad = forbidden_char(result)
    if bad is not None:
        raise invalid(f"{name} holds a control character ({bad})")
    return result


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def limits_of(request: Request) -> KeyLimits:
    """The limits of the access key the request came with (after `authenticated`)."""
    limits: KeyLimits = request.state.limits
    return limits


def in_scope(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items the request's access key may reach (all, for a key with full access)."""
    limits = limits_of(request)
    if not limits.items:
        return items
    return [item for item in items if limits.covers(item["identifier"], item["tags"])]


def creating(request: Request) -> None:
    """A key limited to chosen items makes no new ones."""
    if limits_of(request).items:
        raise KeyRefused("this access key reaches chosen items only: it makes no new ones")


def history_of(request: Request) -> HistoryLog:
    log: HistoryLog = request.app.state.history
    return log

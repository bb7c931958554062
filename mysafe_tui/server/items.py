"""MySafe item routes (API.md §2–3) and the token endpoint, with the §4 revision extension."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, TypedDict

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mysafe_tui.core import extras, models
from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.models import FIELDS, SPECS, ItemKind
from mysafe_tui.core.sanitize import LONE_SURROGATE
from mysafe_tui.core.totp import parse_seed, totp
from mysafe_tui.server.errors import ApiError, Conflict, invalid, missing
from mysafe_tui.server.http import (
    authenticated,
    creating,
    envelope,
    error_response,
    flag,
    history_of,
    in_scope,
    plain_text,
    read_body,
    store_of,
    text,
)
from mysafe_tui.server.keys import KeyRefused
from mysafe_tui.server.store import Sharing

TOKEN_TTL = 3600
PERSONAL = "personal_groups_allowed"  # the item owner's personal groups (group_store.py)
# A password, a seed or an API secret is small; a note may be long (senhasegura itself fails
# on some long notes); nothing is unbounded.
SECRET_LIMIT = 64 * 1024
FIELD_LIMITS = {"note": 1024 * 1024, "notes": 1024 * 1024}


@dataclass(frozen=True)
class KindConfig:
    """How one item type maps onto the wire: keys, fields, messages."""

    kind: str
    noun: str  # in messages: "Password successfully registered"
    list_key: str
    entity_key: str
    write_key: str  # create/update answers use this key (api_entity for API secrets)
    plain: tuple[str, ...]
    sealed: tuple[str, ...]
    required: tuple[str, ...]
    row: tuple[str, ...]  # list-row fields besides identifier and the flags
    secret: tuple[str, ...]  # left out of create/update answers
    filters: tuple[str, ...]
    extension: bool = False  # ours, not senhasegura's: served under /mysafe-ext only


class Stored(TypedDict):
    plain: tuple[str, ...]
    sealed: tuple[str, ...]
    required: tuple[str, ...]


def stored(kind: ItemKind) -> Stored:
    """How the server keeps a kind, read from the one field table (core.models): plain
    columns for what list rows show and filter on, the rest sealed. A file's size is the
    server's own measure of the upload, never the client's word."""
    spec = SPECS[kind]
    plain = tuple(n for n in spec.summary if FIELDS[n].column and n != "size")
    sealed = tuple(n for n in spec.fields if n not in plain and n != "size")
    # The extension's fields every kind has (custom fields, more URLs, old passwords): text
    # the client writes and checks (JSON, or URLs one per line), sealed like the secrets.
    sealed += tuple(n for n in extras.WIRE if n != "urls" or "url" in spec.fields)
    return {"plain": plain, "sealed": sealed, "required": spec.server_required or spec.required}


KINDS = {
    "password": KindConfig(
        "password",
        "Password",
        "password_on_list",
        "password_entity",
        "password_entity",
        **stored(ItemKind.PASSWORD),
        row=("name", "url", "username", "tags"),
        secret=("password", "secret_key", "token", *extras.SECRET_WIRE),
        filters=("name", "username", "url"),
    ),
    "note": KindConfig(
        "note",
        "Note",
        "note_on_list",
        "note_entity",
        "note_entity",
        **stored(ItemKind.NOTE),
        row=("name", "tags"),
        secret=("note", *extras.SECRET_WIRE),
        filters=(),
    ),
    "secretapi": KindConfig(
        "secretapi",
        "Api secret",
        "api_secret_on_list",
        "api_secret_entity",
        "api_entity",
        **stored(ItemKind.API_SECRET),
        row=("name",),
        secret=("client_secret", *extras.SECRET_WIRE),
        filters=("identifier_code",),
    ),
    # Sealed whole but for the name and tags. The server never reads a key: a client works
    # out what is shown of one (type, fingerprint, public line) from its private part.
    "sshkey": KindConfig(
        "sshkey",
        "SSH key",
        "sshkey_on_list",
        "sshkey_entity",
        "sshkey_entity",
        **stored(ItemKind.SSH_KEY),
        row=("name", "tags"),
        secret=("private", *extras.SECRET_WIRE),
        filters=(),
        extension=True,
    ),
}


def list_row(config: KindConfig, item: dict[str, Any]) -> dict[str, Any]:
    row = {"identifier": item["identifier"]}
    row.update((name, item[name]) for name in config.row)
    row.update(
        need_justify="0",
        need_approval="0",
        can_view=True,
        can_write=item["can_write"],
        revision=item["revision"],
        active=item["active"],
        owner=item["owner"],
        mine=item["mine"],
    )
    return row


def for_client(request: Request, data: dict[str, Any], *, row: bool = False) -> dict[str, Any]:
    """Plain-senhasegura mode (`mysafe serve --no-extension`) drops the §4 additions."""
    if request.app.state.config.extension:
        return data
    extra: tuple[str, ...] = ("revision", "active", "owner", "mine", PERSONAL, *extras.WIRE)
    if not row:
        extra += ("can_write",)
    return {key: value for key, value in data.items() if key not in extra}


def entity(config: KindConfig, item: dict[str, Any], *, with_secret: bool) -> dict[str, Any]:
    """The entity as API.md §3 spells it; `token` is the current TOTP code."""
    out: dict[str, Any] = {"identifier": item["identifier"]}
    for name in (*config.plain, *config.sealed):
        out[name] = item.get(name, "")
    if config.kind == "password":  # the published examples: null, not "", when there is none
        out["secret_key"] = out.get("secret_key") or None
        out["token"] = _current_code(out["secret_key"] or "") or None
    out.update(
        users_allowed=item["users_allowed"],
        groups_allowed=item["groups_allowed"],
        personal_groups_allowed=item.get(PERSONAL, []),
        revision=item["revision"],
        active=item["active"],
        can_write=item["can_write"],
        owner=item["owner"],
        mine=item["mine"],
    )
    if not with_secret:
        for name in config.secret:
            out.pop(name, None)
    return out


def written(config: KindConfig, item: dict[str, Any], shared_error: list[Any]) -> dict[str, Any]:
    """The entity a create or update answers with, as senhasegura's examples show it: no
    secret (an API secret keeps its client_secret), a password's notes as `note`, and the
    sharing failures inside it."""
    out = entity(config, item, with_secret=config.kind == "secretapi")
    if config.kind == "password" and "notes" in out:
        out["note"] = out.pop("notes")
    out["shared_error"] = shared_error
    return out


def record_event(
    request: Request, user_id: int, item: dict[str, Any], event: str, body: Any = None
) -> None:
    """Into the access history: `event` (if any), and "shared" when the body changed who
    may open the item."""
    log = history_of(request)
    if event:
        log.add(request, event, item_id=item["identifier"], user_id=user_id)
    if isinstance(body, dict) and body.keys() & {"users_allowed", "groups_allowed", PERSONAL}:
        # whom it is shared with now and their rights, as every client says it
        detail = models.Sharing.of_entity(item).describe()
        log.add(request, "shared", item_id=item["identifier"], user_id=user_id, detail=detail)


def _current_code(seed: str) -> str:
    if not seed:
        return ""
    try:
        return totp(parse_seed(seed)).code
    except InvalidInput:
        return ""


def split_fields(
    config: KindConfig, body: dict[str, Any], *, creating: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Body → (plain columns, sealed fields); only the fields present (partial update)."""
    if creating:
        for name in config.required:
            if not text(body.get(name)).strip():
                raise missing(name)
    elif "name" in body and not text(body["name"]).strip():
        raise invalid("name cannot be empty")
    plain = {name: plain_text(name, body[name]) for name in config.plain if name in body}

    sealed = {name: text(body[name]) for name in config.sealed if name in body}
    for name, value in sealed.items():  # a lone surrogate cannot even be stored as UTF-8
        if LONE_SURROGATE.search(value):
            raise invalid(f"{name} holds a lone surrogate (not valid Unicode)")
        limit = FIELD_LIMITS.get(name, SECRET_LIMIT)
        if len(value.encode()) > limit:
            raise ApiError(413, f"{name} is larger than {limit // 1024} KiB", status=413)
    if sealed.get("secret_key"):
        try:
            parse_seed(sealed["secret_key"])
        except InvalidInput as exc:
            raise invalid(str(exc)) from None
    try:  # custom fields: checked as a client checks them (a label with controls is refused)
        if sealed.get(extras.CUSTOM):
            extras.parse_fields(sealed[extras.CUSTOM])
        if sealed.get("urls"):
            extras.checked_urls(sealed["urls"].split("\n"))
    except InvalidInput as exc:
        raise invalid(str(exc)) from None
    return plain, sealed


def parse_sharing(body: dict[str, Any]) -> Sharing | None:
    users = _principals(body.get("users_allowed"), "username") if "users_allowed" in body else None
    groups = _principals(body.get("groups_allowed"), "name") if "groups_allowed" in body else None
    personal = _principals(body.get(PERSONAL), "name") if PERSONAL in body else None
    if users is None and groups is None and personal is None:
        return None
    return Sharing(users, groups, personal)


def _principals(value: Any, key: str) -> list[tuple[str, bool]]:
    """A list of {key, can_edit} objects, that list as a JSON string, or comma-joined names."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except ValueError:
                raise invalid(f"{key}s allowed is not valid JSON") from None
        else:
            value = [{key: name} for name in stripped.split(",") if name.strip()]
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("users_allowed and groups_allowed must be lists")
    out = []
    for entry in value:
        if isinstance(entry, str):
            out.append((entry.strip(), False))
        elif isinstance(entry, dict) and text(entry.get(key)).strip():
            out.append((text(entry[key]).strip(), flag(entry.get("can_edit", False))))
        else:
            raise invalid(f"each sharing entry needs a {key}")
    return out


def idempotency_key(request: Request) -> str:
    """Extension "idempotency": the client's key for a create, so that the same create sent
    twice makes one item ("" without one, and always on a plain senhasegura)."""
    raw = request.headers.get("idempotency-key", "").strip()
    if not raw or not request.app.state.config.extension:
        return ""
    if len(raw) > 64 or not raw.replace("-", "").replace("_", "").isalnum() or not raw.isascii():
        raise invalid("Idempotency-Key must be at most 64 letters, digits, - or _")
    return raw


def if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None or not request.app.state.config.extension:
        return None
    cleaned = raw.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit():
        raise invalid("If-Match must be an item revision number")
    return int(cleaned)


def matches(config: KindConfig, item: dict[str, Any], query: dict[str, str]) -> bool:
    """List filters: `tag` exact, identifier_code exact, the rest case-insensitive contains."""
    tag = query.get("tag", "").strip().lower()
    if tag and tag not in (t.lower() for t in item["tags"].split(",")):
        return False
    for name in config.filters:
        wanted = query.get(name, "").strip().lower()
        if not wanted:
            continue
        value = str(item[name]).lower()
        if (value != wanted) if name == "identifier_code" else (wanted not in value):
            return False
    return True


def kind_routes(config: KindConfig, prefix: str) -> list[BaseRoute]:
    """The six routes of one item type under `prefix` (e.g. /api/mysafe/password)."""

    async def list_items(request: Request, user_id: int) -> Response:
        items = await run_in_threadpool(store_of(request).list_items, user_id, config.kind)
        items = in_scope(request, items)
        query = dict(request.query_params)
        # extension: deactivated rows too
        everything = query.get("status") == "all" and request.app.state.config.extension
        rows = [
            for_client(request, list_row(config, item), row=True)
            for item in items
            if (everything or item["active"]) and matches(config, item, query)
        ]
        return envelope(200, "", **{config.list_key: rows})  # documented: an empty message

    async def get_item(request: Request, user_id: int) -> Response:
        item = store_of(request).get_item(user_id, config.kind, request.path_params["id"])
        history_of(request).add(request, "read", item_id=item["identifier"], user_id=user_id)
        return envelope(
            200, **{config.entity_key: for_client(request, entity(config, item, with_secret=True))}
        )

    async def create_item(request: Request, user_id: int) -> Response:
        creating(request)
        body = await read_body(request)
        plain, sealed = split_fields(config, body, creating=True)
        for name in config.plain:
            plain.setdefault(name, "")
        item, shared_error, fresh = await run_in_threadpool(
            store_of(request).create_item,
            user_id,
            config.kind,
            plain,
            sealed,
            parse_sharing(body),
            idempotency_key(request),
        )
        if fresh:
            record_event(request, user_id, item, "created", body)
        return envelope(
            201,
            f"{config.noun} successfully registered",
            **{config.write_key: for_client(request, written(config, item, shared_error))},
        )

    async def update_item(request: Request, user_id: int) -> Response:
        body = await read_body(request)
        plain, sealed = split_fields(config, body, creating=False)
        try:
            item, shared_error = await run_in_threadpool(
                store_of(request).update_item,
                user_id,
                config.kind,
                request.path_params["id"],
                plain,
                sealed,
                parse_sharing(body),
                if_match(request),
            )
        except Conflict as conflict:
            return envelope(
                409,
                "Conflict: the item changed on the server since revision "
                f"{request.headers.get('if-match')}",
                **{
                    config.entity_key: for_client(
                        request, entity(config, conflict.current, with_secret=True)
                    )
                },
            )
        record_event(request, user_id, item, "changed" if plain or sealed else "", body)
        return envelope(
            200,
            f"{config.noun} successfully updated",
            **{config.write_key: for_client(request, written(config, item, shared_error))},
        )

    def set_active(active: bool, word: str) -> Any:
        async def handler(request: Request, user_id: int) -> Response:
            item = await run_in_threadpool(
                store_of(request).set_active,
                user_id,
                config.kind,
                request.path_params["id"],
                active,
            )
            record_event(request, user_id, item, "restored" if active else "deactivated")
            return envelope(200, f"{config.noun} successfully {word}")  # the envelope only

        handler.__name__ = f"{word}_{config.kind}"
        return handler

    return [
        Route(prefix, authenticated(list_items), methods=["GET"]),
        Route(prefix, authenticated(create_item), methods=["POST"]),
        Route(prefix + "/update/{id}", authenticated(update_item), methods=["PUT"]),
        Route(
            prefix + "/inactive/{id}",
            authenticated(set_active(False, "deactivated")),
            methods=["POST"],
        ),
        Route(
            prefix + "/active/{id}", authenticated(set_active(True, "activated")), methods=["POST"]
        ),
        Route(prefix + "/{id}", authenticated(get_item), methods=["GET"]),
    ]


async def token(request: Request) -> Response:
    """OAuth 2.0 client credentials: form (or JSON) body, or HTTP Basic."""
    try:
        body = await read_body(request, limit=16 * 1024)
    except ApiError:
        body = {}
    client_id, secret = text(body.get("client_id")), text(body.get("client_secret"))
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return _invalid_client()
    if text(body.get("grant_type")) != "client_credentials":
        return JSONResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
                "message": "grant_type must be client_credentials",
            },
            status_code=400,
        )
    if not client_id or not secret:
        return _invalid_client()
    store = store_of(request)
    issued = await run_in_threadpool(store.issue_token, client_id, secret, TOKEN_TTL)
    if issued is None:
        return _invalid_client()
    token_value, limits = issued
    address = request.client.host if request.client else ""
    # the method does not matter here: a read-only key still gets a token to read with
    why = limits.refusal(address, "GET", store.clock())
    if why or not token_value:
        await run_in_threadpool(store.key_refused, client_id)
        return error_response(KeyRefused(why or "this access key expired"))
    return JSONResponse(
        {"token_type": "Bearer", "expires_in": TOKEN_TTL, "access_token": token_value},
        headers={"Cache-Control": "no-store"},
    )


def _invalid_client() -> JSONResponse:
    message = "Client authentication failed"
    return JSONResponse(
        {"error": "invalid_client", "error_description": message, "message": message},
        status_code=401,
    )


def routes(prefixes: tuple[str, ...], extension: bool) -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for prefix in prefixes:
        out.append(Route(f"{prefix}/oauth2/token", token, methods=["POST"]))
        for kind, config in KINDS.items():
            if config.extension and not extension:
                continue
            room = "mysafe-ext" if config.extension else "mysafe"
            out.extend(kind_routes(config, f"{prefix}/{room}/{kind}"))
    return out

"""The ASGI application: routes, security headers, access log, rate limits, periodic purge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mysafe_tui.core.crypto import KEY_LEN
from mysafe_tui.server import files, groups, items, shares, uses
from mysafe_tui.server.history import DEFAULT_DAYS, FLUSH_SECONDS, HistoryLog
from mysafe_tui.server.http import authenticated, envelope, history_of, in_scope, store_of
from mysafe_tui.server.keys import LastUses
from mysafe_tui.server.mailer import Relay
from mysafe_tui.server.store import SQLStore, Store
from mysafe_tui.system.disk import fsync_directory, write_atomic

access_log = logging.getLogger("mysafe.server.access")
error_log = logging.getLogger("mysafe.server")


@dataclass
class ServerConfig:
    """Everything `mysafe serve` can set; tests build one per server."""

    data_dir: Path
    # SQLite (`server.db` in data_dir) unless a postgresql:// URL is given.
    database: str = ""
    prefixes: tuple[str, ...] = ("/api", "/iso")
    public_rate_per_minute: int = 60
    max_file_bytes: int = 100 * 1024 * 1024
    purge_interval: float = 60.0
    history_days: int = DEFAULT_DAYS  # access history older than this is deleted
    extension: bool = True  # False: only API.md §1–3, like a plain senhasegura server
    smtp: str = ""  # a relay for recipient-verified links (server/mailer.py); "": no mail
    mail_from: str = ""  # their sender ("": mysafe@ this host's name)
    public_url: str = ""  # the address people reach this server at, for mail ("": as asked)
    clock: Callable[[], float] = field(default=time.time)


NEXT_KEY = "server.key.next"  # a rotation's new key until it is done (`mysafe serve rotate-key`)


def rotate_server_key(config: ServerConfig) -> tuple[int, Path]:
    """A new sealing key: every item re-sealed under it in one transaction, then it becomes
    `server.key` and the old one `server.key.retired-<time>` (it opens backups made before).
    Crash-safe: the new key is on disk (0600, fsynced) before anything is re-sealed, and a
    server that finds it there opens items sealed under either key."""
    data = config.data_dir
    server_key(data)
    pending = data / NEXT_KEY
    if not pending.is_file():
        write_atomic(pending, os.urandom(KEY_LEN), 0o600, overwrite=False)
    store = open_store(config)
    try:
        count = store.reseal(pending.read_bytes())
    finally:
        store.close()
    retired = data / f"server.key.retired-{time.strftime('%Y%m%d-%H%M%S')}"
    os.replace(data / "server.key", retired)
    os.replace(pending, data / "server.key")
    fsync_directory(data)
    return count, retired


def server_key(data_dir: Path) -> bytes:
    """The key that seals item secrets at rest: made once, kept 0600 beside the database."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    path = data_dir / "server.key"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != KEY_LEN:
            raise SystemExit(
                f"mysafe serve: {path} is damaged (expected {KEY_LEN} bytes)"
            ) from None
        return key
    key = os.urandom(KEY_LEN)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())
    return key


def open_store(config: ServerConfig) -> SQLStore:
    """The store, its schema brought up to date; a SQLite server's files/ folder moved in."""
    key = server_key(config.data_dir)
    pending = config.data_dir / NEXT_KEY
    next_key = pending.read_bytes() if pending.is_file() else None
    store = SQLStore(config.database or config.data_dir / "server.db", key, config.clock, next_key)
    if not config.database:
        store.adopt_folder(config.data_dir / "files")
    return store


CONFIG_ENV = "MYSAFE_SERVE_CONFIG"  # the workers' config (`mysafe serve --workers N`)


def app_from_environment() -> Starlette:
    """The app of one worker process, from the config its supervisor put in the environment."""
    fields = json.loads(os.environ[CONFIG_ENV])
    fields["data_dir"] = Path(fields["data_dir"])
    fields["prefixes"] = tuple(fields["prefixes"])
    return create_app(ServerConfig(**fields))


def create_app(config: ServerConfig) -> Starlette:
    store: Store = open_store(config)  # mypy checks SQLStore against the interface
    blobs = files.BlobStore(store, config.max_file_bytes)

    history = HistoryLog(store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(_purge_forever(store, config)),
            asyncio.create_task(_flush_forever(history)),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            history.flush()
            store.close()

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    routes += items.routes(config.prefixes, config.extension)
    for prefix in config.prefixes if config.extension else ():
        routes.append(
            Route(f"{prefix}/mysafe-ext/capabilities", authenticated(capabilities), methods=["GET"])
        )
        routes.append(
            Route(
                f"{prefix}/mysafe-ext/entities/{{kind}}", authenticated(entities), methods=["GET"]
            )
        )
        routes += [
            Route(
                f"{prefix}/mysafe-ext/history/{{kind}}/{{id}}",
                authenticated(item_history),
                methods=["GET"],
            ),
            Route(
                f"{prefix}/mysafe-ext/sshkey/used/{{id}}", authenticated(key_used), methods=["POST"]
            ),
            Route(
                f"{prefix}/mysafe-ext/share/{{share_id}}/history",
                authenticated(share_history),
                methods=["GET"],
            ),
        ]
        routes += files.routes(f"{prefix}/mysafe-ext", blobs)
        routes += groups.routes(prefix)
        routes += uses.routes(prefix)
        routes += shares.routes(prefix, config.max_file_bytes)
    if config.extension:
        routes += shares.page_routes()
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    app.state.store = store
    app.state.config = config
    app.state.history = history
    app.state.relay = Relay.parse(config.smtp, config.mail_from) if config.smtp else None
    app.state.last_uses = LastUses()
    app.add_middleware(Guard, limiter=RateLimiter(config.public_rate_per_minute, config.clock))
    return app


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and wrong methods answer in the envelope too."""
    assert isinstance(exc, HTTPException)
    messages = {404: "Not found", 405: "Method not allowed"}
    return envelope(exc.status_code, messages.get(exc.status_code, str(exc.detail)))


async def healthz(request: Request) -> Response:
    """Up, and its database answers (what a load balancer asks before sending traffic)."""
    if await run_in_threadpool(store_of(request).healthy):
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "database unavailable"}, status_code=503)


async def capabilities(request: Request, user_id: int) -> Response:
    mail = ["recipients"] if request.app.state.relay is not None else []
    features = mail + [
        "bulk",
        "extras",
        "files",
        "groups",
        "history",
        "idempotency",
        "revisions",
        "shares",
        "sshkeys",
        "uses",
    ]
    return envelope(200, capabilities=features, version="1")


async def item_history(request: Request, user_id: int) -> Response:
    """Extension "history": an item's events, newest first, for those who can see it."""
    kind = request.path_params["kind"]
    if kind not in items.KINDS and kind != "file":
        return envelope(404, "Not found")
    await run_in_threadpool(history_of(request).flush)
    found = await run_in_threadpool(
        store_of(request).item_history, user_id, kind, request.path_params["id"]
    )
    return envelope(200, history=found)


async def key_used(request: Request, user_id: int) -> Response:
    """Extension "sshkeys": a client's agent signed with an SSH key it holds (the server
    never signs, so the client says so): a "signed" event in the key's history."""
    item = await run_in_threadpool(
        store_of(request).get_item, user_id, "sshkey", request.path_params["id"]
    )
    history_of(request).add(request, "signed", item_id=item["identifier"], user_id=user_id)
    return envelope(200, "Use recorded")


async def share_history(request: Request, user_id: int) -> Response:
    """The opens and reveals of one of the caller's links."""
    await run_in_threadpool(history_of(request).flush)
    found = await run_in_threadpool(
        store_of(request).share_history, user_id, request.path_params["share_id"]
    )
    return envelope(200, history=found)


async def entities(request: Request, user_id: int) -> Response:
    """Extension "bulk": every entity of a type in one answer, for a first sync."""
    kind = request.path_params["kind"]
    config = items.KINDS.get(kind) or (files.FILE if kind == "file" else None)
    if config is None:
        return envelope(404, "Not found")
    found = in_scope(
        request, await run_in_threadpool(store_of(request).list_entities, user_id, kind)
    )
    log = history_of(request)  # every secret handed out is a read, one per item
    for item in found:
        log.add(request, "read", item_id=item["identifier"], user_id=user_id)
    render = (
        files.file_entity
        if kind == "file"
        else (lambda item: items.entity(config, item, with_secret=True))
    )
    return envelope(200, entities=[render(item) for item in found])


async def _purge_forever(store: Store, config: ServerConfig) -> None:
    while True:
        await asyncio.sleep(config.purge_interval)
        try:
            await asyncio.to_thread(store.purge_expired_shares)
            await asyncio.to_thread(
                store.purge_history, config.clock() - config.history_days * 86400
            )
            await asyncio.to_thread(store.purge_uses)
        except Exception as exc:  # keep purging later; say what failed, nothing more
            error_log.error("periodic purge failed: %s", type(exc).__name__)


async def _flush_forever(history: HistoryLog) -> None:
    while True:
        await asyncio.sleep(FLUSH_SECONDS)
        try:
            await asyncio.to_thread(history.flush)
        except Exception as exc:
            error_log.error("writing the access history failed: %s", type(exc).__name__)


class RateLimiter:
    """A token bucket per client address: `rate` requests a minute, bursts of the same size."""

    def __init__(self, rate: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str) -> float:
        """0 when allowed, else the seconds until the next request would be."""
        now = self.clock()
        tokens = self._tokens(client, now)
        if len(self._buckets) > 10_000:  # forget idle clients rather than grow without bound
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return self._wait(tokens)
        self._buckets[client] = (tokens - 1, now)
        return 0.0

    def waiting(self, client: str) -> float:
        """Like `allow`, without spending a token: what failures (`allow`) used up."""
        tokens = self._tokens(client, self.clock())
        return self._wait(tokens) if tokens < 1 else 0.0

    def _tokens(self, client: str, now: float) -> float:
        """The client's tokens now: what it had, refilled since at `rate` a minute."""
        tokens, last = self._buckets.get(client, (float(self.rate), now))
        return min(float(self.rate), tokens + (now - last) * self.rate / 60)

    def _wait(self, tokens: float) -> float:
        return (1 - tokens) * 60 / self.rate


# Rate-limited paths, one bucket per group and client: logins apart from share traffic.
_LIMITED = re.compile(r"^(?:/s/|/[a-z]+/public/|/[a-z]+/(oauth2)/token$)")
_SHARE_IN_PATH = re.compile(r"(/s/|/public/share/|/share/revoke/)([A-Za-z0-9_-]{6})[A-Za-z0-9_-]*")
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]


def redact_path(path: str) -> str:
    """Share ids appear in logs by their first 6 characters only."""
    return _SHARE_IN_PATH.sub(r"\1\2...", path)


class Guard:
    """Outermost app middleware: rate limits, security headers, one access-log line per request,
    and a plain 500 envelope for bugs (only the exception's type is logged: its message or a
    traceback could carry request data)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        client = (scope.get("client") or ("-", 0))[0]
        state: dict[str, Any] = {"status": 0, "bytes": 0}

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != b"cache-control"]
                message["headers"] = headers + SECURITY_HEADERS
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            limited = _LIMITED.match(scope["path"])
            if limited:
                wait = self.limiter.allow(f"{client} {limited[1] or 'public'}")
            else:  # an API route: free, until wrong bearer tokens from here used it up
                wait = self.limiter.waiting(f"{client} bearer")
            if wait:
                response: Response = envelope(429, "Too many requests; try again later")
                response.headers["Retry-After"] = str(max(1, round(wait)))
                await response(scope, receive, send_wrapped)
            else:
                await self.app(scope, receive, send_wrapped)
        except Exception as exc:
            error_log.error(
                "unexpected %s on %s %s",
                type(exc).__name__,
                scope["method"],
                redact_path(scope["path"]),
            )
            if not state["status"]:
                await envelope(500, "Unexpected error")(scope, receive, send_wrapped)
        finally:
            if state["status"] == 401 and not limited:  # a wrong or stale bearer token
                self.limiter.allow(f"{client} bearer")
            access_log.info(
                json.dumps(
                    {
                        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "client": client,
                        "method": scope["method"],
                        "path": redact_path(scope["path"]),
                        "status": state["status"],
                        "bytes": state["bytes"],
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                )
            )

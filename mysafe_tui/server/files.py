"""File items (API.md §4): metadata like any item, content streamed and encrypted at rest.

Each content version is a blob in the database (`file_store.py`), encrypted in 64 KiB STREAM
chunks with a fresh key sealed inside the item's secret fields: an upload is encrypted into a
private spool file as it arrives (neither memory nor a plaintext file grows with it), then
stored in one transaction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mysafe_tui.core import extras
from mysafe_tui.core.crypto import (
    CHUNK_SIZE,
    TAG_LEN,
    AuthenticationFailed,
    StreamSealer,
    decrypt_chunks,
    random_key,
)
from mysafe_tui.core.models import ItemKind
from mysafe_tui.server.errors import ApiError, Conflict, invalid
from mysafe_tui.server.http import authenticated, creating, envelope, read_body, store_of
from mysafe_tui.server.items import (
    KindConfig,
    entity,
    idempotency_key,
    if_match,
    kind_routes,
    parse_sharing,
    record_event,
    split_fields,
    stored,
)
from mysafe_tui.server.store import Store

# The largest JSON body a file route reads (base64 content of about 6 MiB); see `metadata`.
MAX_FILE_JSON = 8 * 1024 * 1024

FILE = KindConfig(
    "file",
    "File",
    "file_on_list",
    "file_entity",
    "file_entity",
    **stored(ItemKind.FILE),
    row=("name", "file_name", "size", "media_type", "tags"),
    secret=extras.SECRET_WIRE,
    filters=("name",),
)


class BlobStore:
    """Encrypted content: sealed as it streams in, kept in the database."""

    def __init__(self, store: Store, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes

    async def write(self, chunks: AsyncIterator[bytes]) -> dict[str, Any]:
        """Encrypt a plaintext stream to a new blob; returns its sealed fields and size."""
        blob, key = secrets.token_hex(16), random_key()
        sealer = StreamSealer(key, blob)
        digest, size, pending = hashlib.sha256(), 0, bytearray()
        with self.store.spool() as out:
            async for piece in chunks:
                size += len(piece)
                if size > self.max_bytes:
                    raise ApiError(413, f"File larger than {self.max_bytes} bytes", status=413)
                digest.update(piece)
                pending += piece
                while len(pending) > CHUNK_SIZE:  # one chunk held back: the last is flagged
                    out.write(sealer.seal(bytes(pending[:CHUNK_SIZE])))
                    del pending[:CHUNK_SIZE]
            out.write(sealer.seal(bytes(pending), last=True))
            out.seek(0)
            await run_in_threadpool(self.store.put_file, blob, out)
        return {
            "blob": blob,
            "file_key": base64.b64encode(key).decode(),
            "sha256": digest.hexdigest(),
            "size": size,
        }

    def read(self, sealed: dict[str, Any]) -> Iterator[bytes]:
        key = base64.b64decode(sealed["file_key"])
        blob = str(sealed["blob"])
        try:
            yield from decrypt_chunks(key, blob, _sized(self.store.file_content(blob)))
        except AuthenticationFailed:  # tampered at rest: stop the stream, never send junk
            raise OSError("stored file content failed authentication") from None

    def delete(self, blob: str | None) -> None:
        if blob:
            self.store.delete_file(blob)


def _sized(rows: Iterator[bytes]) -> Iterator[bytes]:
    """Stored rows re-cut into the STREAM chunks they hold (64 KiB + tag; the last shorter)."""
    size, pending = CHUNK_SIZE + TAG_LEN, bytearray()
    for row in rows:
        pending += row
        while len(pending) > size:
            yield bytes(pending[:size])
            del pending[:size]
    yield bytes(pending)


async def _body_stream(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def _bytes_stream(data: bytes) -> AsyncIterator[bytes]:
    yield data


def file_entity(item: dict[str, Any]) -> dict[str, Any]:
    out = entity(FILE, item, with_secret=True)
    out["size"] = item["size"]
    out["content_sha256"] = item.get("sha256", "")
    return out


def routes(prefix: str, blobs: BlobStore) -> list[BaseRoute]:
    """File routes under `{prefix}/file`: the item routes plus streamed content."""
    base = f"{prefix}/file"
    generic = kind_routes(FILE, base)

    async def upload(request: Request) -> dict[str, Any] | None:
        """New content from the request, if it carries any (raw body or base64 `content`)."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/octet-stream":
            return await blobs.write(_body_stream(request))
        return None

    async def metadata(request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/octet-stream":
            return dict(request.query_params)
        # A file in JSON (base64 `content`) is held whole while it is read and decoded: at
        # most MAX_FILE_JSON; larger ones come as application/octet-stream, streamed to the
        # database chunk by chunk (what mysafe's own client always sends).
        return await read_body(request, limit=MAX_FILE_JSON)

    async def create(request: Request, user_id: int) -> Response:
        creating(request)
        stored = await upload(request)
        body = await metadata(request)
        if stored is None:
            try:
                data = base64.b64decode(str(body.pop("content", "")), validate=True)
            except (binascii.Error, ValueError):
                raise invalid("content must be base64") from None
            stored = await blobs.write(_bytes_stream(data))
        plain, sealed = split_fields(FILE, body, creating=True)
        for name in FILE.plain:
            plain.setdefault(name, "")
        plain["file_name"] = plain["file_name"] or plain["name"]
        plain["media_type"] = plain["media_type"] or "application/octet-stream"
        plain["size"] = stored.pop("size")
        sealed.update(stored)
        try:
            item, shared_error, fresh = await run_in_threadpool(
                store_of(request).create_item,
                user_id,
                "file",
                plain,
                sealed,
                parse_sharing(body),
                idempotency_key(request),
            )
        except BaseException:
            blobs.delete(stored["blob"])
            raise
        if fresh:
            record_event(request, user_id, item, "created", body)
        else:  # sent again: the first upload's content stays, this one goes
            blobs.delete(stored["blob"])
        return envelope(
            201,
            "File successfully registered",
            shared_error=shared_error,
            file_entity=file_entity(item),
        )

    async def update(request: Request, user_id: int) -> Response:
        store, item_id = store_of(request), request.path_params["id"]
        old = await run_in_threadpool(store.get_item, user_id, "file", item_id)
        stored = await upload(request)
        body = await metadata(request)
        plain, sealed = split_fields(FILE, body, creating=False)
        if stored is not None:
            plain["size"] = stored.pop("size")
            sealed.update(stored)
        try:
            item, shared_error = await run_in_threadpool(
                store.update_item,
                user_id,
                "file",
                item_id,
                plain,
                sealed,
                parse_sharing(body),
                if_match(request),
            )
        except Conflict as conflict:
            blobs.delete(stored["blob"] if stored else None)
            return envelope(
                409,
                "Conflict: the file changed on the server",
                file_entity=file_entity(conflict.current),
            )
        except BaseException:
            blobs.delete(stored["blob"] if stored else None)
            raise
        if stored is not None:
            blobs.delete(old.get("blob"))
        record_event(request, user_id, item, "changed" if plain or sealed else "", body)
        return envelope(
            200,
            "File successfully updated",
            shared_error=shared_error,
            file_entity=file_entity(item),
        )

    async def get(request: Request, user_id: int) -> Response:
        item = await run_in_threadpool(
            store_of(request).get_item, user_id, "file", request.path_params["id"]
        )
        record_event(request, user_id, item, "read")  # its notes and hidden fields
        return envelope(200, file_entity=file_entity(item))

    async def content(request: Request, user_id: int) -> Response:
        item = await run_in_threadpool(
            store_of(request).get_item, user_id, "file", request.path_params["id"]
        )
        if not item.get("blob"):
            raise ApiError(1005, "1005: File has no content")
        record_event(request, user_id, item, "read")
        return StreamingResponse(
            blobs.read(item),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(item["size"]),
                "X-MySafe-Revision": str(item["revision"]),
                "Content-Disposition": "attachment",
            },
        )

    replaced = {
        ("POST", base): create,
        ("PUT", base + "/update/{id}"): update,
        ("GET", base + "/{id}"): get,
    }
    out: list[BaseRoute] = [Route(base + "/{id}/content", authenticated(content), methods=["GET"])]
    for route in generic:
        assert isinstance(route, Route) and route.methods
        method = next(m for m in route.methods if m != "HEAD")
        handler = replaced.get((method, route.path))
        out.append(
            Route(route.path, authenticated(handler), methods=[method]) if handler else route
        )
    return out

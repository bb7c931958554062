"""File items: attached from disk and saved back, both streamed in 64 KiB chunks through the
vault's worker thread; a text file's start shown as a preview."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from mysafe_tui.core.errors import InvalidInput, StorageError
from mysafe_tui.core.extras import Attachment
from mysafe_tui.core.models import ItemKind, ItemSummary, parse_tags
from mysafe_tui.core.sanitize import safe_filename
from mysafe_tui.service.values import text
from mysafe_tui.system.disk import write_chunks_atomic

if TYPE_CHECKING:
    from mysafe_tui.service.connection import Connection
    from mysafe_tui.service.worker import VaultWorker

Progress = Callable[[int, int], None]  # (bytes done, bytes total); called from the worker thread
TEXT_TYPES = {"application/json", "application/xml", "application/x-yaml", "application/toml"}


async def attach(
    worker: VaultWorker,
    server: Connection,
    path: Path,
    name: str | None,
    tags: str | list[str],
    notes: str,
    progress: Progress | None,
) -> ItemSummary:
    worker.require_unlocked()
    path = path.expanduser()
    if not path.is_file():
        raise InvalidInput(f"{path} is not a readable file")
    total = path.stat().st_size
    fields: dict[str, Any] = {
        "name": text("name", name or path.name),
        "file_name": path.name,
        "size": total,
        "media_type": media_type(path.name),
        "tags": parse_tags(tags),
    }
    fields.update(await server.upload(path, fields, notes))  # the server first
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the worker read it
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from None
    report = (lambda done: progress(done, total)) if progress else None
    try:
        chunks = _read_chunks(handle, path)
        return await worker.save_file(fields, {"notes": notes}, chunks, progress=report)
    finally:
        handle.close()


async def add_attachment(
    worker: VaultWorker, item_id: str, path: Path, progress: Progress | None
) -> Attachment:
    """Keep a file from disk on an item (this device only: no server holds attachments)."""
    worker.get(item_id)
    path = path.expanduser()
    if not path.is_file():
        raise InvalidInput(f"{path} is not a readable file")
    total = path.stat().st_size
    vault = worker.vault
    report = (lambda done: progress(done, total)) if progress else None

    def work() -> Attachment:
        try:
            with open(path, "rb") as handle:
                return vault.add_attachment(
                    item_id, path.name, media_type(path.name), _read_chunks(handle, path), report
                )
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror}") from None

    added = await worker.run(work)
    await worker.index.wrote(vault, [item_id])
    return added


async def save(
    worker: VaultWorker,
    item_id: str,
    destination: Path,
    overwrite: bool,
    progress: Progress | None,
    attachment: Attachment | None = None,
) -> Path:
    """A file item's content, or one of an item's attachments, written to `destination`."""
    vault = worker.vault
    item = worker.get(item_id)
    if attachment is None and item.kind is not ItemKind.FILE:
        raise InvalidInput(f"'{item.name}' is {item.kind.noun}, not a file")
    name, size = (attachment.name, attachment.size) if attachment else (item.file_name, item.size)
    target = destination.expanduser()
    if target.is_dir():  # the file's name was chosen by whoever made it: one safe base name
        target = target / safe_filename(name or item.name)

    def work() -> Path:
        done = 0
        source = (
            vault.read_attachment(item_id, attachment.id)
            if attachment
            else vault.read_file(item_id)
        )

        def chunks() -> Iterator[bytes]:
            nonlocal done
            for chunk in source:
                done += len(chunk)
                if progress:
                    progress(done, size)
                yield chunk

        write_chunks_atomic(target, chunks(), overwrite=overwrite)
        return target

    return await worker.run(work)


async def preview(worker: VaultWorker, item_id: str, limit: int) -> str | None:
    vault = worker.vault
    item = worker.get(item_id)
    textual_type = item.media_type.startswith("text/") or item.media_type in TEXT_TYPES
    if item.kind is not ItemKind.FILE or not textual_type:
        return None

    def work() -> bytes:
        out = b""
        for chunk in vault.read_file(item_id):
            out += chunk
            if len(out) >= limit:
                break
        return out[:limit]

    data = (await worker.run(work)).decode(errors="replace")  # a cut may split a character
    return data + ("\n…" if item.size > limit else "")


def _read_chunks(handle: BinaryIO, path: Path) -> Iterator[bytes]:
    from mysafe_tui.core.crypto import CHUNK_SIZE

    try:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from None


def media_type(name: str) -> str:
    import mimetypes  # reads the system's type tables: when a file is attached, not at start

    return mimetypes.guess_type(name)[0] or "application/octet-stream"

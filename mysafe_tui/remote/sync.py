"""Sync: the encrypted local vault as the offline cache of a MySafe server (DESIGN.md §4).

Pull: list every type the server offers, fetch the entities that changed (by revision when the
server has the §4 extension, else every entity, compared by a hash of its content), and apply
the whole pull to the vault in one transaction. Deactivated items follow the server; items the
key can no longer see leave the cache. Each cached item records where it came from in its
`remote` summary field: "kind:id:r<revision>" or "kind:id:h<content hash>".

Push (writes): the server first, then the cache. A write whose server copy changed since the
last pull raises `RemoteConflict`, never overwrites: with revisions through `If-Match`, without
them by comparing the entity's hash before writing.

The vault is not thread-safe; every vault call goes through `run`, the service's worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import RemoteConflict, RemoteRejected
from ..core.models import SPECS, ItemKind, ItemSummary
from ..core.vault import Vault
from .client import MySafeClient

Run = Callable[..., Awaitable[Any]]
SyncProgress = Callable[[int, int], None]  # (entities done, entities to fetch)
FETCH_CONCURRENCY = 8
BULK_FROM = 50  # changed items of one type from which one bulk request beats one GET each
BATCH = 500  # items written per vault transaction during a pull
TEXT_KINDS = (ItemKind.PASSWORD, ItemKind.NOTE, ItemKind.API_SECRET)


@dataclass(frozen=True)
class RemoteRef:
    """Where a cached item lives on the server, and which version of it the cache holds."""

    kind: str
    remote_id: str
    version: str  # "r<revision>" or "h<content hash>"

    @classmethod
    def parse(cls, text: str) -> RemoteRef | None:
        parts = text.split(":")
        return cls(*parts) if len(parts) == 3 and all(parts[:2]) else None

    def __str__(self) -> str:
        return f"{self.kind}:{self.remote_id}:{self.version}"

    @property
    def revision(self) -> int | None:
        return (
            int(self.version[1:])
            if self.version[:1] == "r" and self.version[1:].isdigit()
            else None
        )


def content_hash(kind: ItemKind, entity: dict[str, Any]) -> str:
    """A stable hash of the fields the user owns: detects a server change without revisions."""
    spec = SPECS[kind]
    values = {}
    for name in sorted({*spec.summary, *spec.secret} - {"size"}):
        value = entity.get(name)
        values[name] = ",".join(value) if isinstance(value, tuple | list) else str(value or "")
    raw = json.dumps(values, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def version_of(kind: ItemKind, entity: dict[str, Any]) -> str:
    revision = entity.get("revision")
    return f"r{revision}" if isinstance(revision, int) else f"h{content_hash(kind, entity)}"


def to_local(kind: ItemKind, entity: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A server entity as vault summary fields and secret fields."""
    spec = SPECS[kind]
    fields: dict[str, Any] = {}
    for name in spec.summary:
        value = entity.get(name)
        if name == "tags":
            fields[name] = tuple(value or ())
        elif name == "size":
            fields[name] = int(value or 0)
        else:
            fields[name] = str(value or "")
    secret = {name: str(entity.get(name) or "") for name in spec.secret}
    return fields, {k: v for k, v in secret.items() if v}


def cached(
    kind: ItemKind, entity: dict[str, Any], remote_id: str, favourite: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """A server entity as the cache stores it: local fields, `remote` ref, secret fields."""
    fields, secret = to_local(kind, entity)
    fields.update(
        remote=str(RemoteRef(kind.value, remote_id, version_of(kind, entity))),
        favourite=favourite,
        active=True,
    )
    return fields, secret


def to_wire(kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]) -> dict[str, Any]:
    """Vault fields as a create/update body (only the fields the kind has on the wire)."""
    spec = SPECS[kind]
    body: dict[str, Any] = {}
    for name, value in {**fields, **secret}.items():
        if name in ("size",) or (name not in spec.summary and name not in spec.secret):
            continue
        body[name] = ",".join(value) if name == "tags" else value
    return body


@dataclass
class PullResult:
    written: int = 0
    removed: int = 0
    unchanged: int = 0


class SyncEngine:
    """Pull and push for one vault and one server (the service owns both)."""

    def __init__(
        self, client: MySafeClient, vault: Vault, run: Run, capabilities: frozenset[str]
    ) -> None:
        self.client = client
        self.vault = vault
        self.run = run
        self.capabilities = capabilities

    @property
    def revisions(self) -> bool:
        return "revisions" in self.capabilities

    def kinds(self) -> tuple[ItemKind, ...]:
        return (*TEXT_KINDS, ItemKind.FILE) if "files" in self.capabilities else TEXT_KINDS

    # --- pull -------------------------------------------------------------------------------

    async def pull(self, progress: SyncProgress | None = None) -> PullResult:
        in_cache: dict[tuple[str, str], ItemSummary] = {}
        for summary in await self.run(lambda: list(self.vault.summaries.values())):
            ref = RemoteRef.parse(summary.remote)
            if ref is not None:
                in_cache[ref.kind, ref.remote_id] = summary
        plan: list[tuple[ItemKind, dict[str, Any], ItemSummary | None]] = []
        seen: set[tuple[str, str]] = set()
        result = PullResult()
        saves: list[tuple[ItemKind, dict[str, Any], dict[str, str], str | None]] = []
        for kind in self.kinds():
            rows = await self.client.list_items(kind.value, include_inactive=self.revisions)
            for row in rows:
                key = (kind.value, row["identifier"])
                seen.add(key)
                local = in_cache.get(key)
                ref = RemoteRef.parse(local.remote) if local else None
                same_revision = self.revisions and ref and ref.revision == row.get("revision")
                if same_revision and local and local.active == row.get("active", True):
                    result.unchanged += 1
                    continue
                if row.get("active", True) is False:  # an inactive entity cannot be fetched
                    if local is not None:
                        saves.append(await self._deactivated(local, row))
                    continue
                plan.append((kind, row, local))
        done = 0
        if progress:
            progress(0, len(plan))
        bulk: dict[tuple[str, str], dict[str, Any]] = {}
        if "bulk" in self.capabilities:
            for kind in self.kinds():
                if sum(1 for k, _, _ in plan if k is kind) >= BULK_FROM:
                    for found in await self.client.list_entities(kind.value):
                        bulk[kind.value, found["identifier"]] = found
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def fetch(kind: ItemKind, row: dict[str, Any]) -> dict[str, Any] | None:
            if (kind.value, row["identifier"]) in bulk:
                return bulk[kind.value, row["identifier"]]
            async with gate:
                try:
                    return await self.client.get_item(kind.value, row["identifier"])
                except RemoteRejected as exc:  # deactivated or unshared since it was listed
                    if exc.code in (1005, 1006, 1009):
                        return None
                    raise

        for start in range(0, len(plan), BATCH):
            chunk = plan[start : start + BATCH]
            entities = await asyncio.gather(*(fetch(kind, row) for kind, row, _ in chunk))
            for (kind, row, local), entity in zip(chunk, entities, strict=True):
                if entity is None:
                    seen.discard((kind.value, row["identifier"]))
                    continue
                version = version_of(kind, entity)
                ref = RemoteRef(kind.value, row["identifier"], version)
                if local is not None and local.remote == str(ref) and local.active:
                    result.unchanged += 1
                    continue
                favourite = local.favourite if local else False
                if kind is ItemKind.FILE:
                    await self._pull_file(entity, row["identifier"], favourite, local)
                    result.written += 1
                    continue
                fields, secret = cached(kind, entity, row["identifier"], favourite)
                saves.append((kind, fields, secret, local.id if local else None))
            done += len(chunk)
            if progress:
                progress(done, len(plan))
            if len(saves) >= BATCH:
                result.written += len(await self.run(self.vault.save_batch, saves))
                saves = []
        gone = [
            s.id
            for key, s in in_cache.items()
            if key not in seen and ItemKind(key[0]) in self.kinds()
        ]
        await self.run(self.vault.save_batch, saves, gone)
        result.written += len(saves)
        result.removed = len(gone)
        return result

    async def _deactivated(
        self, local: ItemSummary, row: dict[str, Any]
    ) -> tuple[ItemKind, dict[str, Any], dict[str, str], str | None]:
        """Mark a cached item inactive as the server has it; its secrets stay as cached."""
        ref = RemoteRef.parse(local.remote)
        assert ref is not None
        revision = row.get("revision")
        version = f"r{revision}" if isinstance(revision, int) else ref.version
        fields = {name: getattr(local, name) for name in ("favourite", *SPECS[local.kind].summary)}
        fields.update(active=False, remote=str(RemoteRef(ref.kind, ref.remote_id, version)))
        secret = await self.run(self.vault.reveal, local.id)
        return local.kind, fields, secret, local.id

    async def _pull_file(
        self, entity: dict[str, Any], remote_id: str, favourite: bool, local: ItemSummary | None
    ) -> None:
        """Stream a file's content from the server into the vault (a thread-safe queue bridges
        the async download and the vault's worker thread)."""
        import queue

        fields, secret = cached(ItemKind.FILE, entity, remote_id, favourite)
        chunks: queue.Queue[bytes | None | BaseException] = queue.Queue(maxsize=16)

        def consume() -> Iterable[bytes]:
            while (chunk := chunks.get()) is not None:
                if isinstance(chunk, BaseException):  # the download broke: roll back the save
                    raise chunk
                yield chunk

        async def offer(item: bytes | None | BaseException) -> None:
            while not writing.done():
                try:
                    chunks.put_nowait(item)
                    return
                except queue.Full:
                    await asyncio.sleep(0.005)

        writing = asyncio.ensure_future(
            self.run(self.vault.save_file, fields, secret, consume(), local.id if local else None)
        )
        try:
            async for chunk in self.client.download_file(remote_id):
                await offer(chunk)
        except BaseException as exc:
            await offer(exc)
            with contextlib.suppress(BaseException):
                await writing
            raise
        await offer(None)
        await writing

    # --- push -------------------------------------------------------------------------------

    async def create(
        self, kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Create on the server; returns the fields and secret to cache (with `remote`)."""
        created = await self.client.create_item(kind.value, to_wire(kind, fields, secret))
        entity = await self.client.get_item(kind.value, created["identifier"])
        return cached(kind, entity, created["identifier"], bool(fields.get("favourite")))

    async def update(
        self, item: ItemSummary, fields: dict[str, Any], secret: dict[str, str], force: bool = False
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Update on the server unless its copy changed since the last pull (RemoteConflict)."""
        ref = RemoteRef.parse(item.remote)
        assert ref is not None
        kind = item.kind
        revision = None if force else ref.revision
        if not force and revision is None:  # no revisions: compare the server copy first
            current = await self.client.get_item(kind.value, ref.remote_id)
            if version_of(kind, current) != ref.version:
                raise RemoteConflict("the item changed on the server since the last sync", current)
        await self.client.update_item(
            kind.value, ref.remote_id, to_wire(kind, fields, secret), revision
        )
        entity = await self.client.get_item(kind.value, ref.remote_id)
        return cached(kind, entity, ref.remote_id, bool(fields.get("favourite", item.favourite)))

    async def upload(self, path: Path, fields: dict[str, Any], notes: str) -> str:
        """Stream a file from disk to the server (read in a thread: the loop never waits on
        the disk); returns the `remote` value for the cached copy."""

        async def chunks() -> AsyncIterator[bytes]:
            with open(path, "rb") as handle:
                while chunk := await asyncio.to_thread(handle.read, 1024 * 1024):
                    yield chunk

        metadata = {
            "name": fields["name"],
            "file_name": fields["file_name"],
            "media_type": fields["media_type"],
            "tags": ",".join(fields["tags"]),
            "notes": notes,
        }
        entity = await self.client.upload_file(metadata, chunks())
        return str(RemoteRef("file", entity["identifier"], version_of(ItemKind.FILE, entity)))

    async def set_active(self, item: ItemSummary, active: bool) -> str:
        """Deactivate or restore on the server; returns the `remote` value to cache."""
        ref = RemoteRef.parse(item.remote)
        assert ref is not None
        await self.client.set_active(item.kind.value, ref.remote_id, active)
        if active:
            entity = await self.client.get_item(item.kind.value, ref.remote_id)
            return str(RemoteRef(ref.kind, ref.remote_id, version_of(item.kind, entity)))
        return str(RemoteRef(ref.kind, ref.remote_id, "r0" if self.revisions else ref.version))

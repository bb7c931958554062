"""The vault's server, as the service's writes see it: `NoServer` for a local vault, or a
`ServerConnection` to the MySafe server the vault is bound to (DESIGN.md §4).

A write to an item that lives on the server goes there first and the cache takes what the
server answers; for a local vault or a local-only item the connection hands the values back
untouched. The service never asks which kind of connection it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mysafe_tui.core.errors import (
    InvalidInput,
    MySafeError,
    NotSupported,
    OfflineError,
    RemoteRejected,
)
from mysafe_tui.core.models import HistoryEvent, ItemKind, ItemSummary, Sharing
from mysafe_tui.core.outbox import Outgoing
from mysafe_tui.service.outbox import GONE, INACTIVE, UNREACHABLE, Outbox, queued
from mysafe_tui.service.values import checked_key, summary_fields

if TYPE_CHECKING:
    import httpx

    from mysafe_tui.remote.session import RemoteSession
    from mysafe_tui.remote.status import RemoteStatus
    from mysafe_tui.remote.sync import PullResult, RemoteRef, SaveFile, SyncProgress
    from mysafe_tui.service.worker import VaultWorker

Values = tuple[dict[str, Any], dict[str, str]]
WRITE_BATCH = 500  # pulled items written per vault transaction


class Connection(Protocol):
    bound: bool

    async def create(
        self, kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]
    ) -> Values: ...

    async def update(
        self, item: ItemSummary, fields: dict[str, Any], secret: dict[str, str], force: bool
    ) -> Values: ...

    async def set_active(self, item: ItemSummary, active: bool) -> dict[str, Any]: ...

    async def upload(self, path: Path, fields: dict[str, Any], notes: str) -> dict[str, Any]: ...

    def check_purge(self, item: ItemSummary) -> None: ...

    def status(self) -> RemoteStatus: ...

    async def aclose(self) -> None: ...


class NoServer:
    """A local vault: every write stays here."""

    bound = False

    async def create(
        self, kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]
    ) -> Values:
        return fields, secret

    async def update(
        self, item: ItemSummary, fields: dict[str, Any], secret: dict[str, str], force: bool
    ) -> Values:
        return fields, secret

    async def set_active(self, item: ItemSummary, active: bool) -> dict[str, Any]:
        return {}

    async def upload(self, path: Path, fields: dict[str, Any], notes: str) -> dict[str, Any]:
        return {}

    def check_purge(self, item: ItemSummary) -> None:
        return None

    def status(self) -> RemoteStatus:
        from mysafe_tui.remote.status import RemoteStatus

        return RemoteStatus(False)

    async def aclose(self) -> None:
        return None


class ServerConnection:
    """A vault bound to a MySafe server: writes go there first; `pull` fills the cache."""

    bound = True

    def __init__(self, session: RemoteSession, worker: VaultWorker) -> None:
        self.session = session
        self.worker = worker
        self.outbox = Outbox(session, worker, self._content, self.take_theirs)

    @classmethod
    def of(
        cls,
        binding: dict[str, str],
        worker: VaultWorker,
        transport: httpx.AsyncBaseTransport | None,
        on_wait: Callable[[float], None] | None = None,
    ) -> ServerConnection:
        """`on_wait(seconds)` is told when the server asks for a pause before the next try."""
        from mysafe_tui.remote.session import (
            RemoteSession,  # httpx: ~100 ms, only for a bound vault
        )

        session = RemoteSession(binding, transport)
        session.client.on_wait = on_wait
        return cls(session, worker)

    @classmethod
    async def login(
        cls,
        binding: dict[str, str],
        worker: VaultWorker,
        transport: httpx.AsyncBaseTransport | None,
        on_wait: Callable[[float], None] | None = None,
    ) -> ServerConnection:
        """Check the access key (and learn the server's features), then keep the binding
        inside the vault."""
        server = cls.of(binding, worker, transport, on_wait)
        try:
            await server.probe()
        except BaseException:
            await server.aclose()
            raise
        await worker.write_meta("remote", server.session.binding)
        return server

    async def forget(self) -> int:
        """Log out: the server's items leave the cache (local-only items stay), the binding
        leaves the vault. Returns how many items left."""
        waiting = self.outbox.waiting()
        if waiting:  # logging out would drop them, or leave them waiting for nothing
            raise InvalidInput(
                f"{len(waiting)} change(s) made here have not reached the server yet: "
                "'mysafe sync' sends them ('mysafe status' lists them); log out after"
            )
        worker = self.worker
        vault = worker.vault
        cached = [s.id for s in vault.summaries.values() if s.remote]
        await worker.save_batch([], cached)
        await worker.run(vault.delete_meta, "remote")
        await self.aclose()
        return len(cached)

    async def take_theirs(self, item: ItemSummary) -> ItemSummary:
        """A conflict resolved their way: the server's copy of `item` replaces the cache's."""
        from mysafe_tui.remote.sync import cached

        ref = _on_server(item, "there is nothing to resolve")
        session = self.session
        current = await session.guard(session.client.get_item(item.kind.value, ref.remote_id))
        fields, secret = checked_key(
            item.kind, *cached(item.kind, current, ref.remote_id, item.favourite)
        )
        return await self.worker.save_item(item.kind, fields, secret, item.id)

    async def reshare(
        self, item: ItemSummary, change: Callable[[Sharing], Sharing]
    ) -> tuple[ItemSummary, list[str]]:
        """Change who else may open `item` on the server (its users_allowed/groups_allowed,
        read fresh first: the lists are replaced whole). Returns the item as cached again
        and what the server could not do (`shared_error`: an unknown user, say)."""
        ref = _on_server(
            item, "upload it first ('mysafe push'), then share it with people on the server"
        )
        if item.outbox:
            raise InvalidInput(
                f"'{item.name}' has changes waiting to be sent: 'mysafe sync' sends them, then "
                "it can be shared"
            )
        session = self.session
        kind = item.kind.value
        with needs_server("sharing"):
            current = await session.guard(session.client.get_item(kind, ref.remote_id))
            wanted = change(Sharing.of_entity(current))
            body = {"users_allowed": wanted.names("user"), "groups_allowed": wanted.names("group")}
            if "groups" in session.capabilities:  # mysafe serve: the owner's personal groups
                body["personal_groups_allowed"] = wanted.names("personal")
            written = await session.guard(session.client.update_item(kind, ref.remote_id, body))
        failed = written.get("shared_error")
        errors = [_shared_error(e) for e in failed] if isinstance(failed, list) else []
        return await self.take_theirs(item), errors  # the server's word on who has it now

    async def history(self, item: ItemSummary) -> list[HistoryEvent]:
        """Who created, read, changed, shared... the item, newest first (servers that keep
        it: `mysafe serve`; a plain senhasegura keeps it in its own reports)."""
        ref = _on_server(item, "it has no server history")
        session = self.session
        await session.guard(session.client.require("history"))
        rows = await session.guard(session.client.history(ref.kind, ref.remote_id))
        return [HistoryEvent.of(row) for row in rows]

    async def key_used(self, item: ItemSummary) -> None:
        from mysafe_tui.remote.sync import RemoteRef

        ref = RemoteRef.parse(item.remote)
        if ref is not None and self.keeps(item.kind):
            session = self.session
            await session.guard(session.client.key_used(ref.remote_id))

    @property
    def url(self) -> str:
        return self.session.binding["url"]

    def keeps(self, kind: ItemKind) -> bool:
        """Whether the server has a place for `kind`: SSH keys need `mysafe serve`'s
        extension (a plain senhasegura has none; they stay on this device)."""
        return kind is not ItemKind.SSH_KEY or "sshkeys" in self.session.capabilities

    async def create(
        self, kind: ItemKind, fields: dict[str, Any], secret: dict[str, str]
    ) -> Values:
        if not self.keeps(kind):
            return fields, secret
        session = self.session
        try:
            created = await session.guard(session.engine.create(kind, fields, secret))
        except UNREACHABLE as exc:  # kept, with the note that the server must hear of it
            return {
                **fields,
                "outbox": queued(None, create=True, maybe_sent=exc.maybe_sent),
            }, secret
        await self._send_waiting()
        return checked_key(kind, *created)

    async def update(
        self, item: ItemSummary, fields: dict[str, Any], secret: dict[str, str], force: bool
    ) -> Values:
        if item.outbox:  # it waits already (to be made, say): this change waits with it
            return {**fields, "outbox": queued(item, content=True)}, secret
        if not item.remote:  # made before login: it lives here only
            return fields, secret
        session = self.session
        try:
            updated = await session.guard(session.engine.update(item, fields, secret, force))
        except UNREACHABLE:
            return {**fields, "outbox": queued(item, content=True)}, secret
        except RemoteRejected as exc:  # trashed or deleted there: kept, for the person
            problem = {INACTIVE: "inactive", **dict.fromkeys(GONE, "gone")}.get(exc.code)
            if problem is None:
                raise
            mark = Outgoing.parse(queued(item, content=True))
            assert mark is not None
            return {**fields, "outbox": mark.but(problem=problem).encode()}, secret
        await self._send_waiting()
        return checked_key(item.kind, *updated)

    async def server_copy(self, item: ItemSummary) -> dict[str, Any]:
        """The server's copy of `item` as it is now (for a choice between it and this one)."""
        ref = _on_server(item, "it is not on the server yet")
        session = self.session
        return await session.guard(session.client.get_item(item.kind.value, ref.remote_id))

    async def set_active(self, item: ItemSummary, active: bool) -> dict[str, Any]:
        if not item.remote:
            return {}
        if item.outbox:
            return {"outbox": queued(item, active=True)}
        session = self.session
        try:
            remote = await session.guard(session.engine.set_active(item, active))
        except UNREACHABLE:
            return {"outbox": queued(item, active=True)}
        await self._send_waiting()
        return {"remote": remote}

    async def upload(self, path: Path, fields: dict[str, Any], notes: str) -> dict[str, Any]:
        if "files" not in self.session.capabilities:  # a plain senhasegura: kept here
            return {}
        from mysafe_tui.remote.sync import file_chunks

        session = self.session
        upload = session.engine.upload(file_chunks(path), fields, notes)
        try:
            remote = await session.guard(upload)
        except UNREACHABLE as exc:
            return {"outbox": queued(None, create=True, maybe_sent=exc.maybe_sent)}
        await self._send_waiting()
        return {"remote": remote}

    async def _send_waiting(self) -> None:
        """The server answered a write: what waited from before goes now too."""
        if self.outbox.waiting():  # this write is done whatever they meet: sync says it
            with contextlib.suppress(MySafeError):
                await self.outbox.send()

    async def push(self, item: ItemSummary) -> ItemSummary:
        """An item made here before login (local only): created on the server, then kept
        as the server's (bound) copy under the same local id."""

        worker, session = self.worker, self.session
        if item.remote:
            raise InvalidInput(f"'{item.name}' is already on the server")
        if item.outbox:  # made while the server was out of reach: it goes on its own
            raise InvalidInput(f"'{item.name}' waits to be sent already: 'mysafe sync' sends it")
        if not item.active:
            raise InvalidInput(f"'{item.name}' is in the trash: restore it first")
        if not self.keeps(item.kind):
            raise NotSupported(
                f"{self.url} keeps no SSH keys (a plain senhasegura): '{item.name}' stays here"
            )
        secret = await worker.reveal(item.id)
        if item.kind is ItemKind.FILE:
            if "files" not in session.capabilities:
                raise NotSupported(
                    f"{self.url} keeps no files (a plain senhasegura): '{item.name}' stays here"
                )
            fields = summary_fields(item)
            upload = session.engine.upload(self._content(item.id), fields, secret.get("notes", ""))
            return await worker.set_flags(item.id, remote=await session.guard(upload))
        created, secret = await session.guard(
            session.engine.create(item.kind, summary_fields(item), secret)
        )
        return await worker.save_item(item.kind, created, secret, item.id)

    async def _content(self, item_id: str) -> AsyncIterator[bytes]:
        """A file item's content as it is decrypted, chunk by chunk in the vault's thread."""
        vault = self.worker.vault
        chunks = await self.worker.run(lambda: iter(vault.read_file(item_id)))
        while (chunk := await self.worker.run(next, chunks, None)) is not None:
            yield chunk

    def check_purge(self, item: ItemSummary) -> None:
        if item.remote:
            raise InvalidInput(
                "items on the server cannot be deleted, only deactivated "
                "(MySafe keeps them restorable)"
            )

    def status(self) -> RemoteStatus:
        return self.session.status()

    async def probe(self) -> frozenset[str]:
        return await self.session.probe()

    async def aclose(self) -> None:
        await self.session.aclose()

    # --- pull -------------------------------------------------------------------------------

    async def pull(self, progress: SyncProgress | None, probe: bool) -> PullResult:
        """Bring the cache in line with the server: the engine says what changed, this
        writes it (`WRITE_BATCH` items per transaction) and remembers the sync."""
        from mysafe_tui.remote.sync import Deactivate, PullResult, Remove, Save, SaveFile

        session, worker = self.session, self.worker
        previous = session.state
        session.state = "syncing"
        result = PullResult()
        saves: list[Save] = []

        async def flush(deletes: Iterable[str] = ()) -> None:
            result.written += await worker.save_batch(
                [(s.kind, s.fields, s.secret, s.item_id) for s in saves], deletes
            )
            saves.clear()

        async def apply() -> None:
            engine = session.engine
            sent = await self.outbox.send()  # what waited goes first
            result.sent, result.problems = sent.sent, sent.problems
            cached = list(worker.vault.summaries.values())
            waiting = {s.id for s in self.outbox.waiting()}  # this copy is newer: it stays
            async for change in engine.pull(cached, progress):
                target = _target(change)
                if target in waiting:
                    continue
                if isinstance(change, Remove) and waiting & set(change.item_ids):
                    for gone in waiting & set(change.item_ids):  # a person decides
                        await self.outbox.stop(gone, "gone")
                    change = Remove([i for i in change.item_ids if i not in waiting])
                if isinstance(change, Save):
                    try:
                        checked_key(change.kind, change.fields, change.secret)
                    except InvalidInput as exc:  # the cached copy stays; the sync says why
                        engine.unreadable.append(f"{change.fields['name']} (SSH key): {exc}")
                        continue
                    saves.append(change)
                    if len(saves) >= WRITE_BATCH:
                        await flush()
                elif isinstance(change, SaveFile):
                    await self._save_file(change)
                    result.written += 1
                elif isinstance(change, Deactivate):
                    await worker.set_flags(change.item.id, active=False, remote=change.remote)
                    result.written += 1
                elif isinstance(change, Remove):
                    await flush(change.item_ids)
                    result.removed = len(change.item_ids)
            result.unchanged, result.unreadable = engine.unchanged, list(engine.unreadable)

        try:
            if probe:  # the server may have gained or lost features since
                await session.probe()
            await session.guard(apply())
        except BaseException:
            if session.state == "syncing":
                session.state = previous
            raise
        session.mark_synced(result.unreadable)
        await worker.write_meta("remote", session.binding)
        return result

    async def _save_file(self, change: SaveFile) -> None:
        """Stream a file's content from the server into the vault: a thread-safe queue
        bridges the async download and the vault's worker thread."""
        save = change.save
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
            self.worker.save_file(save.fields, save.secret, consume(), save.item_id)
        )
        try:
            async for chunk in change.chunks:
                await offer(chunk)
        except BaseException as exc:
            await offer(exc)
            with contextlib.suppress(BaseException):
                await writing
            raise
        await offer(None)
        await writing


def _on_server(item: ItemSummary, otherwise: str) -> RemoteRef:
    """Where `item` lives on the server; an item only in this vault is refused, saying
    `otherwise` (what to do, or why nothing can be done)."""
    from mysafe_tui.remote.sync import RemoteRef

    ref = RemoteRef.parse(item.remote)
    if ref is None:
        raise InvalidInput(f"'{item.name}' is only in this vault: {otherwise}")
    return ref


def _shared_error(entry: object) -> str:
    """One `shared_error` entry as a sentence part (the API shows strings or objects)."""
    if isinstance(entry, dict):
        return ", ".join(f"{k}: {v}" for k, v in entry.items())
    return str(entry)


def _target(change: Any) -> str | None:
    """The cached item a pulled change would overwrite (None for a new one or a removal)."""
    from mysafe_tui.remote.sync import Deactivate, Save, SaveFile

    if isinstance(change, Save):
        return change.item_id
    if isinstance(change, SaveFile):
        return change.save.item_id
    if isinstance(change, Deactivate):
        return change.item.id
    return None


@contextlib.contextmanager
def needs_server(what: str) -> Iterator[None]:
    """What only the server can do is refused while it cannot be reached, saying so."""
    try:
        yield
    except OfflineError as exc:
        raise OfflineError(f"{exc}: {what} needs the server, try again when it is back") from None

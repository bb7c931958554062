"""The outbox: what was written while the vault's server could not be reached, sent when it
answers again (DESIGN.md §4, offline first).

A write that finds the server unreachable (refused, timed out, a 5xx, a proxy's error page)
is kept: the item is saved here with its `outbox` field (core/outbox.py) in the same vault
transaction, so the change and the note that the server has not heard of it cannot part. A
later write to an item that still waits joins it (the item as it is then is what is sent).

`Outbox.send` goes through the waiting items in the order they were first changed. Each is
sent, then saved as the server answered with its `outbox` cleared, in one transaction: a crash
in between leaves it waiting, and sending it again does no harm, because
- a create carries a key the server keeps (`Idempotency-Key`, `mysafe serve`), and one that
  may have gone out is marked first, so that against a server without keys it is looked for
  (same kind, same content, not cached yet) before it is sent again;
- a change sent again meets its own first copy: the server's answer "changed since" with the
  very content being sent is taken as done;
- moving to the trash (or out of it) twice is the same as once.

What only a person can settle stops that item (the others go on): the server's copy changed
too ("conflict"), the item was deleted there or unshared ("gone"), or put in its trash
("inactive"). `settle` applies the person's choice: keep mine, keep theirs, or keep both.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mysafe_tui.core.errors import (
    InvalidInput,
    OfflineError,
    RemoteConflict,
    RemoteRejected,
    ServerUnavailable,
)
from mysafe_tui.core.models import SPECS, ItemKind, ItemSummary
from mysafe_tui.core.outbox import PROBLEMS, Outgoing
from mysafe_tui.service.values import checked_key, summary_fields

if TYPE_CHECKING:
    from mysafe_tui.remote.session import RemoteSession
    from mysafe_tui.service.worker import VaultWorker

UNREACHABLE = (OfflineError, ServerUnavailable)
GONE = (1005, 1006)  # not found, no access
INACTIVE = 1009
CHOICES = ("mine", "theirs", "both")


def outgoing(item: ItemSummary) -> Outgoing | None:
    return Outgoing.parse(item.outbox) if item.outbox else None


def queued(
    item: ItemSummary | None,
    *,
    create: bool = False,
    content: bool = False,
    active: bool = False,
    maybe_sent: bool = False,
) -> str:
    """The `outbox` of `item` after one more change the server could not hear: a new item
    (`create`), new field values (`content`), a move to or from the trash (`active`)."""
    old = outgoing(item) if item is not None else None
    now = old or Outgoing(time.time_ns())
    if now.problem == "refused":  # changed again (fixed, say): it is tried again
        now = now.but(problem="")
    if create:
        now = now.but(create=True, key=now.key or uuid.uuid4().hex, sent=maybe_sent)
    elif not now.create:  # a create sends whatever the item holds by then
        now = now.but(content=now.content or content, active=now.active != active)
    return now.encode() if now.create or now.content or now.active or now.problem else ""


@dataclass
class SendResult:
    sent: int = 0
    waiting: int = 0  # still in the outbox: unreachable again, or a person must choose
    problems: list[str] = field(default_factory=list)  # "Name: what happened"


class Outbox:
    """The waiting items of one bound vault, and sending them."""

    def __init__(
        self,
        session: RemoteSession,
        worker: VaultWorker,
        content: Callable[[str], AsyncIterator[bytes]],
        take_theirs: Callable[[ItemSummary], Awaitable[ItemSummary]],
    ) -> None:
        self.session = session
        self.worker = worker
        self.content = content  # a file item's content, streamed from the vault
        self.take_theirs = take_theirs  # the server's copy into the cache, as a conflict does
        self._sending: dict[str, int] = {}  # item id: its version as it is being sent
        self._found: tuple[int, list[str]] | None = None  # (vault generation, waiting ids)

    def waiting(self) -> list[ItemSummary]:
        """The items the server has not heard of yet, oldest change first (looked for once
        per vault generation: the UI asks every second)."""
        vault = self.worker.vault
        if self._found is None or self._found[0] != vault.generation:
            ids = [i for i, record in vault.records.items() if record.waiting()]
            self._found = vault.generation, ids
        summaries = vault.summaries
        found = [summaries[i] for i in self._found[1] if i in summaries]
        return sorted(found, key=lambda s: (outgoing(s) or Outgoing(0)).seq)

    async def send(self) -> SendResult:
        """Send every waiting item, in order; raises OfflineError (with the items sent so
        far recorded) when the server cannot be reached again."""
        result = SendResult()
        for item in self.waiting():
            current = self.worker.vault.summaries.get(item.id)
            mark = outgoing(current) if current is not None else None
            if current is None or mark is None:
                continue
            if mark.problem:
                result.waiting += 1
                result.problems.append(f"{current.name}: {PROBLEMS[mark.problem]}")
                continue
            try:
                problem = await self._send_one(current, mark)
            except RemoteRejected as exc:  # the server will not take it as it is
                await self._stop(current, mark, "refused")
                result.waiting += 1
                result.problems.append(f"{current.name}: refused by the server: {exc}")
                continue
            if problem:
                result.waiting += 1
                result.problems.append(f"{current.name}: {PROBLEMS[problem]}")
            else:
                result.sent += 1
        return result

    async def _send_one(self, item: ItemSummary, mark: Outgoing) -> str:
        """One item to the server; "" when done, else the problem now recorded on it."""
        session, worker = self.session, self.worker
        engine = session.engine
        self._sending[item.id] = item.version
        secret = await worker.reveal(item.id)
        fields = {**summary_fields(item), "outbox": ""}
        try:
            if mark.create:
                fields, secret = await self._create(item, mark, fields, secret)
                if not item.active:  # made here and trashed here: trashed there too
                    trashed = item._replace(remote=fields["remote"])
                    fields["remote"] = await session.guard(engine.set_active(trashed, False))
                    fields["active"] = False
            else:
                if mark.content:
                    try:
                        fields, secret = await session.guard(engine.update(item, fields, secret))
                    except RemoteConflict as conflict:
                        if not _same_content(item.kind, {**fields, **secret}, conflict.current):
                            return await self._stop(item, mark, "conflict")
                        fields, secret = await self._theirs(item, conflict.current)
                    fields = {**fields, "active": item.active, "favourite": item.favourite}
                if mark.active:
                    try:
                        remote = await session.guard(
                            engine.set_active(item._replace(remote=fields["remote"]), item.active)
                        )
                    except RemoteRejected as exc:
                        if not (exc.code == INACTIVE and not item.active):  # trashed already
                            raise
                    else:
                        fields["remote"] = remote
        except RemoteRejected as exc:
            if exc.code in GONE:
                return await self._stop(item, mark, "gone")
            if exc.code == INACTIVE:
                return await self._stop(item, mark, "inactive")
            raise
        await self._record(item.id, fields, secret)
        return ""

    async def _record(self, item_id: str, fields: dict[str, Any], secret: dict[str, str]) -> None:
        """The server's answer into the cache, the item's wait over; unless it was changed
        here while it was being sent: then that change waits, on the server's copy."""
        worker = self.worker
        current = worker.get(item_id)
        if current.version == self._sending.get(item_id, -1):
            await worker.save_item(current.kind, {**fields, "outbox": ""}, secret, item_id)
            return
        mark = (outgoing(current) or Outgoing(time.time_ns())).but(
            create=False, sent=False, key="", content=True, problem=""
        )
        kept = {**summary_fields(current), "remote": fields["remote"], "outbox": mark.encode()}
        await worker.save_item(current.kind, kept, await worker.reveal(item_id), item_id)

    async def _create(
        self, item: ItemSummary, mark: Outgoing, fields: dict[str, Any], secret: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Create `item` on the server once (or find the one an earlier try made)."""
        session, worker, engine = self.session, self.worker, self.session.engine
        keyed = "idempotency" in session.capabilities
        if mark.sent and not keyed:
            found = await self._made_before(item, fields, secret)
            if found is not None:
                return found
        if not mark.sent and not keyed:  # from here on it may have reached the server
            sending = {**fields, "outbox": mark.but(sent=True).encode()}
            marked = await worker.save_item(item.kind, sending, secret, item.id)
            self._sending[item.id] = marked.version
        if item.kind is ItemKind.FILE:
            upload = engine.upload(
                self.content(item.id), fields, secret.get("notes", ""), key=mark.key
            )
            return {**fields, "remote": await session.guard(upload)}, secret
        made = await session.guard(engine.create(item.kind, fields, secret, mark.key))
        return checked_key(item.kind, {**made[0], "favourite": item.favourite}, made[1])

    async def _made_before(
        self, item: ItemSummary, fields: dict[str, Any], secret: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, str]] | None:
        """An earlier try's item on a server without keys: one of the kind, not cached
        here, with this content."""
        from mysafe_tui.remote.sync import RemoteRef, cached

        session = self.session
        client = session.client
        known = {
            (ref.kind, ref.remote_id)
            for s in self.worker.vault.summaries.values()
            if (ref := RemoteRef.parse(s.remote)) is not None
        }
        rows = await session.guard(client.list_items(item.kind.value))
        for row in rows:
            if (item.kind.value, row["identifier"]) in known or row.get("name") != item.name:
                continue
            entity = await session.guard(client.get_item(item.kind.value, row["identifier"]))
            if _same_content(item.kind, {**fields, **secret}, entity):
                return cached(item.kind, entity, row["identifier"], item.favourite, row)
        return None

    async def _theirs(
        self, item: ItemSummary, current: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        from mysafe_tui.remote.sync import RemoteRef, cached

        ref = RemoteRef.parse(item.remote)
        assert ref is not None
        return checked_key(item.kind, *cached(item.kind, current, ref.remote_id, item.favourite))

    async def stop(self, item_id: str, problem: str) -> None:
        """Record that the server's answer about a waiting item needs a person."""
        item = self.worker.get(item_id)
        mark = outgoing(item)
        if mark is not None:
            await self._stop(item, mark, problem)

    async def _stop(self, item: ItemSummary, mark: Outgoing, problem: str) -> str:
        fields = {**summary_fields(item), "outbox": mark.but(problem=problem).encode()}
        await self.worker.save_item(item.kind, fields, await self.worker.reveal(item.id), item.id)
        return problem

    async def settle(self, item: ItemSummary, choice: str) -> ItemSummary | None:
        """A person's choice for an item the outbox stopped at (or any waiting item):
        "mine" sends this copy (anew when it was deleted there, out of the trash when it was
        trashed there), "theirs" takes the server's (nothing, when it is gone), "both" keeps
        the server's and sends this copy as a new item. Returns the item in its place, or
        None when it left the vault."""
        from mysafe_tui.remote.sync import RemoteRef

        if choice not in CHOICES:
            raise InvalidInput(f"choose one of {', '.join(CHOICES)}, not {choice!r}")
        mark = outgoing(item)
        if mark is None:
            raise InvalidInput(f"'{item.name}' has nothing waiting to be sent")
        session, worker = self.session, self.worker
        secret = await worker.reveal(item.id)
        fields = summary_fields(item)
        ref = RemoteRef.parse(item.remote)
        if choice == "mine":
            if mark.problem == "refused":  # tried again as it is (after a fix, say)
                fields["outbox"] = mark.but(problem="").encode()
                await worker.save_item(item.kind, fields, secret, item.id)
            elif mark.problem == "gone" or ref is None:  # made again, as new
                again = Outgoing(mark.seq, create=True, key=uuid.uuid4().hex)
                fields.update(remote="", outbox=again.encode())
                await worker.save_item(item.kind, fields, secret, item.id)
            else:
                if mark.problem == "inactive":
                    await session.guard(session.engine.set_active(item, True))
                sent, secret = await session.guard(
                    session.engine.update(item, fields, secret, force=True)
                )
                sent.update(active=item.active, favourite=item.favourite, outbox="")
                if not item.active:
                    sent["outbox"] = Outgoing(mark.seq, active=True).encode()
                await worker.save_item(item.kind, sent, secret, item.id)
        else:
            if choice == "both":
                copy = Outgoing(time.time_ns(), create=True, key=uuid.uuid4().hex)
                mine = {
                    **fields,
                    "name": f"{item.name} (my copy)",
                    "remote": "",
                    "access": "",
                    "sharing": "",
                    "outbox": copy.encode(),
                }
                await worker.save_item(item.kind, mine, secret)
            if ref is None:  # never made there: it stays, on this device only
                await worker.save_item(item.kind, {**fields, "outbox": ""}, secret, item.id)
                return worker.vault.summaries.get(item.id)
            if mark.problem == "gone":  # as on the server: gone
                await worker.save_batch([], [item.id])
                return None
            if mark.problem == "inactive":
                await worker.save_item(
                    item.kind, {**fields, "active": False, "outbox": ""}, secret, item.id
                )
            else:
                await self.take_theirs(item)
        with contextlib.suppress(*UNREACHABLE):  # what else waited goes too, if it can
            await self.send()
        return worker.vault.summaries.get(item.id)


def _same_content(kind: ItemKind, mine: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Whether the server's copy already holds what this one would send."""
    from mysafe_tui.remote.sync import content_hash

    spec = SPECS[kind]
    names = {*spec.summary, *spec.secret} - {"size"}
    ours = {name: mine.get(name, "") for name in names}
    return content_hash(kind, ours) == content_hash(kind, theirs)

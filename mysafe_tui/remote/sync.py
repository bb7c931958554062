"""Sync: the encrypted local vault as the offline cache of a MySafe server (DESIGN.md §4).

Pull: list every type the server offers, fetch the entities that changed (by revision when the
server has the §4 extension, else every entity, compared by a hash of its content), and say
what the cache must change. Deactivated items follow the server; items the key can no longer
see leave the cache. Each cached item records where it came from in its
`remote` summary field: "kind:id:r<revision>" or "kind:id:h<content hash>".

Push (writes): the server first, then the cache. A write whose server copy changed since the
last pull raises `RemoteConflict`, never overwrites: with revisions through `If-Match`, without
them by comparing the entity's hash before writing.

The engine never touches the vault: a pull yields the changes the cache needs (`Save`,
`SaveFile`, `Deactivate`, `Remove`), and the service writes them and patches its index.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mysafe_tui.core import extras
from mysafe_tui.core.errors import (
    EncryptedSecrets,
    InvalidInput,
    RemoteConflict,
    RemoteRejected,
    ServerError,
)
from mysafe_tui.core.models import SPECS, ItemKind, ItemSummary, Sharing
from mysafe_tui.core.versions import parse_versions
from mysafe_tui.remote.client import MySafeClient
from mysafe_tui.remote.pacing import Pacer

SyncProgress = Callable[[int, int], None]  # (entities done, entities to fetch)
GONE = (1005, 1006)  # not found, no access: the item leaves the cache
INACTIVE = 1009  # deactivated on the server: to the trash here
BULK_FROM = 50  # changed items of one type from which one bulk request beats one GET each
BATCH = 500  # entities fetched at a time during a pull
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
    secret = {k: v for k, v in secret.items() if v}
    # A server with the extension gives custom fields, more URLs and old passwords (checked
    # here: a malformed one is left out, and the cached copy keeps what it had). A plain
    # senhasegura gives none: the cache keeps its own (the vault keeps what a save leaves out).
    if isinstance(entity.get("urls"), str) and "url" in spec.fields:
        with contextlib.suppress(InvalidInput):
            fields["urls"] = extras.checked_urls(entity["urls"].split("\n"))
    for name, check in (
        (extras.CUSTOM, extras.parse_fields),
        (extras.HISTORY, extras.parse_history),
        (extras.VERSIONS, parse_versions),
    ):
        if isinstance(entity.get(name), str):
            with contextlib.suppress(InvalidInput):
                check(entity[name])
                secret[name] = entity[name]
    return fields, secret


def access_of(*sources: dict[str, Any]) -> str:
    """ "view" (shared with me, read only), "edit" (shared with me, editable) or "" (mine,
    or the server does not say), from list rows and entities (`can_write`, `mine`)."""
    can_write = next((src["can_write"] for src in sources if "can_write" in src), True)
    mine = next((src["mine"] for src in sources if "mine" in src), None)
    if not can_write:
        return "view"
    return "edit" if mine is False else ""


def cached(
    kind: ItemKind,
    entity: dict[str, Any],
    remote_id: str,
    favourite: bool,
    row: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """A server entity as the cache stores it: local fields, `remote` ref, who may open it
    (`access`, `sharing`: from the entity and its list `row`), secret fields."""
    fields, secret = to_local(kind, entity)
    fields.update(
        remote=str(RemoteRef(kind.value, remote_id, version_of(kind, entity))),
        favourite=favourite,
        active=True,
        access=access_of(row or {}, entity),
        sharing=Sharing.of_entity(entity).encode(),
    )
    return fields, secret


def to_wire(
    kind: ItemKind, fields: dict[str, Any], secret: dict[str, str], with_extras: bool = False
) -> dict[str, Any]:
    """Vault fields as a create/update body (only the fields the kind has on the wire; the
    extension's custom fields, more URLs and old passwords when the server keeps them)."""
    spec = SPECS[kind]
    body: dict[str, Any] = {}
    for name, value in {**fields, **secret}.items():
        if name in ("size",) or (name not in spec.summary and name not in spec.secret):
            continue
        body[name] = ",".join(value) if name == "tags" else value
    if with_extras:
        if "url" in spec.fields:
            body["urls"] = "\n".join(fields.get("urls", ()))
        body.update({name: secret.get(name, "") for name in extras.SECRET_WIRE})
    return body


def kept_here(
    sent: tuple[dict[str, Any], dict[str, str]], got: tuple[dict[str, Any], dict[str, str]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The server's copy to cache (`got`), with what a plain server could not hold taken
    from what was sent: nothing is dropped because the server has no place for it."""
    fields, secret = got
    if "urls" in sent[0] and "urls" not in fields:
        fields = {**fields, "urls": sent[0]["urls"]}
    kept = {k: sent[1][k] for k in extras.SECRET_WIRE if k in sent[1] and k not in secret}
    return fields, {**secret, **kept}


@dataclass
class PullResult:
    written: int = 0
    removed: int = 0
    unchanged: int = 0
    # Items the server would not give this time ("Name (kind): why"): their cached copies
    # stay as they were, and the next sync asks again.
    unreadable: list[str] = field(default_factory=list)
    # The outbox, sent before the pull (service/outbox.py): changes sent, and the waiting
    # items a person must decide about ("Name: what happened").
    sent: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Save:
    """Write this server entity into the cache (replacing `item_id` when it is cached)."""

    kind: ItemKind
    fields: dict[str, Any]
    secret: dict[str, str]
    item_id: str | None


@dataclass(frozen=True)
class SaveFile:
    """A file entity: its content streams from the server while it is written."""

    save: Save
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True)
class Deactivate:
    """The server deactivated a cached item: to the trash, its cached secrets kept."""

    item: ItemSummary
    remote: str


@dataclass(frozen=True)
class Remove:
    """Cached items the access key no longer sees: they leave the cache."""

    item_ids: list[str]


Change = Save | SaveFile | Deactivate | Remove


def _gated(row: dict[str, Any]) -> str:
    """Why a list row cannot be read without a person's action first, or ""."""
    if row.get("need_approval") is True:
        return "its access needs an approval in senhasegura first"
    if row.get("need_justify") is True:
        return "its access needs a justification in senhasegura first"
    return ""


# The secret of each kind as the API names it.
WIRE_SECRET = {
    ItemKind.PASSWORD: "password",
    ItemKind.NOTE: "note",
    ItemKind.API_SECRET: "client_secret",
}
RSA_BLOCKS = (128, 256, 384, 512)  # RSA-1024 to 4096: one ciphertext is one modulus long
ENCRYPTED_SECRETS = (
    "this access key gets its secrets encrypted by senhasegura (the 'encryption of sensitive "
    "data' option of its A2A authorization), which mysafe cannot read: turn that option off "
    "for this key, or use a key without it, and try again; nothing was cached from it"
)


def looks_encrypted(kind: ItemKind, entity: dict[str, Any]) -> bool:
    """Whether an entity's secret is base64 of exactly one RSA block: what senhasegura sends
    to an access key with sensitive-data encryption on, instead of the secret."""
    value = str(entity.get(WIRE_SECRET.get(kind, ""), "") or "").strip()
    if len(value) < 170 or len(value) % 4:
        return False

    try:
        return len(base64.b64decode(value, validate=True)) in RSA_BLOCKS
    except (binascii.Error, ValueError):
        return False


def _deactivated(local: ItemSummary, row: dict[str, Any]) -> Deactivate:
    ref = RemoteRef.parse(local.remote)
    assert ref is not None
    revision = row.get("revision")
    version = f"r{revision}" if isinstance(revision, int) else ref.version
    return Deactivate(local, str(RemoteRef(ref.kind, ref.remote_id, version)))


class SyncEngine:
    """Pull and push for one server. It never touches the vault: a pull yields the changes
    the cache needs and the service writes them."""

    def __init__(self, client: MySafeClient, capabilities: frozenset[str]) -> None:
        self.client = client
        self.capabilities = capabilities
        self.unchanged = 0  # counted by the last pull
        self.unreadable: list[str] = []  # the last pull's items the server would not give

    @property
    def revisions(self) -> bool:
        return "revisions" in self.capabilities

    @property
    def extras(self) -> bool:
        """The server keeps custom fields, more URLs and old passwords (`mysafe serve`)."""
        return "extras" in self.capabilities

    def kinds(self) -> tuple[ItemKind, ...]:
        """The kinds this server keeps: a plain senhasegura has no files and no SSH keys."""
        ours = {"files": ItemKind.FILE, "sshkeys": ItemKind.SSH_KEY}
        return (*TEXT_KINDS, *(kind for name, kind in ours.items() if name in self.capabilities))

    # --- pull -------------------------------------------------------------------------------

    async def pull(
        self, cached_items: Iterable[ItemSummary], progress: SyncProgress | None = None
    ) -> AsyncIterator[Change]:
        """What the cache (`cached_items`: the vault's summaries) needs to match the server,
        in order, `Remove` last. A file's `SaveFile` must be written before the next change
        is asked for: its content is still streaming."""
        in_cache: dict[tuple[str, str], ItemSummary] = {}
        for summary in cached_items:
            ref = RemoteRef.parse(summary.remote)
            if ref is not None:
                in_cache[ref.kind, ref.remote_id] = summary
        plan: list[tuple[ItemKind, dict[str, Any], ItemSummary | None]] = []
        seen: set[tuple[str, str]] = set()
        self.unchanged, self.unreadable = 0, []
        for kind in self.kinds():
            rows = await self.client.list_items(kind.value, include_inactive=self.revisions)
            for row in rows:
                key = (kind.value, row["identifier"])
                seen.add(key)
                local = in_cache.get(key)
                ref = RemoteRef.parse(local.remote) if local else None
                same_revision = self.revisions and ref and ref.revision == row.get("revision")
                if same_revision and local and local.active == row.get("active", True):
                    self.unchanged += 1
                    continue
                if row.get("active", True) is False:  # an inactive entity cannot be fetched
                    if local is not None:
                        yield _deactivated(local, row)
                    continue
                needs = _gated(row)
                if needs:  # access needs a justification or an approval first: ask nobody now
                    self._unreadable(kind, row, local, needs)
                    continue
                plan.append((kind, row, local))
        if progress:
            progress(0, len(plan))
        bulk: dict[tuple[str, str], dict[str, Any]] = {}
        if "bulk" in self.capabilities:
            for kind in self.kinds():
                if sum(1 for k, _, _ in plan if k is kind) >= BULK_FROM:
                    for found in await self.client.list_entities(kind.value):
                        bulk[kind.value, found["identifier"]] = found
        pacer = Pacer()  # as many requests in flight as make the answers come fastest

        async def fetch(kind: ItemKind, row: dict[str, Any]) -> dict[str, Any] | str:
            if (kind.value, row["identifier"]) in bulk:
                return bulk[kind.value, row["identifier"]]
            async with pacer.slot():
                return await self._fetch(kind, row["identifier"])

        for start in range(0, len(plan), BATCH):
            chunk = plan[start : start + BATCH]
            entities = await asyncio.gather(*(fetch(kind, row) for kind, row, _ in chunk))
            for (kind, row, local), entity in zip(chunk, entities, strict=True):
                if entity == "gone":  # deleted or unshared since it was listed
                    seen.discard((kind.value, row["identifier"]))
                    continue
                if entity == "inactive":
                    if local is not None and local.active:
                        yield _deactivated(local, row)
                    continue
                if isinstance(entity, str):  # the server failed on this one: keep the copy
                    self._unreadable(kind, row, local, entity)
                    continue
                if looks_encrypted(kind, entity):  # the key's setting, not this item
                    raise EncryptedSecrets(ENCRYPTED_SECRETS)
                favourite = local.favourite if local else False
                fields, secret = cached(kind, entity, row["identifier"], favourite, row)
                if (
                    local is not None
                    and local.active
                    and all(
                        getattr(local, name) == fields[name]
                        for name in ("remote", "access", "sharing")
                    )
                ):
                    self.unchanged += 1
                    continue
                save = Save(kind, fields, secret, local.id if local else None)
                if kind is ItemKind.FILE:
                    yield SaveFile(save, self.client.download_file(row["identifier"]))
                else:
                    yield save
            if progress:
                progress(start + len(chunk), len(plan))
        missing = [
            (key, s)
            for key, s in in_cache.items()
            if key not in seen and ItemKind(key[0]) in self.kinds()
        ]
        gone = []
        for (kind_value, remote_id), local in missing:
            if self.revisions:  # the list holds inactive items too: missing means gone
                gone.append(local.id)
                continue
            # A plain senhasegura lists active items only: ask what became of this one.
            fate = await self._fetch(ItemKind(kind_value), remote_id)
            if fate == "gone":
                gone.append(local.id)
            elif fate == "inactive":
                if local.active:
                    yield _deactivated(local, {})
            elif isinstance(fate, str):
                self._unreadable(local.kind, {"identifier": remote_id}, local, fate)
        yield Remove(gone)

    async def _fetch(self, kind: ItemKind, remote_id: str) -> dict[str, Any] | str:
        """One entity, or what became of it: "gone", "inactive", or why it could not be
        read (a 5xx, an answer that is not the API, an unknown refusal). Being offline or
        refused as a whole still ends the pull: nothing more can be read then."""
        try:
            return await self.client.get_item(kind.value, remote_id)
        except RemoteRejected as exc:
            if exc.code in GONE:
                return "gone"
            if exc.code == INACTIVE:
                return "inactive"
            return str(exc)
        except ServerError as exc:
            return str(exc)

    def _unreadable(
        self, kind: ItemKind, row: dict[str, Any], local: ItemSummary | None, why: str
    ) -> None:
        name = str(row.get("name") or (local.name if local else "") or row["identifier"])
        self.unreadable.append(f"{name} ({kind.label.lower()}): {why}")

    # --- push -------------------------------------------------------------------------------

    async def create(
        self, kind: ItemKind, fields: dict[str, Any], secret: dict[str, str], key: str = ""
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Create on the server (`key`: see `MySafeClient.create_item`); returns the fields
        and secret to cache (with `remote`)."""
        body = to_wire(kind, fields, secret, self.extras)
        created = await self.client.create_item(kind.value, body, key)
        entity = await self.client.get_item(kind.value, created["identifier"])
        got = cached(kind, entity, created["identifier"], bool(fields.get("favourite")))
        return kept_here((fields, secret), got)

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
            kind.value, ref.remote_id, to_wire(kind, fields, secret, self.extras), revision
        )
        entity = await self.client.get_item(kind.value, ref.remote_id)
        got = cached(kind, entity, ref.remote_id, bool(fields.get("favourite", item.favourite)))
        return kept_here((fields, secret), got)

    async def upload(
        self, chunks: AsyncIterator[bytes], fields: dict[str, Any], notes: str, key: str = ""
    ) -> str:
        """Stream a file's content to the server; returns the `remote` value for the cached
        copy."""
        metadata = {
            "name": fields["name"],
            "file_name": fields["file_name"],
            "media_type": fields["media_type"],
            "tags": ",".join(fields["tags"]),
            "notes": notes,
        }
        entity = await self.client.upload_file(metadata, chunks, key=key)
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


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """A file on disk as the upload reads it: in a thread, so the loop never waits on disk."""
    with open(path, "rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, 1024 * 1024):
            yield chunk

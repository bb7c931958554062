"""The open vault's state and its row-level helpers, shared by the parts of `Vault`
(vault.py): keys in memory, the manifest, the records; `_put` and `_delete` inside a write
scope that folds each change into the manifest."""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mysafe_tui.core.crypto import (
    Aead,
    AuthenticationFailed,
    associated_data,
    derive_passphrase_key,
    hkdf,
    random_key,
)
from mysafe_tui.core.errors import (
    CorruptHeader,
    CorruptRecord,
    CorruptVault,
    ItemNotFound,
    RolledBack,
    VaultLocked,
)
from mysafe_tui.core.extras import (
    ATTACHMENTS,
    CUSTOM,
    HISTORY,
    VERSIONS,
    parse_fields,
    search_text,
)
from mysafe_tui.core.kdf import KdfParams
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.vault import storage
from mysafe_tui.vault.header import Header
from mysafe_tui.vault.manifest import Manifest, Pending
from mysafe_tui.vault.records import AdBuilder, Record, encode_summary
from mysafe_tui.vault.rollback import Memory

KEY_VERSION = 1
FILE_FIELDS = ("file_id", "file_key")  # internal secret fields of a file item
# Never handed out by `reveal`: file keys.
INTERNAL = (*FILE_FIELDS, ATTACHMENTS)
# What a save of an existing item keeps unless it names it: the file keys, and what a plain
# senhasegura's copy of an item lacks (a sync writes that copy over the cached one).
KEPT = (*INTERNAL, CUSTOM, HISTORY, VERSIONS)
ROW = "id, kind, version, key_version, wrapped_key, summary, secret, mac"
# Vault-level records (the server binding...) are rows like items, under ids no item can have
# (item ids are hex): encrypted, in the manifest, but never in `summaries`.
META_PREFIX = "meta:"

Progress = Callable[[int], None]
SummaryFields = dict[str, Any]


class VaultState:
    """What an open vault holds, and the helpers every part of `Vault` uses: reading rows,
    opening an item's secret, and the write scope that keeps the manifest in step."""

    def __init__(self, path: Path, conn: sqlite3.Connection, header: Header) -> None:
        self.path = path
        self._identity = file_identity(path)
        self._conn = conn
        self._header = header
        self._ad = AdBuilder(header.vault_id)
        self._vk_key: bytes | None = None
        self._vk: Aead | None = None
        self._sk: Aead | None = None
        self._manifest = Manifest(header.vault_id)  # the entry MACs and the generation
        self._records: dict[str, Record] = {}
        self._meta: dict[str, Record] = {}
        self._corrupt: dict[str, str] = {}
        self._cache_generation: int | None = None  # the generation the summary cache holds
        self._index_state: object = None
        self._memory: Memory | None = None  # what this machine saw of the vault
        self._accept_rollback = False  # an older state was put back on purpose
        # Why this vault is read-only: an older copy than the one last seen (see `unlock`).
        self.rollback: str | None = None
        # Items another process changed, as `refresh` found them (see `take_changes`).
        self._changed: set[str] | None = None

    @property
    def unlocked(self) -> bool:
        return self._vk is not None

    if TYPE_CHECKING:  # provided by Loading (loading.py), which every Vault is

        def refresh(self) -> bool: ...

    def _require_unlocked(self) -> None:
        if self._vk is None:
            raise VaultLocked("the vault is locked")

    def _install_keys(self, vk: bytes) -> None:
        keys = VaultKeys.of(vk, self._header.vault_id)
        self._vk_key, self._vk, self._sk = vk, keys.vk, keys.sk
        self._manifest.key = keys.mk

    def _open_secret(self, item_id: str) -> dict[str, str]:
        self._require_unlocked()
        self.refresh()
        if item_id in self._corrupt:
            raise CorruptRecord(item_id, self._corrupt[item_id])
        record = self._records.get(item_id) or self._meta.get(item_id)
        if record is None:
            raise ItemNotFound(f"no item with id {item_id}")
        row = next(iter(self._query(f"SELECT {ROW} FROM items WHERE id = ?", item_id)), None)
        if row is None:  # indexed at unlock, gone now: the database index is damaged
            raise CorruptRecord(item_id, "its row cannot be found in the database")
        _, kind_text, version, key_version, wrapped, summary_ct, secret_ct, _ = row
        try:
            computed = self._manifest.entry_mac(
                item_id, kind_text, version, key_version, wrapped, summary_ct, secret_ct
            )
            if computed != self._manifest.macs[item_id] or version != record.version:
                raise CorruptRecord(item_id, "it was modified outside mysafe")
            ik = self._item_key(item_id, key_version, wrapped)
            plain = ik.open(secret_ct, self._ad.item(record.kind, item_id, version, "secret"))
            data = json.loads(plain)
        except (AuthenticationFailed, ValueError, TypeError):
            raise CorruptRecord(item_id) from None
        return {str(k): str(v) for k, v in data.items()}

    def _query(self, statement: str, *args: Any) -> list[Any]:
        """A read whose every failure (damaged pages, undecodable text) is a vault error."""
        try:
            return self._conn.execute(statement, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise storage.translate(exc, self.path) from None
        except UnicodeDecodeError:
            raise CorruptVault(f"{self.path} is damaged: unreadable text in a record") from None

    def _item_key(self, item_id: str, key_version: int, wrapped: bytes) -> Aead:
        assert self._vk is not None
        return Aead(self._vk.open(wrapped, self._ad.item_key(item_id, key_version)))

    def _writing(self) -> _WriteScope:
        self._require_unlocked()
        self._refuse_if_rolled_back()
        return _WriteScope(self)

    def _refuse_if_rolled_back(self) -> None:
        if self.rollback:
            raise RolledBack(f"nothing was changed: {self.rollback}")

    def remember_seen(self, lower: bool = False) -> None:
        """This state as the newest seen here (see vault/rollback.py), unless it is a rollback."""
        if self._memory is not None and self._vk_key is not None and not self.rollback:
            manifest = self._manifest
            self._memory.remember(manifest.generation, manifest.current_tag, lower=lower)

    def _put(
        self,
        pending: Pending,
        kind: ItemKind,
        fields: SummaryFields,
        secret: dict[str, str],
        item_id: str | None,
        new_id: str | None = None,
    ) -> ItemSummary:
        assert self._vk is not None and self._sk is not None
        now = time.time()
        if item_id is not None:
            if item_id in self._corrupt:
                raise CorruptRecord(item_id, self._corrupt[item_id])
            old = self._known(pending, item_id)
            if old is None:
                raise ItemNotFound(f"no item with id {item_id}")
            if new_id is None:  # a save keeps what it does not name (see KEPT)
                internal = self._internal(pending, item_id)
                kept = {k: internal[k] for k in KEPT if k in internal and k not in secret}
                secret = {**secret, **kept} if kept else secret
                if "urls" not in fields and old.urls:
                    fields = {**fields, "urls": old.urls}
            key_version, wrapped = self._conn.execute(
                "SELECT key_version, wrapped_key FROM items WHERE id = ?", (item_id,)
            ).fetchone()
            ik = self._item_key(item_id, key_version, wrapped)
            version, created = old.version + 1, old.created
            old_mac = pending.macs.get(item_id) or self._manifest.macs[item_id]
            pending.acc ^= int.from_bytes(old_mac, "big")
        else:
            item_id = new_id or uuid.uuid4().hex
            ik_raw = random_key()
            key_version = KEY_VERSION
            wrapped = self._vk.seal(ik_raw, self._ad.item_key(item_id, key_version))
            ik = Aead(ik_raw)
            version, created = 1, now
            pending.count += 1
        if secret.get(CUSTOM) or fields.get("custom"):  # what search reads of custom fields
            fields = {**fields, "custom": search_text(parse_fields(secret.get(CUSTOM, "")))}
        draft = ItemSummary(
            id=item_id, kind=kind, version=version, created=created, updated=now, **fields
        )
        encoded = encode_summary(draft)
        summary_ct = self._sk.seal(encoded, self._ad.item(kind, item_id, version, "summary"))
        secret_ct = ik.seal(
            json.dumps(secret, separators=(",", ":")).encode(),
            self._ad.item(kind, item_id, version, "secret"),
        )
        entry_mac = self._manifest.entry_mac(
            item_id, kind.value, version, key_version, wrapped, summary_ct, secret_ct
        )
        self._conn.execute(
            f"INSERT OR REPLACE INTO items ({ROW}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (item_id, kind.value, version, key_version, wrapped, summary_ct, secret_ct, entry_mac),
        )
        pending.acc ^= int.from_bytes(entry_mac, "big")
        pending.macs[item_id] = entry_mac
        pending.secrets[item_id] = secret
        record = Record(item_id, kind, version, encoded.decode())
        pending.records[item_id] = record
        return record.summary()  # as stored: cleaned text

    def _internal(self, pending: Pending, item_id: str) -> dict[str, str]:
        """An item's whole secret part as this transaction sees it."""
        return pending.secrets.get(item_id) or self._open_secret(item_id)

    def _delete(self, pending: Pending, item_id: str) -> None:
        old_mac = pending.macs.get(item_id, self._manifest.macs.get(item_id))
        if old_mac is None:
            raise ItemNotFound(f"no item with id {item_id}")
        self._conn.execute("DELETE FROM items WHERE id = ?", (item_id,))
        self._conn.execute("DELETE FROM chunks WHERE item_id = ?", (item_id,))
        pending.acc ^= int.from_bytes(old_mac, "big")
        pending.count -= 1
        pending.macs[item_id] = None
        pending.records[item_id] = None

    def _known(self, pending: Pending, item_id: str) -> ItemSummary | None:
        record = (
            pending.records.get(item_id) or self._records.get(item_id) or self._meta.get(item_id)
        )
        return None if record is None else record.summary()


class _WriteScope:
    """One write transaction: reload first if another process wrote, then rows + manifest."""

    def __init__(self, vault: VaultState) -> None:
        self._vault = vault
        self._tx = storage.write_transaction(vault._conn, vault.path)
        self._pending = Pending(0, 0)

    def __enter__(self) -> Pending:
        vault = self._vault
        self._tx.__enter__()
        try:
            vault.refresh()
        except BaseException as exc:
            self._tx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._pending = vault._manifest.begin()
        return self._pending

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        vault, pending = self._vault, self._pending
        manifest = vault._manifest
        generation = manifest.generation + 1
        if exc is None:
            try:
                tag = manifest.tag(generation, pending.count, pending.acc)
                vault._conn.execute(
                    "UPDATE manifest SET generation = ?, count = ?, tag = ? WHERE id = 1",
                    (generation, pending.count, tag),
                )
            except BaseException as err:
                self._tx.__exit__(type(err), err, err.__traceback__)
                raise
        self._tx.__exit__(exc_type, exc, tb)  # commits, or rolls back (never suppresses)
        if exc is None:
            for item_id in manifest.commit(pending):
                vault._corrupt.pop(item_id, None)
            for item_id, record in pending.records.items():
                target = vault._meta if item_id.startswith(META_PREFIX) else vault._records
                if record is None:
                    target.pop(item_id, None)
                else:
                    target[item_id] = record


@dataclass(frozen=True)
class VaultKeys:
    """What a vault key gives: itself as an AEAD (wraps item keys), the summary key and the
    manifest MAC key."""

    vk: Aead
    sk: Aead
    mk: bytes

    @classmethod
    def of(cls, vk: bytes, vault_id: bytes) -> VaultKeys:
        return cls(
            Aead(vk),
            Aead(hkdf(vk, associated_data("mysafe/summary/v1", vault_id))),
            hkdf(vk, associated_data("mysafe/manifest/v1", vault_id)),
        )


def read_header(conn: sqlite3.Connection, path: Path) -> Header:
    try:
        row = conn.execute("SELECT format, body, checksum FROM header WHERE id = 1").fetchone()
    except sqlite3.DatabaseError:
        raise CorruptHeader(f"{path} has no readable vault header") from None
    if row is None:
        raise CorruptHeader(f"{path} has no vault header")
    return Header.parse(*row)


def file_identity(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def kek_from(passphrase: str, kdf: KdfParams, vault_id: bytes) -> bytes:
    """The key-encryption key: passphrase -Argon2id-> PK -HKDF-> KEK."""
    pk = derive_passphrase_key(passphrase, kdf)
    return hkdf(pk, associated_data("mysafe/kek/v1", vault_id))

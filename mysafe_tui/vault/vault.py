"""The encrypted local vault (DESIGN.md §3).

Keys: passphrase -Argon2id-> PK -HKDF-> KEK, which wraps the vault key VK. VK wraps one key IK
per item; IK encrypts the item's secret fields and (inside them) the file key FK. The item
*summaries* (name, username, URL, tags: what the list shows) are encrypted under a summary key
derived from VK instead of under IK, because unlock decrypts every summary and one AES context
per item doubles that cost (DESIGN.md §8). Every ciphertext's associated data binds vault, kind,
item id, item version and part, so a blob moved anywhere else fails to authenticate.

The manifest detects records deleted, added, duplicated or rolled back outside mysafe: each row
carries an entry MAC over (id, kind, version, key version, hash of its ciphertexts); the manifest
tag is a MAC over the XOR of all entry MACs, the row count and a generation counter. XOR keeps a
write O(1). Unlock checks the tag against the stored entry MACs; each row's own MAC is checked
when its secret is read or rewritten, and on the slow path that explains a tag mismatch.

The summary cache (vault/summary_cache.py, written by `save_cache`) spares an unlock the decrypting
of every summary: it is used when the manifest is exactly the one it was written at and the
stored entry MACs still agree with that manifest's tag, the same check as without it.

A `Vault` is not thread-safe: the service confines it to one worker thread.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mysafe_tui.core.crypto import (
    CHUNK_SIZE,
    Aead,
    AuthenticationFailed,
    associated_data,
    decrypt_chunks,
    derive_passphrase_key,
    encrypt_chunks,
    hkdf,
    random_key,
)
from mysafe_tui.core.errors import (
    CorruptHeader,
    CorruptRecord,
    CorruptVault,
    IntegrityError,
    ItemNotFound,
    RolledBack,
    StorageError,
    VaultExists,
    VaultLocked,
    WrongPassphrase,
)
from mysafe_tui.core.extras import (
    ATTACHMENTS,
    CUSTOM,
    HISTORY,
    Attachment,
    Extras,
    encode_attachments,
    parse_attachments,
    parse_fields,
    search_text,
)
from mysafe_tui.core.extras import file_name as attachment_name
from mysafe_tui.core.kdf import KDF_PROFILES, KdfParams
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.vault import storage, summary_cache
from mysafe_tui.vault.header import FORMAT_VERSION, Header
from mysafe_tui.vault.manifest import CACHE_FORMAT, CachePayload, Manifest, Pending, entry_mac, fold
from mysafe_tui.vault.records import AdBuilder, Record, encode_summary
from mysafe_tui.vault.rollback import Memory
from mysafe_tui.vault.summaries import KINDS, Summaries, decrypt_summaries, no_gc

KEY_VERSION = 1
_FILE_FIELDS = ("file_id", "file_key")  # internal secret fields of a file item
# Never handed out by `reveal`: file keys.
_INTERNAL = (*_FILE_FIELDS, ATTACHMENTS)
# What a save of an existing item keeps unless it names it: the file keys, and what a plain
# senhasegura's copy of an item lacks (a sync writes that copy over the cached one).
_KEPT = (*_INTERNAL, CUSTOM, HISTORY)
_ROW = "id, kind, version, key_version, wrapped_key, summary, secret, mac"
# Vault-level records (the server binding...) are rows like items, under ids no item can have
# (item ids are hex): encrypted, in the manifest, but never in `summaries`.
META_PREFIX = "meta:"

Progress = Callable[[int], None]
SummaryFields = dict[str, Any]


class Vault:
    """One open vault file. `open()` checks it; `unlock()` derives keys and indexes summaries."""

    def __init__(self, path: Path, conn: sqlite3.Connection, header: Header) -> None:
        self.path = path
        self._identity = _identity(path)
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

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path,
        passphrase: str,
        *,
        profile: str = "default",
        params: KdfParams | None = None,
    ) -> Vault:
        """Create a new vault file (0600 in a 0700 directory) and return it unlocked."""
        if path.exists():
            raise VaultExists(f"a vault already exists at {path}")
        kdf = (params or KDF_PROFILES[profile]).with_new_salt()
        kdf.check_bounds()
        vault_id = os.urandom(16)
        vk = random_key()
        draft = Header(
            FORMAT_VERSION, vault_id, kdf, profile if params is None else "custom", b"", time.time()
        )
        kek = _derive_kek(passphrase, kdf, vault_id)
        header = dataclasses.replace(draft, wrapped_vk=Aead(kek).seal(vk, draft.vk_ad()))
        conn = storage.create_database(path)
        try:
            with suppress(OSError):  # a deleted vault's cache: of no use, and not to linger
                summary_cache.path_for(path).unlink(missing_ok=True)
            vault = cls(path, conn, header)
            vault._install_keys(vk)
            with storage.write_transaction(conn, path):
                for statement in storage.SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO header (id, format, body, checksum) VALUES (1, ?, ?, ?)",
                    (header.format, header.body(), header.checksum()),
                )
                conn.execute(
                    "INSERT INTO manifest (id, generation, count, tag) VALUES (1, 0, 0, ?)",
                    (vault._manifest.tag(0, 0, 0),),
                )
        except BaseException:
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            raise
        return vault

    @classmethod
    def open(cls, path: Path) -> Vault:
        """Open and check the file; the vault stays locked until `unlock()`."""
        conn = storage.open_database(path)
        try:
            return cls(path, conn, _read_header(conn, path))
        except BaseException:
            conn.close()
            raise

    def is_current(self) -> bool:
        """Whether the file at `path` is still the one this object opened (not replaced)."""
        try:
            return _identity(self.path) == self._identity
        except OSError:
            return False

    @property
    def kdf_params(self) -> KdfParams:
        return self._header.kdf

    @property
    def kdf_profile(self) -> str:
        return self._header.profile

    @property
    def generation(self) -> int:
        """The manifest generation last read or written: +1 per committed write."""
        return self._manifest.generation

    @property
    def unlocked(self) -> bool:
        return self._vk is not None

    def derive_kek(self, passphrase: str) -> bytes:
        """The key that opens this vault's key, from the passphrase (the KDF: ~0.7 s). The
        unlock agent keeps this, not the passphrase: a passphrase change makes it useless."""
        # Read again: the vault may have been opened long ago (while a passphrase was typed)
        # and its passphrase changed since by another process.
        header = self._header = _read_header(self._conn, self.path)
        return _derive_kek(passphrase, header.kdf, header.vault_id)

    def key_opens(self, kek: bytes) -> bool:
        """Whether `kek` still opens the vault file as it is on disk now (no passphrase
        change since it was derived). Raises CorruptHeader when the header cannot be read."""
        header = _read_header(self._conn, self.path)
        try:
            Aead(kek).open(header.wrapped_vk, header.vk_ad())
        except AuthenticationFailed:
            return False
        return True

    def unlock(
        self,
        passphrase: str | None,
        *,
        kek: bytes | None = None,
        seen_dir: Path | None = None,
        accept_rollback: bool = False,
    ) -> None:
        """Derive the keys (or take `kek`, from `derive_kek`), verify the manifest and
        decrypt every item's summary.

        With `seen_dir`, compare the vault with the newest state this machine saw of it: an
        older one (a copy put back) opens read-only, `rollback` saying why, unless
        `accept_rollback` (a backup restored on purpose)."""
        if kek is None:
            if passphrase is None:
                raise ValueError("a passphrase or a key is needed")
            kek = self.derive_kek(passphrase)
        else:
            self._header = _read_header(self._conn, self.path)
        header = self._header
        self._ad = AdBuilder(header.vault_id)
        try:
            vk = Aead(kek).open(header.wrapped_vk, header.vk_ad())
        except AuthenticationFailed:
            raise WrongPassphrase("wrong passphrase") from None
        self._install_keys(vk)
        try:
            with no_gc():
                cached = summary_cache.read(summary_cache.path_for(self.path), vk, header.vault_id)
            self._load(cached)
            del cached
            self._memory = None if seen_dir is None else Memory(seen_dir, header.vault_id, vk)
            manifest = self._manifest
            verdict = (
                self._memory.verdict(manifest.generation, manifest.current_tag)
                if self._memory
                else None
            )
            self.rollback = None if accept_rollback else verdict
            self._accept_rollback = accept_rollback
            with suppress(StorageError):  # a full disk: reading goes on, the memory waits
                self.remember_seen(lower=accept_rollback)
            target = KDF_PROFILES.get(header.profile)
            if (
                passphrase is not None  # not with a key alone: rewrapping needs the KDF
                and target is not None
                and header.kdf.weaker_than(target)
                and not self.rollback
            ):
                # An upgrade, not a need: a full disk or a read-only vault still opens.
                with suppress(StorageError):
                    self._rewrap(passphrase, target.with_new_salt(), header.profile)
        except BaseException:
            self.lock()
            raise

    def lock(self) -> None:
        """Remember the state seen, then drop every key and decrypted summary from memory."""
        with suppress(OSError, StorageError):
            self.remember_seen()
        self._memory = None
        self._vk_key = None
        self._vk = self._sk = None
        self._manifest.clear()
        self._records, self._corrupt, self._meta = {}, {}, {}
        self._cache_generation = self._index_state = self._changed = None

    def close(self) -> None:
        self.lock()
        self._conn.close()

    # --- reading --------------------------------------------------------------------------

    @property
    def summaries(self) -> Mapping[str, ItemSummary]:
        """Every readable item's summary by id, decoded as it is looked at (a live view)."""
        self._require_unlocked()
        return Summaries(self._records)

    @property
    def row_count(self) -> int:
        """Items and vault-level records: what the manifest counts."""
        return len(self._manifest.macs)

    @property
    def records(self) -> Mapping[str, Record]:
        """Every readable item's summary as unlock left it (encoded): what the search index
        is built from without decoding 100k summaries (a live view: do not modify)."""
        self._require_unlocked()
        return self._records

    @property
    def corrupt(self) -> dict[str, str]:
        """Items that failed to decrypt or authenticate, with the reason; the rest are fine."""
        return dict(self._corrupt)

    def refresh(self) -> bool:
        """Reload from disk if another process wrote since we last looked. True if it did.
        What comes back is judged as a fresh open judges it: an older state put back (the
        whole file, or rows and manifest) makes this vault read-only with `rollback` saying
        why, unless rollbacks were accepted when it was unlocked."""
        self._require_unlocked()
        row = next(iter(self._query("SELECT generation FROM manifest WHERE id = 1")), None)
        if row is not None and row[0] == self._manifest.generation:
            return False
        if not self._load_changes():
            self._load()
        if self._memory is not None and not self._accept_rollback and not self.rollback:
            manifest = self._manifest
            self.rollback = self._memory.verdict(manifest.generation, manifest.current_tag)
        return True

    @property
    def cache_stale(self) -> bool:
        """Whether the summary cache on disk is behind this unlocked vault (see `save_cache`)."""
        return self.unlocked and self._cache_generation != self._manifest.generation

    def save_cache(self, order: Sequence[Record] = (), index_state: object = None) -> None:
        """Write the summary cache (vault/summary_cache.py) so that the next unlock need not
        decrypt every summary. `order` (this vault's records, e.g. in a search index's order)
        and the caller's marshallable `index_state` come back from `take_index_state()` after
        an unlock served by the cache. Best effort: a cache that cannot be written is skipped."""
        if not self.cache_stale:
            return
        assert self._vk_key is not None
        records = self._records
        if len(order) != len(records) or any(records.get(r.id) is not r for r in order):
            order, index_state = list(records.values()), None
        rows = [*order, *self._meta.values()]
        ids = [r.id for r in rows] + list(self._corrupt)
        count = len(self._manifest.macs)
        try:
            macs = [self._manifest.macs[item_id] for item_id in ids]
        except KeyError:
            return
        if len(ids) != count:
            return
        manifest = self._manifest
        payload = CachePayload(
            format=CACHE_FORMAT,
            generation=manifest.generation,
            rows=count,
            tag=manifest.current_tag,
            ids=ids,
            macs=macs,
            kinds=[r.kind.value for r in rows],
            versions=[r.version for r in rows],
            texts=[r.text for r in rows],
            n_items=len(order),
            corrupt=dict(self._corrupt),
            index_state=index_state,
        )
        path = summary_cache.path_for(self.path)
        if summary_cache.write(path, self._vk_key, self._header.vault_id, tuple(payload)):
            self._cache_generation = self._manifest.generation

    def read_side_cache(self, name: str) -> Any:
        """What `write_side_cache` last kept under `name` for this vault, or None (no file, a
        damaged one, another vault's, an older key)."""
        self._require_unlocked()
        assert self._vk_key is not None
        parts = summary_cache.read(
            self._side_path(name), self._vk_key, self._header.vault_id, label=f"side-cache/{name}"
        )
        return parts[0] if parts else None

    def write_side_cache(self, name: str, value: Any) -> None:
        """Keep `value` (plain marshallable data) encrypted in a file beside the vault, for
        what is slow to compute and safe to lose (the health check's strength ratings). Best
        effort, like the summary cache."""
        self._require_unlocked()
        assert self._vk_key is not None
        summary_cache.write(
            self._side_path(name),
            self._vk_key,
            self._header.vault_id,
            (value,),
            label=f"side-cache/{name}",
        )

    def _side_path(self, name: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{name}")

    def take_changes(self) -> set[str] | None:
        """The ids of items that `refresh` found changed, added or removed by another process
        since the last call; None if it reloaded everything (or on the first call)."""
        changed, self._changed = self._changed, set()
        return changed

    def take_index_state(self) -> object:
        """The `index_state` saved with the cache, once, if this unlock was served by it (its
        records are then in `records` in the order saved); else None."""
        state, self._index_state = self._index_state, None
        return state

    def reveal(self, item_id: str) -> dict[str, str]:
        """Decrypt an item's secret fields (not the internal file keys: see `attachments`)."""
        secret = self._open_secret(item_id)
        return {k: v for k, v in secret.items() if k not in _INTERNAL}

    def attachments(self, item_id: str) -> tuple[Attachment, ...]:
        """The files kept on an item (with the keys that open them)."""
        return parse_attachments(self._open_secret(item_id).get(ATTACHMENTS, ""))

    def extras(self, item_id: str, urls: Sequence[str] = ()) -> Extras:
        """Custom fields, old passwords and attachments (one decryption), with `urls`."""
        return Extras.of(self._open_secret(item_id), urls)

    def read_meta(self, name: str) -> dict[str, str] | None:
        """A vault-level record (e.g. "remote", the server binding), or None if there is none."""
        self._require_unlocked()
        item_id = META_PREFIX + name
        return self._open_secret(item_id) if item_id in self._meta else None

    def write_meta(self, name: str, data: dict[str, str]) -> None:
        """Create or replace a vault-level record, encrypted like an item's secret."""
        item_id = META_PREFIX + name
        with self._writing() as pending:
            existing = item_id if item_id in self._meta else None
            self._put(pending, ItemKind.NOTE, {"name": name}, data, existing, new_id=item_id)

    def delete_meta(self, name: str) -> None:
        if META_PREFIX + name in self._meta:
            self.purge(META_PREFIX + name)

    def read_file(self, item_id: str) -> Iterator[bytes]:
        """Stream a file item's plaintext by chunks, each authenticated before it is yielded."""
        secret = self._open_secret(item_id)
        if "file_key" not in secret:
            raise ItemNotFound(f"item {item_id} has no file content")
        return self._chunks(item_id, secret["file_id"], secret["file_key"])

    def read_attachment(self, item_id: str, attachment_id: str) -> Iterator[bytes]:
        """Stream one attachment's plaintext, each chunk authenticated before it is yielded."""
        found = next((a for a in self.attachments(item_id) if a.id == attachment_id), None)
        if found is None:
            raise ItemNotFound("the item has no such attachment")
        return self._chunks(item_id, found.file_id, found.file_key)

    def _chunks(self, item_id: str, file_id: str, file_key: str) -> Iterator[bytes]:
        rows = self._conn.execute(
            "SELECT data FROM chunks WHERE item_id = ? AND file_id = ? ORDER BY seq",
            (item_id, file_id),
        )
        try:
            yield from decrypt_chunks(bytes.fromhex(file_key), file_id, (r[0] for r in rows))
        except AuthenticationFailed as exc:
            raise CorruptRecord(item_id, f"its file content is damaged ({exc})") from None

    # --- writing --------------------------------------------------------------------------

    def save_item(
        self,
        kind: ItemKind,
        fields: SummaryFields,
        secret: dict[str, str],
        item_id: str | None = None,
    ) -> ItemSummary:
        """Create (no id) or replace an item; one transaction; the version goes up by one.

        `fields` are the summary fields other than id, kind, version and times.
        """
        with self._writing() as pending:
            return self._put(pending, kind, fields, secret, item_id)

    def save_many(self, items: Iterable[tuple[ItemKind, SummaryFields, dict[str, str]]]) -> int:
        """Create many items in one transaction (imports, benchmarks)."""
        count = 0
        with self._writing() as pending:
            for kind, fields, secret in items:
                self._put(pending, kind, fields, secret, None)
                count += 1
        return count

    def save_batch(
        self,
        saves: Iterable[tuple[ItemKind, SummaryFields, dict[str, str], str | None]],
        deletes: Iterable[str] = (),
        attachments: Mapping[int, Sequence[tuple[str, str, bytes]]] | None = None,
    ) -> list[ItemSummary]:
        """Create (id None) or replace many items and delete others in one transaction: a
        sync applies a whole pull at once, one fsync rather than one per item. An import
        adds `attachments` by the save's position: (name, media type, content)."""
        attachments = attachments or {}
        with self._writing() as pending:
            saved = []
            for n, (kind, fields, secret, item_id) in enumerate(saves):
                files = attachments.get(n)
                if not files:
                    saved.append(self._put(pending, kind, fields, secret, item_id))
                    continue
                target = item_id or uuid.uuid4().hex
                internal = self._internal(pending, item_id) if item_id else {}
                kept = parse_attachments(internal.get(ATTACHMENTS, ""))
                added = tuple(self._attachment(target, *f) for f in files)
                secret = {**secret, ATTACHMENTS: encode_attachments((*kept, *added))}
                saved.append(self._put(pending, kind, fields, secret, item_id, new_id=target))
            for item_id in deletes:
                self._delete(pending, item_id)
        return saved

    def save_file(
        self,
        fields: SummaryFields,
        secret: dict[str, str],
        chunks: Iterable[bytes],
        item_id: str | None = None,
        progress: Progress | None = None,
    ) -> ItemSummary:
        """Store file content (64 KiB STREAM chunks under a fresh FK) and its item atomically."""
        target = item_id or uuid.uuid4().hex
        internal = self._open_secret(item_id) if item_id is not None else {}
        with self._writing() as pending:
            file_id, file_key, _ = self._write_chunks(target, chunks, progress)
            if internal.get("file_id"):
                self._conn.execute(
                    "DELETE FROM chunks WHERE item_id = ? AND file_id = ?",
                    (target, internal["file_id"]),
                )
            kept = {ATTACHMENTS: internal[ATTACHMENTS]} if ATTACHMENTS in internal else {}
            full = {**secret, **kept, "file_id": file_id, "file_key": file_key}
            return self._put(pending, ItemKind.FILE, fields, full, item_id, new_id=target)

    def add_attachment(
        self,
        item_id: str,
        name: str,
        media_type: str,
        chunks: Iterable[bytes],
        progress: Progress | None = None,
    ) -> Attachment:
        """Keep a file on an item: its content encrypted like a file item's, under a key of
        its own, and the item's list of attachments, in one transaction."""
        with self._writing() as pending:
            item, internal, current = self._attachments_of(pending, item_id)
            added = self._attachment(item_id, name, media_type, chunks, progress)
            self._set_attachments(pending, item, internal, (*current, added))
        return added

    def _attachment(
        self,
        item_id: str,
        name: str,
        media_type: str,
        chunks: Iterable[bytes] | bytes,
        progress: Progress | None = None,
    ) -> Attachment:
        """Content written (inside a write scope) for an attachment the caller then lists."""
        if isinstance(chunks, bytes):
            data = chunks
            chunks = (data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE))
        file_id, file_key, size = self._write_chunks(item_id, chunks, progress)
        return Attachment(
            uuid.uuid4().hex[:12], attachment_name(name), size, media_type, file_id, file_key
        )

    def remove_attachment(self, item_id: str, attachment_id: str) -> None:
        with self._writing() as pending:
            item, internal, current = self._attachments_of(pending, item_id)
            for gone in (a for a in current if a.id == attachment_id):
                self._conn.execute(
                    "DELETE FROM chunks WHERE item_id = ? AND file_id = ?", (item_id, gone.file_id)
                )
            kept = tuple(a for a in current if a.id != attachment_id)
            self._set_attachments(pending, item, internal, kept)

    def _attachments_of(
        self, pending: Pending, item_id: str
    ) -> tuple[ItemSummary, dict[str, str], tuple[Attachment, ...]]:
        """Inside a write: the item, its whole secret part and its attachments."""
        item = self._known(pending, item_id)
        if item is None:
            raise ItemNotFound(f"no item with id {item_id}")
        internal = self._internal(pending, item_id)
        return item, internal, parse_attachments(internal.get(ATTACHMENTS, ""))

    def _set_attachments(
        self,
        pending: Pending,
        item: ItemSummary,
        internal: dict[str, str],
        attachments: tuple[Attachment, ...],
    ) -> None:
        secret = {**internal, ATTACHMENTS: encode_attachments(attachments)}
        fields = {
            k: v
            for k, v in item._asdict().items()
            if k not in ("id", "kind", "version", "created", "updated")
        }
        self._put(pending, item.kind, fields, secret, item.id, new_id=item.id)

    def _write_chunks(
        self, item_id: str, chunks: Iterable[bytes], progress: Progress | None
    ) -> tuple[str, str, int]:
        """Encrypt and insert content under a fresh file id and key: (id, key hex, size)."""
        file_id = uuid.uuid4().hex
        file_key = random_key()
        done = 0
        for seq, blob in enumerate(encrypt_chunks(file_key, file_id, chunks)):
            self._conn.execute(
                "INSERT INTO chunks (item_id, file_id, seq, data) VALUES (?, ?, ?, ?)",
                (item_id, file_id, seq, blob),
            )
            done += len(blob) - 16
            if progress is not None:
                progress(done)
        return file_id, file_key.hex(), done

    def purge(self, item_id: str) -> None:
        """Delete an item and its file content for good (also a damaged one)."""
        with self._writing() as pending:
            self._delete(pending, item_id)

    def change_passphrase(self, old: str, new: str, profile: str | None = None) -> None:
        """Re-wrap the vault key under the new passphrase: item ciphertext is untouched."""
        self._require_unlocked()
        self._refuse_if_rolled_back()
        header = self._header
        self._check_passphrase(old)
        params = KDF_PROFILES[profile] if profile else header.kdf
        self._rewrap(new, params.with_new_salt(), profile or header.profile)

    def rotate_key(self, passphrase: str, progress: Progress | None = None) -> int:
        """A new vault key, and a new key for every item, in one transaction: every summary
        and secret re-encrypted, every entry MAC and the manifest re-made, the header wrapping
        the new vault key under `passphrase`. An old header, an old passphrase or a leaked old
        vault key then opens nothing written since. File contents keep their file keys (now
        inside secrets under the new item keys). Returns the number of rows rotated."""
        self._require_unlocked()
        self._refuse_if_rolled_back()
        assert self._sk is not None
        header = self._header
        self._check_passphrase(passphrase)
        if self._corrupt:
            raise CorruptRecord(next(iter(self._corrupt)), "repair or purge damaged items first")
        new_vk = random_key()
        kdf = header.kdf.with_new_salt()
        kek = _derive_kek(passphrase, kdf, header.vault_id)
        new_header = Header(
            header.format,
            header.vault_id,
            kdf,
            header.profile,
            Aead(kek).seal(new_vk, header.vk_ad(kdf)),
            header.created,
        )
        old_sk = self._sk
        new = _Keys.of(new_vk, header.vault_id)
        macs: dict[str, bytes] = {}
        with storage.write_transaction(self._conn, self.path):
            self.refresh()
            ids = [row[0] for row in self._query("SELECT id FROM items ORDER BY id")]
            for done, item_id in enumerate(ids, 1):
                row = self._query(f"SELECT {_ROW} FROM items WHERE id = ?", item_id)[0]
                _, kind_text, version, key_version, wrapped, summary_ct, secret_ct, stored = row
                check = self._manifest.entry_mac(
                    item_id, kind_text, version, key_version, wrapped, summary_ct, secret_ct
                )
                if check != stored or check != self._manifest.macs.get(item_id):
                    raise CorruptRecord(item_id, "it was modified outside mysafe")
                kind = KINDS[kind_text]
                summary_ad = self._ad.item(kind, item_id, version, "summary")
                secret_ad = self._ad.item(kind, item_id, version, "secret")
                try:
                    summary = old_sk.open(summary_ct, summary_ad)
                    secret = self._item_key(item_id, key_version, wrapped).open(
                        secret_ct, secret_ad
                    )
                except AuthenticationFailed:
                    raise CorruptRecord(item_id) from None
                ik = random_key()
                wrapped = new.vk.seal(ik, self._ad.item_key(item_id, key_version))
                summary_ct = new.sk.seal(summary, summary_ad)
                secret_ct = Aead(ik).seal(secret, secret_ad)
                entry = entry_mac(
                    new.mk, item_id, kind_text, version, key_version, wrapped, summary_ct, secret_ct
                )
                self._conn.execute(
                    "UPDATE items SET wrapped_key = ?, summary = ?, secret = ?, mac = ? "
                    "WHERE id = ?",
                    (wrapped, summary_ct, secret_ct, entry, item_id),
                )
                macs[item_id] = entry
                if progress is not None and (done % 500 == 0 or done == len(ids)):
                    progress(done)
            generation, acc = self._manifest.generation + 1, fold(macs.values())
            self._conn.execute(
                "UPDATE manifest SET generation = ?, count = ?, tag = ? WHERE id = 1",
                (generation, len(macs), self._manifest.tag(generation, len(macs), acc, new.mk)),
            )
            self._conn.execute(
                "UPDATE header SET body = ?, checksum = ? WHERE id = 1",
                (new_header.body(), new_header.checksum()),
            )
        self._header = new_header
        self._install_keys(new_vk)
        self._manifest.adopt(macs, generation, acc)
        self._cache_generation = None
        with suppress(OSError):  # written under the old key: useless now
            summary_cache.path_for(self.path).unlink(missing_ok=True)
        if self._memory is not None:  # the memory's key comes from the vault key
            self._memory = Memory(self._memory.path.parent, header.vault_id, new_vk)
        self.remember_seen()
        return len(ids)

    # --- internals ------------------------------------------------------------------------

    def _check_passphrase(self, passphrase: str) -> None:
        """Before a change that needs it: is it the passphrase that opens the header?"""
        header = self._header
        try:
            Aead(_derive_kek(passphrase, header.kdf, header.vault_id)).open(
                header.wrapped_vk, header.vk_ad()
            )
        except AuthenticationFailed:
            raise WrongPassphrase("the current passphrase is wrong") from None

    def _require_unlocked(self) -> None:
        if self._vk is None:
            raise VaultLocked("the vault is locked")

    def _install_keys(self, vk: bytes) -> None:
        keys = _Keys.of(vk, self._header.vault_id)
        self._vk_key, self._vk, self._sk = vk, keys.vk, keys.sk
        self._manifest.key = keys.mk

    def _load(self, cached: Any = None) -> None:
        """Read every row, decrypt summaries, check the manifest (see the module docstring);
        or take the summaries from the `cached` payload if it still describes the file."""
        assert self._sk is not None
        self._index_state = self._changed = None
        # Manifest and rows must come from one snapshot, or a concurrent writer's commit
        # between the two reads would look like tampering.
        own_snapshot = not self._conn.in_transaction
        if own_snapshot:
            self._query("BEGIN")
        try:
            manifest = next(iter(self._query("SELECT generation, count, tag FROM manifest")), None)
            if manifest is None:
                raise IntegrityError(f"{self.path} has lost its manifest")
            if cached is not None:
                with no_gc():
                    if self._adopt(cached, manifest):
                        return
            try:  # streamed from the cursor: no list of 100k blobs held at the peak
                rows = self._conn.execute("SELECT id, kind, version, summary, mac FROM items")
                with no_gc():
                    records, macs, corrupt, acc = decrypt_summaries(self._sk, self._ad, rows)
            except sqlite3.DatabaseError as exc:
                raise storage.translate(exc, self.path) from None
            except UnicodeDecodeError:
                raise CorruptVault(f"{self.path} is damaged: unreadable text in a record") from None
        finally:
            if own_snapshot:
                self._conn.execute("COMMIT")
        generation, count, tag = manifest
        if count != len(macs) or tag != self._manifest.tag(generation, count, acc):
            acc = self._explain_mismatch(records, macs, generation, count, tag)
        meta_ids = self._query("SELECT id FROM items WHERE id >= ? AND id < ?", "meta:", "meta;")
        self._meta = {row[0]: records.pop(row[0]) for row in meta_ids if row[0] in records}
        self._records, self._corrupt = records, corrupt
        self._manifest.adopt(macs, generation, acc)

    def _load_changes(self) -> bool:
        """After another process wrote: decrypt only the rows whose entry MAC changed, drop
        the rows gone, and check the manifest against every stored MAC as `_load` does.
        False (nothing changed in memory) when a full `_load` should decide instead: many
        changes, or a manifest that disagrees (`_load` explains it or raises)."""
        own_snapshot = not self._conn.in_transaction
        if own_snapshot:
            self._query("BEGIN")
        try:
            manifest = next(iter(self._query("SELECT generation, count, tag FROM manifest")), None)
            stored = dict(self._query("SELECT id, mac FROM items"))
            changed = [i for i, m in stored.items() if self._manifest.macs.get(i) != m]
            if manifest is None or len(changed) > max(64, len(stored) // 8):
                return False
            rows = []
            for at in range(0, len(changed), 500):  # SQLite's bound-parameter limit
                batch = changed[at : at + 500]
                rows += self._query(
                    "SELECT id, kind, version, summary, mac FROM items WHERE id IN "
                    f"({', '.join('?' * len(batch))})",
                    *batch,
                )
        finally:
            if own_snapshot:
                self._conn.execute("COMMIT")
        acc = self._manifest.agreeing(manifest, list(stored.values()))
        if acc is None:
            return False
        generation = manifest[0]
        assert self._sk is not None
        records, _, corrupt, _ = decrypt_summaries(self._sk, self._ad, rows)
        removed = [i for i in self._manifest.macs if i not in stored]
        for item_id in (*removed, *changed):
            self._records.pop(item_id, None)
            self._meta.pop(item_id, None)
            self._corrupt.pop(item_id, None)
        for item_id, record in records.items():
            target = self._meta if item_id.startswith(META_PREFIX) else self._records
            target[item_id] = record
        self._corrupt.update(corrupt)
        if self._changed is not None:
            self._changed.update(changed, removed)
        self._manifest.adopt(stored, generation, acc)
        self._index_state = None
        return True

    def _adopt(self, cached: Any, manifest: tuple[Any, ...]) -> bool:
        """Take the summaries from the cache if it was written at exactly this manifest and
        the rows' entry MACs still agree with the manifest (the check a full unlock makes:
        records deleted, added or rolled back outside mysafe still fail). False: no use."""
        try:
            payload = CachePayload(*cached)
            (
                _,
                generation,
                count,
                tag,
                ids,
                macs,
                kinds,
                versions,
                texts,
                n_items,
                corrupt,
                index_state,
            ) = payload
            if payload.format != CACHE_FORMAT or (generation, count, tag) != tuple(manifest):
                return False
            stored = [row[0] for row in self._conn.execute("SELECT mac FROM items")]
            acc = self._manifest.agreeing(manifest, stored)
            if acc is None:
                return False
            new_record = tuple.__new__  # as in summaries.decrypt_summaries
            records = {
                item_id: new_record(Record, (item_id, KINDS[kind], version, text))
                for item_id, kind, version, text in zip(
                    ids[: len(texts)], kinds, versions, texts, strict=True
                )
            }
            meta = {item_id: records.pop(item_id) for item_id in ids[n_items : len(texts)]}
            entry_macs = dict(zip(ids, macs, strict=True))
            if len(entry_macs) != count:
                return False
        except (ValueError, TypeError, KeyError, sqlite3.DatabaseError):
            return False  # a full unlock reports whatever is wrong with the file
        self._records, self._meta, self._corrupt = records, meta, dict(corrupt)
        self._manifest.adopt(entry_macs, generation, acc)
        self._cache_generation, self._index_state = generation, index_state
        return True

    def _explain_mismatch(
        self,
        records: dict[str, Record],
        macs: dict[str, bytes],
        generation: int,
        count: int,
        tag: bytes,
    ) -> int:
        """Slow path: the tag disagrees with the stored entry MACs. If recomputing the MACs of
        the rows that decrypt makes it agree, only some stored MACs were damaged; else fail."""
        acc = 0
        rows = self._query(f"SELECT {_ROW} FROM items")
        for item_id, kind_text, version, key_version, wrapped, summary_ct, secret_ct, _ in rows:
            if item_id in records and all(
                isinstance(b, bytes) for b in (wrapped, summary_ct, secret_ct)
            ):
                macs[item_id] = self._manifest.entry_mac(
                    item_id, kind_text, version, key_version, wrapped, summary_ct, secret_ct
                )
            acc ^= int.from_bytes(macs[item_id], "big")
        if count == len(rows) and tag == self._manifest.tag(generation, count, acc):
            return acc
        raise IntegrityError(
            f"{self.path} does not match its manifest: records were deleted, added or rolled "
            "back outside mysafe"
        )

    def _open_secret(self, item_id: str) -> dict[str, str]:
        self._require_unlocked()
        self.refresh()
        if item_id in self._corrupt:
            raise CorruptRecord(item_id, self._corrupt[item_id])
        record = self._records.get(item_id) or self._meta.get(item_id)
        if record is None:
            raise ItemNotFound(f"no item with id {item_id}")
        row = next(iter(self._query(f"SELECT {_ROW} FROM items WHERE id = ?", item_id)), None)
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
            if new_id is None:  # a save keeps what it does not name (see _KEPT)
                internal = self._internal(pending, item_id)
                kept = {k: internal[k] for k in _KEPT if k in internal and k not in secret}
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
            f"INSERT OR REPLACE INTO items ({_ROW}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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

    def _rewrap(self, passphrase: str, kdf: KdfParams, profile: str) -> None:
        assert self._vk_key is not None
        old = self._header
        kek = _derive_kek(passphrase, kdf, old.vault_id)
        header = Header(
            old.format,
            old.vault_id,
            kdf,
            profile,
            Aead(kek).seal(self._vk_key, old.vk_ad(kdf)),
            old.created,
        )
        with storage.write_transaction(self._conn, self.path):
            self._conn.execute(
                "UPDATE header SET body = ?, checksum = ? WHERE id = 1",
                (header.body(), header.checksum()),
            )
        self._header = header


class _WriteScope:
    """One write transaction: reload first if another process wrote, then rows + manifest."""

    def __init__(self, vault: Vault) -> None:
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
class _Keys:
    """What a vault key gives: itself as an AEAD (wraps item keys), the summary key and the
    manifest MAC key."""

    vk: Aead
    sk: Aead
    mk: bytes

    @classmethod
    def of(cls, vk: bytes, vault_id: bytes) -> _Keys:
        return cls(
            Aead(vk),
            Aead(hkdf(vk, associated_data("mysafe/summary/v1", vault_id))),
            hkdf(vk, associated_data("mysafe/manifest/v1", vault_id)),
        )


def _read_header(conn: sqlite3.Connection, path: Path) -> Header:
    try:
        row = conn.execute("SELECT format, body, checksum FROM header WHERE id = 1").fetchone()
    except sqlite3.DatabaseError:
        raise CorruptHeader(f"{path} has no readable vault header") from None
    if row is None:
        raise CorruptHeader(f"{path} has no vault header")
    return Header.parse(*row)


def _identity(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def _derive_kek(passphrase: str, kdf: KdfParams, vault_id: bytes) -> bytes:
    pk = derive_passphrase_key(passphrase, kdf)
    return hkdf(pk, associated_data("mysafe/kek/v1", vault_id))

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
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path

from mysafe_tui.core.crypto import (
    Aead,
    AuthenticationFailed,
    random_key,
)
from mysafe_tui.core.errors import (
    StorageError,
    VaultExists,
    WrongPassphrase,
)
from mysafe_tui.core.extras import (
    ATTACHMENTS,
    Extras,
    encode_attachments,
    parse_attachments,
)
from mysafe_tui.core.kdf import KDF_PROFILES, KdfParams
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.vault import storage, summary_cache
from mysafe_tui.vault.files import FileParts
from mysafe_tui.vault.header import FORMAT_VERSION, Header
from mysafe_tui.vault.keys import KeyRing
from mysafe_tui.vault.loading import Loading
from mysafe_tui.vault.records import AdBuilder, Record
from mysafe_tui.vault.rollback import Memory
from mysafe_tui.vault.state import (
    INTERNAL,
    META_PREFIX,
    SummaryFields,
    file_identity,
    kek_from,
    read_header,
)
from mysafe_tui.vault.summaries import Summaries, no_gc

__all__ = ["META_PREFIX", "Vault"]


class Vault(Loading, KeyRing, FileParts):
    """One open vault file. `open()` checks it; `unlock()` derives keys and indexes summaries."""

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
        kek = kek_from(passphrase, kdf, vault_id)
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
            return cls(path, conn, read_header(conn, path))
        except BaseException:
            conn.close()
            raise

    def is_current(self) -> bool:
        """Whether the file at `path` is still the one this object opened (not replaced)."""
        try:
            return file_identity(self.path) == self._identity
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
            self._header = read_header(self._conn, self.path)
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

    def reveal(self, item_id: str) -> dict[str, str]:
        """Decrypt an item's secret fields (not the internal file keys: see `attachments`)."""
        secret = self._open_secret(item_id)
        return {k: v for k, v in secret.items() if k not in INTERNAL}

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

    def meta_names(self, prefix: str) -> list[str]:
        """The names of the vault-level records that start with `prefix`."""
        self._require_unlocked()
        start = META_PREFIX + prefix
        return [key[len(META_PREFIX) :] for key in self._meta if key.startswith(start)]

    def delete_meta(self, name: str) -> None:
        if META_PREFIX + name in self._meta:
            self.purge(META_PREFIX + name)

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

    def purge(self, item_id: str) -> None:
        """Delete an item and its file content for good (also a damaged one)."""
        with self._writing() as pending:
            self._delete(pending, item_id)

"""Loading the vault's rows: one snapshot of rows and manifest, the manifest tag checked (or
the summary cache adopted when it describes the same file), the slow path that names what
changed, and other processes' writes picked up (`refresh`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mysafe_tui.core.errors import (
    CorruptVault,
    IntegrityError,
)
from mysafe_tui.vault import storage, summary_cache
from mysafe_tui.vault.manifest import CACHE_FORMAT, CachePayload
from mysafe_tui.vault.records import Record
from mysafe_tui.vault.state import (
    META_PREFIX,
    ROW,
    VaultState,
)
from mysafe_tui.vault.summaries import KINDS, decrypt_summaries, no_gc


class Loading(VaultState):
    """Reading every row at unlock and after another process wrote: the manifest checked, the
    summary cache adopted when it still describes the file, the side caches."""

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
        rows = self._query(f"SELECT {ROW} FROM items")
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

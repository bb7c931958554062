"""The vault's integrity bookkeeping (DESIGN.md §3; vault/vault.py's docstring says why).

Each row carries an entry MAC over (id, kind, version, key version, hash of its ciphertexts);
the manifest tag is a MAC over the XOR of all entry MACs, the row count and a generation
counter. XOR keeps a write O(1): a write folds the old MAC out and the new one in.
`Manifest` is that state in memory; a write transaction collects its changes in a `Pending`
and `commit` applies them once the database has committed.
"""

from __future__ import annotations

import functools
import hashlib
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mysafe_tui.core.crypto import associated_data, mac, sha256
from mysafe_tui.vault.records import Record

CACHE_FORMAT = 1  # the layout of `CachePayload`


def entry_mac(
    key: bytes,
    item_id: str,
    kind: str,
    version: int,
    key_version: int,
    wrapped: bytes,
    summary: bytes,
    secret: bytes,
) -> bytes:
    digest = sha256(associated_data(wrapped, summary, secret))
    ad = associated_data("entry", item_id, kind, version, key_version, digest)
    return hashlib.blake2b(ad, key=key, digest_size=32).digest()


def fold(macs: Iterable[bytes]) -> int:
    """The XOR of entry MACs, at C speed (TypeError if one is not bytes)."""
    return functools.reduce(operator.xor, map(int.from_bytes, macs), 0)


@dataclass
class Pending:
    """Changes of one write transaction, applied to memory only after COMMIT succeeds."""

    acc: int
    count: int
    macs: dict[str, bytes | None] = field(default_factory=dict)
    records: dict[str, Record | None] = field(default_factory=dict)
    # Secret parts written in this transaction: a second save of the same item reads them
    # (the committed row it would otherwise read is not the one it replaces).
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Manifest:
    """The entry MACs of every row (items, meta records and damaged rows), their XOR, the
    generation (+1 per committed write) and the key that MACs them."""

    vault_id: bytes
    key: bytes = b""
    macs: dict[str, bytes] = field(default_factory=dict)
    generation: int = 0
    acc: int = 0

    def tag(self, generation: int, count: int, acc: int, key: bytes | None = None) -> bytes:
        ad = associated_data(
            "mysafe/manifest", self.vault_id, generation, count, acc.to_bytes(32, "big")
        )
        return mac(key or self.key, ad)

    @property
    def current_tag(self) -> bytes:
        """The tag of the state in memory."""
        return self.tag(self.generation, len(self.macs), self.acc)

    def entry_mac(
        self,
        item_id: str,
        kind: str,
        version: int,
        key_version: int,
        wrapped: bytes,
        summary: bytes,
        secret: bytes,
    ) -> bytes:
        return entry_mac(self.key, item_id, kind, version, key_version, wrapped, summary, secret)

    def agreeing(self, stored: tuple[Any, ...], macs: list[bytes]) -> int | None:
        """The XOR of the stored entry MACs if they agree with the stored manifest row
        (generation, count, tag), else None: then a full load explains the difference."""
        generation, count, tag = stored
        try:
            acc = fold(macs)
        except TypeError:  # a MAC that is not bytes
            return None
        return acc if count == len(macs) and tag == self.tag(generation, count, acc) else None

    def adopt(self, macs: dict[str, bytes], generation: int, acc: int) -> None:
        """The state just read (and checked) from disk."""
        self.macs, self.generation, self.acc = macs, generation, acc

    def begin(self) -> Pending:
        return Pending(self.acc, len(self.macs))

    def commit(self, pending: Pending) -> list[str]:
        """A committed write: the new generation and MACs. Returns the ids it removed."""
        self.generation, self.acc = self.generation + 1, pending.acc
        removed = []
        for item_id, item_mac in pending.macs.items():
            if item_mac is None:
                self.macs.pop(item_id, None)
                removed.append(item_id)
            else:
                self.macs[item_id] = item_mac
        return removed

    def clear(self) -> None:
        self.key, self.macs, self.acc = b"", {}, 0


class CachePayload(NamedTuple):
    """What the summary cache keeps (vault/summary_cache.py marshals it as a plain tuple): the
    manifest it was written at, every row's MAC, the records' text in the index's order."""

    format: int
    generation: int
    rows: int  # the manifest's row count
    tag: bytes
    ids: list[str]  # the records', then the meta records', then the damaged rows'
    macs: list[bytes]  # in the order of `ids`
    kinds: list[str]  # of the records and meta records
    versions: list[int]
    texts: list[str]
    n_items: int  # how many of them are items (the rest are meta records)
    corrupt: dict[str, str]
    index_state: object

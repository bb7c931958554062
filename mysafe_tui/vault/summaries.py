"""Every item summary at unlock: decrypted in one hot loop, kept encoded (`Record`), and seen
through a `Mapping` that decodes one summary when it is looked up."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cryptography.exceptions import InvalidTag

from mysafe_tui.core.crypto import NONCE_LEN, Aead
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.vault.manifest import fold
from mysafe_tui.vault.records import AdBuilder, Record

KINDS = {kind.value: kind for kind in ItemKind}  # the stored kind text, back


def decrypt_summaries(
    sk: Aead, ad: AdBuilder, rows: Iterable[Any]
) -> tuple[dict[str, Record], dict[str, bytes], dict[str, str], int]:
    """The hot loop of unlock: one AES-GCM open per item, and no decoding (`Record`).
    Returns the records, every row's stored entry MAC, the rows that do not decrypt, and
    the XOR of the MACs."""
    macs: dict[str, bytes] = {}
    records: dict[str, Record] = {}
    corrupt: dict[str, str] = {}
    # Locals, an inlined AD (records.AdBuilder.item) with its constant parts computed once,
    # and no decoding: ~7 µs per item, 0.7 s at 100k, half of it SQLite and AES.
    decrypt = sk.decryptor()
    heads = {
        (k.value, n): (k, ad.prefix(k, "summary") + n.to_bytes(4, "big"))
        for k in ItemKind
        for n in (32,)  # item ids are 32 hex digits
    }
    eight = (8).to_bytes(4, "big")
    versions = {v: eight + v.to_bytes(8, "big") for v in range(1, 64)}
    new_record = tuple.__new__  # skips the NamedTuple argument handling
    for item_id, kind_text, version, blob, stored in rows:
        macs[item_id] = stored
        try:
            raw = item_id.encode()
            kind, head = heads.get((kind_text, len(raw))) or _summary_head(ad, kind_text, raw)
            tail = versions.get(version) or eight + version.to_bytes(8, "big")
            text = decrypt(blob[:NONCE_LEN], blob[NONCE_LEN:], head + raw + tail).decode()
            records[item_id] = new_record(Record, (item_id, kind, version, text))
        except (
            InvalidTag,
            KeyError,
            ValueError,
            TypeError,
            IndexError,
            AttributeError,
            OverflowError,
        ):
            corrupt[item_id] = "it cannot be decrypted"
    try:
        acc = fold(macs.values())
    except TypeError:  # a MAC that is not even bytes: that row is damaged
        for item_id, stored in macs.items():
            if not isinstance(stored, bytes):
                macs[item_id] = b""
                records.pop(item_id, None)
                corrupt[item_id] = "it cannot be decrypted"
        acc = fold(macs.values())
    return records, macs, corrupt, acc


def _summary_head(ad: AdBuilder, kind_text: str, raw: bytes) -> tuple[ItemKind, bytes]:
    """The AD of a summary up to the id, for ids of unusual length (meta records)."""
    kind = KINDS[kind_text]
    return kind, ad.prefix(kind, "summary") + len(raw).to_bytes(4, "big")


class Summaries(Mapping[str, ItemSummary]):
    """`Vault.summaries`: the records, each decoded when it is looked up."""

    __slots__ = ("_records",)

    def __init__(self, records: dict[str, Record]) -> None:
        self._records = records

    def __getitem__(self, item_id: str) -> ItemSummary:
        return self._records[item_id].summary()

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building 100k acyclic objects: otherwise it
    walks the growing heap again and again for nothing (~10% of a 100k-item unlock)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

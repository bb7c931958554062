"""The unlocked vault as the service's parts use it: one worker thread, the vault, its index.

Every vault operation runs on one dedicated worker thread: SQLite, the KDF and file encryption
never block an event loop, and the vault (which is not thread-safe) only ever sees one thread.
Each write here also patches the search index with what it changed (service/index.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..core.errors import ItemNotFound, VaultLocked, VaultNotFound
from ..core.models import SPECS, ItemSummary, Secret
from .index import IndexKeeper
from .values import summary_fields

if TYPE_CHECKING:
    from ..core.models import ItemKind
    from ..core.vault import Vault

T = TypeVar("T")
SaveRow = tuple["ItemKind", dict[str, Any], dict[str, str], "str | None"]


class VaultStore:
    """Holds the unlocked vault (or none) for the service and its server connections."""

    def __init__(self, vault_path: Path) -> None:
        self.vault_path = vault_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mysafe-vault")
        self._vault: Vault | None = None
        self.index = IndexKeeper(self.run)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the vault's worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)

    @property
    def vault(self) -> Vault:
        """The unlocked vault; `VaultLocked` (or `VaultNotFound`) when there is none."""
        if self._vault is None or not self._vault.unlocked:
            if not self.vault_path.exists():
                raise VaultNotFound(f"no vault at {self.vault_path}; create one with 'mysafe init'")
            raise VaultLocked("the vault is locked")
        return self._vault

    @property
    def is_unlocked(self) -> bool:
        return self._vault is not None and self._vault.unlocked

    async def attach(self, vault: Vault) -> None:
        """Make `vault` the unlocked one, its index built first (in the worker thread)."""
        await self.index.build(vault)
        self._vault = vault

    def detach(self) -> Vault | None:
        vault, self._vault = self._vault, None
        return vault

    # --- reading ----------------------------------------------------------------------------

    def get(self, item_id: str) -> ItemSummary:
        item = self.vault.summaries.get(item_id)
        if item is None:
            raise ItemNotFound(f"no item with id {item_id}")
        return item

    async def reveal(self, item_id: str) -> dict[str, str]:
        """An item's decrypted secret fields, as plain strings (callers wrap them)."""
        return await self.run(self.vault.reveal, item_id)

    async def reveal_secrets(self, item_id: str) -> dict[str, Secret]:
        data = await self.reveal(item_id)
        return {name: Secret(data.get(name, "")) for name in SPECS[self.get(item_id).kind].secret}

    async def read_meta(self, name: str) -> dict[str, str] | None:
        return await self.run(self.vault.read_meta, name)

    async def write_meta(self, name: str, data: dict[str, str]) -> None:
        await self.run(self.vault.write_meta, name, data)

    # --- writing: each one transaction, the index patched after it -------------------------

    async def save_item(
        self, kind: ItemKind, fields: dict[str, Any], secret: dict[str, str],
        item_id: str | None = None,
    ) -> ItemSummary:  # fmt: skip
        vault = self.vault
        saved = await self.run(vault.save_item, kind, fields, secret, item_id)
        await self.index.wrote(vault, [saved.id])
        return saved

    async def save_batch(self, saves: list[SaveRow], deletes: Iterable[str] = ()) -> int:
        vault, deletes = self.vault, list(deletes)
        saved = await self.run(vault.save_batch, saves, deletes)
        await self.index.wrote(vault, [*(s.id for s in saved), *deletes])
        return len(saved)

    async def save_file(self, fields: dict[str, Any], secret: dict[str, str],
                        chunks: Iterable[bytes], item_id: str | None = None,
                        progress: Callable[[int], None] | None = None) -> ItemSummary:  # fmt: skip
        vault = self.vault
        saved = await self.run(
            partial(vault.save_file, fields, secret, chunks, item_id, progress=progress)
        )
        await self.index.wrote(vault, [saved.id])
        return saved

    async def set_flags(self, item_id: str, **flags: Any) -> ItemSummary:
        """Change flags or bookkeeping (favourite, active, remote); the secrets stay."""
        item = self.get(item_id)
        secret = await self.reveal(item_id)
        return await self.save_item(item.kind, {**summary_fields(item), **flags}, secret, item_id)

    async def purge(self, item_id: str) -> None:
        vault = self.vault
        await self.run(vault.purge, item_id)
        await self.index.wrote(vault, [item_id])

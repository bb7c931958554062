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

from mysafe_tui.core.errors import (
    AmbiguousName,
    ItemNotFound,
    MySafeError,
    VaultLocked,
    VaultNotFound,
    WrongPassphrase,
)
from mysafe_tui.core.models import SPECS, ItemKind, ItemSummary, Secret
from mysafe_tui.service.index import IndexKeeper
from mysafe_tui.service.values import summary_fields
from mysafe_tui.vault.hits import Hits

if TYPE_CHECKING:
    from mysafe_tui.core.kdf import KdfParams
    from mysafe_tui.vault.vault import Vault

T = TypeVar("T")
SaveRow = tuple[ItemKind, dict[str, Any], dict[str, str], str | None]


class VaultWorker:
    """Holds the unlocked vault (or none) for the service and its server connections."""

    def __init__(self, vault_path: Path) -> None:
        self.vault_path = vault_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mysafe-vault")
        self._vault: Vault | None = None
        self._opened: Vault | None = None  # opened by `prepare`, not unlocked yet
        self.index = IndexKeeper(self.run)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the vault's worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)

    # --- lifecycle ----------------------------------------------------------------------------

    async def create(self, passphrase: str, profile: str, params: KdfParams | None) -> None:
        def create() -> Vault:
            from mysafe_tui.vault.vault import Vault

            return Vault.create(self.vault_path, passphrase, profile=profile, params=params)

        await self.attach(await self.run(create))

    async def prepare(self) -> None:
        """Open and check the vault file ahead of the passphrase (see VaultService)."""
        if self._opened is None and not self.is_unlocked:
            await self.keep_opened(await self.run(_open_vault, self.vault_path))

    async def keep_opened(self, vault: Vault) -> None:
        """Hold a checked, still locked vault (opened by `prepare` or by another thread,
        `service.early`) for the next unlock; close a spare one (a check that finished
        after an unlock had begun)."""
        if self._opened is None and not self.is_unlocked:
            self._opened = vault
        else:
            await self.run(vault.close)

    async def unlock(
        self,
        passphrase: str | None,
        seen_dir: Path,
        accept_rollback: bool,
        kek: bytes | None = None,
    ) -> None:
        """Unlock with the passphrase, or with `kek` (what `derive_kek` gave, kept by the
        unlock agent)."""
        opened, self._opened = self._opened, None
        used: list[Vault] = []

        def work() -> Vault:
            vault = opened if opened is not None and opened.is_current() else None
            if vault is None:
                if opened is not None:
                    opened.close()
                vault = _open_vault(self.vault_path)
            used.append(vault)
            try:
                vault.unlock(
                    passphrase, kek=kek, seen_dir=seen_dir, accept_rollback=accept_rollback
                )
            except WrongPassphrase:
                raise  # the file stays open for a retry (below)
            except BaseException:
                vault.close()
                raise
            return vault

        try:
            vault = await self.run(work)
        except WrongPassphrase:
            await self.keep_opened(used[0])  # checked and still good: a retry starts at the KDF
            raise
        await self.attach(vault)

    async def derive_kek(self, passphrase: str) -> bytes:
        """The key-encryption key for `passphrase` (the KDF, in the worker thread)."""
        await self.prepare()
        opened = self._opened if self._opened is not None else self.vault
        return await self.run(opened.derive_kek, passphrase)

    async def key_opens(self, kek: bytes) -> bool:
        """Whether `kek` still opens the vault file on disk (no passphrase change since)."""
        return await self.run(self.vault.key_opens, kek)

    def is_current(self) -> bool:
        """Whether the unlocked vault's file is still the one at its path (not replaced)."""
        return self.vault.is_current()

    async def lock(self) -> None:
        """Forget the keys and the index; keep the index in the vault's summary cache so that
        the next unlock is quicker; close the file."""
        vault, self._vault = self._vault, None
        index = self.index.clear()
        opened, self._opened = self._opened, None

        def save_cache(vault: Vault) -> None:
            if vault.cache_stale:
                vault.save_cache(index.records, index.state())

        try:
            if vault is not None:
                await self.run(save_cache, vault)
        finally:
            for handle in (vault, opened):
                if handle is not None:
                    await self.run(handle.close)

    async def refresh(self) -> bool:
        """Pick up changes another process wrote. True if there were."""
        vault = self.vault
        changed = await self.run(vault.refresh)
        # Also when an earlier call was cancelled between the vault's reload and the index's.
        if changed or vault.generation != self.index.generation:
            await self.index.follow(vault)
            return True
        return False

    @property
    def vault(self) -> Vault:
        """The unlocked vault; `VaultLocked` (or `VaultNotFound`) when there is none."""
        if self._vault is None or not self._vault.unlocked:
            if not self.vault_path.exists():
                raise VaultNotFound(f"no vault at {self.vault_path}; create one with 'mysafe init'")
            raise VaultLocked("the vault is locked")
        return self._vault

    def require_unlocked(self) -> None:
        """Refuse (`VaultLocked`, `VaultNotFound`) unless a vault is unlocked."""
        self.vault  # noqa: B018 - the property raises

    @property
    def is_unlocked(self) -> bool:
        return self._vault is not None and self._vault.unlocked

    async def attach(self, vault: Vault) -> None:
        """Make `vault` the unlocked one, its index built first (in the worker thread)."""
        await self.index.build(vault)
        self._vault = vault

    # --- reading ----------------------------------------------------------------------------

    def get(self, item_id: str) -> ItemSummary:
        item = self.vault.summaries.get(item_id)
        if item is None:
            raise ItemNotFound(f"no item with id {item_id}")
        return item

    def find(self, name: str, kind: ItemKind | None, trash: bool | None) -> ItemSummary:
        """An item by id, id prefix (6+ characters) or exact name (see VaultService.find)."""
        records = self.vault.records
        index = self.index

        def fits(item: ItemSummary) -> bool:
            return (kind is None or item.kind is kind) and (trash is None or item.active != trash)

        record = records.get(name)
        if record is not None and fits(item := record.summary()):
            return item
        named = [s for r in index.named(name) if fits(s := r.summary())]
        prefix = name.strip().casefold()
        if not named and len(prefix) >= 6:
            candidates = (r.summary() for r in records.values() if r.id.startswith(prefix))
            named = [s for s in candidates if fits(s)]
        if len(named) == 1:
            return named[0]
        if named:
            raise AmbiguousName(name, [f"{i.name} ({i.kind.label}, id {i.id[:8]})" for i in named])
        where = "in the trash" if trash else "in the vault"
        close = [i.name for i in index.search(name, kind=kind, trash=bool(trash))[:3]]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ItemNotFound(f"no item named '{name}' {where}{hint}")

    async def search_text(self, query: str, kind: ItemKind | None, trash: bool) -> Hits:
        """Items whose own text holds every word of `query` (see VaultService.search_text)."""
        vault = self.vault
        words = query.casefold().split()
        if not words:
            return Hits([])

        def work() -> Hits:
            found = []
            for item_id, record in vault.records.items():
                if kind is not None and record.kind is not kind:
                    continue
                summary = record.summary()
                if summary.active == trash:
                    continue
                try:
                    secret = vault.reveal(item_id)
                except MySafeError:
                    continue  # a damaged item is reported elsewhere
                body = "\n".join(secret.get(f, "") for f in ("note", "notes")).casefold()
                if all(word in body for word in words):
                    found.append(record)
            return Hits(found)

        return await self.run(work)

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
        self,
        kind: ItemKind,
        fields: dict[str, Any],
        secret: dict[str, str],
        item_id: str | None = None,
    ) -> ItemSummary:
        vault = self.vault
        saved = await self.run(vault.save_item, kind, fields, secret, item_id)
        await self.index.wrote(vault, [saved.id])
        return saved

    async def save_batch(
        self,
        saves: list[SaveRow],
        deletes: Iterable[str] = (),
        attachments: dict[int, list[tuple[str, str, bytes]]] | None = None,
    ) -> int:
        vault, deletes = self.vault, list(deletes)
        saved = await self.run(vault.save_batch, saves, deletes, attachments)
        await self.index.wrote(vault, [*(s.id for s in saved), *deletes])
        return len(saved)

    async def save_file(
        self,
        fields: dict[str, Any],
        secret: dict[str, str],
        chunks: Iterable[bytes],
        item_id: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ItemSummary:
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


def _open_vault(path: Path) -> Vault:
    """In the worker thread: importing the vault loads sqlite3 and cryptography (~80 ms),
    which must not hold up the event loop while the unlock screen first paints."""
    from mysafe_tui.vault.vault import Vault

    return Vault.open(path)

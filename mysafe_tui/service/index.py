"""The search index of the unlocked vault, kept in step with the vault's writes.

Every committed write moves the vault's generation by one. After a write of ours the index is
patched with what that write changed; when the generation moved further, another process (a
CLI call, a second window) wrote too, and the vault says which items changed since the index
last looked: those are patched one by one, or the index is rebuilt when many changed.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from mysafe_tui.vault.hits import Hits
from mysafe_tui.vault.records import Brief
from mysafe_tui.vault.search import SearchIndex

# What the UI and the CLI hold of the index's answers (they never import the vault's rooms).
__all__ = ["Brief", "Hits", "IndexKeeper"]

if TYPE_CHECKING:
    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.vault.records import Record
    from mysafe_tui.vault.vault import Vault

Run = Callable[..., Awaitable[Any]]
FOLLOW_LIMIT = 64  # changed items past which the index is rebuilt, not patched


class IndexKeeper:
    """The in-memory index of one unlocked vault; every vault call goes through `run`."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self.index = SearchIndex()
        self.generation = -1  # the vault generation the index reflects

    async def build(self, vault: Vault) -> None:
        """The whole index, built in the worker thread (0.3 s at 100k items, unless the
        vault's summary cache holds it)."""

        def build() -> SearchIndex:
            vault.take_changes()  # all of them are in the new index
            return SearchIndex.of(vault.records, vault.take_index_state())

        self.index = await self._run(build)
        self.generation = vault.generation
        # 100k summaries live as long as the vault is unlocked and hold no cycles: out of the
        # garbage collector's sight until `clear`, or each full collection walks them again
        # (~150 ms). (Whatever else is alive now is frozen with them: freed by reference
        # counting as usual, but a cycle among it waits for `clear` to be collected.)
        gc.freeze()

    def clear(self) -> SearchIndex:
        """Forget everything (at lock); returns the old index for the summary cache."""
        old, self.index, self.generation = self.index, SearchIndex(), -1
        gc.unfreeze()
        return old

    async def wrote(self, vault: Vault, changed: Iterable[str] = (), writes: int = 1) -> None:
        """After our own `writes` transactions that changed the items `changed`."""
        self._patch(vault, changed)
        if vault.generation != self.generation + writes:
            await self.follow(vault)  # another process wrote in between
        self.generation = vault.generation

    async def follow(self, vault: Vault) -> None:
        """After writes by another process that `vault.refresh` picked up: item by item when
        few changed (a CLI call: ms, where rebuilding 100k items takes 0.3 s)."""
        changed = await self._run(vault.take_changes)
        if changed is None or len(changed) > FOLLOW_LIMIT:
            await self.build(vault)
            return
        self._patch(vault, changed)
        self.generation = vault.generation

    def _patch(self, vault: Vault, changed: Iterable[str]) -> None:
        records = vault.records
        for item_id in changed:
            record = records.get(item_id)
            if record is None:
                self.index.remove(item_id)
            else:
                self.index.upsert(record)

    # --- reading ----------------------------------------------------------------------------

    def search(self, query: str, **filters: Any) -> Hits:
        return self.index.search(query, **filters)

    def named(self, name: str) -> list[Record]:
        return self.index.named(name)

    def counts(self) -> dict[ItemKind, int]:
        return self.index.counts()

    def warmer(self, least: int, **filters: Any) -> Callable[[], None] | None:
        """What readies a list for typing (`SearchIndex.warmer`), when the index holds at
        least `least` items (a smaller one searches fast enough cold)."""
        return self.index.warmer(**filters) if len(self.index) >= least else None

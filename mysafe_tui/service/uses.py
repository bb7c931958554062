"""When each item was last used here, for the filter word `unused:90d`.

A use is a person (or their script) taking a secret: a copy, `mysafe get` or a reference
(`field_value`), the agent's answers, and revealing it in the UI. Reading for sync, export,
the health report or an edit is not a use.

Each day's uses are one encrypted vault record, "used-<day>", holding the ids of the items
used that day. A use reads only today's record and writes it only the first time an item is
used that day, so `mysafe get` in a loop writes nothing after its first call. Records older
than a year are deleted when a day's first use writes; `unused:` looks back a year at most.

Only this device's uses count. A server's access history cannot say more: a sync's bulk read
counts there as a read of every item, so it would call everything used.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mysafe_tui.core.errors import MySafeError

if TYPE_CHECKING:
    from mysafe_tui.service.worker import VaultWorker

PREFIX = "used-"
DAY = 86400
KEPT_DAYS = 366


class LastUses:
    def __init__(self, worker: VaultWorker) -> None:
        self._worker = worker
        self.clock = time.time
        self._today: tuple[int, set[str]] | None = None  # today's record as last read
        self._days: dict[str, int] | None = None  # item id -> its last day of use

    def today(self) -> int:
        """Days since the epoch (UTC)."""
        return int(self.clock() // DAY)

    async def mark(self, item_id: str) -> None:
        """`item_id` was used now: written unless it already was today."""
        day = self.today()
        if self._today is None or self._today[0] != day:
            self._today = day, set(await self._worker.read_meta(f"{PREFIX}{day}") or {})
        if item_id in self._today[1]:
            return
        vault = self._worker.vault

        def write() -> set[str]:
            # Read again right before writing: another process may have added to it.
            used = set(vault.read_meta(f"{PREFIX}{day}") or {}) | {item_id}
            vault.write_meta(f"{PREFIX}{day}", dict.fromkeys(sorted(used), "1"))
            for name in vault.meta_names(PREFIX):
                when = name[len(PREFIX) :]
                if not when.isdigit() or int(when) <= day - KEPT_DAYS:
                    vault.delete_meta(name)
            return used

        try:
            self._today = day, await self._worker.run(write)
        except (MySafeError, OSError):
            return  # only a note: a vault that cannot be written now (full disk) still answers
        self._days = None  # read again when a filter asks (a new dict: its cache key)

    async def days(self) -> dict[str, int]:
        """Item id -> the day (since the epoch) it was last used here, over the last year."""
        if self._days is None:
            vault = self._worker.vault

            def read() -> dict[str, int]:
                found: dict[str, int] = {}
                named = [(n[len(PREFIX) :], n) for n in vault.meta_names(PREFIX)]
                for day, name in sorted((int(d), n) for d, n in named if d.isdigit()):
                    found.update(dict.fromkeys(vault.read_meta(name) or {}, day))  # later wins
                return found

            self._days = await self._worker.run(read)
        return self._days

    def forget(self) -> None:
        """At lock, and when another process changed the vault."""
        self._today = self._days = None

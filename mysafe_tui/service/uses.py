"""When each item was last used here, for the filter word `unused:90d`.

A use is a person (or their script) taking a secret: a copy, `mysafe get` or a reference
(`field_value`), the agent's answers, `get --json`, saving a file, and revealing it in the
UI. Reading for sync, export, the health report or an edit is not a use.

Each day's uses are one encrypted vault record, "used-<day>", holding the ids of the items
used that day. A use reads only today's record and writes it only the first time an item is
used that day, so `mysafe get` in a loop writes nothing after its first call. Records older
than a year are deleted when a day's first use writes; `unused:` looks back a year at most.

On a `mysafe serve` server, each sync also sends this device's uses of the server's items
and takes back the last day any device of the account used each ("uses-server"), so an item
used on the laptop is not "unused" on the desktop (extension "uses": server/uses.py). The
server's access history could not say this: a sync reads every item, so there every item is
read at each sync.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mysafe_tui.core.errors import MySafeError

if TYPE_CHECKING:
    from mysafe_tui.remote.session import RemoteSession
    from mysafe_tui.service.worker import VaultWorker

PREFIX = "used-"
FROM_SERVER = "uses-server"  # server item id -> day, as the last sync took it
SENT = "uses-sent"  # the day of the last sync that sent this device's uses
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
        """Item id -> the day (since the epoch) it was last used, here or (as the last sync
        said) on another device of the account, over the last year."""
        if self._days is None:
            found = await self._here()
            server = _days(await self._worker.read_meta(FROM_SERVER))
            for item_id, remote in self._remote_ids().items() if server else ():
                day = server.get(remote, 0)
                if day > found.get(item_id, 0):
                    found[item_id] = day
            self._days = found
        return self._days

    async def _here(self) -> dict[str, int]:
        vault = self._worker.vault

        def read() -> dict[str, int]:
            found: dict[str, int] = {}
            named = [(n[len(PREFIX) :], n) for n in vault.meta_names(PREFIX)]
            for day, name in sorted((int(d), n) for d, n in named if d.isdigit()):
                found.update(dict.fromkeys(vault.read_meta(name) or {}, day))  # later wins
            return found

        return await self._worker.run(read)

    def _remote_ids(self) -> dict[str, str]:
        """Item id -> its id on the server, for the items that live there."""
        found = ((i, record.remote_id()) for i, record in self._worker.vault.records.items())
        return {item_id: remote for item_id, remote in found if remote}

    async def exchange(self, session: RemoteSession) -> None:
        """At sync: send the uses here since the last sync, take the account's."""
        from mysafe_tui.remote import uses

        worker = self._worker
        remote_ids = self._remote_ids()
        since = _days(await worker.read_meta(SENT)).get("day", 0)
        mine = {
            remote_ids[item_id]: day
            for item_id, day in (await self._here()).items()
            if day >= since and item_id in remote_ids
        }
        if mine:
            await session.guard(uses.send_uses(session.client, mine))
        theirs = await session.guard(uses.fetch_uses(session.client))
        if theirs != _days(await worker.read_meta(FROM_SERVER)):
            await worker.write_meta(FROM_SERVER, {k: str(v) for k, v in theirs.items()})
        if since != self.today():
            await worker.write_meta(SENT, {"day": str(self.today())})
        self._days = None

    def forget(self) -> None:
        """At lock, and when another process changed the vault."""
        self._today = self._days = None


def _days(record: dict[str, str] | None) -> dict[str, int]:
    return {k: int(v) for k, v in (record or {}).items() if v.isdigit()}

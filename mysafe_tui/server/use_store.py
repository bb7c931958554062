"""When each user last used each item (extension "uses", server/uses.py): a day per user and
item, the later day winning; a row a year old goes with the purge."""

from __future__ import annotations

from mysafe_tui.server.database import Database

DAY = 86400.0
KEPT_DAYS = 366


class UseStore(Database):
    def today(self) -> int:
        return int(self.clock() // DAY)

    def record_uses(self, user_id: int, uses: list[tuple[int, int]]) -> int:
        """Keep `(item id, day)` uses of `user_id`'s; ids of no item are left out. How many
        were kept."""
        kept = 0
        with self._write() as db:
            for item_id, day in uses:
                kept += db.execute(
                    "INSERT INTO item_uses (user_id, item_id, day) SELECT ?, ?, ? "
                    "WHERE EXISTS (SELECT 1 FROM items WHERE id = ?) "
                    "ON CONFLICT (user_id, item_id) DO UPDATE SET day = excluded.day "
                    "WHERE excluded.day > item_uses.day",
                    (user_id, item_id, day, item_id),
                ).rowcount
        return kept

    def item_uses(self, user_id: int) -> list[tuple[int, int]]:
        """`user_id`'s uses over the last year: (item id, day)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT item_id, day FROM item_uses WHERE user_id = ? AND day > ?",
                (user_id, self.today() - KEPT_DAYS),
            ).fetchall()
        return [(int(row[0]), int(row[1])) for row in rows]

    def purge_uses(self) -> int:
        with self._write() as db:
            return int(
                db.execute(
                    "DELETE FROM item_uses WHERE day <= ?", (self.today() - KEPT_DAYS,)
                ).rowcount
            )

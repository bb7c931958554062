"""Personal groups: each user's own groups of other users, to share items with (MySafe's
personal groups, beside the administrator's user groups). Part of `SQLStore` (store.py).

A group is named within its owner's groups; sharing an item with `personal_groups_allowed`
reaches the members of the item owner's group of that name. Members see the groups they are
in (name, owner, description), not who else is.
"""

from __future__ import annotations

from typing import Any

from mysafe_tui.server.database import Database
from mysafe_tui.server.errors import invalid

MAX_MEMBERS = 500


class GroupStore(Database):
    def personal_groups(self, user_id: int) -> list[dict[str, Any]]:
        """The user's own groups with their members, then the groups others put them in."""
        with self._read() as db:
            own = db.execute(
                "SELECT id, name, description FROM personal_groups WHERE owner_id = ? "
                "ORDER BY name",
                (user_id,),
            ).fetchall()
            members: dict[int, list[str]] = {}
            for row in db.execute(
                "SELECT m.group_id, u.name FROM personal_members m JOIN users u ON "
                "u.id = m.user_id JOIN personal_groups g ON g.id = m.group_id "
                "WHERE g.owner_id = ? ORDER BY u.name",
                (user_id,),
            ):
                members.setdefault(row["group_id"], []).append(row["name"])
            theirs = db.execute(
                "SELECT g.name, g.description, u.name AS owner FROM personal_groups g "
                "JOIN personal_members m ON m.group_id = g.id JOIN users u ON "
                "u.id = g.owner_id WHERE m.user_id = ? AND g.owner_id <> ? ORDER BY u.name, g.name",
                (user_id, user_id),
            ).fetchall()
        return [
            {
                "name": g["name"],
                "description": g["description"],
                "members": members.get(g["id"], []),
                "mine": True,
            }
            for g in own
        ] + [
            {"name": g["name"], "description": g["description"], "owner": g["owner"], "mine": False}
            for g in theirs
        ]

    def save_personal_group(
        self, user_id: int, name: str, description: str, members: list[str]
    ) -> list[str]:
        """Create the user's group `name`, or replace its description and members; the
        member names no user has are returned (the others are kept)."""
        if len(members) > MAX_MEMBERS:
            raise invalid(f"a personal group holds at most {MAX_MEMBERS} members")
        unknown = []
        with self._write() as db:
            row = db.execute(
                "SELECT id FROM personal_groups WHERE owner_id = ? AND name = ?", (user_id, name)
            ).fetchone()
            if row is None:
                group_id = db.execute(
                    "INSERT INTO personal_groups (owner_id, name, description, created_at) "
                    "VALUES (?, ?, ?, ?) RETURNING id",
                    (user_id, name, description, self.clock()),
                ).fetchone()[0]
            else:
                group_id = row["id"]
                db.execute(
                    "UPDATE personal_groups SET description = ? WHERE id = ?",
                    (description, group_id),
                )
                db.execute("DELETE FROM personal_members WHERE group_id = ?", (group_id,))
            for member in dict.fromkeys(members):
                found = db.execute("SELECT id FROM users WHERE name = ?", (member,)).fetchone()
                if found is None:
                    unknown.append(member)
                    continue
                db.execute(
                    "INSERT INTO personal_members (group_id, user_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (group_id, found["id"]),
                )
        return unknown

    def delete_personal_group(self, user_id: int, name: str) -> bool:
        """The group, its members and every item's sharing with it; False if there is none."""
        with self._write() as db:
            row = db.execute(
                "SELECT id FROM personal_groups WHERE owner_id = ? AND name = ?", (user_id, name)
            ).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM personal_members WHERE group_id = ?", (row["id"],))
            # the items shared with it change (who has them): a new revision, so that their
            # owners' clients read them again
            db.execute(
                "UPDATE items SET revision = revision + 1, updated_at = ? WHERE id IN "
                "(SELECT item_id FROM item_access WHERE principal = 'personal' AND "
                "principal_id = ?)",
                (self.clock(), row["id"]),
            )
            db.execute(
                "DELETE FROM item_access WHERE principal = 'personal' AND principal_id = ?",
                (row["id"],),
            )
            db.execute("DELETE FROM personal_groups WHERE id = ?", (row["id"],))
        return True

"""The server's storage interface, and its embedded SQLite implementation.

`Store` is what the HTTP layer needs; `SQLStore` implements it on SQLite or PostgreSQL (items
and their history here, accounts in `account_store.py`, shares in `share_store.py`, file
contents in `file_store.py`, connections, schema and transactions in `database.py`). Item
secret fields are sealed with a key derived from the server key; share ciphertext is stored
exactly as uploaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from mysafe_tui.core.crypto import Aead, AuthenticationFailed, associated_data, hkdf
from mysafe_tui.core.models import FIELDS, SPECS
from mysafe_tui.server.account_store import AccountStore, Holder
from mysafe_tui.server.database import Connection
from mysafe_tui.server.errors import ApiError, Conflict, inactive, invalid, no_access, not_found
from mysafe_tui.server.file_store import FileStore
from mysafe_tui.server.group_store import GroupStore
from mysafe_tui.server.keys import KeyLimits
from mysafe_tui.server.share_store import ShareStore, share_id_hash
from mysafe_tui.server.use_store import UseStore


class Store(Protocol):
    """Everything the routes and `mysafe serve` admin commands ask of storage."""

    clock: Callable[[], float]

    @property
    def reads_on_loop(self) -> bool: ...
    def close(self) -> None: ...
    def add_user(self, name: str) -> int: ...
    def list_users(self) -> list[dict[str, Any]]: ...
    def add_group(self, name: str, members: list[str]) -> None: ...
    def personal_groups(self, user_id: int) -> list[dict[str, Any]]: ...
    def save_personal_group(
        self, user_id: int, name: str, description: str, members: list[str]
    ) -> list[str]: ...
    def delete_personal_group(self, user_id: int, name: str) -> bool: ...
    def create_key(self, user: str, limits: KeyLimits | None = None) -> tuple[str, str]: ...
    def revoke_key(self, client_id: str) -> bool: ...
    def list_keys(self) -> list[dict[str, Any]]: ...
    def key_refused(self, client_id: str) -> None: ...
    def key_used(self, client_id: str) -> None: ...
    def issue_token(
        self, client_id: str, secret: str, ttl: int
    ) -> tuple[str, KeyLimits] | None: ...
    def token_holder(self, token: str) -> Holder | None: ...
    def list_items(self, user_id: int, kind: str) -> list[dict[str, Any]]: ...
    def get_item(self, user_id: int, kind: str, item_id: str) -> dict[str, Any]: ...
    def item_tags(self, item_id: str) -> str | None: ...
    def list_entities(self, user_id: int, kind: str) -> list[dict[str, Any]]: ...
    def create_item(
        self,
        user_id: int,
        kind: str,
        plain: dict[str, Any],
        sealed: dict[str, Any],
        sharing: Sharing | None,
        client_ref: str = "",
    ) -> tuple[dict[str, Any], list[str], bool]: ...
    def update_item(
        self,
        user_id: int,
        kind: str,
        item_id: str,
        plain: dict[str, Any],
        sealed: dict[str, Any],
        sharing: Sharing | None,
        if_match: int | None,
    ) -> tuple[dict[str, Any], list[str]]: ...
    def set_active(self, user_id: int, kind: str, item_id: str, active: bool) -> dict[str, Any]: ...
    def create_share(self, owner_id: int, share_id: str, share: dict[str, Any]) -> None: ...
    def list_shares(self, owner_id: int) -> list[dict[str, Any]]: ...
    def revoke_share(self, owner_id: int, share_id: str) -> dict[str, Any]: ...
    def share_status(self, share_id: str) -> dict[str, Any]: ...
    def reveal_share(
        self, share_id: str, proof: bytes, holder: bytes, source: str, code: str = ""
    ) -> tuple[BinaryIO, dict[str, Any]]: ...
    def new_code(self, share_id: str, holder: bytes, source: str) -> tuple[str, str]: ...
    def recipient_share(self, owner_id: int, share_id: str) -> dict[str, Any]: ...
    def set_mail_status(self, id_hash: bytes, status: str) -> None: ...
    def user_name(self, user_id: int) -> str: ...
    def today(self) -> int: ...
    def record_uses(self, user_id: int, uses: list[tuple[int, int]]) -> int: ...
    def item_uses(self, user_id: int) -> list[tuple[int, int]]: ...
    def purge_uses(self) -> int: ...
    def spool(self) -> BinaryIO: ...
    def put_file(self, blob: str, content: BinaryIO) -> None: ...
    def file_content(self, blob: str) -> Iterator[bytes]: ...
    def delete_file(self, blob: str) -> None: ...
    def healthy(self) -> bool: ...
    def purge_expired_shares(self) -> int: ...
    def record_history(self, rows: list[tuple[Any, ...]]) -> None: ...
    def item_history(self, user_id: int, kind: str, item_id: str) -> list[dict[str, Any]]: ...
    def share_history(self, owner_id: int, share_id: str) -> list[dict[str, Any]]: ...
    def purge_history(self, before: float) -> int: ...


class Sharing:
    """Internal sharing from a request: None for a list means 'leave as it is'."""

    def __init__(
        self,
        users: list[tuple[str, bool]] | None,
        groups: list[tuple[str, bool]] | None,
        personal: list[tuple[str, bool]] | None = None,
    ) -> None:
        self.users = users
        self.groups = groups
        self.personal = personal  # the item owner's personal groups (group_store.py)


# Plain columns: what list rows show and filter on (`Field.column` in core.models). Everything
# else of an item is sealed.
PLAIN = tuple(dict.fromkeys(n for s in SPECS.values() for n in s.summary if FIELDS[n].column))
# List rows leave the sealed blob on disk: a 10k-row list should not read every secret.
_LIST_COLUMNS = ", ".join(
    f"i.{c}"
    for c in (*PLAIN, "id", "kind", "owner_id", "active", "revision", "created_at", "updated_at")
)


def _sealing(server_key: bytes) -> Aead:
    return Aead(hkdf(server_key, b"mysafe-server/items/v1"))


class SQLStore(AccountStore, FileStore, ShareStore, GroupStore, UseStore):
    """The store over one database: a SQLite file beside the server key, or PostgreSQL."""

    def __init__(
        self,
        target: Path | str,
        server_key: bytes,
        clock: Callable[[], float],
        next_key: bytes | None = None,
    ) -> None:
        super().__init__(target, clock)
        self._items_aead = _sealing(server_key)
        # A rotation that stopped half-way (`reseal`): items sealed under either key open.
        self._fallback = _sealing(next_key) if next_key else None

    # --- access history ----------------------------------------------------------------------

    def record_history(self, rows: list[tuple[Any, ...]]) -> None:
        """(item_id, share_hash, at, event, user_id, client_id, address, detail) rows, at
        once."""
        with self._write() as db:
            db.executemany(
                "INSERT INTO history (item_id, share_hash, at, event, user_id, client_id, "
                "address, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    _HISTORY = (
        'SELECT h.at, h.event, u.name AS "user", h.client_id, h.address, h.detail, h.user_id '
        "FROM history h LEFT JOIN users u ON u.id = h.user_id WHERE {where} "
        "ORDER BY h.at DESC, h.id DESC LIMIT 1000"
    )

    def item_history(self, user_id: int, kind: str, item_id: str) -> list[dict[str, Any]]:
        """The newest 1000 events of an item the user can see. Its owner sees them all; a
        user it is shared with sees their own and the changes, without another user's
        access key or address (what senhasegura shows its administrators only)."""
        with self._read() as db:
            row = self._visible_row(db, user_id, kind, item_id)
            query = self._HISTORY.format(where="h.item_id = ?")
            found = [dict(r) for r in db.execute(query, (row["id"],))]
        owner = row["owner_id"] == user_id
        shown = []
        for event in found:
            theirs = event.pop("user_id") != user_id
            if owner or not theirs:
                shown.append(event)
            elif event["event"] not in ("read", "signed"):  # a change: what, when, by whom
                shown.append({**event, "client_id": "", "address": ""})
        return shown

    def share_history(self, owner_id: int, share_id: str) -> list[dict[str, Any]]:
        """The opens and reveals of one of the owner's links."""
        id_hash = share_id_hash(share_id)
        with self._read() as db:
            owned = db.execute(
                "SELECT 1 FROM shares WHERE id_hash = ? AND owner_id = ?", (id_hash, owner_id)
            ).fetchone()
            if owned is None:
                raise ApiError(1006, "1006: Share not found", status=404)
            found = db.execute(self._HISTORY.format(where="h.share_hash = ?"), (id_hash,))
            return [{k: v for k, v in dict(r).items() if k != "user_id"} for r in found]

    def purge_history(self, before: float) -> int:
        with self._write() as db:
            return int(db.execute("DELETE FROM history WHERE at < ?", (before,)).rowcount)

    # --- items -----------------------------------------------------------------------------

    def _seal(self, kind: str, item_id: int, fields: dict[str, Any]) -> bytes:
        return self._items_aead.seal(
            json.dumps(fields).encode(), associated_data("item", kind, item_id)
        )

    def _open(self, row: Any) -> dict[str, Any]:
        ad = associated_data("item", row["kind"], row["id"])
        for aead in (self._items_aead, self._fallback):
            if aead is None:
                continue
            try:
                value: dict[str, Any] = json.loads(aead.open(bytes(row["sealed"]), ad))
                return value
            except AuthenticationFailed:
                continue
        raise ApiError(500, "Unexpected error", status=500)

    def reseal(self, new_key: bytes) -> int:
        """Every item's sealed fields under `new_key`, in one write transaction (the old key
        or `new_key` opens each: a rotation that stopped half-way can run again)."""
        self._items_aead, self._fallback = _sealing(new_key), self._items_aead
        with self._write() as db:
            rows = db.execute("SELECT id, kind, sealed FROM items").fetchall()
            for row in rows:
                sealed = self._seal(row["kind"], row["id"], self._open(row))
                db.execute("UPDATE items SET sealed = ? WHERE id = ?", (sealed, row["id"]))
        self._fallback = None
        return len(rows)

    _OWNER = "(SELECT name FROM users WHERE id = i.owner_id) AS owner"
    _VISIBLE = f"""
        SELECT {{columns}}, 1 AS can_write, 1 AS mine, {_OWNER} FROM items i
         WHERE i.owner_id = :user {{filter}}
        UNION ALL
        SELECT {{columns}}, MAX(a.can_edit) AS can_write, 0 AS mine, {_OWNER} FROM items i
          JOIN item_access a ON a.item_id = i.id
         WHERE i.owner_id <> :user {{filter}}
           AND ((a.principal = 'user' AND a.principal_id = :user) OR
                (a.principal = 'group' AND a.principal_id IN
                   (SELECT group_id FROM group_members WHERE user_id = :user)) OR
                (a.principal = 'personal' AND a.principal_id IN
                   (SELECT group_id FROM personal_members WHERE user_id = :user)))
         GROUP BY i.id"""

    def list_items(self, user_id: int, kind: str) -> list[dict[str, Any]]:
        """Every item of `kind` the user may see (active or not), without secrets."""
        sql = self._VISIBLE.format(columns=_LIST_COLUMNS, filter="AND i.kind = :kind")
        sql += " ORDER BY id"
        with self._read() as db:
            rows = db.execute(sql, {"user": user_id, "kind": kind}).fetchall()
        return [self._row(row) for row in rows]

    def _row(self, row: Any) -> dict[str, Any]:
        out = {name: row[name] for name in PLAIN}
        out.update(
            identifier=str(row["id"]),
            kind=row["kind"],
            owner_id=row["owner_id"],
            active=bool(row["active"]),
            revision=row["revision"],
            can_view=True,
            can_write=bool(row["can_write"]),
            owner=row["owner"],
            mine=bool(row["mine"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        return out

    def _visible_row(self, db: Connection, user_id: int, kind: str, item_id: str) -> Any:
        if not item_id.isdigit():
            raise not_found(kind)
        params = {"user": user_id, "kind": kind, "id": int(item_id)}
        row = db.execute(
            self._VISIBLE.format(columns="i.*", filter="AND i.kind = :kind AND i.id = :id"),
            params,
        ).fetchone()
        if row is None:
            exists = db.execute(
                "SELECT 1 FROM items WHERE id = ? AND kind = ?", (int(item_id), kind)
            ).fetchone()
            raise no_access() if exists else not_found(kind)
        return row

    def _entity(self, db: Connection, row: Any) -> dict[str, Any]:
        entity = self._row(row)
        entity.update(self._open(row))
        entity["users_allowed"] = [
            {"username": r["name"], "can_edit": bool(r["can_edit"])}
            for r in db.execute(
                "SELECT u.name, a.can_edit FROM item_access a JOIN users u ON "
                "u.id = a.principal_id WHERE a.item_id = ? AND a.principal = "
                "'user' ORDER BY u.name",
                (row["id"],),
            )
        ]
        groups = (
            ("group", "groups_", "groups_allowed"),
            ("personal", "personal_groups", "personal_groups_allowed"),
        )
        for principal, table, key in groups:
            entity[key] = [
                {"name": r["name"], "can_edit": bool(r["can_edit"])}
                for r in db.execute(
                    f"SELECT g.name, a.can_edit FROM item_access a JOIN {table} g ON "
                    "g.id = a.principal_id WHERE a.item_id = ? AND a.principal = ? "
                    "ORDER BY g.name",
                    (row["id"], principal),
                )
            ]
        return entity

    def list_entities(self, user_id: int, kind: str) -> list[dict[str, Any]]:
        """Every entity of `kind` the user may see, secrets included, active or not: a first
        sync in one request instead of one per item (the "bulk" extension)."""
        sql = self._VISIBLE.format(columns="i.*", filter="AND i.kind = :kind") + " ORDER BY id"
        access: dict[tuple[int, str], list[dict[str, Any]]] = {}
        with self._read() as db:
            rows = db.execute(sql, {"user": user_id, "kind": kind}).fetchall()
            for principal, table, key in (
                ("user", "users", "username"),
                ("group", "groups_", "name"),
                ("personal", "personal_groups", "name"),
            ):
                for r in db.execute(
                    f"SELECT a.item_id, p.name, a.can_edit FROM item_access a JOIN {table} p ON "
                    "p.id = a.principal_id JOIN items i ON i.id = a.item_id WHERE i.kind = ? "
                    "AND a.principal = ? ORDER BY p.name",
                    (kind, principal),
                ):
                    access.setdefault((r["item_id"], principal), []).append(
                        {key: r["name"], "can_edit": bool(r["can_edit"])}
                    )
        entities = []
        for row in rows:
            entity = self._row(row)
            entity.update(self._open(row))
            entity["users_allowed"] = access.get((row["id"], "user"), [])
            entity["groups_allowed"] = access.get((row["id"], "group"), [])
            entity["personal_groups_allowed"] = access.get((row["id"], "personal"), [])
            entities.append(entity)
        return entities

    def item_tags(self, item_id: str) -> str | None:
        """An item's tags (comma-joined), whoever may see it; None when there is no such
        item (a scoped key's check: the route still checks who may see it)."""
        if not item_id.isdigit():
            return None
        with self._read() as db:
            row = db.execute("SELECT tags FROM items WHERE id = ?", (int(item_id),)).fetchone()
        return None if row is None else str(row["tags"])

    def get_item(self, user_id: int, kind: str, item_id: str) -> dict[str, Any]:
        """The full entity, secrets included. Inactive items answer 1009."""
        with self._read() as db:
            row = self._visible_row(db, user_id, kind, item_id)
            if not row["active"]:
                raise inactive(kind)
            return self._entity(db, row)

    def create_item(
        self,
        user_id: int,
        kind: str,
        plain: dict[str, Any],
        sealed: dict[str, Any],
        sharing: Sharing | None,
        client_ref: str = "",
    ) -> tuple[dict[str, Any], list[str], bool]:
        """The new item, what sharing could not do, and whether it is new: a create with the
        `client_ref` of one made before answers that one (the request came twice)."""
        now = self.clock()
        with self._write() as db:
            if client_ref:
                made = db.execute(
                    "SELECT id FROM items WHERE owner_id = ? AND client_ref = ? AND kind = ?",
                    (user_id, client_ref, kind),
                ).fetchone()
                if made is not None:
                    row = self._visible_row(db, user_id, kind, str(made[0]))
                    return self._entity(db, row), [], False
            if kind == "secretapi" and plain.get("identifier_code"):
                self._check_identifier_code(db, user_id, plain["identifier_code"], None)
            columns = ", ".join(plain)
            marks = ", ".join("?" for _ in plain)
            cur = db.execute(
                "INSERT INTO items (kind, owner_id, sealed, created_at, updated_at, client_ref, "
                f"{columns}) VALUES (?, ?, ?, ?, ?, ?, {marks}) RETURNING id",
                (kind, user_id, b"", now, now, client_ref, *plain.values()),
            )
            item_id = int(cur.fetchone()[0])
            db.execute(
                "UPDATE items SET sealed = ? WHERE id = ?",
                (self._seal(kind, item_id, sealed), item_id),
            )
            errors = self._apply_sharing(db, item_id, sharing) if sharing else []
            row = self._visible_row(db, user_id, kind, str(item_id))
            return self._entity(db, row), errors, True

    def _check_identifier_code(
        self, db: Connection, user_id: int, code: str, item_id: int | None
    ) -> None:
        clash = db.execute(
            "SELECT id FROM items WHERE kind = 'secretapi' AND owner_id = ? AND "
            "identifier_code = ? AND id <> ?",
            (user_id, code, item_id or 0),
        ).fetchone()
        if clash:
            raise invalid("Identifier code already used")

    def update_item(
        self,
        user_id: int,
        kind: str,
        item_id: str,
        plain: dict[str, Any],
        sealed: dict[str, Any],
        sharing: Sharing | None,
        if_match: int | None,
    ) -> tuple[dict[str, Any], list[str]]:
        """Partial update: omitted fields stay. Raises Conflict when `if_match` is stale."""
        with self._write() as db:
            row = self._visible_row(db, user_id, kind, item_id)
            if not row["can_write"]:
                raise no_access()
            if not row["active"]:
                raise inactive(kind)
            if if_match is not None and if_match != row["revision"]:
                raise Conflict(self._entity(db, row))
            if sharing is not None and row["owner_id"] != user_id:
                raise no_access()
            if kind == "secretapi" and plain.get("identifier_code"):
                self._check_identifier_code(
                    db, row["owner_id"], plain["identifier_code"], row["id"]
                )
            fields = self._open(row)
            fields.update(sealed)
            assignments = "".join(f", {name} = ?" for name in plain)
            db.execute(
                f"UPDATE items SET sealed = ?, revision = revision + 1, updated_at = ?"
                f"{assignments} WHERE id = ?",
                (self._seal(kind, row["id"], fields), self.clock(), *plain.values(), row["id"]),
            )
            errors = self._apply_sharing(db, row["id"], sharing) if sharing else []
            return self._entity(db, self._visible_row(db, user_id, kind, item_id)), errors

    def set_active(self, user_id: int, kind: str, item_id: str, active: bool) -> dict[str, Any]:
        with self._write() as db:
            row = self._visible_row(db, user_id, kind, item_id)
            if not row["can_write"]:
                raise no_access()
            if bool(row["active"]) != active:
                db.execute(
                    "UPDATE items SET active = ?, revision = revision + 1, updated_at = ? "
                    "WHERE id = ?",
                    (int(active), self.clock(), row["id"]),
                )
            return self._entity(db, self._visible_row(db, user_id, kind, item_id))

    def _apply_sharing(self, db: Connection, item_id: int, sharing: Sharing) -> list[str]:
        """Replace the given principal lists; unknown names are reported, not fatal."""
        errors: list[str] = []
        owner = db.execute("SELECT owner_id FROM items WHERE id = ?", (item_id,)).fetchone()[0]
        for principal, table, entries, where in (
            ("user", "users", sharing.users, ""),
            ("group", "groups_", sharing.groups, ""),
            ("personal", "personal_groups", sharing.personal, f" AND owner_id = {int(owner)}"),
        ):
            if entries is None:
                continue
            db.execute(
                "DELETE FROM item_access WHERE item_id = ? AND principal = ?", (item_id, principal)
            )
            for name, can_edit in entries:
                found = db.execute(
                    f"SELECT id FROM {table} WHERE name = ?{where}", (name,)
                ).fetchone()
                if found is None:
                    errors.append(f"{principal} {name} not found")
                    continue
                db.execute(
                    "INSERT INTO item_access VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (item_id, principal, found["id"], int(can_edit)),
                )
        return errors

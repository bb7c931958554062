"""The server's storage: users, access keys, tokens, items, files metadata and shares.

SQLite is the embedded default. The SQL stays portable (no SQLite-only functions, explicit
`BEGIN IMMEDIATE`-style transactions through `_write()`, integer and blob columns only) so a
PostgreSQL implementation can follow with the same method set. Item secret fields are sealed
with a key derived from the server key; share ciphertext is stored exactly as uploaded.

All methods are synchronous and thread-safe (one connection behind a lock): the HTTP layer calls
them from a worker thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.crypto import Aead, AuthenticationFailed, associated_data, hkdf, sha256
from .errors import ApiError, Conflict, ShareGone, inactive, invalid, no_access, not_found

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS groups_ (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS group_members (
    group_id INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (group_id, user_id));
CREATE TABLE IF NOT EXISTS access_keys (
    client_id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL, user_id INTEGER NOT NULL,
    created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash BLOB PRIMARY KEY, client_id TEXT NOT NULL, user_id INTEGER NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, owner_id INTEGER NOT NULL,
    name TEXT NOT NULL, username TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '', identifier_code TEXT NOT NULL DEFAULT '',
    file_name TEXT NOT NULL DEFAULT '', media_type TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0, sealed BLOB NOT NULL,
    active INTEGER NOT NULL DEFAULT 1, revision INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS items_owner ON items (owner_id, kind);
CREATE TABLE IF NOT EXISTS item_access (
    item_id INTEGER NOT NULL, principal TEXT NOT NULL, principal_id INTEGER NOT NULL,
    can_edit INTEGER NOT NULL, PRIMARY KEY (item_id, principal, principal_id));
CREATE INDEX IF NOT EXISTS item_access_principal ON item_access (principal, principal_id);
CREATE TABLE IF NOT EXISTS shares (
    id_hash BLOB PRIMARY KEY, id_prefix TEXT NOT NULL, owner_id INTEGER NOT NULL,
    kind TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', ciphertext BLOB,
    password_protected INTEGER NOT NULL, kdf_salt TEXT NOT NULL DEFAULT '',
    proof_hash BLOB NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL,
    max_views INTEGER NOT NULL, views_used INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0,
    last_access_at REAL);
CREATE INDEX IF NOT EXISTS shares_owner ON shares (owner_id);
"""

# Plain columns: what list rows show and filter on. Everything else of an item is sealed.
PLAIN = ("name", "username", "url", "tags", "identifier_code", "file_name", "media_type", "size")
# List rows leave the sealed blob on disk: a 10k-row list should not read every secret.
_LIST_COLUMNS = ", ".join(
    f"i.{c}"
    for c in (*PLAIN, "id", "kind", "owner_id", "active", "revision", "created_at", "updated_at")
)
MAX_FAILED_PROOFS = 10  # wrong passwords before a share is destroyed


class SQLiteStore:
    """The embedded store. `clock` returns epoch seconds (tests move it)."""

    def __init__(self, path: Path, server_key: bytes, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self._items_aead = Aead(hkdf(server_key, b"mysafe-server/items/v1"))
        self._lock = threading.Lock()  # one writer connection, one writer at a time
        self._local = threading.local()  # a reader connection per thread (WAL: no waiting)
        self._readers: list[sqlite3.Connection] = []
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._conn = self._connect()
        self._conn.execute("PRAGMA journal_mode=WAL")
        with self._lock:
            self._conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in ("synchronous=FULL", "secure_delete=ON", "busy_timeout=5000"):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in [self._conn, *self._readers]:
                conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One explicit write transaction (BEGIN IMMEDIATE: the writer lock up front)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot on this thread's own connection; never waits for the writer."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._readers.append(conn)
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # --- users, groups, access keys, tokens ------------------------------------------------

    def add_user(self, name: str) -> int:
        with self._write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise invalid(f"user {name} already exists")
            cur = db.execute(
                "INSERT INTO users (name, created_at) VALUES (?, ?)", (name, self.clock())
            )
            return int(cur.lastrowid or 0)

    def list_users(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                "SELECT u.name, (SELECT COUNT(*) FROM access_keys k WHERE k.user_id = u.id "
                "AND k.revoked = 0) AS keys FROM users u ORDER BY u.name"
            ).fetchall()
        return [dict(row) for row in rows]

    def add_group(self, name: str, members: list[str]) -> None:
        with self._write() as db:
            row = db.execute("SELECT id FROM groups_ WHERE name = ?", (name,)).fetchone()
            group_id = (
                row["id"]
                if row
                else db.execute("INSERT INTO groups_ (name) VALUES (?)", (name,)).lastrowid
            )
            for member in members:
                user_id = self._user_id(db, member)
                db.execute(
                    "INSERT INTO group_members (group_id, user_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (group_id, user_id),
                )

    def _user_id(self, db: sqlite3.Connection, name: str) -> int:
        row = db.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise invalid(f"no user named {name}")
        return int(row["id"])

    def create_key(self, user: str) -> tuple[str, str]:
        """A new access key; the secret is returned once and only its hash is kept."""
        client_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(32)
        with self._write() as db:
            user_id = self._user_id(db, user)
            db.execute(
                "INSERT INTO access_keys (client_id, secret_hash, user_id, created_at) "
                "VALUES (?, ?, ?, ?)",
                (client_id, sha256(secret.encode()), user_id, self.clock()),
            )
        return client_id, secret

    def revoke_key(self, client_id: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE access_keys SET revoked = 1 WHERE client_id = ? AND revoked = 0",
                (client_id,),
            )
            db.execute("DELETE FROM tokens WHERE client_id = ?", (client_id,))
            return cur.rowcount > 0

    def list_keys(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                "SELECT k.client_id, u.name AS user, k.created_at, k.revoked "
                "FROM access_keys k JOIN users u ON u.id = k.user_id "
                "ORDER BY u.name, k.created_at"
            ).fetchall()
        return [dict(row) for row in rows]

    def issue_token(self, client_id: str, secret: str, ttl: int) -> str | None:
        """A bearer token for a valid, unrevoked key; None for bad credentials."""
        with self._read() as db:
            row = db.execute(
                "SELECT secret_hash, user_id FROM access_keys WHERE client_id = ? AND revoked = 0",
                (client_id,),
            ).fetchone()
        expected = row["secret_hash"] if row else sha256(b"no such key")
        if not hmac.compare_digest(expected, sha256(secret.encode())) or row is None:
            return None
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._write() as db:
            db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now,))
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?)",
                (sha256(token.encode()), client_id, row["user_id"], now + ttl),
            )
        return token

    def user_for_token(self, token: str) -> int | None:
        with self._read() as db:
            row = db.execute(
                "SELECT user_id FROM tokens WHERE token_hash = ? AND expires_at > ?",
                (sha256(token.encode()), self.clock()),
            ).fetchone()
        return None if row is None else int(row["user_id"])

    # --- items -----------------------------------------------------------------------------

    def _seal(self, kind: str, item_id: int, fields: dict[str, Any]) -> bytes:
        return self._items_aead.seal(
            json.dumps(fields).encode(), associated_data("item", kind, item_id)
        )

    def _open(self, row: sqlite3.Row) -> dict[str, Any]:
        try:
            raw = self._items_aead.open(
                row["sealed"], associated_data("item", row["kind"], row["id"])
            )
        except AuthenticationFailed:
            raise ApiError(500, "Unexpected error", status=500) from None
        value: dict[str, Any] = json.loads(raw)
        return value

    _VISIBLE = """
        SELECT {columns}, 1 AS can_write FROM items i WHERE i.owner_id = :user {filter}
        UNION ALL
        SELECT {columns}, MAX(a.can_edit) AS can_write FROM items i
          JOIN item_access a ON a.item_id = i.id
         WHERE i.owner_id <> :user {filter}
           AND ((a.principal = 'user' AND a.principal_id = :user) OR
                (a.principal = 'group' AND a.principal_id IN
                   (SELECT group_id FROM group_members WHERE user_id = :user)))
         GROUP BY i.id"""

    def list_items(self, user_id: int, kind: str) -> list[dict[str, Any]]:
        """Every item of `kind` the user may see (active or not), without secrets."""
        sql = self._VISIBLE.format(columns=_LIST_COLUMNS, filter="AND i.kind = :kind")
        sql += " ORDER BY id"
        with self._read() as db:
            rows = db.execute(sql, {"user": user_id, "kind": kind}).fetchall()
        return [self._row(row) for row in rows]

    def _row(self, row: sqlite3.Row) -> dict[str, Any]:
        out = {name: row[name] for name in PLAIN}
        out.update(
            identifier=str(row["id"]),
            kind=row["kind"],
            owner_id=row["owner_id"],
            active=bool(row["active"]),
            revision=row["revision"],
            can_view=True,
            can_write=bool(row["can_write"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        return out

    def _visible_row(self, db: sqlite3.Connection, user_id: int, kind: str, item_id: str) -> Any:
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

    def _entity(self, db: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
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
        entity["groups_allowed"] = [
            {"name": r["name"], "can_edit": bool(r["can_edit"])}
            for r in db.execute(
                "SELECT g.name, a.can_edit FROM item_access a JOIN groups_ g ON "
                "g.id = a.principal_id WHERE a.item_id = ? AND a.principal = "
                "'group' ORDER BY g.name",
                (row["id"],),
            )
        ]
        return entity

    def get_item(
        self, user_id: int, kind: str, item_id: str, *, allow_inactive: bool = False
    ) -> dict[str, Any]:
        """The full entity, secrets included. Inactive items answer 1009 unless allowed."""
        with self._read() as db:
            row = self._visible_row(db, user_id, kind, item_id)
            if not row["active"] and not allow_inactive:
                raise inactive(kind)
            return self._entity(db, row)

    def create_item(
        self,
        user_id: int,
        kind: str,
        plain: dict[str, Any],
        sealed: dict[str, Any],
        sharing: Sharing | None,
    ) -> tuple[dict[str, Any], list[str]]:
        now = self.clock()
        with self._write() as db:
            if kind == "secretapi" and plain.get("identifier_code"):
                self._check_identifier_code(db, user_id, plain["identifier_code"], None)
            columns = ", ".join(plain)
            marks = ", ".join("?" for _ in plain)
            cur = db.execute(
                f"INSERT INTO items (kind, owner_id, sealed, created_at, updated_at, {columns}) "
                f"VALUES (?, ?, ?, ?, ?, {marks})",
                (kind, user_id, b"", now, now, *plain.values()),
            )
            item_id = int(cur.lastrowid or 0)
            db.execute(
                "UPDATE items SET sealed = ? WHERE id = ?",
                (self._seal(kind, item_id, sealed), item_id),
            )
            errors = self._apply_sharing(db, item_id, sharing) if sharing else []
            row = self._visible_row(db, user_id, kind, str(item_id))
            return self._entity(db, row), errors

    def _check_identifier_code(
        self, db: sqlite3.Connection, user_id: int, code: str, item_id: int | None
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

    def _apply_sharing(self, db: sqlite3.Connection, item_id: int, sharing: Sharing) -> list[str]:
        """Replace the given principal lists; unknown names are reported, not fatal."""
        errors: list[str] = []
        for principal, table, entries in (
            ("user", "users", sharing.users),
            ("group", "groups_", sharing.groups),
        ):
            if entries is None:
                continue
            db.execute(
                "DELETE FROM item_access WHERE item_id = ? AND principal = ?", (item_id, principal)
            )
            for name, can_edit in entries:
                found = db.execute(f"SELECT id FROM {table} WHERE name = ?", (name,)).fetchone()
                if found is None:
                    errors.append(f"{principal} {name} not found")
                    continue
                db.execute(
                    "INSERT INTO item_access VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (item_id, principal, found["id"], int(can_edit)),
                )
        return errors

    # --- shares ----------------------------------------------------------------------------

    def create_share(self, owner_id: int, share_id: str, share: dict[str, Any]) -> None:
        now = self.clock()
        with self._write() as db:
            if db.execute(
                "SELECT 1 FROM shares WHERE id_hash = ?", (sha256(share_id.encode()),)
            ).fetchone():
                raise invalid("share_id already used")
            db.execute(
                "INSERT INTO shares (id_hash, id_prefix, owner_id, kind, label, ciphertext, "
                "password_protected, kdf_salt, proof_hash, created_at, expires_at, max_views) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sha256(share_id.encode()),
                    share_id[:6],
                    owner_id,
                    share["kind"],
                    share["label"],
                    share["ciphertext"],
                    int(share["password_protected"]),
                    share["kdf_salt"],
                    share["proof_hash"],
                    now,
                    share["expires_at"],
                    share["max_views"],
                ),
            )

    def list_shares(self, owner_id: int) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                "SELECT * FROM shares WHERE owner_id = ? ORDER BY created_at DESC", (owner_id,)
            ).fetchall()
        return [self._share_status(row) for row in rows]

    def _share_status(self, row: sqlite3.Row) -> dict[str, Any]:
        state = _share_state(row, self.clock())
        return {
            "share_hash": row["id_hash"].hex(),
            "share_id_prefix": row["id_prefix"],
            "kind": row["kind"],
            "label": row["label"],
            "status": state,
            "created_at": row["created_at"],
            "expires_at": row["expires_at"],
            "max_views": row["max_views"],
            "views_used": row["views_used"],
            "views_left": max(0, row["max_views"] - row["views_used"]) if state == "active" else 0,
            "revoked": bool(row["revoked"]),
            "last_access_at": row["last_access_at"],
            "password_protected": bool(row["password_protected"]),
        }

    def revoke_share(self, owner_id: int, share_id: str) -> dict[str, Any]:
        with self._write() as db:
            cur = db.execute(
                "UPDATE shares SET revoked = 1, ciphertext = NULL WHERE id_hash = ? "
                "AND owner_id = ?",
                (sha256(share_id.encode()), owner_id),
            )
            if cur.rowcount == 0:
                raise ApiError(1005, "1005: Share not found")
            row = db.execute(
                "SELECT * FROM shares WHERE id_hash = ?", (sha256(share_id.encode()),)
            ).fetchone()
            return self._share_status(row)

    def share_status(self, share_id: str) -> dict[str, Any]:
        """Public status: no ciphertext, no owner. Expired ciphertext is dropped on the way."""
        id_hash = sha256(share_id.encode())
        with self._write() as db:
            db.execute(
                "UPDATE shares SET ciphertext = NULL WHERE id_hash = ? AND expires_at <= ? "
                "AND ciphertext IS NOT NULL",
                (id_hash, self.clock()),
            )
            row = db.execute("SELECT * FROM shares WHERE id_hash = ?", (id_hash,)).fetchone()
        if row is None:
            raise ShareGone("missing")
        status = self._share_status(row)
        status["kdf_salt"] = row["kdf_salt"]
        for private in ("share_hash", "share_id_prefix", "label", "last_access_at", "created_at"):
            del status[private]
        return status

    def reveal_share(self, share_id: str, proof: bytes) -> tuple[bytes, dict[str, Any]]:
        """Atomically spend one view; the ciphertext goes with the last one.

        The conditional UPDATE is the whole guard: however many reveals race, only those that
        find `views_used < max_views` (and not expired, not revoked) get a row back. A wrong
        proof spends nothing but is counted, and committed, before the error goes out.
        """
        id_hash = sha256(share_id.encode())
        now = self.clock()
        gone: str | None = None
        with self._write() as db:
            row = db.execute(
                "SELECT proof_hash, failed_attempts FROM shares WHERE id_hash = ? "
                "AND ciphertext IS NOT NULL",
                (id_hash,),
            ).fetchone()
            wrong = row is not None and not hmac.compare_digest(row["proof_hash"], sha256(proof))
            if wrong:
                failed = row["failed_attempts"] + 1
                burn = ", revoked = 1, ciphertext = NULL" if failed >= MAX_FAILED_PROOFS else ""
                db.execute(
                    f"UPDATE shares SET failed_attempts = ?, last_access_at = ?{burn} "
                    "WHERE id_hash = ?",
                    (failed, now, id_hash),
                )
            else:
                won = db.execute(
                    "UPDATE shares SET views_used = views_used + 1, last_access_at = ? "
                    "WHERE id_hash = ? AND revoked = 0 AND expires_at > ? "
                    "AND views_used < max_views AND ciphertext IS NOT NULL "
                    "RETURNING ciphertext, views_used, max_views, kind",
                    (now, id_hash, now),
                ).fetchone()
                if won is None:
                    current = db.execute(
                        "SELECT * FROM shares WHERE id_hash = ?", (id_hash,)
                    ).fetchone()
                    gone = "missing" if current is None else _share_state(current, now)
                    if gone == "expired":  # deleted on access, not only by the periodic purge
                        db.execute(
                            "UPDATE shares SET ciphertext = NULL WHERE id_hash = ?", (id_hash,)
                        )
                elif won["views_used"] >= won["max_views"]:
                    db.execute("UPDATE shares SET ciphertext = NULL WHERE id_hash = ?", (id_hash,))
        if wrong:
            raise ApiError(1006, "1006: Wrong password", status=403)
        if gone is not None:
            raise ShareGone(gone)
        return bytes(won["ciphertext"]), {
            "kind": won["kind"],
            "views_left": won["max_views"] - won["views_used"],
        }

    def purge_expired_shares(self) -> int:
        """Hard-delete the ciphertext of every expired share; returns how many went."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE shares SET ciphertext = NULL WHERE expires_at <= ? AND "
                "ciphertext IS NOT NULL",
                (self.clock(),),
            )
            db.execute("DELETE FROM tokens WHERE expires_at <= ?", (self.clock(),))
            return cur.rowcount


class Sharing:
    """Internal sharing from a request: None for a list means 'leave as it is'."""

    def __init__(
        self, users: list[tuple[str, bool]] | None, groups: list[tuple[str, bool]] | None
    ) -> None:
        self.users = users
        self.groups = groups


def _share_state(row: sqlite3.Row, now: float) -> str:
    if row["revoked"]:
        return "revoked"
    if row["views_used"] >= row["max_views"]:
        return "used_up"
    if row["expires_at"] <= now or row["ciphertext"] is None:
        return "expired"
    return "active"

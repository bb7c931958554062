"""The server's accounts: users, groups, access keys and the bearer tokens they are
exchanged for (part of `SQLStore`, store.py)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from mysafe_tui.core.crypto import sha256
from mysafe_tui.server.database import Connection, Database
from mysafe_tui.server.errors import invalid
from mysafe_tui.server.keys import KeyLimits


class AccountStore(Database):
    """Users, groups, access keys and tokens over the server's database."""

    def add_user(self, name: str) -> int:
        with self._write() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise invalid(f"user {name} already exists")
            cur = db.execute(
                "INSERT INTO users (name, created_at) VALUES (?, ?) RETURNING id",
                (name, self.clock()),
            )
            return int(cur.fetchone()[0])

    def user_name(self, user_id: int) -> str:
        with self._read() as db:
            row = db.execute("SELECT name FROM users WHERE id = ?", (user_id,)).fetchone()
        return str(row["name"]) if row else ""

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
                else db.execute(
                    "INSERT INTO groups_ (name) VALUES (?) RETURNING id", (name,)
                ).fetchone()[0]
            )
            for member in members:
                user_id = self._user_id(db, member)
                db.execute(
                    "INSERT INTO group_members (group_id, user_id) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (group_id, user_id),
                )

    def _user_id(self, db: Connection, name: str) -> int:
        row = db.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise invalid(f"no user named {name}")
        return int(row["id"])

    def create_key(self, user: str, limits: KeyLimits | None = None) -> tuple[str, str]:
        """A new access key; the secret is returned once and only its hash is kept."""
        client_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(32)
        with self._write() as db:
            user_id = self._user_id(db, user)
            db.execute(
                "INSERT INTO access_keys (client_id, secret_hash, user_id, created_at, "
                "allow_ips, expires_at, scope, read_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    client_id,
                    sha256(secret.encode()),
                    user_id,
                    self.clock(),
                    *(limits or KeyLimits()).columns(),
                ),
            )
        return client_id, secret

    def revoke_key(self, client_id: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE access_keys SET revoked = 1 WHERE client_id = ? AND revoked = 0",
                (client_id,),
            )
            db.execute("DELETE FROM tokens WHERE client_id = ?", (client_id,))
            return bool(cur.rowcount > 0)

    def list_keys(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                'SELECT k.client_id, u.name AS "user", k.created_at, k.revoked, k.allow_ips, '
                "k.expires_at, k.scope, k.read_only, k.refused, k.last_used_at "
                "FROM access_keys k JOIN users u ON u.id = k.user_id "
                "ORDER BY u.name, k.created_at"
            ).fetchall()
        return [
            {
                "client_id": row["client_id"],
                "user": row["user"],
                "created_at": row["created_at"],
                "revoked": bool(row["revoked"]),
                "limits": KeyLimits.of_row(row),
                "refused": int(row["refused"]),
                "last_used_at": row["last_used_at"],
            }
            for row in rows
        ]

    def key_refused(self, client_id: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE access_keys SET refused = refused + 1 WHERE client_id = ?", (client_id,)
            )

    def key_used(self, client_id: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE access_keys SET last_used_at = ? WHERE client_id = ?",
                (self.clock(), client_id),
            )

    def issue_token(self, client_id: str, secret: str, ttl: int) -> tuple[str, KeyLimits] | None:
        """A bearer token for a valid, unrevoked key ("" when it expired), and the key's
        limits (the caller checks the rest: they depend on the request); None for bad
        credentials."""
        with self._read() as db:
            row = db.execute(
                "SELECT secret_hash, user_id, allow_ips, expires_at, scope, read_only "
                "FROM access_keys WHERE client_id = ? AND revoked = 0",
                (client_id,),
            ).fetchone()
        expected = row["secret_hash"] if row else sha256(b"no such key")
        if not hmac.compare_digest(expected, sha256(secret.encode())) or row is None:
            return None
        limits = KeyLimits.of_row(row)
        if limits.expired(self.clock()):  # no token: the caller says why
            return "", limits
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._write() as db:
            db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now,))
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?)",
                (sha256(token.encode()), client_id, row["user_id"], now + ttl),
            )
        return token, limits

    def token_holder(self, token: str) -> Holder | None:
        """Who holds a live token: the user, the access key and the key's limits."""
        with self._read() as db:
            row = db.execute(
                "SELECT t.user_id, t.client_id, k.allow_ips, k.expires_at, k.scope, "
                "k.read_only FROM tokens t JOIN access_keys k ON k.client_id = t.client_id "
                "WHERE t.token_hash = ? AND t.expires_at > ?",
                (sha256(token.encode()), self.clock()),
            ).fetchone()
        if row is None:
            return None
        return Holder(int(row["user_id"]), str(row["client_id"]), KeyLimits.of_row(row))


@dataclass(frozen=True)
class Holder:
    user_id: int
    client_id: str
    limits: KeyLimits

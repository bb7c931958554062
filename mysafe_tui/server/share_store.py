"""Share links in the database (DESIGN.md §5): ciphertext and policy, never a key."""

from __future__ import annotations

import hmac
import re
import sqlite3
from typing import Any

from ..core.crypto import sha256
from .database import Database
from .errors import ApiError, ShareGone, invalid

MAX_FAILED_PROOFS = 10  # wrong passwords before a share is destroyed


class ShareStore(Database):
    """Create, list, revoke, reveal and purge shares. Ids are stored only as SHA-256."""

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
        """Revoke by share id, or by the `share_hash` a listing gives (an owner who lost the
        link can still kill it)."""
        if re.fullmatch(r"[0-9a-f]{64}", share_id):
            id_hash = bytes.fromhex(share_id)
        else:
            id_hash = sha256(share_id.encode())
        with self._write() as db:
            cur = db.execute(
                "UPDATE shares SET revoked = 1, ciphertext = NULL WHERE id_hash = ? "
                "AND owner_id = ?",
                (id_hash, owner_id),
            )
            if cur.rowcount == 0:
                raise ApiError(1005, "1005: Share not found")
            self._content_deleted()
            row = db.execute("SELECT * FROM shares WHERE id_hash = ?", (id_hash,)).fetchone()
            return self._share_status(row)

    def share_status(self, share_id: str) -> dict[str, Any]:
        """Public status: no ciphertext, no owner. Expired ciphertext is dropped on the way."""
        id_hash = sha256(share_id.encode())
        with self._write() as db:
            expired = db.execute(
                "UPDATE shares SET ciphertext = NULL WHERE id_hash = ? AND expires_at <= ? "
                "AND ciphertext IS NOT NULL",
                (id_hash, self.clock()),
            )
            if expired.rowcount:
                self._content_deleted()
            row = db.execute("SELECT * FROM shares WHERE id_hash = ?", (id_hash,)).fetchone()
        if row is None:
            raise ShareGone("missing")
        status = self._share_status(row)
        status["kdf_salt"] = row["kdf_salt"]
        # So that a recipient can check for room before spending a view (`mysafe open`).
        status["size"] = len(row["ciphertext"] or b"")
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
                if burn:
                    self._content_deleted()
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
                        self._content_deleted()
                elif won["views_used"] >= won["max_views"]:
                    db.execute("UPDATE shares SET ciphertext = NULL WHERE id_hash = ?", (id_hash,))
                    self._content_deleted()
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
            if cur.rowcount:
                self._content_deleted()
            return cur.rowcount


def _share_state(row: sqlite3.Row, now: float) -> str:
    if row["revoked"]:
        return "revoked"
    if row["views_used"] >= row["max_views"]:
        return "used_up"
    if row["expires_at"] <= now or row["ciphertext"] is None:
        return "expired"
    return "active"

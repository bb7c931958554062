"""Share links in the database (DESIGN.md §5): ciphertext and policy, never a key."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any, BinaryIO

from mysafe_tui.core.crypto import sha256
from mysafe_tui.server.database import Connection, Database
from mysafe_tui.server.errors import ApiError, ShareGone, ShareRefused, invalid
from mysafe_tui.server.mailer import masked

MAX_FAILED_PROOFS = 10  # wrong passwords before a share is destroyed
# A stranger (no key) waits 1, 2, 4... seconds per link and source after each miss, at most an
# hour; a source quiet for a day starts again from 1.
STRANGER_CAP = 3600.0
STRANGER_MEMORY = 86400.0
# Recipient-verified links: a code lives 10 minutes; the fifth wrong one destroys the link; a
# recipient has a new code mailed at most every 30 s and 10 times (the owner's resend renews).
CODE_TTL = 600.0
MAX_WRONG_CODES = 5
CODE_GAP = 30.0
MAX_CODES_SENT = 10
_MISSES = {
    "password": ("failed_attempts", MAX_FAILED_PROOFS),
    "code": ("code_failures", MAX_WRONG_CODES),
}
# What the public status leaves out of a share's status: only its owner sees these.
_PRIVATE = (
    "share_hash",
    "share_id_prefix",
    "label",
    "last_access_at",
    "created_at",
    "recipient",
    "mail_status",
    "code_failures",
)
COPY_CHUNK = 3 * 64 * 1024  # a multiple of 3: base64 of the chunks joins into base64 of all
# A share's content lives in `share_chunks`, 192 KiB a row, so that no row is ever large:
# SQLite rebuilds a whole row to change one column of it (a view counted on a 100 MiB row
# cost 200 MiB of memory). `shares.ciphertext` is only the mark that content exists (empty;
# NULL once deleted), or the content itself for shares made before the chunks table.
# Every column of a share but its content, whose size stands in (NULL: deleted).
_STATUS = (
    "id_hash, id_prefix, owner_id, kind, label, password_protected, created_at, expires_at, "
    "max_views, views_used, failed_attempts, revoked, last_access_at, recipient, "
    "code_failures, code_expires_at, mail_status, "
    "CASE WHEN ciphertext IS NULL THEN NULL ELSE length(ciphertext) + coalesce((SELECT "
    "sum(length(data)) FROM share_chunks c WHERE c.id_hash = shares.id_hash), 0) END AS size"
)


class ShareStore(Database):
    """Create, list, revoke, reveal and purge shares. Ids are stored only as SHA-256."""

    def spool(self) -> BinaryIO:
        """A private temporary file beside the database (on its disk, not in memory; gone
        from the folder from the start, and with the process whatever happens)."""
        import tempfile

        return tempfile.TemporaryFile(dir=self.spool_dir)

    def create_share(self, owner_id: int, share_id: str, share: dict[str, Any]) -> None:
        now = self.clock()
        with self._write() as db:
            if db.execute(
                "SELECT 1 FROM shares WHERE id_hash = ?", (sha256(share_id.encode()),)
            ).fetchone():
                raise invalid("share_id already used")
            id_hash = sha256(share_id.encode())
            db.execute(
                "INSERT INTO shares (id_hash, id_prefix, owner_id, kind, label, ciphertext, "
                "password_protected, kdf_salt, proof_hash, holder_hash, created_at, expires_at, "
                "max_views, recipient) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    id_hash,
                    share_id[:6],
                    owner_id,
                    share["kind"],
                    share["label"],
                    b"",
                    int(share["password_protected"]),
                    share["kdf_salt"],
                    share["proof_hash"],
                    share["holder_hash"],
                    now,
                    share["expires_at"],
                    share["max_views"],
                    share.get("recipient", ""),
                ),
            )
            content: BinaryIO = share["ciphertext"]
            for seq, chunk in enumerate(iter(lambda: content.read(COPY_CHUNK), b"")):
                db.execute(
                    "INSERT INTO share_chunks (id_hash, seq, data) VALUES (?, ?, ?)",
                    (id_hash, seq, chunk),
                )

    def list_shares(self, owner_id: int) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_STATUS} FROM shares WHERE owner_id = ? ORDER BY created_at DESC",
                (owner_id,),
            ).fetchall()
        return [self._share_status(row) for row in rows]

    def _share_status(self, row: Any) -> dict[str, Any]:
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
            "recipient": row["recipient"],
            "mail_status": row["mail_status"],
            "code_failures": row["code_failures"],
        }

    def revoke_share(self, owner_id: int, share_id: str) -> dict[str, Any]:
        """Revoke by share id, or by the `share_hash` a listing gives (an owner who lost the
        link can still kill it)."""
        id_hash = share_id_hash(share_id)
        with self._write() as db:
            cur = db.execute(
                "UPDATE shares SET revoked = 1 WHERE id_hash = ? AND owner_id = ?",
                (id_hash, owner_id),
            )
            if cur.rowcount == 0:
                raise ApiError(1005, "1005: Share not found")
            self._drop_content(db, "id_hash = ?", id_hash)
            row = db.execute(f"SELECT {_STATUS} FROM shares WHERE id_hash = ?", (id_hash,))
            return self._share_status(row.fetchone())

    def share_status(self, share_id: str) -> dict[str, Any]:
        """Public status: no ciphertext, no owner. Expired ciphertext is dropped on the way."""
        id_hash = sha256(share_id.encode())
        with self._write() as db:
            self._drop_content(db, "id_hash = ? AND expires_at <= ?", id_hash, self.clock())
            row = db.execute(
                f"SELECT {_STATUS}, kdf_salt FROM shares WHERE id_hash = ?", (id_hash,)
            ).fetchone()
        if row is None:
            raise ShareGone("missing")
        status = self._share_status(row)
        status["kdf_salt"] = row["kdf_salt"]
        # So that a recipient can check for room before spending a view (`mysafe open`).
        status["size"] = row["size"] or 0
        # A recipient-verified link: the page asks for a code, and says (masked) where it goes.
        status["code_required"] = bool(row["recipient"])
        status["recipient_hint"] = masked(row["recipient"]) if row["recipient"] else ""
        status["code_pending"] = row["code_expires_at"] > self.clock()
        for name in _PRIVATE:
            del status[name]
        return status

    def reveal_share(
        self, share_id: str, proof: bytes, holder: bytes, source: str, code: str = ""
    ) -> tuple[BinaryIO, dict[str, Any]]:
        """Atomically spend one view; the ciphertext goes with the last one. It is handed back
        as a private spool file (see `spool`), read in chunks: never whole in memory.

        The conditional UPDATE is the whole guard: however many reveals race, only those that
        find `views_used < max_views` (and not expired, not revoked) get a row back. A wrong
        holder proof (someone without the key) spends nothing, destroys nothing and makes that
        `source` wait longer each time (`_stranger`); a right holder proof with a wrong access
        proof is a mistyped password, counted, and the share destroyed at the tenth. Links made
        before the holder proof cannot tell the two apart: both count, and both wait. A
        recipient-verified link also wants the code last mailed to its recipient (`new_code`),
        checked after the holder proof: five wrong ones destroy it, and a view spends the code.
        """
        id_hash = sha256(share_id.encode())
        now = self.clock()
        gone: str | None = None
        with self._write() as db:
            row = db.execute(
                "SELECT proof_hash, holder_hash, failed_attempts, recipient, code_hash, "
                "code_expires_at, code_failures FROM shares WHERE id_hash = ? "
                "AND ciphertext IS NOT NULL",
                (id_hash,),
            ).fetchone()
            refused: ShareRefused | None = None
            if row is not None:
                known = row["holder_hash"]
                holder_ok = known is not None and hmac.compare_digest(known, sha256(holder))
                if not holder_ok:
                    refused = self._waiting(db, id_hash, source, now)
                elif row["recipient"]:
                    refused = self._wrong_code(db, id_hash, row, code, now)
                if refused is None and not hmac.compare_digest(row["proof_hash"], sha256(proof)):
                    if not holder_ok:
                        self._stranger(db, id_hash, source, now)
                    if holder_ok or known is None:
                        refused = self._missed(db, id_hash, "password", row["failed_attempts"], now)
                    else:
                        refused = ShareRefused("link")
            if refused is None:
                won = db.execute(
                    "UPDATE shares SET views_used = views_used + 1, last_access_at = ?, "
                    "code_hash = NULL, code_expires_at = 0 "
                    "WHERE id_hash = ? AND revoked = 0 AND expires_at > ? "
                    "AND views_used < max_views AND ciphertext IS NOT NULL "
                    "RETURNING ciphertext, views_used, max_views, kind",
                    (now, id_hash, now),
                ).fetchone()
                if won is not None:  # out to a private spool file before it may be deleted
                    content = self.spool()
                    content.write(won["ciphertext"])  # a share from before the chunks table
                    for (chunk,) in db.execute(
                        "SELECT data FROM share_chunks WHERE id_hash = ? ORDER BY seq", (id_hash,)
                    ):
                        content.write(chunk)
                    content.seek(0)
                if won is None:
                    current = db.execute(
                        f"SELECT {_STATUS} FROM shares WHERE id_hash = ?", (id_hash,)
                    ).fetchone()
                    gone = "missing" if current is None else _share_state(current, now)
                    if gone == "expired":  # deleted on access, not only by the periodic purge
                        self._drop_content(db, "id_hash = ?", id_hash)
                elif won["views_used"] >= won["max_views"]:
                    self._drop_content(db, "id_hash = ?", id_hash)
        if refused is not None:
            raise refused
        if gone is not None:
            raise ShareGone(gone)
        return content, {
            "kind": won["kind"],
            "views_left": won["max_views"] - won["views_used"],
        }

    def _wrong_code(
        self, db: Connection, id_hash: bytes, row: Any, code: str, now: float
    ) -> ShareRefused | None:
        """Inside a write: why the code given for a recipient-verified link does not open it
        (None: it does). No code mailed, or one past its time, counts nothing."""
        if not code or row["code_hash"] is None or row["code_expires_at"] <= now:
            return ShareRefused("code_needed")
        if hmac.compare_digest(row["code_hash"], _code_hash(id_hash, code)):
            return None
        return self._missed(db, id_hash, "code", row["code_failures"], now)

    def new_code(self, share_id: str, holder: bytes, source: str) -> tuple[str, str]:
        """A fresh 8-digit code for a recipient-verified link (the last one stops working),
        asked for by someone holding its key: (the recipient's address, the code). Someone
        without the key is refused and slowed down like a reveal's stranger."""
        id_hash = sha256(share_id.encode())
        now = self.clock()
        with self._write() as db:
            row = db.execute(
                f"SELECT {_STATUS}, holder_hash, codes_sent FROM shares WHERE id_hash = ?",
                (id_hash,),
            ).fetchone()
            if row is None:
                raise ShareGone("missing")
            state = _share_state(row, now)
            if state != "active":
                raise ShareGone(state)
            known = row["holder_hash"]
            since = now - (row["code_expires_at"] - CODE_TTL)  # since the last code was made
            refused: ShareRefused | None = None
            if known is None or not hmac.compare_digest(known, sha256(holder)):
                refused = self._waiting(db, id_hash, source, now)
                if refused is None:  # counted (a write kept), so refused after the block
                    self._stranger(db, id_hash, source, now)
                    refused = ShareRefused("link")
            elif not row["recipient"]:
                raise invalid("this link asks for no code")
            elif row["codes_sent"] >= MAX_CODES_SENT:
                refused = ShareRefused("codes")
            elif since < CODE_GAP:
                refused = ShareRefused("code_soon", retry_after=CODE_GAP - since)
            else:
                code = f"{secrets.randbelow(10**8):08d}"
                db.execute(
                    "UPDATE shares SET code_hash = ?, code_expires_at = ?, "
                    "codes_sent = codes_sent + 1 WHERE id_hash = ?",
                    (_code_hash(id_hash, code), now + CODE_TTL, id_hash),
                )
                return str(row["recipient"]), code
        assert refused is not None
        raise refused

    def recipient_share(self, owner_id: int, share_id: str) -> dict[str, Any]:
        """For the owner's resend: an active link of theirs with a recipient, whose count of
        codes a recipient may have mailed starts again."""
        id_hash = share_id_hash(share_id)
        with self._write() as db:
            row = db.execute(
                f"SELECT {_STATUS} FROM shares WHERE id_hash = ? AND owner_id = ?",
                (id_hash, owner_id),
            ).fetchone()
            if row is None:
                raise ApiError(1005, "1005: Share not found")
            state = _share_state(row, self.clock())
            if not row["recipient"]:
                raise invalid("that link has no recipient (it was made without one)")
            if state != "active":
                raise invalid(f"that link is {state.replace('_', ' ')}: make a new one")
            db.execute("UPDATE shares SET codes_sent = 0 WHERE id_hash = ?", (id_hash,))
        return {**self._share_status(row), "id_hash": id_hash}

    def set_mail_status(self, id_hash: bytes, status: str) -> None:
        """What became of the last mail about a link, for its owner's list."""
        with self._write() as db:
            db.execute(
                "UPDATE shares SET mail_status = ? WHERE id_hash = ?", (status[:200], id_hash)
            )

    def _waiting(
        self, db: Connection, id_hash: bytes, source: str, now: float
    ) -> ShareRefused | None:
        """Inside a write: the refusal for a `source` still waiting out its last miss."""
        row = db.execute(
            "SELECT blocked_until FROM share_strangers WHERE id_hash = ? AND source = ?",
            (id_hash, source),
        ).fetchone()
        if row is None or row["blocked_until"] <= now:
            return None
        return ShareRefused("wait", retry_after=row["blocked_until"] - now)

    def _stranger(self, db: Connection, id_hash: bytes, source: str, now: float) -> None:
        """Inside a write: one more miss by `source` on this link; its next try waits twice as
        long as the last (1 s, 2 s, 4 s... an hour at most)."""
        row = db.execute(
            "SELECT failures, blocked_until FROM share_strangers WHERE id_hash = ? AND source = ?",
            (id_hash, source),
        ).fetchone()
        fresh = row is None or row["blocked_until"] + STRANGER_MEMORY <= now
        failures = 1 if fresh else row["failures"] + 1
        blocked_until = now + min(STRANGER_CAP, 2.0 ** min(failures - 1, 20))
        db.execute(
            "INSERT INTO share_strangers (id_hash, source, failures, blocked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (id_hash, source) DO UPDATE SET "
            "failures = excluded.failures, blocked_until = excluded.blocked_until",
            (id_hash, source, failures, blocked_until),
        )

    def _missed(
        self, db: Connection, id_hash: bytes, what: str, failed: int, now: float
    ) -> ShareRefused:
        """Inside a write: one more wrong `what` ("password": the tenth destroys the share;
        "code": the fifth)."""
        column, limit = _MISSES[what]
        failed += 1
        burn = failed >= limit
        db.execute(
            f"UPDATE shares SET {column} = ?, last_access_at = ?, "
            "revoked = CASE WHEN ? THEN 1 ELSE revoked END WHERE id_hash = ?",
            (failed, now, burn, id_hash),
        )
        if burn:
            self._drop_content(db, "id_hash = ?", id_hash)
        return ShareRefused(what, attempts_left=limit - failed)

    def purge_expired_shares(self) -> int:
        """Hard-delete the ciphertext of every expired share; returns how many went."""
        with self._write() as db:
            now = self.clock()
            db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now,))
            db.execute(
                "DELETE FROM share_strangers WHERE blocked_until <= ?", (now - STRANGER_MEMORY,)
            )
            return self._drop_content(db, "expires_at <= ?", now)

    def _drop_content(self, db: Connection, where: str, *args: Any) -> int:
        """Inside a write: hard-delete the content of the shares matching `where` (chunks
        and the mark); returns how many shares lost it."""
        gone = db.execute(
            f"UPDATE shares SET ciphertext = NULL WHERE ciphertext IS NOT NULL AND {where} "
            "RETURNING id_hash",
            args,
        ).fetchall()
        for (id_hash,) in gone:
            db.execute("DELETE FROM share_chunks WHERE id_hash = ?", (id_hash,))
            db.execute("DELETE FROM share_strangers WHERE id_hash = ?", (id_hash,))
        if gone:
            self._content_deleted()
        return len(gone)


def _share_state(row: Any, now: float) -> str:
    if row["revoked"]:
        return "revoked"
    if row["views_used"] >= row["max_views"]:
        return "used_up"
    if row["expires_at"] <= now or row["size"] is None:
        return "expired"
    return "active"


def _code_hash(id_hash: bytes, code: str) -> bytes:
    """A code is kept as a hash bound to its link (and the digits only: `1234 5678` works)."""
    return sha256(id_hash + "".join(c for c in code if c.isdigit()).encode())


def share_id_hash(share_id: str) -> bytes:
    """What a share is stored under: the hash of its id, or that hash as a listing gives it
    (64 hex digits: an owner who lost the link can still name it)."""
    if re.fullmatch(r"[0-9a-f]{64}", share_id):
        return bytes.fromhex(share_id)
    return sha256(share_id.encode())

"""The server's SQLite database: schema, connections and explicit transactions.

The SQL stays portable (no SQLite-only functions, `BEGIN IMMEDIATE`-style write transactions,
integer and blob columns only) so a PostgreSQL implementation of `store.Store` can follow.
One writer connection behind a lock; each thread reads on its own connection (WAL readers never
wait for the writer), so short reads can run on the event loop and long ones in a worker thread.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY, item_id INTEGER, share_hash BLOB, at REAL NOT NULL,
    event TEXT NOT NULL, user_id INTEGER, client_id TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS history_item ON history (item_id, at);
CREATE INDEX IF NOT EXISTS history_share ON history (share_hash, at);
CREATE INDEX IF NOT EXISTS history_at ON history (at);
CREATE TABLE IF NOT EXISTS share_chunks (
    id_hash BLOB NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (id_hash, seq)) WITHOUT ROWID;
"""


class Database:
    """Connections and transactions; `clock` returns epoch seconds (tests move it)."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()  # one writer connection, one writer at a time
        self._local = threading.local()  # a reader connection per thread (WAL: no waiting)
        self._readers: list[sqlite3.Connection] = []
        self._scrub = False
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
            self._scrub = False
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            if self._scrub:
                # secure_delete zeroes the freed pages in the database file, but the old page
                # images stay readable in the write-ahead log until a checkpoint rewinds it.
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _content_deleted(self) -> None:
        """Inside `_write`: content was hard-deleted; leave no copy of it in the log."""
        self._scrub = True

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

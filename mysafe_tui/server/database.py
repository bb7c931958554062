"""The server's database: schema and its versions, connections and explicit transactions, on
SQLite (embedded, the default) or PostgreSQL (several `mysafe serve` processes on several hosts
over one database).

The stores write one SQL for both: `?` and `:name` placeholders, `RETURNING`, `ON CONFLICT`,
integer, real, text and blob columns. `PostgresBackend` turns the placeholders into psycopg's and
the column types into PostgreSQL's. Writes are serialised as SQLite serialises them: on SQLite
one writer connection behind a lock, on PostgreSQL a transaction-scoped advisory lock taken
first, so that every read-then-write (a view counted, a revision checked, a purge) is as atomic
across instances as it is inside one. Reads never wait for the writer (SQLite's WAL readers,
PostgreSQL's snapshots).
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

# Each version's statements, applied in order at start; the number is kept in schema_version.
MIGRATIONS: dict[int, str] = {
    1: """
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
    PRIMARY KEY (id_hash, seq));
""",
    # File contents move into the database (from files/ beside it: see `FileChunks`), so that
    # every instance over one database serves every file.
    2: """
CREATE TABLE IF NOT EXISTS file_chunks (
    blob TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (blob, seq));
""",
    # Share links tell a recipient from a stranger (sharing.md): the hash of the holder proof
    # (NULL for links made before it), and each stranger's failures per link and source.
    3: """
ALTER TABLE shares ADD COLUMN holder_hash BLOB;
CREATE TABLE IF NOT EXISTS share_strangers (
    id_hash BLOB NOT NULL, source TEXT NOT NULL, failures INTEGER NOT NULL,
    blocked_until REAL NOT NULL, PRIMARY KEY (id_hash, source));
""",
    # A create sent again (a client's outbox retried after a lost answer) finds the item the
    # first one made: the client's key for it, one item per owner and key.
    4: """
ALTER TABLE items ADD COLUMN client_ref TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX IF NOT EXISTS items_client_ref ON items (owner_id, client_ref)
    WHERE client_ref <> '';
""",
    # A "shared" event names whom the item is shared with after it, and their rights.
    5: """
ALTER TABLE history ADD COLUMN detail TEXT NOT NULL DEFAULT '';
""",
    # Scoped access keys (server/keys.py): addresses, expiry, items, read only; refusals
    # counted and the last use kept.
    6: """
ALTER TABLE access_keys ADD COLUMN allow_ips TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN expires_at REAL NOT NULL DEFAULT 0;
ALTER TABLE access_keys ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_keys ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_keys ADD COLUMN last_used_at REAL;
""",
    # Personal groups: each user's own, to share with (server/group_store.py).
    7: """
CREATE TABLE IF NOT EXISTS personal_groups (
    id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, UNIQUE (owner_id, name));
CREATE TABLE IF NOT EXISTS personal_members (
    group_id INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (group_id, user_id));
""",
    # Recipient-verified links (server/recipients.py): the address a code goes to, the code's
    # hash and end, wrong codes, codes sent, and what became of the last mail.
    8: """
ALTER TABLE shares ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
ALTER TABLE shares ADD COLUMN code_hash BLOB;
ALTER TABLE shares ADD COLUMN code_expires_at REAL NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN code_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN codes_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN mail_status TEXT NOT NULL DEFAULT '';
""",
    # The day each user last used each item, sent by their clients at sync (server/uses.py).
    9: """
CREATE TABLE IF NOT EXISTS item_uses (
    user_id INTEGER NOT NULL, item_id INTEGER NOT NULL, day INTEGER NOT NULL,
    PRIMARY KEY (user_id, item_id));
""",
}
SCHEMA_VERSION = max(MIGRATIONS)
TABLES = ("users", "groups_", "group_members", "access_keys", "tokens", "items", "item_access",
          "shares", "history", "share_chunks", "file_chunks", "share_strangers",
          "personal_groups", "personal_members", "item_uses")  # fmt: skip
# The one lock every PostgreSQL write transaction takes first (an arbitrary constant).
WRITE_LOCK = 0x6D7973616665


class SchemaTooNew(Exception):
    """The database was moved forward by a newer mysafe: this one must not write to it."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached (or refused us): one sentence for the person."""


class Connection(Protocol):
    """What the stores use of a connection inside `_read` / `_write`."""

    def execute(self, sql: str, params: Any = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Any]) -> Any: ...


class Database:
    """Connections and transactions; `clock` returns epoch seconds (tests move it).

    `target` is a SQLite file path or a `postgresql://` URL."""

    def __init__(self, target: Path | str, clock: Callable[[], float]) -> None:
        self.clock = clock
        if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
            self.backend: SQLiteBackend | PostgresBackend = PostgresBackend(target)
        else:
            self.backend = SQLiteBackend(Path(target))
        self.backend.migrate()

    @property
    def reads_on_loop(self) -> bool:
        """Whether a short read may run on the event loop (a local file: a thread hop costs
        more than the read) rather than in a thread (a database across the network)."""
        return isinstance(self.backend, SQLiteBackend)

    @property
    def spool_dir(self) -> str | None:
        """Where private temporary files go (beside a SQLite file; else the system's)."""
        return self.backend.spool_dir

    def close(self) -> None:
        self.backend.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction, serialised with every other writer (all instances')."""
        with self.backend.write() as db:
            yield db

    def _content_deleted(self) -> None:
        """Inside `_write`: content was hard-deleted; leave no copy of it in a log."""
        self.backend.scrub = True

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A consistent snapshot; never waits for the writer."""
        with self.backend.read() as db:
            yield db

    def healthy(self) -> bool:
        """The database answers (for /healthz)."""
        try:
            with self._read() as db:
                return db.execute("SELECT 1").fetchone()[0] == 1  # type: ignore[no-any-return]
        except Exception:
            return False


# --- SQLite ----------------------------------------------------------------------------------


class SQLiteBackend:
    """One writer connection behind a lock; each thread reads on its own connection (WAL
    readers never wait for the writer), so short reads can run on the event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spool_dir: str | None = str(path.parent)
        self.scrub = False
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._conn = self._connect()
        self._conn.execute("PRAGMA journal_mode=WAL")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in ("synchronous=FULL", "secure_delete=ON", "busy_timeout=5000"):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def migrate(self) -> None:
        with self.write() as db:
            _migrate(db, lambda sql: sql)

    def close(self) -> None:
        with self._lock:
            for conn in [self._conn, *self._readers]:
                conn.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._lock:
            self.scrub = False
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            if self.scrub:
                # secure_delete zeroes the freed pages in the database file, but the old page
                # images stay readable in the write-ahead log until a checkpoint rewinds it.
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def read(self) -> Iterator[Connection]:
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


# --- PostgreSQL ------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\?|(?<!:):([A-Za-z_]\w*)|%")
_TYPES = (("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
          ("INTEGER", "BIGINT"), ("REAL", "DOUBLE PRECISION"), ("BLOB", "BYTEA"))  # fmt: skip


@functools.lru_cache(maxsize=1024)  # the stores' statements repeat: translated once each
def to_postgres(sql: str) -> str:
    """The stores' SQL with psycopg's placeholders: `?` -> `%s`, `:name` -> `%(name)s`."""

    def swap(match: re.Match[str]) -> str:
        if match.group(0) == "?":
            return "%s"
        if match.group(0) == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _PLACEHOLDER.sub(swap, sql)


def postgres_ddl(sql: str) -> str:
    for sqlite_type, postgres_type in _TYPES:
        sql = sql.replace(sqlite_type, postgres_type)
    return sql


class _Row(tuple):  # type: ignore[type-arg]
    """A row read by index or by column name, and `dict(row)`: what sqlite3.Row gives."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@functools.lru_cache(maxsize=1024)
def _row_type(names: tuple[str, ...]) -> type[_Row]:
    """One row class per column list (made once, not per query)."""
    return type("Row", (_Row,), {"_index": {name: n for n, name in enumerate(names)}})


def _rows(cursor: Any) -> Callable[[Sequence[Any]], _Row]:
    row_type = _row_type(tuple(column.name for column in cursor.description or ()))

    def make(values: Sequence[Any]) -> _Row:
        return row_type(bytes(v) if isinstance(v, memoryview) else v for v in values)

    return make


class _PostgresConnection:
    """A psycopg connection speaking the stores' SQL."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Any = ()) -> Any:
        if not params:  # no placeholders to fill: psycopg sends the text as it is
            return self._conn.execute(sql)
        return self._conn.execute(to_postgres(sql), params)

    def executemany(self, sql: str, rows: Sequence[Any]) -> Any:
        with self._conn.cursor() as cursor:
            cursor.executemany(to_postgres(sql), rows)
            return cursor


class PostgresBackend:
    """A psycopg connection pool. Every write transaction takes the advisory lock first."""

    def __init__(self, url: str) -> None:
        try:
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise ImportError(
                "PostgreSQL needs the server-postgres extra: pip install "
                "'mysafe-tui[server-postgres]'",
                name=exc.name,
            ) from None
        self.spool_dir: str | None = None
        self.scrub = False

        def configure(conn: Any) -> None:
            conn.row_factory = _rows
            conn.autocommit = True  # BEGIN is ours: one round trip with its isolation level

        from psycopg_pool import PoolTimeout

        # Each connection is checked as it is taken (one short round trip): after a database
        # restart no request gets a dead one.
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=16,
            open=True,
            timeout=10,
            configure=configure,
            check=ConnectionPool.check_connection,
        )
        try:
            self._pool.wait(timeout=10)
        except PoolTimeout:
            self._pool.close()
            where = url.rsplit("@", 1)[-1]  # never the password
            raise DatabaseUnavailable(
                f"PostgreSQL at {where} did not answer (or refused the login) within 10 s"
            ) from None

    def migrate(self) -> None:
        with self.write() as db:
            _migrate(db, postgres_ddl)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        # READ COMMITTED: each statement after the lock sees every earlier writer's commit.
        with self._transaction(f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})") as db:
            yield db

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") as db:
            yield db

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Connection]:
        with self._pool.connection() as conn:
            conn.execute(begin)
            try:
                yield _PostgresConnection(conn)
            except BaseException:
                with suppress(Exception):  # a dead connection: the pool discards it
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


def _migrate(db: Connection, dialect: Callable[[str], str]) -> None:
    """Inside a write: bring the schema to SCHEMA_VERSION, or refuse a newer one. DDL is
    transactional on both: a migration that fails leaves the previous version whole."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    current = row[0] if row and row[0] is not None else 0
    if (
        current == 0
        and db.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'items'"
            if isinstance(db, _PostgresConnection)
            else "SELECT 1 FROM sqlite_master WHERE name = 'items'"
        ).fetchone()
    ):
        current = 1  # made before schema_version existed
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database is at schema version {current}, newer than this mysafe's "
            f"{SCHEMA_VERSION}: upgrade mysafe on this host before it serves that database"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in filter(str.strip, MIGRATIONS[version].split(";")):
            db.execute(dialect(statement))
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

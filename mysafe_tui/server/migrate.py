"""`mysafe serve migrate-data`: a SQLite server's data copied into PostgreSQL, verified.

Every table is copied row for row (ids kept: sealed secrets are bound to their item's id), in
one PostgreSQL transaction; then each table's row count and a hash over its rows are compared
on both sides. The SQLite side is opened like a server opens it (its schema brought up to date,
its files/ folder moved into the database first), so it may be a running server's: SQLite's
snapshot keeps the copy consistent, and the copy says when to switch over.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mysafe_tui.server.database import TABLES, Database, DatabaseUnavailable, SchemaTooNew

if TYPE_CHECKING:
    from mysafe_tui.server.app import ServerConfig

IDENTITY = (
    "users",
    "groups_",
    "items",
    "history",
    "personal_groups",
)  # tables whose id PostgreSQL generates


def copy_sqlite_to_postgres(source: str, target: str, config: ServerConfig) -> int:
    from mysafe_tui.server.app import open_store

    path = Path(source.removeprefix("sqlite:")).expanduser()
    data_dir = path if path.is_dir() else path.parent
    if not (data_dir / "server.db").exists():
        return _fail(f"no SQLite server at {path} (its data directory holds server.db)")
    if not target.startswith(("postgresql://", "postgres://")):
        return _fail("--to needs a postgresql:// URL (or --database / $MYSAFE_DATABASE_URL)")
    try:
        old = open_store(_with(config, data_dir=data_dir, database=""))
        new = open_store(_with(config, data_dir=data_dir, database=target))
    except (SchemaTooNew, DatabaseUnavailable) as exc:
        return _fail(str(exc))
    try:
        with new._read() as db:
            if db.execute("SELECT count(*) FROM users").fetchone()[0]:
                return _fail(
                    "the PostgreSQL database already holds a server's data: give an "
                    "empty one (CREATE DATABASE ...)"
                )
        counts = _copy(old, new)
        for table in TABLES:
            if _digest(old, table) != _digest(new, table):
                return _fail(
                    f"the copy of {table} differs from the original: nothing to trust "
                    "in the PostgreSQL database; drop it and try again"
                )
    finally:
        old.close()
        new.close()
    where = target.rsplit("@", 1)[-1]
    print("copied and verified: " + ", ".join(f"{counts[t]} {t}" for t in TABLES if counts[t]))
    print(
        f"Next: stop the SQLite server; copy {data_dir / 'server.key'} (0600) to the data "
        f"directory of every server host; start each with MYSAFE_DATABASE_URL set to the "
        f"database at {where} (or --database). Anything written to the SQLite server after "
        "this copy is not in PostgreSQL: stop it first, or copy again into an empty database."
    )
    return 0


def _copy(old: Database, new: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    with old._read() as source, new._write() as target:
        for table in TABLES:
            rows = source.execute(f"SELECT * FROM {table}").fetchall()
            counts[table] = len(rows)
            if not rows:
                continue
            columns = list(rows[0].keys())
            marks = ", ".join("?" for _ in columns)
            target.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(row) for row in rows],
            )
        for table in IDENTITY:  # the next id PostgreSQL makes follows the copied ones
            target.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
    return counts


def _digest(store: Database, table: str) -> str:
    """Row count and SHA-256 of a table's rows in a stable order, comparable across both."""
    with store._read() as db:
        rows = db.execute(f"SELECT * FROM {table}").fetchall()
    lines = sorted(repr(tuple(_plain(v) for v in row)) for row in rows)
    return f"{len(lines)}:{hashlib.sha256(chr(10).join(lines).encode()).hexdigest()}"


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _with(config: ServerConfig, **changes: Any) -> ServerConfig:
    import dataclasses

    return dataclasses.replace(config, **changes)


def _fail(message: str) -> int:
    print(f"mysafe serve migrate-data: {message}", file=sys.stderr)
    return 1

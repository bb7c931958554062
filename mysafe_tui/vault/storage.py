"""The SQLite file under the vault: creation with safe permissions, structural checks, schema,
and write transactions that turn SQLite and OS failures into the project's errors.

This module knows nothing of keys: it stores opaque blobs. `vault.py` gives them meaning.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from mysafe_tui.core.errors import (
    CorruptVault,
    StorageError,
    VaultBusy,
    VaultNotFound,
    VaultTruncated,
)
from mysafe_tui.system.disk import (
    DestinationExists,
    fsync_directory,
    install,
    secure_directory,
    temporary_beside,
)

APPLICATION_ID = 0x4D534146  # "MSAF": marks the SQLite file as a mysafe vault
BUSY_TIMEOUT_MS = 2000

SCHEMA = """
CREATE TABLE header (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format INTEGER NOT NULL,
    body BLOB NOT NULL,
    checksum BLOB NOT NULL
);
CREATE TABLE manifest (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL,
    count INTEGER NOT NULL,
    tag BLOB NOT NULL
);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    key_version INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    summary BLOB NOT NULL,
    secret BLOB NOT NULL,
    mac BLOB NOT NULL
);
CREATE TABLE chunks (
    item_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (item_id, file_id, seq)
) WITHOUT ROWID;
"""

SQLITE_MAGIC = b"SQLite format 3\0"
# Checked structurally at every open. Not `chunks`: file contents are most of a large vault
# (quick_check over a 256 MiB file: 1 s, against 1 ms for these), and every chunk is
# authenticated when it is read, so damage there is reported then, for that file only.
CHECKED_TABLES = ("sqlite_schema", "header", "manifest", "items")


def secure_existing(path: Path) -> None:
    """An existing vault (or its -wal, -shm and summary cache files) readable by others is made
    0600, its folder 0700; a vault that is a symbolic link is refused: it could point anywhere."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise StorageError(
            f"{path} is a symbolic link: mysafe opens a vault only at its real path "
            "(point MYSAFE_HOME at its folder, or move it)"
        )
    for owned in (path, path.parent):
        uid = owned.stat().st_uid
        if uid != os.geteuid():  # its modes are not ours to set, nor its contents to trust
            raise StorageError(
                f"{owned} belongs to {_user(uid)}, not to you: mysafe opens "
                "only a vault of your own"
            )
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", ".cache"))):
        with contextlib.suppress(FileNotFoundError):
            if os.lstat(candidate).st_mode & 0o077:
                os.chmod(candidate, 0o600)
    if path.parent.stat().st_mode & 0o077:
        os.chmod(path.parent, 0o700)


def _user(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def remove_stale_temporaries(folder: Path, age: float = 600) -> None:
    """Temporary files of atomic writes killed half way (`.NAME.xxxx.part`): harmless, but
    they may hold ciphertext and would pile up. Recent ones may be another process's work."""

    now = time.time()
    with contextlib.suppress(OSError):
        for leftover in folder.glob(".*.part"):
            with contextlib.suppress(OSError):
                if now - leftover.lstat().st_mtime > age:
                    leftover.unlink()


def create_database(path: Path) -> sqlite3.Connection:
    """Create a new, empty 0600 database file with the vault schema (not yet committed)."""
    secure_directory(path.parent)
    # Create the file ourselves so it is 0600 from its first byte; SQLite gives the -wal and
    # -shm files the same mode as the database file.
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    conn = _connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return conn


def open_database(path: Path) -> sqlite3.Connection:
    """Open an existing vault file after checking it is whole and structurally sound.

    Reading must not need free space: when the disk is too full for the write-ahead log's
    index file, and no committed pages wait in the log, the file is opened read-only (writes
    are then refused with a sentence saying why)."""
    secure_existing(path)
    check_file(path)
    remove_stale_temporaries(path.parent)
    try:
        conn = _connect(path)
    except StorageError:
        if _wal_pending(path):
            raise  # committed pages wait in the log: reading around them would be stale
        conn = _connect(path, read_only=True)
    try:
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            raise CorruptVault(f"{path} is an SQLite file but not a mysafe vault")
        problems = [
            row[0]
            for table in CHECKED_TABLES
            for row in conn.execute(f"PRAGMA quick_check('{table}')")
            if row[0] != "ok"
        ]
        if problems:
            raise CorruptVault(f"{path} is damaged: {'; '.join(problems[:5])}")
        if schema_of(conn) != expected_schema():
            raise CorruptVault(f"{path} is damaged: its table definitions were altered")
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # a flipped byte in a text value
        conn.close()
        raise CorruptVault(f"{path} is damaged and cannot be read ({exc})") from None
    except CorruptVault:
        conn.close()
        raise
    return conn


def copy_database(source: Path, target: Path, *, overwrite: bool = False) -> int:
    """A consistent copy of the vault file at `source` (SQLite's online backup: correct while
    another process writes), checked first and put in place at `target` in one rename, 0600;
    `overwrite=False` never replaces anything. Returns its size in bytes."""

    if not overwrite and os.path.lexists(target):
        raise DestinationExists(target)
    conn = open_database(source)  # refuses a damaged or foreign file
    fd, temp = temporary_beside(target)
    try:
        os.close(fd)
        copy = sqlite3.connect(temp, isolation_level=None)
        try:
            conn.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
            size = os.fstat(handle.fileno()).st_size
        install(temp, target, overwrite)
        fsync_directory(target.parent)
        return size
    except OSError as exc:
        raise StorageError(f"could not write {target}: {exc.strerror or exc}") from None
    finally:
        conn.close()
        with contextlib.suppress(OSError):
            os.unlink(temp)


def schema_of(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [" ".join(str(row[0]).split()) for row in rows]


def expected_schema() -> list[str]:
    """The CREATE TABLE statements as SQLite stores them, whitespace folded, by table name."""
    statements = [" ".join(s.split()) for s in SCHEMA.split(";") if s.strip()]
    return sorted(statements, key=lambda s: s.split()[2])


def check_file(path: Path) -> None:
    """Distinguish a missing, truncated or foreign file before SQLite sees it."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(100)
    except FileNotFoundError:
        raise VaultNotFound(f"no vault at {path}; create one with 'mysafe init'") from None
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from None
    if size == 0:
        raise VaultTruncated(f"{path} is empty: the vault file was truncated")
    if not head.startswith(SQLITE_MAGIC):
        if SQLITE_MAGIC.startswith(head):
            raise VaultTruncated(f"{path} was truncated ({size} bytes)")
        raise CorruptVault(f"{path} is not a mysafe vault")
    if len(head) < 100:
        raise VaultTruncated(f"{path} was truncated ({size} bytes)")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise CorruptVault(f"{path} is damaged: invalid page size")
    pages = int.from_bytes(head[28:32], "big")
    # The page count in the header is trustworthy only when its "valid-for" number matches
    # the change counter (SQLite file format §1.3.7).
    count_valid = head[92:96] == head[24:28]
    if _wal_pending(path):
        # A checkpoint that stopped half way (killed, disk full) leaves the main file short
        # or ragged while the write-ahead log still holds every committed page: SQLite
        # finishes the job on open. quick_check judges the result, not the size.
        return
    if size % page_size or (count_valid and size < pages * page_size):
        raise VaultTruncated(
            f"{path} was truncated: {size} bytes where its header promises {pages * page_size}"
        )


def _wal_pending(path: Path) -> bool:
    """A write-ahead log with frames in it sits beside the file."""
    try:
        return os.stat(f"{path}-wal").st_size > 32  # more than the WAL header
    except OSError:
        return False


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    # immutable: no -shm file, no locks, nothing written; safe only with an empty log.
    mode = "ro&immutable=1" if read_only else "rw"
    try:
        conn = sqlite3.connect(
            f"file:{path}?mode={mode}",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        if read_only:
            return conn
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA cache_size = -8192")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except sqlite3.DatabaseError as exc:
        raise translate(exc, path) from None
    except UnicodeDecodeError:  # SQLite read a damaged page while answering a PRAGMA
        raise CorruptVault(f"{path} is damaged and cannot be read") from None
    return conn


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE .. COMMIT, rolled back on any error; SQLite errors become ours."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.DatabaseError as exc:
        raise translate(exc, path) from None
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.DatabaseError):
            raise translate(exc, path) from None
        if isinstance(exc, OSError):
            raise StorageError(f"could not write {path}: {exc.strerror or exc}") from None
        raise


def translate(exc: sqlite3.DatabaseError, path: Path) -> Exception:
    """SQLite's error as the project's, by SQLite's own error name (not its wording)."""
    text = str(exc).lower()
    name = getattr(exc, "sqlite_errorname", "") or _name_from(text)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return VaultBusy("another mysafe process is writing to this vault; try again shortly")
    if name.startswith("SQLITE_FULL"):
        return StorageError(f"the disk is full: nothing was changed in {path}")
    if name.startswith("SQLITE_READONLY"):
        return StorageError(
            f"{path} is open read-only (the file is read-only, or the disk was full when it "
            "was opened): nothing was changed; free some space and try again"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "decode" in text:
        return CorruptVault(f"{path} is damaged and cannot be read ({exc})")
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")):
        return StorageError(f"the disk refused a write to {path}; nothing was changed ({exc})")
    return StorageError(f"vault storage error in {path}: {exc}")


def _name_from(text: str) -> str:
    """An error raised without SQLite's name (a fault injected by a test, a wrapper)."""
    for words, name in (
        (("locked", "busy"), "SQLITE_BUSY"),
        (("full",), "SQLITE_FULL"),
        (("readonly", "read-only"), "SQLITE_READONLY"),
        (("malformed", "not a database"), "SQLITE_CORRUPT"),
        (("i/o", "disk"), "SQLITE_IOERR"),
    ):
        if any(word in text for word in words):
            return name
    return ""

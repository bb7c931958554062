"""File contents in the database (`file_chunks`), encrypted as `files.BlobStore` wrote them,
192 KiB a row (no row is ever large), so that every instance over one database serves every
file. A server from before kept them as `files/<blob>.enc` beside its SQLite file: those move
in at start (`adopt_folder`), each in its own transaction, and leave the folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mysafe_tui.server.database import Database

ROW_BYTES = 192 * 1024
READ_ROWS = 8  # rows per read transaction while streaming (a short snapshot each time)


class FileStore(Database):
    def put_file(self, blob: str, content: BinaryIO) -> None:
        """Store encrypted content read from `content` (a spool file) under `blob`."""
        with self._write() as db:
            for seq, data in enumerate(iter(lambda: content.read(ROW_BYTES), b"")):
                db.execute(
                    "INSERT INTO file_chunks (blob, seq, data) VALUES (?, ?, ?)", (blob, seq, data)
                )

    def file_content(self, blob: str) -> Iterator[bytes]:
        """The encrypted content, in rows, a few rows per read (content never changes once
        written: a new version is a new blob)."""
        seq = 0
        while True:
            with self._read() as db:
                rows = db.execute(
                    "SELECT seq, data FROM file_chunks WHERE blob = ? AND seq >= ? "
                    "ORDER BY seq LIMIT ?",
                    (blob, seq, READ_ROWS),
                ).fetchall()
            for row in rows:
                yield bytes(row["data"])
            if len(rows) < READ_ROWS:
                return
            seq = rows[-1]["seq"] + 1

    def has_file(self, blob: str) -> bool:
        with self._read() as db:
            found = db.execute("SELECT 1 FROM file_chunks WHERE blob = ? LIMIT 1", (blob,))
            return found.fetchone() is not None

    def delete_file(self, blob: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM file_chunks WHERE blob = ?", (blob,))
            self._content_deleted()

    def adopt_folder(self, folder: Path) -> int:
        """Move `folder/*.enc` (the files of a server from before) into the database."""
        moved = 0
        for path in sorted(folder.glob("*.enc")) if folder.is_dir() else ():
            blob = path.stem
            if blob.isalnum() and not self.has_file(blob):
                with open(path, "rb") as content:
                    self.put_file(blob, content)
                moved += 1
            path.unlink()
        for leftover in folder.glob("*.part") if folder.is_dir() else ():
            leftover.unlink()  # an upload that never finished
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        return moved

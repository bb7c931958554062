"""Crash-safe file writing: write a temporary file beside the target, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import StorageError


@contextlib.contextmanager
def atomic_writer(
    path: Path, mode: int = 0o600, overwrite: bool = True, durable: bool = True
) -> Iterator[BinaryIO]:
    """Yield a file to write; on success it replaces `path` in one rename, on any error the
    target is untouched and the temporary file removed. OS errors become `StorageError`.
    `durable=False` skips the fsyncs: for files whose loss or damage in a crash is harmless."""
    if not overwrite and path.exists():
        raise StorageError(f"{path} already exists (use --force to overwrite)")
    directory = path.parent
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise StorageError(f"cannot write in {directory}: {exc.strerror}") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp, path)
        if durable:
            _fsync_directory(directory)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise StorageError(f"could not write {path}: {exc.strerror or exc}") from None
        raise


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    with atomic_writer(path, mode) as handle:
        handle.write(data)


def write_chunks_atomic(path: Path, chunks: Iterable[bytes], overwrite: bool = False) -> int:
    """Stream chunks into `path` atomically; returns the number of bytes written."""
    total = 0
    with atomic_writer(path, overwrite=overwrite) as handle:
        for chunk in chunks:
            handle.write(chunk)
            total += len(chunk)
    return total


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

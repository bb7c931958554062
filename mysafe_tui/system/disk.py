"""Crash-safe file writing: write a temporary file beside the target, fsync, rename."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, cast

from mysafe_tui.core.errors import StorageError


def secure_directory(path: Path) -> None:
    """Create the directory and any missing parents 0700 whatever the umask (`mkdir -p` would
    give the parents the umask's mode), and make the directory itself 0700."""
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)
    os.chmod(path, 0o700)


@contextlib.contextmanager
def atomic_writer(
    path: Path, mode: int = 0o600, overwrite: bool = True, durable: bool = True
) -> Iterator[BinaryIO]:
    """Yield a file to write; on success it replaces `path` in one rename, on any error the
    target is untouched and the temporary file removed. OS errors become `StorageError`.
    `durable=False` skips the fsyncs: for files whose loss or damage in a crash is harmless.

    A symlink at `path` is replaced, never followed. With `overwrite=False` the file is put in
    place by a hard link, which fails if anything (a file, a link, a directory) took the name
    meanwhile: nothing is ever clobbered, not even by a race."""
    if not overwrite and os.path.lexists(path):
        raise DestinationExists(path)
    fd, temp = temporary_beside(path)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as raw:
            handle = _Hashing(raw)
            yield cast(BinaryIO, handle)
            raw.flush()
            if durable:
                os.fsync(raw.fileno())
        if durable:
            _verify(temp, handle.digest())
        install(temp, path, overwrite)
        if durable:
            fsync_directory(path.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise StorageError(f"could not write {path}: {exc.strerror or exc}") from None
        raise


def temporary_beside(path: Path) -> tuple[int, str]:
    """A new, empty temporary file (fd, name) in `path`'s folder, to be `install`ed there."""
    try:
        import tempfile  # random, shutil...: only when something is written

        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise StorageError(f"cannot write in {path.parent}: {exc.strerror}") from None


def install(temp: str, path: Path, overwrite: bool) -> None:
    """Put a finished temporary file in place at `path` in one step: a rename over whatever
    is there, or (`overwrite=False`) a hard link that fails if anything took the name."""
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path, follow_symlinks=False)
    except FileExistsError:
        raise DestinationExists(path) from None
    os.unlink(temp)


class _Hashing:
    """A file whose writes are hashed on the way, to check what reached the disk."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        import hashlib  # ~3 ms with OpenSSL: not at start-up

        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        return self._raw.write(data)

    def digest(self) -> bytes:
        return self._hash.digest()


def _verify(temp: str, expected: bytes) -> None:
    """Read back what was written before it replaces anything: a temporary file damaged on
    its way to the disk is never installed."""
    import hashlib

    digest = hashlib.sha256()
    with open(temp, "rb") as check:
        while block := check.read(1024 * 1024):
            digest.update(block)
    if digest.digest() != expected:
        raise OSError(errno.EIO, "what reached the disk differs from what was written")


class DestinationExists(StorageError):
    """The destination exists and overwriting was not asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists (use --force to overwrite)")
        self.path = path


def write_atomic(path: Path, data: bytes, mode: int = 0o600, overwrite: bool = True) -> None:
    with atomic_writer(path, mode, overwrite=overwrite) as handle:
        handle.write(data)


def write_new(directory: Path, name: str, data: bytes) -> Path:
    """Write `data` as a new file named `name` in `directory` (a safe base name: the caller
    sanitised it). A taken name becomes "name (2).ext", "name (3).ext"... as browsers do:
    an existing file is never overwritten. Returns the path written."""
    stem, dot, ext = name.rpartition(".")
    if not stem:  # "archive" or ".profile": no extension to keep
        stem, dot, ext = name, "", ""
    for n in range(1, 1000):
        candidate = directory / (name if n == 1 else f"{stem} ({n}){dot}{ext}")
        try:
            write_atomic(candidate, data, overwrite=False)
            return candidate
        except DestinationExists:
            continue
    raise StorageError(f"{directory} holds too many files named like {name}")


def check_room(directory: Path, size: int) -> None:
    """Refuse (StorageError) unless `directory` exists, is writable and has room for `size`
    bytes plus a margin: checked before something that cannot be undone (spending a view)."""
    import shutil

    if not directory.is_dir():
        raise StorageError(f"{directory} is not a folder")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StorageError(f"cannot write in {directory} (permission denied)")
    free = shutil.disk_usage(directory).free
    if free < size + 1024 * 1024:
        raise StorageError(
            f"{directory} has {free // 1024} KiB free; the file needs {size // 1024} KiB"
        )


def write_chunks_atomic(path: Path, chunks: Iterable[bytes], overwrite: bool = False) -> int:
    """Stream chunks into `path` atomically; returns the number of bytes written."""
    total = 0
    with atomic_writer(path, overwrite=overwrite) as handle:
        for chunk in chunks:
            handle.write(chunk)
            total += len(chunk)
    return total


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

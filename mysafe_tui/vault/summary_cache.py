"""The summary cache: what the last session's unlock decrypted, so the next need not (DESIGN §8).

A file beside the vault (`default.mysafe.cache`, 0600) holding, encrypted, the decrypted item
summaries with the manifest state they belong to, and whatever the caller adds (the search
index's sorted arrays). The vault uses it only when its manifest is exactly the one recorded
here and the rows' entry MACs still agree with that manifest (the same check as a full unlock),
so deleted, added or rolled-back records are caught as before; anything else (no file, another
vault's file, a damaged or truncated one, another Python) means a full unlock, never an error.

Layout: MAGIC | wrapped key (AES-GCM under HKDF(VK), bound to the vault id and this Python's
marshal format) | STREAM chunks (crypto.encrypt_chunks) under that fresh key of the parts, each
marshalled after its 8-byte length. marshal, not pickle: it builds only plain values, and only
after authentication.
"""

from __future__ import annotations

import marshal
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from mysafe_tui.core.crypto import (
    CHUNK_SIZE,
    KEY_LEN,
    NONCE_LEN,
    TAG_LEN,
    Aead,
    AuthenticationFailed,
    associated_data,
    decrypt_chunks,
    encrypt_chunks,
    hkdf,
    random_key,
)
from mysafe_tui.core.errors import StorageError
from mysafe_tui.system.disk import atomic_writer

MAGIC = b"MYSAFE-SUMMARY-CACHE\n"
_WRAPPED_LEN = NONCE_LEN + KEY_LEN + TAG_LEN
_LABEL = "summary-cache"  # the STREAM associated data (a fresh key per file makes it unique)


def path_for(vault_path: Path) -> Path:
    return vault_path.with_name(vault_path.name + ".cache")


def write(
    path: Path, vk: bytes, vault_id: bytes, parts: Sequence[Any], label: str = _LABEL
) -> bool:
    """Replace the cache file with `parts` (best effort: False if it could not be written).
    Each part is marshalled and encrypted on its own: only one part's bytes at a time in memory
    (the whole payload at once would add ~70 MB to the peak at 100k items)."""
    key = random_key()
    wrapped = Aead(_wrapping_key(vk, vault_id, label)).seal(key, _ad(vault_id, label))
    try:
        # Not fsynced: a cache cut short by a crash fails authentication and is rebuilt.
        with atomic_writer(path, durable=False) as out:
            out.write(MAGIC + wrapped)
            for sealed in encrypt_chunks(key, label, _rechunk(_framed(parts))):
                out.write(sealed)
    except (StorageError, ValueError):  # ValueError: a part marshal cannot hold
        return False
    return True


def read(path: Path, vk: bytes, vault_id: bytes, label: str = _LABEL) -> list[Any] | None:
    """The parts last written for this vault, or None if there is no usable cache. `label`
    names what the file is for (the summary cache, or another cache beside the vault, such as
    the health check's): a file written for one is never read as another."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(MAGIC) + _WRAPPED_LEN)
            if not head.startswith(MAGIC) or len(head) != len(MAGIC) + _WRAPPED_LEN:
                return None
            wrapping = Aead(_wrapping_key(vk, vault_id, label))
            key = wrapping.open(head[len(MAGIC) :], _ad(vault_id, label))
            plain = bytearray()  # grown chunk by chunk: no second copy of the whole file
            for chunk in decrypt_chunks(key, label, _sealed_chunks(handle)):
                plain += chunk
        view, parts, at = memoryview(plain), [], 0
        while at < len(view):
            size = int.from_bytes(view[at : at + 8], "big")
            if size > len(view) - at - 8:
                return None
            parts.append(marshal.loads(view[at + 8 : at + 8 + size]))
            at += 8 + size
    except (OSError, AuthenticationFailed, ValueError, EOFError, TypeError):
        return None
    return parts


def _framed(parts: Iterable[Any]) -> Iterator[bytes]:
    """Each part marshalled, after its length (8 bytes)."""
    for part in parts:
        data = marshal.dumps(part)
        yield len(data).to_bytes(8, "big")
        yield data


def _rechunk(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The concatenation of `pieces`, cut into CHUNK_SIZE chunks (the last may be shorter)."""
    carry = b""
    for piece in pieces:
        view, at = memoryview(piece), 0
        if carry:
            at = CHUNK_SIZE - len(carry)
            carry += view[:at]
            if len(carry) < CHUNK_SIZE:
                continue
            yield carry
        while len(view) - at >= CHUNK_SIZE:
            yield bytes(view[at : at + CHUNK_SIZE])
            at += CHUNK_SIZE
        carry = bytes(view[at:])
    yield carry


def _sealed_chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK_SIZE + TAG_LEN):
        yield chunk


def _wrapping_key(vk: bytes, vault_id: bytes, label: str) -> bytes:
    return hkdf(vk, associated_data(f"mysafe/{label}/v1", vault_id))


def _ad(vault_id: bytes, label: str) -> bytes:
    # marshal's format may change between Python versions: another Python reads no cache.
    return associated_data(
        f"mysafe/{label}", vault_id, marshal.version, sys.version_info[0], sys.version_info[1]
    )

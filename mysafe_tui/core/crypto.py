"""Cryptographic primitives: AEAD with enforced 12-byte nonces, Argon2id, HKDF, STREAM chunks.

Everything the vault (and later the server and share links) encrypts goes through here, so the
rules live in one place: AES-256-GCM, random 96-bit nonces, length-prefixed associated data,
KDF parameters checked against fixed bounds *before* any memory is committed to deriving.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mysafe_tui.core.errors import KdfUnavailable
from mysafe_tui.core.kdf import KdfParams

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
CHUNK_SIZE = 64 * 1024


class AuthenticationFailed(Exception):
    """Ciphertext, nonce, key or associated data do not match. Callers map it to a user error."""


def random_key() -> bytes:
    return os.urandom(KEY_LEN)


def associated_data(*parts: bytes | str | int) -> bytes:
    """Length-prefix every part so that ('ab', 'c') and ('a', 'bc') never collide."""
    out = bytearray()
    for part in parts:
        if isinstance(part, int):
            raw = part.to_bytes(8, "big", signed=True)
        elif isinstance(part, str):
            raw = part.encode()
        else:
            raw = bytes(part)
        out += len(raw).to_bytes(4, "big") + raw
    return bytes(out)


class Aead:
    """AES-256-GCM under one key. `seal` picks a random nonce and prepends it."""

    __slots__ = ("_gcm",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_LEN:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._gcm = AESGCM(key)

    def seal(self, plaintext: bytes, ad: bytes) -> bytes:
        nonce = os.urandom(NONCE_LEN)
        return nonce + self._gcm.encrypt(nonce, plaintext, ad)

    def open(self, blob: bytes, ad: bytes) -> bytes:
        if len(blob) < NONCE_LEN + TAG_LEN:
            raise AuthenticationFailed("ciphertext too short")
        try:  # inlined rather than via open_with_nonce: unlock calls this once per item
            return self._gcm.decrypt(blob[:NONCE_LEN], blob[NONCE_LEN:], ad)
        except InvalidTag:
            raise AuthenticationFailed("authentication failed") from None

    def decryptor(self) -> Callable[[bytes, bytes, bytes], bytes]:
        """The raw `decrypt(nonce, ciphertext, ad)` for hot loops that slice a sealed blob
        themselves; it raises `cryptography.exceptions.InvalidTag`. Prefer `open`."""
        return self._gcm.decrypt

    def seal_with_nonce(self, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
        _check_nonce(nonce)
        return self._gcm.encrypt(nonce, plaintext, ad)

    def open_with_nonce(self, nonce: bytes, ciphertext: bytes, ad: bytes) -> bytes:
        _check_nonce(nonce)
        try:
            return self._gcm.decrypt(nonce, ciphertext, ad)
        except InvalidTag:
            raise AuthenticationFailed("authentication failed") from None


def _check_nonce(nonce: bytes) -> None:
    if len(nonce) != NONCE_LEN:
        raise ValueError(f"AES-GCM nonces must be exactly {NONCE_LEN} bytes, got {len(nonce)}")


def argon2id(
    password: bytes,
    salt: bytes,
    *,
    memory_kib: int,
    iterations: int,
    lanes: int,
    length: int = KEY_LEN,
    secret: bytes | None = None,
    ad: bytes | None = None,
) -> bytes:
    """Raw Argon2id (RFC 9106). Prefer `derive_passphrase_key`, which checks bounds first.
    Without Argon2id in this machine's OpenSSL: `KdfUnavailable`, never a weaker KDF."""
    try:
        kdf = Argon2id(
            salt=salt,
            length=length,
            iterations=iterations,
            lanes=lanes,
            memory_cost=memory_kib,
            secret=secret,
            ad=ad,
        )
    except UnsupportedAlgorithm:
        raise KdfUnavailable(
            "this machine's cryptography library has no Argon2id (OpenSSL 3.2 or later is "
            "needed); mysafe will not fall back to a weaker key derivation"
        ) from None
    return kdf.derive(password)


def derive_passphrase_key(passphrase: str, params: KdfParams) -> bytes:
    """Passphrase -> PK. Refuses out-of-bounds parameters before allocating anything."""
    params.check_bounds()
    return argon2id(
        passphrase.encode(),
        params.salt,
        memory_kib=params.memory_kib,
        iterations=params.iterations,
        lanes=params.lanes,
    )


def hkdf(key: bytes, info: bytes, length: int = KEY_LEN) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


def mac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- STREAM: chunked file encryption ------------------------------------------------------
# Nonce = 7 zero bytes | 32-bit chunk counter | 1-byte last-chunk flag. Each file content gets a
# fresh random key, so a fixed prefix never repeats a (key, nonce) pair. The counter rejects
# reordered or duplicated chunks; the flag rejects truncation.


def _stream_nonce(counter: int, last: bool) -> bytes:
    return b"\0" * 7 + struct.pack(">IB", counter, 1 if last else 0)


class StreamSealer:
    """Push-style STREAM encryption, for content that arrives in pieces (an HTTP upload).

    Call `seal(chunk)` for every full chunk in order and `seal(chunk, last=True)` exactly once.
    """

    __slots__ = ("_aead", "_ad", "_counter")

    def __init__(self, key: bytes, file_id: str) -> None:
        self._aead = Aead(key)
        self._ad = associated_data("file", file_id)
        self._counter = 0

    def seal(self, chunk: bytes, last: bool = False) -> bytes:
        sealed = self._aead.seal_with_nonce(_stream_nonce(self._counter, last), chunk, self._ad)
        self._counter += 1
        return sealed


def encrypt_chunks(key: bytes, file_id: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Encrypt plaintext chunks lazily; looks one chunk ahead to mark the last one."""
    sealer = StreamSealer(key, file_id)
    pending: bytes | None = None
    for chunk in chunks:
        if pending is not None:
            yield sealer.seal(pending)
        pending = chunk
    yield sealer.seal(pending or b"", last=True)


def decrypt_chunks(key: bytes, file_id: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decrypt in order; raises AuthenticationFailed on any reordering, duplicate or cut."""
    aead = Aead(key)
    ad = associated_data("file", file_id)
    finished = False
    for counter, chunk in enumerate(chunks):
        if finished:
            raise AuthenticationFailed("data after the last chunk")
        try:
            plain = aead.open_with_nonce(_stream_nonce(counter, False), chunk, ad)
        except AuthenticationFailed:
            plain = aead.open_with_nonce(_stream_nonce(counter, True), chunk, ad)
            finished = True
        yield plain
    if not finished:
        raise AuthenticationFailed("file is truncated: the last chunk is missing")

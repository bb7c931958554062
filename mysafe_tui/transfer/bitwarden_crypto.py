"""Bitwarden's password-protected export, both ways: a key from the password (PBKDF2-SHA256 over
the export's salt), stretched to an AES and an HMAC key (HKDF-Expand "enc", "mac"), and type-2
EncStrings ("2.iv|ciphertext|mac": AES-256-CBC, the HMAC-SHA256 over iv and ciphertext checked
before anything is decrypted)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import uuid
from typing import Any

from mysafe_tui.core.errors import InvalidInput

# What Bitwarden itself uses for a new PBKDF2 account or export (its 2023 default).
PBKDF2_ITERATIONS = 600_000


def stretch(key: bytes) -> tuple[bytes, bytes]:
    """The AES and HMAC keys of a 32-byte key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    return tuple(  # type: ignore[return-value]
        HKDFExpand(hashes.SHA256(), 32, info).derive(key) for info in (b"enc", b"mac")
    )


def open_enc_string(text: str, enc: bytes, mac: bytes) -> bytes:
    """A type-2 EncString's plaintext; the wrong password shows as a MAC that does not match."""

    kind, _, rest = text.partition(".")
    parts = rest.split("|")
    if kind != "2" or len(parts) != 3:
        raise InvalidInput("that Bitwarden export is damaged (not an AES-CBC EncString)")
    try:
        iv, body, tag = (base64.b64decode(p, validate=True) for p in parts)
    except (binascii.Error, ValueError):
        raise InvalidInput("that Bitwarden export is damaged (bad base64)") from None
    if not hmac.compare_digest(hmac.digest(mac, iv + body, "sha256"), tag):
        raise InvalidInput("wrong password for that Bitwarden export (or a damaged file)")
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    try:
        clear = Cipher(algorithms.AES(enc), modes.CBC(iv)).decryptor()
        padded = clear.update(body) + clear.finalize()
        unpad = padding.PKCS7(128).unpadder()
        return unpad.update(padded) + unpad.finalize()
    except ValueError:
        raise InvalidInput("that Bitwarden export is damaged (bad padding)") from None


def seal_enc_string(plain: bytes, enc: bytes, mac: bytes) -> str:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = os.urandom(16)
    pad = padding.PKCS7(128).padder()
    padded = pad.update(plain) + pad.finalize()
    box = Cipher(algorithms.AES(enc), modes.CBC(iv)).encryptor()
    body = box.update(padded) + box.finalize()
    tag = hmac.digest(mac, iv + body, "sha256")
    return "2." + "|".join(base64.b64encode(p).decode() for p in (iv, body, tag))


def protect(export: dict[str, Any], password: str, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """An unencrypted export as the password-protected file Bitwarden imports."""
    salt = base64.b64encode(os.urandom(16)).decode()
    key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations, 32)
    enc, mac = stretch(key)
    body = {
        "encrypted": True,
        "passwordProtected": True,
        "salt": salt,
        "kdfType": 0,
        "kdfIterations": iterations,
        "kdfMemory": None,
        "kdfParallelism": None,
        "encKeyValidation_DO_NOT_EDIT": seal_enc_string(str(uuid.uuid4()).encode(), enc, mac),
        "data": seal_enc_string(json.dumps(export, ensure_ascii=False).encode(), enc, mac),
    }
    return json.dumps(body, indent=2).encode()

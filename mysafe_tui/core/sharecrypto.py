"""Zero-knowledge share links (DESIGN.md §5): the format both this client and the browser page use.

A link is `{server}/s/{share_id}#{key}`. The key K (32 random bytes, base64url in the fragment)
never reaches the server. From K, and from the optional password through PBKDF2-SHA256 (600,000
iterations, so a browser can derive it with WebCrypto), HKDF-SHA256 derives three values:

- the encryption key: AES-256-GCM over the payload, associated data binding the share id;
- the access proof (key and password): sent with a reveal, so that only someone holding the key
  and the password can spend a view. The server stores only its SHA-256, and refuses a wrong
  proof without consuming a view, so a mistyped password does not burn a one-view link.
- the holder proof (the key alone): sent with the access proof, so that the server tells a
  recipient who mistyped the password (counted: ten destroy the share) from a stranger who has
  only the share id (slowed down, never able to destroy it). Its SHA-256 is kept too.

Payload = u32 big-endian header length | UTF-8 JSON header | raw file bytes (empty for text
items). `static/share.js` in the server package implements the same steps; the test vectors in
`tests/test_sharecrypto.py` are checked in both.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from mysafe_tui.core.crypto import Aead, AuthenticationFailed, associated_data, hkdf, sha256
from mysafe_tui.core.errors import InvalidInput

VERSION = 1
PBKDF2_ITERATIONS = 600_000
SALT_LEN = 16
ID_BYTES = 16
_AD_LABEL = "mysafe/share/v1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput("the share link is damaged (bad base64)") from None


def new_share_id() -> str:
    """128 random bits; URL-safe, 22 characters."""
    return b64url(os.urandom(ID_BYTES))


@dataclass(frozen=True)
class ShareKeys:
    """What one (share id, key, password) triple derives to."""

    encryption_key: bytes
    proof: bytes
    holder: bytes

    def proof_hashes(self) -> dict[str, str]:
        """What the server keeps of the two proofs (the fields of a share's creation)."""
        return {
            "access_proof_hash": b64url(sha256(self.proof)),
            "holder_proof_hash": b64url(sha256(self.holder)),
        }

    def reveal_body(self) -> dict[str, str]:
        """What a reveal sends: both proofs, never the key."""
        return {"proof": b64url(self.proof), "holder": b64url(self.holder)}


def derive(share_id: str, key: bytes, password: str | None, salt: bytes | None) -> ShareKeys:
    """Derive the encryption key and the two proofs; a password needs the share's salt."""
    master = key
    if password:
        if not salt:
            raise InvalidInput("a password-protected share needs its salt")
        kdf = PBKDF2HMAC(hashes.SHA256(), 32, salt, PBKDF2_ITERATIONS)
        master = key + kdf.derive(unicodedata.normalize("NFC", password).encode())
    return ShareKeys(
        hkdf(master, f"{_AD_LABEL}/enc|{share_id}".encode()),
        hkdf(master, f"{_AD_LABEL}/proof|{share_id}".encode()),
        hkdf(key, f"{_AD_LABEL}/holder|{share_id}".encode()),
    )


@dataclass(frozen=True)
class SharePayload:
    """What the recipient sees: a title, labelled fields, and optionally one file."""

    kind: str
    title: str
    fields: list[dict[str, Any]] = field(default_factory=list)
    file_name: str | None = None
    media_type: str | None = None
    content: bytes = b""

    def encode(self) -> bytes:
        header: dict[str, Any] = {
            "v": VERSION,
            "kind": self.kind,
            "title": self.title,
            "fields": self.fields,
        }
        if self.file_name is not None:
            header["file"] = {
                "name": self.file_name,
                "media_type": self.media_type or "application/octet-stream",
                "size": len(self.content),
            }
        raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
        return struct.pack(">I", len(raw)) + raw + self.content

    @classmethod
    def decode(cls, data: bytes) -> SharePayload:
        try:
            (length,) = struct.unpack(">I", data[:4])
            header = json.loads(data[4 : 4 + length].decode())
            file_info = header.get("file")
            return cls(
                kind=str(header["kind"]),
                title=str(header["title"]),
                fields=list(header.get("fields", [])),
                file_name=None if file_info is None else str(file_info["name"]),
                media_type=None if file_info is None else str(file_info["media_type"]),
                content=data[4 + length :],
            )
        except (struct.error, ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise InvalidInput("the shared content is not in a format this version reads") from None


def seal(payload: bytes, share_id: str, keys: ShareKeys, nonce: bytes | None = None) -> bytes:
    """nonce | AES-256-GCM(ciphertext + tag). `nonce` is fixed only by test vectors."""
    aead = Aead(keys.encryption_key)
    ad = associated_data(_AD_LABEL, share_id)
    if nonce is None:
        return aead.seal(payload, ad)
    return nonce + aead.seal_with_nonce(nonce, payload, ad)


def open_sealed(blob: bytes, share_id: str, keys: ShareKeys) -> bytes:
    try:
        return Aead(keys.encryption_key).open(blob, associated_data(_AD_LABEL, share_id))
    except AuthenticationFailed:
        raise InvalidInput(
            "the share could not be decrypted: the password or the link is wrong"
        ) from None


@dataclass(frozen=True)
class ShareLink:
    """A parsed `https://host/s/<id>#<key>` link."""

    base_url: str
    share_id: str
    key: bytes

    def __str__(self) -> str:
        return f"{self.base_url}/s/{self.share_id}#{b64url(self.key)}"

    def __repr__(self) -> str:  # the key must never reach a log or a traceback
        return f"ShareLink({self.base_url!r}, {self.share_id[:6]!r}…)"

    @classmethod
    def parse(cls, url: str) -> ShareLink:
        parsed = urllib.parse.urlsplit(url.strip())
        parts = parsed.path.rstrip("/").rsplit("/s/", 1)
        if parsed.scheme not in ("http", "https") or len(parts) != 2 or not parts[1]:
            raise InvalidInput("that is not a share link (expected https://host/s/ID#KEY)")
        if not parsed.fragment:
            raise InvalidInput("the share link has no key: the part after '#' is missing")
        key = unb64url(parsed.fragment)
        if len(key) != 32:
            raise InvalidInput("the share link's key is damaged (wrong length)")
        base = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parts[0], "", ""))
        return cls(base, parts[1], key)

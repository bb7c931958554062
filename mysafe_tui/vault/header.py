"""The vault header: format version, vault id, KDF parameters and the wrapped vault key.

Stored as canonical JSON plus a SHA-256 checksum, so accidental damage is told apart from a
wrong passphrase (which only the AEAD can detect) and reported as `CorruptHeader`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mysafe_tui.core.crypto import associated_data, sha256
from mysafe_tui.core.errors import CorruptHeader, UnsupportedVersion
from mysafe_tui.core.kdf import KdfParams

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Header:
    """Everything needed to turn a passphrase into the vault key."""

    format: int
    vault_id: bytes
    kdf: KdfParams
    profile: str
    wrapped_vk: bytes
    created: float

    def body(self) -> bytes:
        return json.dumps(
            {
                "vault_id": self.vault_id.hex(),
                "kdf": json.loads(self.kdf.serialize()),
                "profile": self.profile,
                "wrapped_vk": self.wrapped_vk.hex(),
                "created": self.created,
            },
            sort_keys=True,
        ).encode()

    def checksum(self) -> bytes:
        return checksum(self.format, self.body())

    def vk_ad(self, kdf: KdfParams | None = None) -> bytes:
        """Associated data of the wrapped VK: binds the vault id and the KDF parameters."""
        return associated_data("mysafe/vk", self.vault_id, (kdf or self.kdf).serialize())

    @classmethod
    def parse(cls, fmt: Any, body: Any, stored_checksum: Any) -> Header:
        """Parse a stored header; damaged -> CorruptHeader, newer format -> UnsupportedVersion."""
        if not isinstance(body, bytes) or not isinstance(fmt, int):
            raise CorruptHeader("the vault header is damaged (unreadable fields)")
        if stored_checksum != checksum(fmt, body):
            raise CorruptHeader("the vault header is damaged (checksum mismatch)")
        if fmt > FORMAT_VERSION:
            raise UnsupportedVersion(
                f"this vault uses format {fmt}, newer than this mysafe reads ({FORMAT_VERSION}); "
                "upgrade mysafe"
            )
        try:
            data = json.loads(body)
            kdf = data["kdf"]
            if kdf["alg"] != "argon2id":
                raise UnsupportedVersion(f"unsupported key derivation '{kdf['alg']}'")
            return cls(
                format=fmt,
                vault_id=bytes.fromhex(data["vault_id"]),
                kdf=KdfParams(
                    int(kdf["m"]), int(kdf["t"]), int(kdf["p"]), bytes.fromhex(kdf["salt"])
                ),
                profile=str(data["profile"]),
                wrapped_vk=bytes.fromhex(data["wrapped_vk"]),
                created=float(data["created"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptHeader(f"the vault header is damaged ({type(exc).__name__})") from None


def checksum(fmt: int, body: bytes) -> bytes:
    return sha256(associated_data("mysafe/header", fmt, body))

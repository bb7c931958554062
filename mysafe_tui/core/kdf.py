"""Argon2id parameters, their accepted bounds and the named profiles (DESIGN.md §3).

Kept apart from `crypto` so that settings and the UI's first paint need not load
`cryptography`; deriving a key is `crypto.derive_passphrase_key`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from mysafe_tui.core.errors import KdfParamsRejected

# Bounds a vault header must satisfy before we derive anything (DESIGN.md §3).
KDF_MIN_MEMORY_KIB = 19456
KDF_MAX_MEMORY_KIB = 1024 * 1024
KDF_MIN_ITERATIONS = 2
KDF_MAX_ITERATIONS = 10
KDF_MAX_LANES = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters as stored in a vault header. Memory in KiB."""

    memory_kib: int
    iterations: int
    lanes: int
    salt: bytes

    def serialize(self) -> bytes:
        """Canonical bytes, bound into the associated data of the wrapped vault key."""
        return json.dumps(
            {
                "alg": "argon2id",
                "m": self.memory_kib,
                "t": self.iterations,
                "p": self.lanes,
                "salt": self.salt.hex(),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    def check_bounds(self) -> None:
        if not KDF_MIN_MEMORY_KIB <= self.memory_kib <= KDF_MAX_MEMORY_KIB:
            raise KdfParamsRejected(
                f"KDF memory {self.memory_kib} KiB is outside {KDF_MIN_MEMORY_KIB}.."
                f"{KDF_MAX_MEMORY_KIB} KiB; refusing to derive"
            )
        if not KDF_MIN_ITERATIONS <= self.iterations <= KDF_MAX_ITERATIONS:
            raise KdfParamsRejected(
                f"KDF iterations {self.iterations} outside {KDF_MIN_ITERATIONS}.."
                f"{KDF_MAX_ITERATIONS}; refusing to derive"
            )
        if not 1 <= self.lanes <= KDF_MAX_LANES:
            raise KdfParamsRejected(f"KDF lanes {self.lanes} outside 1..{KDF_MAX_LANES}")
        if len(self.salt) < 16:
            raise KdfParamsRejected("KDF salt shorter than 16 bytes")

    def weaker_than(self, other: KdfParams) -> bool:
        return self.memory_kib < other.memory_kib or self.iterations < other.iterations

    def with_new_salt(self) -> KdfParams:
        return KdfParams(self.memory_kib, self.iterations, self.lanes, os.urandom(16))


# Named profiles (DESIGN.md §3). The salt here is a placeholder: call with_new_salt().
KDF_PROFILES: dict[str, KdfParams] = {
    "default": KdfParams(262144, 3, 4, b"\0" * 16),
    "low-memory": KdfParams(65536, 3, 4, b"\0" * 16),
}

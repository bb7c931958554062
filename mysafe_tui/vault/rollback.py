"""What this machine remembers of a vault: the newest state it saw (DESIGN.md §3).

A whole older copy of the vault file put back (a stale backup, an attacker's copy) is
consistent in itself: its manifest agrees with its rows. Only a memory kept outside the file
can tell: the highest generation and the manifest tag seen here, MAC'd under a key derived
from the vault key, in a state folder outside the data folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from mysafe_tui.core.crypto import associated_data, hkdf, mac
from mysafe_tui.system.disk import atomic_writer, secure_directory


class Memory:
    """The newest (generation, manifest tag) seen of one vault, under one vault key."""

    def __init__(self, folder: Path, vault_id: bytes, vault_key: bytes) -> None:
        self.path = folder / f"{vault_id.hex()}.seen"
        self._key = hkdf(vault_key, associated_data("mysafe/seen/v1", vault_id))

    def _mac(self, generation: int, tag: bytes) -> bytes:
        return mac(self._key, associated_data("seen", generation, tag))

    def read(self) -> tuple[int, bytes] | None:
        """The newest state seen, if there is a record this key trusts."""
        try:
            data = json.loads(self.path.read_text())
            generation, tag = int(data["generation"]), bytes.fromhex(data["tag"])
            trusted = bytes.fromhex(data["mac"]) == self._mac(generation, tag)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none yet, or not ours to trust (another vault key): start over
        return (generation, tag) if trusted else None

    def verdict(self, generation: int, tag: bytes) -> str | None:
        """Why a vault at (generation, tag) is not the newest state seen; None if it is."""
        seen = self.read()
        if seen is None:
            return None
        seen_generation, seen_tag = seen
        if seen_generation > generation:
            return (
                f"this copy of the vault is older than the one last opened on this machine "
                f"(change {generation}, last seen {seen_generation}): an older copy was put "
                "back. It is open read-only; if you restored a backup on purpose, open it "
                "with --accept-rollback"
            )
        if seen_generation == generation and seen_tag != tag:
            return (
                "this copy of the vault differs from the one last opened on this machine at "
                "the same change: it is open read-only; if that is on purpose, open it with "
                "--accept-rollback"
            )
        return None

    def remember(self, generation: int, tag: bytes, *, lower: bool = False) -> None:
        """Record (generation, tag) as the newest seen; never over a newer record (a window
        that did not follow another process's write) unless `lower` (a backup accepted on
        purpose). Not fsynced: a lost update only weakens the memory."""
        seen = self.read()
        if not lower and seen is not None and seen[0] > generation:
            return
        record = {
            "generation": generation,
            "tag": tag.hex(),
            "mac": self._mac(generation, tag).hex(),
        }
        secure_directory(self.path.parent)
        with atomic_writer(self.path, durable=False) as handle:
            handle.write(json.dumps(record).encode())

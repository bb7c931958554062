"""The KDF started early: a command with its passphrase in a file derives the key while the
rest of the program is still loading (the KDF's C code releases the GIL; asyncio and the
service load meanwhile). `VaultService.unlock_early` finishes the unlock with it.

Only the vault's own modules are imported here, in the caller's thread, before the KDF's
thread starts: two threads never import at the same time.
"""

from __future__ import annotations

import threading
from pathlib import Path

from mysafe_tui.vault.vault import Vault


class EarlyKey:
    """The vault file opened and checked, and its key-encryption key derived, in a thread."""

    def __init__(self, path: Path, passphrase: str) -> None:
        self._done = threading.Event()
        self._vault: Vault | None = None
        self._kek = b""
        self._error: BaseException | None = None
        threading.Thread(
            target=self._work, args=(path, passphrase), name="mysafe-kdf", daemon=True
        ).start()

    def _work(self, path: Path, passphrase: str) -> None:
        try:
            vault = Vault.open(path)
            try:
                self._kek = vault.derive_kek(passphrase)
            except BaseException:
                vault.close()
                raise
            self._vault = vault
        except BaseException as exc:
            self._error = exc
        finally:
            self._done.set()

    def wait(self) -> tuple[Vault, bytes]:
        """The opened vault and its KEK; raises what opening or deriving raised."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._vault is not None
        return self._vault, self._kek

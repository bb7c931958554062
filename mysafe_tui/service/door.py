"""The vault's door: what the UI needs before the vault service is loaded.

The first screen draws the vault's path and asks for a passphrase (or offers to create the
vault). The service, with the vault, index, server connection and checks under it, is ~30 ms
of imports: most of what `mysafe` added to a bare Textual app's first frame. So the composition
root hands the UI a door (paths and settings, both cheap), and the door builds the one
`VaultService` once the first frame is painted, while the passphrase is typed. A test may
hand the UI a service already built: its door is open from the start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from mysafe_tui.service.vault_service import VaultService
    from mysafe_tui.system.settings import Paths, Settings


class VaultDoor:
    def __init__(self, paths: Paths, settings: Settings) -> None:
        self.paths = paths
        self.settings = settings  # the service is built with this very object
        self._service: VaultService | None = None

    @classmethod
    def of(cls, service: VaultService) -> VaultDoor:
        door = cls(service.paths, service.settings)
        door._service = service
        return door

    @property
    def vault_path(self) -> Path:
        return self.paths.vault

    def vault_exists(self) -> bool:
        return self.paths.vault.exists()

    @property
    def is_open(self) -> bool:
        return self._service is not None

    def open(self) -> VaultService:
        """The vault service, built on first use."""
        if self._service is None:
            from mysafe_tui.service.vault_service import VaultService

            self._service = VaultService(self.paths, self.settings)
        return self._service

"""The one async API the UI and the CLI call (DESIGN.md §2): `VaultService`."""

from .vault_service import VaultService

__all__ = ["VaultService"]

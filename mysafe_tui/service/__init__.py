"""The one async API the UI and the CLI call (DESIGN.md §2): `VaultService`."""

from .server import VaultService

__all__ = ["VaultService"]

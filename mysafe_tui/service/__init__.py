"""The one async API the UI and the CLI call (DESIGN.md §2): `VaultService`.

Loaded on first use, so that `service.early` can start the KDF before the rest of the
service (and asyncio) is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mysafe_tui.service.vault_service import VaultService

__all__ = ["VaultService"]


def __getattr__(name: str) -> Any:
    if name == "VaultService":
        from mysafe_tui.service.vault_service import VaultService

        return VaultService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

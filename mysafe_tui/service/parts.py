"""What every section of `VaultService` holds (vault_service.py composes them): its parts,
each a file named by its job, and the calls one section makes of another.

The sections (api_*.py) hold the public methods, a few lines each, that hand the work to a
part: the worker (worker.py), the server connection (connection.py), share links (shares.py),
transfers (transfer.py), the clipboard keeper (copying.py) and the health check (health.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.service.connection import ServerConnection

if TYPE_CHECKING:
    import httpx

    from mysafe_tui.core.extras import Extras
    from mysafe_tui.core.kdf import KdfParams
    from mysafe_tui.core.models import ItemKind, ItemSummary, Secret, Strength, TotpCode
    from mysafe_tui.service.connection import Connection
    from mysafe_tui.service.copying import ClipboardKeeper
    from mysafe_tui.service.health import HealthCheck
    from mysafe_tui.service.pam import PamAccess
    from mysafe_tui.service.shares import ShareLinks
    from mysafe_tui.service.transfer import Transfers
    from mysafe_tui.service.uses import LastUses
    from mysafe_tui.service.worker import VaultWorker
    from mysafe_tui.system.settings import Paths, Settings


class ServiceParts:
    """The state `VaultService.__init__` sets, declared once for every section."""

    paths: Paths
    settings: Settings
    accept_rollback: bool
    terminal_write: Callable[[str], None] | None
    on_server_wait: Callable[[float], None] | None
    _kdf_params: KdfParams | None
    _transport: httpx.AsyncBaseTransport | None
    _worker: VaultWorker
    _server: Connection
    _clip: ClipboardKeeper
    _shares: ShareLinks
    _health: HealthCheck
    _pam: PamAccess
    _transfers: Transfers
    _uses: LastUses

    if TYPE_CHECKING:  # one section's calls of another's (all are in every VaultService)

        async def create_item(self, kind: ItemKind, values: dict[str, Any]) -> ItemSummary: ...
        async def update_item(
            self, item_id: str, values: dict[str, Any], *, force: bool = False
        ) -> ItemSummary: ...
        async def extras(self, item_id: str) -> Extras: ...
        async def reveal(self, item_id: str, *, used: bool = False) -> dict[str, Secret]: ...
        async def totp(self, item_id: str, at: float | None = None) -> TotpCode: ...
        def estimate_strength(self, passphrase: str) -> Strength: ...

    def _require_server(self) -> ServerConnection:
        if not isinstance(self._server, ServerConnection):
            raise InvalidInput("this vault is not logged in to a server; use 'mysafe login URL'")
        return self._server

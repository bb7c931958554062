"""The connection state the UI shows, apart from the client so that showing "local vault"
imports no HTTP stack (httpx costs ~100 ms at unlock)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RemoteStatus:
    """What the status bar and `mysafe status` show."""

    bound: bool
    url: str = ""
    client_id: str = ""
    state: str = "local"  # local, cached, syncing, synced, offline, error
    last_sync: float | None = None
    message: str = ""
    capabilities: frozenset[str] = field(default_factory=frozenset)
    insecure: bool = False  # TLS certificates not checked (--insecure at login)
    # What the last sync could not read ("Name (kind): why"); their cached copies stay.
    unreadable: tuple[str, ...] = ()
    tenant: str = ""
    proxy: str = ""  # named at login, its password (if any) left out

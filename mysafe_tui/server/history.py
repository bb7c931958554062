"""Access history: who created, read (a secret revealed through the API), changed, shared,
deactivated or restored an item, and every open and reveal of a share link; with the time,
the access key and the client address. Never a secret, never a share id in clear.

Events are buffered and written once a second in one transaction: reading an item is the
commonest request, and it must not pay an fsync'd write of its own. A crash loses at most
the last second of history; `flush` runs before history is read and at shutdown.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request

    from mysafe_tui.server.store import Store

FLUSH_SECONDS = 1.0
DEFAULT_DAYS = 365


class HistoryLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        # Held across the write: a reader's flush waits for the timer's batch to commit,
        # instead of finding the queue empty while that batch is still on its way.
        self._flushing = threading.Lock()

    def add(
        self,
        request: Request,
        event: str,
        *,
        item_id: str | int | None = None,
        share_hash: bytes | None = None,
        user_id: int | None = None,
        detail: str = "",
    ) -> None:
        client_id = getattr(request.state, "client_id", "")
        address = request.client.host if request.client else ""
        row = (
            int(item_id) if item_id is not None else None,
            share_hash,
            self.store.clock(),
            event,
            user_id,
            client_id,
            address,
            detail,
        )
        with self._lock:
            self._pending.append(row)

    def flush(self) -> None:
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
            if batch:
                self.store.record_history(batch)

"""Extension "uses": the days a user's clients used items (a copy, `get`, a reveal), sent at
sync by each device and read back by the others, so that `unused:90d` counts them all.

The access history cannot say this: a sync reads every item, so there every item is read at
each sync. Only the user's own uses are kept and given back, by item id and day.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mysafe_tui.server.errors import invalid
from mysafe_tui.server.http import MAX_JSON_BODY, authenticated, envelope, read_body, store_of
from mysafe_tui.server.use_store import KEPT_DAYS

MAX_USES = 5000  # a request's


def routes(prefix: str) -> list[BaseRoute]:
    async def send(request: Request, user_id: int) -> Response:
        """`{"uses": [{"id": "12", "day": 20430}]}`: days since the epoch (UTC); a day ahead
        of the server's (a client's clock) counts as today, a year back or more is dropped."""
        store = store_of(request)
        rows = (await read_body(request, limit=MAX_JSON_BODY)).get("uses")
        if not isinstance(rows, list) or len(rows) > MAX_USES:
            raise invalid(f"uses must be a list of at most {MAX_USES}")
        today = store.today()
        uses = []
        for row in rows:
            item_id = str(row.get("id", "")) if isinstance(row, dict) else ""
            day = row.get("day") if isinstance(row, dict) else None
            if not item_id.isdigit() or len(item_id) > 18 or type(day) is not int:
                raise invalid('each use is {"id": "<item id>", "day": <days since 1970>}')
            if day > today - KEPT_DAYS:
                uses.append((int(item_id), min(day, today)))
        kept = await run_in_threadpool(store.record_uses, user_id, uses)
        return envelope(200, kept=kept)

    async def fetch(request: Request, user_id: int) -> Response:
        found = await run_in_threadpool(store_of(request).item_uses, user_id)
        return envelope(200, uses=[{"id": str(item), "day": day} for item, day in found])

    return [
        Route(f"{prefix}/mysafe-ext/uses", authenticated(send), methods=["POST"]),
        Route(f"{prefix}/mysafe-ext/uses", authenticated(fetch), methods=["GET"]),
    ]

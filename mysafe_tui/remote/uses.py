"""The days this account's devices used its items, to and from `mysafe serve` (extension
"uses": server/uses.py)."""

from __future__ import annotations

from mysafe_tui.remote.client import MySafeClient

BATCH = 5000


async def send_uses(client: MySafeClient, uses: dict[str, int]) -> None:
    """Server item id -> day of its last use here."""
    rows = [{"id": item_id, "day": day} for item_id, day in uses.items()]
    for start in range(0, len(rows), BATCH):
        body = {"uses": rows[start : start + BATCH]}
        await client.call("POST", f"{client.prefix}/mysafe-ext/uses", json=body, idempotent=True)


async def fetch_uses(client: MySafeClient) -> dict[str, int]:
    """Server item id -> the last day any device of this account used it."""
    answer = await client.call("GET", f"{client.prefix}/mysafe-ext/uses")
    rows = answer.get("uses")
    found: dict[str, int] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and str(row.get("id", "")).isdigit():
            day = row.get("day")
            if type(day) is int:
                found[str(row["id"])] = day
    return found

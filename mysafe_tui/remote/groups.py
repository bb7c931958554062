"""Personal groups on `mysafe serve` (extension "groups"): list, save, delete."""

from __future__ import annotations

from typing import Any

from mysafe_tui.core.errors import ServerError
from mysafe_tui.remote.client import MySafeClient

PATH = "/mysafe-ext/groups"


async def list_groups(client: MySafeClient) -> list[dict[str, Any]]:
    """The caller's own groups (`mine`, with members) and those others put them in."""
    await client.require("groups")
    body = await client.call("GET", client.prefix + PATH)
    found = body.get("groups")
    if not isinstance(found, list):
        raise ServerError(f"{client.base_url} sent a malformed group list")
    return [g for g in found if isinstance(g, dict) and isinstance(g.get("name"), str)]


async def save_group(
    client: MySafeClient, name: str, description: str, members: list[str]
) -> list[str]:
    """Make or replace one of the caller's groups; the member names no user has."""
    await client.require("groups")
    body = {"name": name, "description": description, "members": members}
    answer = await client.call("POST", client.prefix + PATH, json=body)
    unknown = answer.get("unknown_members")
    return [str(u) for u in unknown] if isinstance(unknown, list) else []


async def delete_group(client: MySafeClient, name: str) -> None:
    await client.require("groups")
    await client.call("POST", f"{client.prefix}{PATH}/delete", json={"name": name})

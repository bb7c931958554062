"""Extension "groups": each user's personal groups (server/group_store.py) over HTTP.

`GET /api/mysafe-ext/groups` lists the caller's own groups (with members) and the groups
others put them in; `POST` with `{"name", "description", "members": [...]}` makes or replaces
one of the caller's; `POST .../groups/delete` with `{"name"}` removes it and every share with it
(a name is text: in a body, never in the path).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mysafe_tui.server.errors import ApiError, invalid, missing
from mysafe_tui.server.http import authenticated, envelope, plain_text, read_body, store_of

MAX_DESCRIPTION = 500


async def list_groups(request: Request, user_id: int) -> Response:
    found = await run_in_threadpool(store_of(request).personal_groups, user_id)
    return envelope(200, groups=found)


async def save_group(request: Request, user_id: int) -> Response:
    body = await read_body(request)
    name = plain_text("name", body.get("name"))
    if not name:
        raise missing("name")
    description = plain_text("description", body.get("description"))
    if len(description) > MAX_DESCRIPTION:
        raise invalid(f"a description holds at most {MAX_DESCRIPTION} characters")
    members = body.get("members", [])
    if isinstance(members, str):
        members = members.split(",")
    if not isinstance(members, list):
        raise invalid("members must be a list of user names")
    names = [plain_text("member", m) for m in members]
    unknown = await run_in_threadpool(
        store_of(request).save_personal_group, user_id, name, description, [n for n in names if n]
    )
    return envelope(200, f"Group {name} saved", unknown_members=unknown)


async def delete_group(request: Request, user_id: int) -> Response:
    name = plain_text("name", (await read_body(request)).get("name"))
    if not await run_in_threadpool(store_of(request).delete_personal_group, user_id, name):
        raise ApiError(1005, f"1005: No personal group named {name}")
    return envelope(200, f"Group {name} deleted")


def routes(prefix: str) -> list[BaseRoute]:
    base = f"{prefix}/mysafe-ext/groups"
    return [
        Route(base, authenticated(list_groups), methods=["GET"]),
        Route(base, authenticated(save_group), methods=["POST"]),
        Route(base + "/delete", authenticated(delete_group), methods=["POST"]),
    ]

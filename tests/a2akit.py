"""A stand-in for senhasegura's A2A API (PAM Core credentials and SSH keys, DSM applications),
built only from the published examples (team notes of senhasegura's docs and its public
clients: the answers' field names, string ids, the envelope with its Portuguese duplicates,
business errors as HTTP 400 with `exception`, both `/iso` and `/api` prefixes,
`dapp/Application` in either case). A test fixture, never product code: senhasegura itself
cannot run here.

It counts what a test must see: each credential's custody taken and released.
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CLIENT_ID = "a2a-client"
CLIENT_SECRET = "a2a-secret-0123456789"


@dataclass
class A2AState:
    """What the stand-in serves and what it saw."""

    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    application: dict[str, Any] = field(default_factory=dict)
    inactive: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)
    custody: set[str] = field(default_factory=set)  # credential ids in the caller's custody
    taken: Counter[str] = field(default_factory=Counter)
    released: Counter[str] = field(default_factory=Counter)
    tokens: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def add_credential(self, cid: str, **fields: Any) -> None:
        """A credential as the list shows it, plus its `password` (and what a reveal adds)."""
        row = {
            "id": cid,
            "identifier": fields.pop("identifier", f"0190-{cid}"),
            "username": "root",
            "expiration": "2027-05-16T17:31:31-03:00",
            "change": "2026-11-03 16:19:53",
            "view": None,
            "hostname": f"host-{cid}",
            "management_ip": f"10.66.33.{cid}",
            "type": "Local User",
            "type_code": "1",
            "device_model": "Ubuntu 24.04",
            "device_type": "Server",
            "device_vendor": "Canonical",
            "automatic_change": False,
            "connectivity": "SSH",
            "connectivity_code": "2",
        }
        row.update(fields)
        self.credentials[cid] = row


def envelope(status: int, message: str, **body: Any) -> JSONResponse:
    error = status >= 400
    answer: dict[str, Any] = {
        "code": status,
        "response": {
            "status": status,
            "message": message,
            "error": error,
            "error_code": 0,
            "mensagem": message,
            "erro": error,
            "cod_erro": 0,
        },  # fmt: skip
        **body,
    }
    return JSONResponse(answer, status_code=status)


def business_error(code: int, message: str) -> JSONResponse:
    answer = envelope(400, message).body
    import json

    body = json.loads(answer)
    body["response"]["error_code"] = body["response"]["cod_erro"] = code
    body["exception"] = {"code": code, "message": message, "detail": ""}
    return JSONResponse(body, status_code=400)


def make_app(state: A2AState) -> Starlette:
    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in state.tokens

    async def token(request: Request) -> JSONResponse:
        form = urllib.parse.parse_qs((await request.body()).decode())
        given = (form.get("client_id", [""])[0], form.get("client_secret", [""])[0])
        if given != (CLIENT_ID, CLIENT_SECRET):
            failed = {"error": "invalid_client", "message": "Client authentication failed"}
            return JSONResponse(failed, status_code=401)
        value = secrets.token_urlsafe(24)
        state.tokens.add(value)
        return JSONResponse({"token_type": "Bearer", "expires_in": 3600, "access_token": value})

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> JSONResponse:
            state.requests.append(f"{request.method} {request.url.path}")
            if not authorized(request):  # the gateway's own words, no envelope
                return JSONResponse({"message": "No route matched with those values"}, 401)
            return await handler(request)  # type: ignore[no-any-return]

        return run

    async def list_credentials(request: Request) -> JSONResponse:
        rows = [dict(c, password=None) for c in state.credentials.values()]
        for row in rows:
            row.pop("password")
        return envelope(200, f"{len(rows)} credentials found", credentials=rows)

    def find(ref: str) -> dict[str, Any] | None:
        for c in state.credentials.values():
            if ref in (c["id"], c["identifier"], f"{c['username']}@{c['hostname']}"):
                return c
        return None

    async def reveal(request: Request) -> JSONResponse:
        found = find(request.path_params["ref"])
        if found is None:
            return business_error(1007, "Credential not found")
        if found["id"] in state.inactive:
            return business_error(1008, "Credential inactive")
        if found["id"] in state.forbidden:
            return business_error(1009, "No access to credential")
        state.custody.add(found["id"])
        state.taken[found["id"]] += 1
        shown = {
            "id": found["id"],
            "identifier": found["identifier"],
            "username": found["username"],
            "password": found.get("password", ""),
            "content": found.get("password", ""),
            "hostname": found["hostname"],
            "parent_credential_cod": None,
            "parent_credential": None,
            "additional": found.get("additional", ""),
            "domain": "",
            "ip": found["management_ip"],
            "port": "22",
            "model": found["device_model"],
            "expiration_time": "2027-05-16T17:31:39",
        }
        return envelope(200, f"Credential {found['id']}", credential=shown)

    async def release(request: Request) -> JSONResponse:
        cid = request.path_params["cid"]
        if cid not in state.credentials and cid not in state.keys:
            return business_error(1007, "Credential not found")
        if cid not in state.custody:
            return business_error(1018, "The credential is not in the user custody")
        state.custody.discard(cid)
        state.released[cid] += 1
        return envelope(200, f"Credential custody {cid} released")

    async def ssh_key(request: Request) -> JSONResponse:
        kid = request.path_params["kid"]
        if kid in state.credentials:
            return business_error(1016, "The item is not a ssh key")
        if kid not in state.keys:
            return business_error(1015, "SSH key not found")
        state.custody.add(kid)
        state.taken[kid] += 1
        return envelope(200, "SSH key", key=state.keys[kid])

    async def application(request: Request) -> JSONResponse:
        name = state.application.get("name", "")
        return envelope(200, f"Application {name}", application=state.application)

    routes = []
    for prefix in ("/iso", "/api"):
        routes += [
            Route(f"{prefix}/oauth2/token", token, methods=["POST"]),
            Route(f"{prefix}/pam/credential", guarded(list_credentials), methods=["GET"]),
            Route(f"{prefix}/pam/credential/", guarded(list_credentials), methods=["GET"]),
            Route(f"{prefix}/pam/credential/custody/{{cid}}", guarded(release), methods=["DELETE"]),
            Route(f"{prefix}/pam/credential/{{ref:path}}", guarded(reveal), methods=["GET"]),
            Route(f"{prefix}/pam/key/{{kid}}", guarded(ssh_key), methods=["GET"]),
            Route(f"{prefix}/dapp/application", guarded(application), methods=["GET"]),
            Route(f"{prefix}/dapp/Application", guarded(application), methods=["GET"]),
        ]
    return Starlette(routes=routes)


class RunningA2A:
    """The stand-in on a loopback port the OS chose, in a thread of the test's process."""

    def __init__(self, state: A2AState) -> None:
        self.state = state
        config = uvicorn.Config(  # log_config None: the test process's logging stays as it is
            make_app(state), host="127.0.0.1", port=0, log_config=None, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the A2A stand-in did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

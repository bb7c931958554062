"""A real `mysafe serve` on a free loopback port, for contract, share and browser tests."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mysafe_tui.core.sharecrypto import (
    ShareLink,
    SharePayload,
    b64url,
    derive,
    new_share_id,
    seal,
)
from mysafe_tui.server.app import ServerConfig, open_store
from mysafe_tui.server.store import SQLStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """One server process, its data directory, its log, and an access key per user."""

    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    keys: dict[str, tuple[str, str]]
    secrets_used: list[str] = field(default_factory=list)
    database: str = ""  # a postgresql:// URL, or "" for the SQLite file in data_dir
    extension: bool = True  # False: started with --no-extension
    launched: tuple[Path, list[str]] = (Path(), [])  # its folder and options, for start_again
    env: dict[str, str] = field(default_factory=dict)  # added to its environment

    def start_again(self) -> None:
        """The same server back on its port after `stop` (its clients' URL stays valid)."""
        tmp, args = self.launched
        port = int(self.url.rsplit(":", 1)[1])
        again = _launch(tmp, self.data_dir, port, self.database, args, self.keys, self.env)
        self.process = again.process

    def token(self, user: str = "alice") -> str:
        client_id, secret = self.keys[user]
        answer = httpx.post(
            f"{self.url}/api/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        answer.raise_for_status()
        token = str(answer.json()["access_token"])
        self.secrets_used.append(token)
        return token

    def client(self, user: str = "alice") -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.token(user)}"}
        )

    def store(self) -> SQLStore:
        """The server's own store, opened beside it (safe across processes)."""
        return open_store(ServerConfig(self.data_dir, database=self.database))

    @contextmanager
    def db(self) -> Iterator[Any]:
        """A read-only look at the server's database (sees committed writes)."""
        store = self.store()
        try:
            with store._read() as db:
                yield db
        finally:
            store.close()

    def stored_share(self, id_hash: bytes) -> bytes | None:
        """What the server still holds of a share's content: its mark (or, for an old share,
        the whole content) and its chunks. None: nothing at all."""
        with self.db() as db:
            row = db.execute("SELECT ciphertext FROM shares WHERE id_hash = ?", (id_hash,))
            mark = row.fetchone()
            chunks = db.execute(
                "SELECT data FROM share_chunks WHERE id_hash = ? ORDER BY seq", (id_hash,)
            ).fetchall()
        assert mark is not None, "no such share"
        if mark["ciphertext"] is None and not chunks:
            return None
        return (mark["ciphertext"] or b"") + b"".join(c["data"] for c in chunks)

    def stored_files(self) -> list[bytes]:
        """Every file content the server holds, as stored (encrypted)."""
        with self.db() as db:
            rows = db.execute("SELECT blob, data FROM file_chunks ORDER BY blob, seq").fetchall()
        blobs: dict[str, bytes] = {}
        for row in rows:
            blobs[row["blob"]] = blobs.get(row["blob"], b"") + bytes(row["data"])
        return list(blobs.values())

    def execute(self, sql: str, params: Iterable[object] = ()) -> None:
        """Change the database behind the server's back (e.g. to move a share's expiry)."""
        store = self.store()
        try:
            with store._write() as db:
                db.execute(sql, tuple(params))
        finally:
            store.close()

    def new_user(self, name: str) -> tuple[str, str]:
        """Add a user and key while the server runs (the store is safe across processes)."""
        store = self.store()
        try:
            store.add_user(name)
            self.keys[name] = store.create_key(name)
        finally:
            store.close()
        self.secrets_used.append(self.keys[name][1])
        return self.keys[name]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def share(
        self,
        client: httpx.Client,
        payload: SharePayload,
        *,
        views: int = 1,
        password: str | None = None,
        expires_in: int = 3600,
        label: str = "",
        recipient: str = "",
    ) -> ShareLink:
        """Create a share the way a client does; returns the full link (with its key)."""
        share_id, key = new_share_id(), os.urandom(32)
        salt = os.urandom(16) if password else None
        keys = derive(share_id, key, password, salt)
        body = {
            "share_id": share_id,
            "kind": payload.kind,
            "max_views": views,
            "expires_in": expires_in,
            "label": label,
            "password_protected": bool(password),
            "kdf_salt": b64url(salt) if salt else "",
            **keys.proof_hashes(),
            **({"recipient": recipient} if recipient else {}),
        }
        sealed = seal(payload.encode(), share_id, keys)
        if payload.kind == "file":  # streamed, as the client sends files
            answer = client.post("/api/mysafe-ext/share", params=body, content=sealed,
                                 headers={"Content-Type": "application/octet-stream"})  # fmt: skip
        else:
            answer = client.post(
                "/api/mysafe-ext/share", json={**body, "ciphertext": b64url(sealed)}
            )
        assert answer.status_code == 201, answer.text
        link = ShareLink(self.url, share_id, key)
        self.secrets_used += [b64url(key), share_id]
        if password:
            self.secrets_used.append(password)
        return link


def start_server(
    tmp: Path,
    users: Iterable[str] = ("alice", "bob", "carol"),
    args: Iterable[str] = ("--rate-limit", "100000"),
    port: int | None = None,
    database: str = "",
    env: dict[str, str] | None = None,
) -> RunningServer:
    """`database`: a PostgreSQL URL (a fresh database: see conftest's `postgres`), else the
    server's own SQLite file."""
    data_dir = tmp / "server-data"
    store = open_store(ServerConfig(data_dir, database=database))
    keys = {}
    for user in users:
        store.add_user(user)
        keys[user] = store.create_key(user)
    store.add_group("ops", [u for u in keys if u == "carol"])
    store.close()
    return _launch(tmp, data_dir, port, database, list(args), keys, env or {})


def _launch(
    tmp: Path,
    data_dir: Path,
    port: int | None,
    database: str,
    args: list[str],
    keys: dict[str, tuple[str, str]],
    env: dict[str, str] | None = None,
) -> RunningServer:
    log_path = tmp / "server.log"
    port_file = tmp / "server.port"  # written by the server once it listens (--port 0)
    port_file.unlink(missing_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mysafe_tui",
                "serve",
                "--data",
                str(data_dir),
                "--port",
                str(port or 0),
                "--port-file",
                str(port_file),
                *(["--database", database] if database else []),
                *args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    deadline = time.monotonic() + 30
    while not port_file.exists():  # the port the kernel gave it: no other server's
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
        time.sleep(0.05)
    port = int(port_file.read_text())
    server = RunningServer(f"http://127.0.0.1:{port}", data_dir, log_path, process, keys,
                           database=database, launched=(tmp, args), env=env or {})  # fmt: skip
    server.secrets_used += [secret for _, secret in keys.values()]
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start:\n{server.log()}")


class Switch(httpx.AsyncBaseTransport):
    """The real network, with faults to inject: `down` cuts it (offline mode); `failing`
    paths answer as senhasegura does for a note it cannot read (HTTP 500 "Unexpected
    error"); list rows of the `gated` identifiers say that access needs an approval."""

    def __init__(self) -> None:
        self.down = False
        self.failing: set[str] = set()  # path endings, e.g. "/note/12"
        self.gated: set[str] = set()
        # An access key with senhasegura's sensitive-data encryption: secrets come back as
        # base64 RSA-OAEP ciphertext for the key's application.
        self.encrypting = False
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if any(request.url.path.endswith(path) for path in self.failing):
            body = {"response": {"status": 500, "message": "Unexpected error", "error": True}}
            return httpx.Response(500, json=body)
        answer = await self.real.handle_async_request(request)
        if not (self.gated or self.encrypting) or request.method != "GET":
            return answer
        await answer.aread()
        try:
            body = json.loads(answer.content)
        except ValueError:
            return answer
        for value in body.values() if isinstance(body, dict) else ():
            for row in value if isinstance(value, list) else ():
                if isinstance(row, dict) and str(row.get("identifier")) in self.gated:
                    row["need_approval"] = "1"
            if self.encrypting and isinstance(value, dict):
                for secret in ("password", "note", "client_secret"):
                    if value.get(secret):
                        value[secret] = _rsa_encrypted(str(value[secret]))
        return httpx.Response(answer.status_code, json=body)


def _rsa_encrypted(text: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return base64.b64encode(key.public_key().encrypt(text.encode(), oaep)).decode()


class CountingProxy:
    """A forward HTTP proxy on a loopback port that counts what goes through it: proves the
    client takes the proxy it was given (or the environment names), never a way around it."""

    def __init__(self) -> None:
        import http.server
        import threading
        import urllib.request

        self.requests: list[str] = []
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                proxy.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
                request = urllib.request.Request(
                    self.path, data=body, headers=headers, method=self.command
                )
                try:
                    answer = opener.open(request, timeout=10)
                except urllib.error.HTTPError as error:
                    answer = error
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

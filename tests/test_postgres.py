"""`mysafe serve` on PostgreSQL: two instances over one database, moving a SQLite server over,
schema versions. (The whole server test suite also runs on PostgreSQL: see conftest's
`server`.)"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from pgkit import Cluster

from conftest import FLOOR, PASSPHRASE
from mysafe_tui.core.models import ItemKind
from mysafe_tui.core.sharecrypto import SharePayload
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from serverkit import RunningServer, start_server


def instance(first: RunningServer, tmp: Path, database: str) -> RunningServer:
    """Another `mysafe serve` over `database`, with `first`'s sealing key (what every instance
    of one deployment shares) and its users' keys, on its own port."""
    data = tmp / "server-data"
    data.mkdir(mode=0o700, parents=True)
    shutil.copy2(first.data_dir / "server.key", data / "server.key")
    other = start_server(tmp, users=(), database=database)
    other.keys = first.keys
    return other


OCTETS = {"Content-Type": "application/octet-stream"}


def note(text: str) -> SharePayload:
    return SharePayload("note", "a note", [{"label": "Note", "value": text, "secret": True}])


@pytest.fixture
def pair(postgres: Cluster, tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    first = start_server(tmp_path / "a", database=postgres.new_database())
    second = instance(first, tmp_path / "b", first.database)
    yield first, second
    first.stop()
    second.stop()


def ok(answer: httpx.Response, code: int = 200) -> dict[str, Any]:
    assert answer.status_code == code, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_share_with_three_views_opens_three_times_across_two_instances(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = pair
    with a.client("alice") as alice:
        link = a.share(alice, note("launch codes"), views=3)
    from mysafe_tui.core.sharecrypto import derive

    body = derive(link.share_id, link.key, None, None).reveal_body()
    barrier = threading.Barrier(40)

    def reveal(n: int) -> int:
        url = (a if n % 2 else b).url
        barrier.wait()
        answer = httpx.post(f"{url}/api/public/share/{link.share_id}/reveal",
                            json=body, timeout=60)  # fmt: skip
        return answer.status_code

    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(reveal, range(40)))
    assert codes.count(200) == 3 and set(codes) <= {200, 410}, codes


def test_revisions_keys_and_files_are_one_truth_for_both(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = pair
    with a.client("alice") as on_a, b.client("alice") as on_b:
        created = ok(on_a.post("/api/mysafe/password", data={
            "name": "Router", "username": "admin", "password": "one"}), 201)  # fmt: skip
        item_id = created["password_entity"]["identifier"]
        ok(on_a.put(f"/api/mysafe/password/update/{item_id}", data={"password": "two"},
                    headers={"If-Match": "1"}))  # fmt: skip
        stale = on_b.put(f"/api/mysafe/password/update/{item_id}", data={"password": "three"},
                         headers={"If-Match": "1"})  # fmt: skip
        assert stale.status_code == 409  # the edit made through a is seen by b at once
        assert ok(on_b.get(f"/api/mysafe/password/{item_id}"))["password_entity"][
            "password"] == "two"  # fmt: skip

        content = os.urandom(300_000)
        uploaded = ok(on_a.post("/api/mysafe-ext/file", content=content, params={"name": "f"},
                                headers=OCTETS), 201)  # fmt: skip
        file_id = uploaded["file_entity"]["identifier"]
        assert on_b.get(f"/api/mysafe-ext/file/{file_id}/content").content == content

    client_id, _ = a.keys["bob"]
    with b.client("bob") as bob_on_b:
        store = a.store()
        try:
            assert store.revoke_key(client_id)  # through a's side of the database
        finally:
            store.close()
        assert bob_on_b.get("/api/mysafe/password").status_code == 401  # b refuses at once


class Alternating(httpx.AsyncBaseTransport):
    """Each request to the other instance: a load balancer at its most fickle."""

    def __init__(self, ports: tuple[int, int]) -> None:
        self.ports = ports
        self.sent = 0
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        request.url = request.url.copy_with(port=self.ports[self.sent % 2])
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


def test_a_client_syncs_through_alternating_instances_and_loses_nothing(
    pair: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    a, b = pair
    ports = (httpx.URL(a.url).port or 0, httpx.URL(b.url).port or 0)
    transport = Alternating(ports)

    async def scenario() -> None:
        home = tmp_path / "client"
        service = VaultService(Paths(home, home), kdf_params=FLOOR, transport=transport)
        await service.create(PASSPHRASE)
        client_id, secret = a.keys["carol"]
        try:
            await service.login(a.url, client_id, secret)
            for n in range(12):
                await service.create_item(ItemKind.PASSWORD, {
                    "name": f"item {n}", "username": "u", "password": f"p{n}"})  # fmt: skip
            with b.client("carol") as direct:
                for n in range(8):
                    ok(direct.post("/api/mysafe/note", data={"name": f"note {n}",
                                                             "note": "x"}), 201)  # fmt: skip
            await service.sync()
            names = {s.name for s in await service.search("")}
            assert names == {f"item {n}" for n in range(12)} | {f"note {n}" for n in range(8)}
        finally:
            await service.close()

    asyncio.run(scenario())
    assert transport.sent > 20  # both instances answered


def test_one_instance_killed_mid_traffic_leaves_the_other_serving_and_nothing_half_written(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = pair
    stop = threading.Event()
    failures: list[str] = []

    def traffic(server: RunningServer, user: str) -> None:
        with server.client(user) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    client.post("/api/mysafe-ext/file", content=os.urandom(200_000),
                                params={"name": f"{user}-{n}"}, headers=OCTETS)  # fmt: skip
                    client.post("/api/mysafe/note", data={"name": f"{user}-n{n}", "note": "x"})
                except httpx.TransportError:
                    if server is b:
                        failures.append(f"b failed a request ({user} {n})")

    workers = [threading.Thread(target=traffic, args=(s, u))
               for s, u in ((a, "alice"), (a, "bob"), (b, "carol"))]  # fmt: skip
    for worker in workers:
        worker.start()
    try:
        with a.db() as db:  # traffic is flowing through a before it dies
            for _ in range(200):
                if db.execute("SELECT count(*) FROM items").fetchone()[0] >= 4:
                    break
                threading.Event().wait(0.05)
        a.process.send_signal(signal.SIGKILL)
        a.process.wait(10)
        with b.client("carol") as carol:
            assert ok(carol.get("/healthz")) == {"status": "ok"}
            listed = ok(carol.get("/api/mysafe/note"))["note_on_list"]
            assert listed  # b goes on
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert failures == []
    for user in ("alice", "bob"):  # every file a's clients were told about is whole on b
        with b.client(user) as client:
            for row in ok(client.get("/api/mysafe-ext/file"))["file_on_list"]:
                body = client.get(f"/api/mysafe-ext/file/{row['identifier']}/content")
                assert body.status_code == 200 and len(body.content) == row["size"]


def test_a_sqlite_server_moves_to_postgresql_with_its_files_and_shares(
    postgres: Cluster, tmp_path: Path
) -> None:
    old = start_server(tmp_path / "old")
    content = os.urandom(100_000)
    with old.client("alice") as alice:
        ok(alice.post("/api/mysafe/password", data={"name": "Bank", "username": "me",
                                                    "password": "b4nk"}), 201)  # fmt: skip
        uploaded = ok(alice.post("/api/mysafe-ext/file", content=content, params={"name": "f"},
                                 headers=OCTETS), 201)  # fmt: skip
        link = old.share(alice, note("moved"), views=2)
    old.stop()
    target = postgres.new_database()
    done = subprocess.run(
        [sys.executable, "-m", "mysafe_tui", "serve", "--data", str(old.data_dir),
         "migrate-data", "--from", f"sqlite:{old.data_dir}", "--to", target],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "copied and verified" in done.stdout and "server.key" in done.stdout
    again = subprocess.run(
        [sys.executable, "-m", "mysafe_tui", "serve", "--data", str(old.data_dir),
         "migrate-data", "--from", f"sqlite:{old.data_dir}", "--to", target],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 1 and "already holds" in again.stderr
    moved = instance(old, tmp_path / "moved", target)
    try:
        with moved.client("alice") as alice:
            rows = ok(alice.get("/api/mysafe/password"))["password_on_list"]
            (bank,) = [r for r in rows if r["name"] == "Bank"]
            got = ok(alice.get(f"/api/mysafe/password/{bank['identifier']}"))
            assert got["password_entity"]["password"] == "b4nk"  # sealed, still opens
            file_id = uploaded["file_entity"]["identifier"]
            assert alice.get(f"/api/mysafe-ext/file/{file_id}/content").content == content
            created = ok(alice.post("/api/mysafe/note", data={"name": "after", "note": "x"}), 201)
            assert int(created["note_entity"]["identifier"]) > int(bank["identifier"])
        from mysafe_tui.remote.shares import open_link

        async def no_password() -> str:
            raise AssertionError("no password asked")

        from mysafe_tui.core.sharecrypto import ShareLink

        same = ShareLink(moved.url, link.share_id, link.key)  # served by the new deployment
        payload = asyncio.run(open_link(str(same), no_password))
        assert payload.fields[0]["value"] == "moved"
    finally:
        moved.stop()


def test_a_newer_schema_is_refused_with_a_clear_message(postgres: Cluster, tmp_path: Path) -> None:
    running = start_server(tmp_path, database=postgres.new_database())
    running.stop()
    running.execute("INSERT INTO schema_version (version) VALUES (99)")
    done = subprocess.run(
        [sys.executable, "-m", "mysafe_tui", "serve", "--data", str(running.data_dir),
         "--database", running.database, "user", "list"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "schema version 99, newer than this mysafe's" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_password_in_the_database_url_is_refused_on_the_command_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mysafe_tui", "serve", "--data", str(tmp_path),
         "--database", "postgresql://app:hunter2@db.example/vault", "user", "list"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "MYSAFE_DATABASE_URL" in done.stderr


def test_workers_serve_one_database_and_stop_together(postgres: Cluster, tmp_path: Path) -> None:
    """`--workers 2`: two processes behind one port (each its own pool, purge and history
    flush), an item written through one read through the other, all gone on SIGTERM."""
    running = start_server(tmp_path, database=postgres.new_database(),
                           args=("--rate-limit", "100000", "--workers", "2"))  # fmt: skip
    try:
        with running.client("alice") as alice:
            for n in range(10):  # new connections: the kernel spreads them over the workers
                ok(alice.post("/api/mysafe/note", data={"name": f"n{n}", "note": "x"}), 201)
            with running.client("alice") as again:
                assert len(ok(again.get("/api/mysafe/note"))["note_on_list"]) == 10
        pgrep = ["pgrep", "-P", str(running.process.pid)]
        children = subprocess.run(pgrep, capture_output=True, text=True).stdout.split()
        assert len(children) >= 2
    finally:
        assert running.stop() == 0
    # The workers, and multiprocessing's helper, which ends once its parent has gone.
    assert gone([int(pid) for pid in children], timeout=15) == []


def gone(pids: list[int], timeout: float) -> list[int]:
    """The processes still running (not gone, not a zombie) after `timeout` seconds."""
    import time

    def running(pid: int) -> bool:
        try:
            return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
        except OSError:
            return False

    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if running(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_healthz_says_when_the_database_is_gone_and_the_server_recovers(
    postgres: Cluster, tmp_path: Path
) -> None:
    """A cluster of its own, stopped under a running server: /healthz answers 503 (a load
    balancer stops sending traffic), requests fail with an error, nothing crashes; started
    again, the same server serves again."""
    own = Cluster(postgres.bin)
    try:
        running = start_server(tmp_path, database=own.new_database())
        try:
            own.pause()
            assert httpx.get(f"{running.url}/healthz", timeout=30).status_code == 503
            own.resume()
            for _ in range(100):  # the pool reconnects on the next checkout
                if httpx.get(f"{running.url}/healthz", timeout=30).status_code == 200:
                    break
            with running.client("alice") as alice:
                ok(alice.post("/api/mysafe/note", data={"name": "back", "note": "x"}), 201)
            assert running.process.poll() is None
        finally:
            running.stop()
    finally:
        own.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_rotating_the_sealing_key_reseals_every_item_and_retires_the_old_key(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from conftest import database_for

    running = start_server(tmp_path, database=database_for(request, backend))
    content = os.urandom(70_000)
    with running.client("alice") as alice:
        created = ok(alice.post("/api/mysafe/password", data={
            "name": "Bank", "username": "me", "password": "b4nk"}), 201)  # fmt: skip
        item_id = created["password_entity"]["identifier"]
        uploaded = ok(alice.post("/api/mysafe-ext/file", content=content, params={"name": "f"},
                                 headers=OCTETS), 201)  # fmt: skip
    running.stop()
    old_key = (running.data_dir / "server.key").read_bytes()
    command = [
        sys.executable,
        "-m",
        "mysafe_tui",
        "serve",
        "--data",
        str(running.data_dir),
        *(["--database", running.database] if running.database else []),
        "rotate-key",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "re-sealed" in done.stdout and "retired" in done.stdout
    new_key = (running.data_dir / "server.key").read_bytes()
    (retired,) = running.data_dir.glob("server.key.retired-*")
    assert new_key != old_key and retired.read_bytes() == old_key
    assert not (running.data_dir / "server.key.next").exists()
    from mysafe_tui.core.crypto import AuthenticationFailed, associated_data
    from mysafe_tui.server.store import _sealing

    with running.db() as db:  # the old key opens nothing in the database any more
        sealed = db.execute("SELECT id, kind, sealed FROM items").fetchall()
    for row in sealed:
        with pytest.raises(AuthenticationFailed):
            _sealing(old_key).open(bytes(row["sealed"]), associated_data("item", row["kind"],
                                                                         row["id"]))  # fmt: skip
    restarted = start_server(tmp_path, users=(), database=running.database)
    restarted.keys = running.keys
    try:
        with restarted.client("alice") as alice:
            got = ok(alice.get(f"/api/mysafe/password/{item_id}"))["password_entity"]
            assert got["password"] == "b4nk"
            file_id = uploaded["file_entity"]["identifier"]
            assert alice.get(f"/api/mysafe-ext/file/{file_id}/content").content == content
    finally:
        restarted.stop()

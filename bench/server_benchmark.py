#!/usr/bin/env python3
"""mysafe serve benchmark: token, list and get throughput with 10k items, and share reveals
under 50 concurrent clients, against a real server process on a loopback port; then the same
GET and reveal figures on PostgreSQL with one instance and with two (a throwaway cluster, as
the tests make it), side by side, and the 10k-item sync on PostgreSQL.

    .venv/bin/python bench/server_benchmark.py [--items 10000] [--shares 1000]

Also run at the end of bench/benchmark.py. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from mysafe_tui.core.crypto import sha256  # noqa: E402
from mysafe_tui.core.sharecrypto import SharePayload, b64url, derive, new_share_id, seal  # noqa: E402
from mysafe_tui.server.app import ServerConfig, open_store  # noqa: E402


def start(
    folder: Path, items: int, database: str = ""
) -> tuple[subprocess.Popen[bytes], str, tuple[str, str], float]:
    """Seed `items` passwords straight into the store, then start `mysafe serve` on them."""
    data = folder / "server"
    store = open_store(ServerConfig(data, database=database))
    store.add_user("bench")
    key = store.create_key("bench")
    user_id = 1
    started = time.perf_counter()
    for i in range(items):
        store.create_item(
            user_id,
            "password",
            {
                "name": f"item {i}",
                "username": f"user{i}",
                "url": f"https://{i}.example",
                "tags": "bench",
            },
            {"password": f"pw-{i}-{os.urandom(6).hex()}"},
            None,
        )
    seed_s = time.perf_counter() - started
    store.close()
    process, url = serve(data, *(["--database", database] if database else []))
    return process, url, key, seed_s


def serve(data: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """`mysafe serve` on a free loopback port over `data`; returns once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "mysafe_tui",
        "serve",
        "--data",
        str(data),
        "--port",
        str(port),
        "--rate-limit",
        "100000000",
        *extra,
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return process, url


class DelayRelay:
    """A TCP relay on a loopback port that holds each chunk `delay` seconds before passing it
    on, both ways: a server `2 * delay` of round trip further away. A process of its own (its
    work must not take the GIL of the client it delays); `tc netem` needs a kernel module this
    machine lacks."""

    def __init__(self, port: int, delay: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--relay", str(port), str(delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def relay_forever(target: int, delay: float) -> None:
    """The relay's own process: prints its port, then relays until terminated."""

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    await asyncio.sleep(delay)
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def serve() -> None:
        server = await asyncio.start_server(relay, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(serve())


def plain_sync(items: int, delays: list[float]) -> None:
    """The full sync of `items` from a plain senhasegura API (`--no-extension`: one GET per
    entity), on loopback and through `DelayRelay`s; how many the pull kept in flight."""
    from mysafe_tui.remote import pacing

    widest = [0]
    answered = pacing.Pacer.answered

    def noted(self: pacing.Pacer, ok: bool = True, waited_on: bool = True) -> None:
        answered(self, ok, waited_on)
        widest[0] = max(widest[0], self.limit)

    pacing.Pacer.answered = noted  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory(prefix="mysafe-plain-bench-") as tmp:
        process, _url, key, _seed = start(Path(tmp), items)
        process.terminate()
        process.wait(10)
        plain, url = serve(Path(tmp) / "server", "--no-extension")
        try:
            for delay in delays:
                widest[0] = 0
                relay = DelayRelay(int(url.rsplit(":", 1)[1]), delay / 2) if delay else None
                target = f"http://127.0.0.1:{relay.port}" if relay else url
                try:
                    full, _ = asyncio.run(sync_times(Path(tmp), target, key, incremental=False))
                finally:
                    if relay:
                        relay.close()
                print(
                    f"plain sync of {items} items, round trip +{delay * 1000:.0f} ms: "
                    f"{full:.1f} s, at most {widest[0]} in flight"
                )
        finally:
            plain.terminate()
            plain.wait(10)


async def sync_times(
    folder: Path, url: str, key: tuple[str, str], incremental: bool = True
) -> tuple[float, float]:
    """Full sync (login) of every item into a new vault, then an incremental one after 10
    changes on the server: the DESIGN.md §8 budget is 5 s for 10k items."""
    from mysafe_tui.core.kdf import KdfParams
    from mysafe_tui.core.models import Secret
    from mysafe_tui.remote.client import AccessKey, MySafeClient
    from mysafe_tui.service import VaultService
    from mysafe_tui.system.settings import Paths

    home = folder / f"client-{time.monotonic_ns()}"
    service = VaultService(Paths(home, home), kdf_params=KdfParams(19456, 2, 1, b"\0" * 16))
    await service.create("bench passphrase")
    started = time.perf_counter()
    await service.login(url, *key)
    full = time.perf_counter() - started
    if not incremental:
        await service.close()
        return full, 0.0
    async with MySafeClient(url, AccessKey(key[0], Secret(key[1]))) as client:
        for item_id in range(1, 11):
            await client.update_item("password", str(item_id), {"url": f"https://{time.time()}"})
    started = time.perf_counter()
    await service.sync()
    incremental = time.perf_counter() - started
    await service.close()
    return full, incremental


async def rate(count: int, clients: int, make: Any) -> tuple[float, list[float]]:
    """Run `count` requests from `clients` concurrent workers; requests/s and latencies."""
    latencies: list[float] = []
    queue = iter(range(count))

    async def worker(client: httpx.AsyncClient) -> None:
        for i in queue:
            t = time.perf_counter()
            answer = await make(client, i)
            latencies.append(time.perf_counter() - t)
            assert answer.status_code < 300, answer.text[:200]

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return count / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


async def measure(
    url: str, key: tuple[str, str], shares: int, others: tuple[str, ...] = (), full: bool = True
) -> dict[str, Any]:
    """`others`: more instances over the same database; requests go round all of them."""
    urls = (url, *others)
    form = {"grant_type": "client_credentials", "client_id": key[0], "client_secret": key[1]}
    token = httpx.post(f"{url}/api/oauth2/token", data=form).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}
    if full:
        out["token"] = await rate(200, 8, lambda c, i: c.post(f"{url}/api/oauth2/token",
                                                              data=form))  # fmt: skip
        out["list"] = await rate(20, 2, lambda c, i: c.get(f"{url}/api/mysafe/password",
                                                           headers=auth))  # fmt: skip
    out["get"] = await rate(2000, 16, lambda c, i: c.get(
        f"{urls[i % len(urls)]}/api/mysafe/password/{i % 5000 + 1}", headers=auth))  # fmt: skip

    links = []
    payload = SharePayload("note", "bench", [{"label": "Note", "value": "x" * 200}]).encode()
    with httpx.Client(headers=auth, timeout=60) as client:
        for _ in range(shares):
            share_id, share_key = new_share_id(), os.urandom(32)
            keys = derive(share_id, share_key, None, None)
            client.post(
                f"{url}/api/mysafe-ext/share",
                json={
                    "share_id": share_id,
                    "kind": "note",
                    "max_views": 1,
                    "expires_in": 3600,
                    "ciphertext": b64url(seal(payload, share_id, keys)),
                    "access_proof_hash": b64url(sha256(keys.proof)),
                },
            ).raise_for_status()
            links.append((share_id, b64url(keys.proof)))
    out["reveal"] = await rate(
        shares,
        50,
        lambda c, i: c.post(
            f"{urls[i % len(urls)]}/api/public/share/{links[i][0]}/reveal",
            json={"proof": links[i][1]},
        ),
    )
    out["wrk"] = wrk(url, auth) if full else {}
    return out


WRK_TARGETS = [
    ("healthz", "/healthz", 16),
    ("get", "/api/mysafe/password/7", 16),
    ("list", "/api/mysafe/password", 2),
]


def wrk(url: str, auth: dict[str, str]) -> dict[str, float]:
    """Server capacity without a Python client eating the same two cores (Debian's wrk)."""
    if not shutil.which("wrk"):
        return {}
    figures = {}
    header = f"Authorization: {auth['Authorization']}"
    for name, path, connections in WRK_TARGETS:
        command = ["wrk", "-t2", f"-c{connections}", "-d5s", "-H", header, url + path]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        figures[name] = float(out.split("Requests/sec:")[1].split()[0])
    return figures


def run(items: int = 10_000, shares: int = 1000) -> None:
    with tempfile.TemporaryDirectory(prefix="mysafe-serve-bench-") as tmp:
        process, url, key, seed_s = start(Path(tmp), items)
        try:
            results = asyncio.run(measure(url, key, shares))
            results["sync"] = asyncio.run(sync_times(Path(tmp), url, key))
        finally:
            process.terminate()
            process.wait(10)
        plain, plain_url = serve(Path(tmp) / "server", "--no-extension")
        try:
            results["sync_plain"] = asyncio.run(sync_times(Path(tmp), plain_url, key))
        finally:
            plain.terminate()
            plain.wait(10)
        postgres = _postgres(Path(tmp) / "pg", items, shares)
    _print(items, seed_s, results)
    if postgres is None:
        print("  (PostgreSQL is not installed: apt-get install postgresql for its figures)")
        return
    print(f"\n  {'':28}{'GET entity req/s':>18}{'share reveal req/s':>20}")
    for name, figures in (("SQLite", results), *postgres["rows"]):
        print(f"  {name:28}{figures['get'][0]:18.0f}{figures['reveal'][0]:20.0f}")
    full, incremental = postgres["sync"]
    verdict = "within" if full < 5 else "OVER"
    print(f"  sync {items} items on PostgreSQL (one instance): full {full:.1f} s ({verdict} the "
          f"5 s budget), incremental after 10 changes {incremental:.2f} s")  # fmt: skip


def _postgres(folder: Path, items: int, shares: int) -> dict[str, Any] | None:
    """One instance, then two over the same database: GET and reveal figures, and the sync."""
    from pgkit import Cluster, postgres_bin

    bin_dir = postgres_bin()
    if bin_dir is None:
        return None
    cluster = Cluster(bin_dir, durable=True)  # fsync'd commits, as SQLite's are
    try:
        database = cluster.new_database()
        process, url, key, _ = start(folder, items, database)
        second, second_url = serve(folder / "server", "--database", database)
        try:
            one = asyncio.run(measure(url, key, shares, full=False))
            two = asyncio.run(measure(url, key, shares, (second_url,), full=False))
            sync = asyncio.run(sync_times(folder, url, key))
        finally:
            for running in (process, second):
                running.terminate()
                running.wait(10)
    finally:
        cluster.stop()
    rows = [("PostgreSQL, one instance", one), ("PostgreSQL, two instances", two)]
    return {"rows": rows, "sync": sync}


def _print(items: int, seed_s: float, results: dict[str, Any]) -> None:
    print(
        f"\nmysafe serve on loopback, {items} items (seeded at {items / seed_s:.0f} items/s, "
        "one fsync'd transaction each):"
    )
    labels = {
        "token": "POST oauth2/token       (8 clients)",
        "list": f"GET list of {items} rows (2 clients)",
        "get": "GET one entity          (16 clients)",
        "reveal": "POST share reveal       (50 clients)",
    }
    for name, label in labels.items():
        per_second, latencies = results[name]
        print(
            f"  {label}: {per_second:8.1f} req/s   p50 {pct(latencies, 0.5):7.1f} ms   "
            f"p95 {pct(latencies, 0.95):7.1f} ms"
        )
    if results["wrk"]:
        figures = results["wrk"]
        print(
            f"  with wrk (no Python client in the way): GET entity {figures['get']:.0f} req/s "
            f"(16 connections), GET list {figures['list']:.1f} req/s (2), /healthz "
            f"{figures['healthz']:.0f} req/s (16)"
        )
    else:
        print("  (apt-get install wrk for server-only figures)")
    for name, what in (
        ("sync", "with revisions (mysafe serve)"),
        ("sync_plain", "plain senhasegura API (--no-extension)"),
    ):
        full, incremental = results[name]
        verdict = "within" if full < 5 else "OVER"
        print(
            f"  sync {items} items, {what}: full {full:.1f} s ({verdict} the 5 s budget), "
            f"incremental after 10 changes {incremental:.2f} s"
        )
    mean_list = statistics.mean(results["list"][1])
    print(
        f"  a full client pull (token + list + one get): "
        f"{(1 / results['token'][0] + mean_list + 1 / results['get'][0]) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--shares", type=int, default=1000)
    parser.add_argument(
        "--plain-sync",
        metavar="MS,MS",
        help="only the plain-API sync, with these added round trips (e.g. 0,20)",
    )
    parser.add_argument("--relay", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay:
        relay_forever(int(args.relay[0]), float(args.relay[1]))
        return
    if args.plain_sync:
        plain_sync(args.items, [float(ms) / 1000 for ms in args.plain_sync.split(",")])
        return
    run(args.items, args.shares)


if __name__ == "__main__":
    main()

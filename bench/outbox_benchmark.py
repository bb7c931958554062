#!/usr/bin/env python3
"""The outbox's cost: N notes made online against a real `mysafe serve` on loopback, against
the same N made with the server stopped (kept in the vault) and then sent by one sync when it
is back; with the §4 extension (Idempotency-Key) and as a plain senhasegura (each create
marked as possibly sent first). Rounds alternate online and offline in the same run.

    .venv/bin/python bench/outbox_benchmark.py [--items 50] [--rounds 3]

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from mysafe_tui.core.kdf import KdfParams  # noqa: E402
from mysafe_tui.core.models import ItemKind  # noqa: E402
from mysafe_tui.service import VaultService  # noqa: E402
from mysafe_tui.system.settings import Paths  # noqa: E402
from serverkit import RunningServer, start_server  # noqa: E402

FLOOR = KdfParams(memory_kib=19456, iterations=2, lanes=1, salt=b"\0" * 16)  # the tests' floor


async def one_round(server: RunningServer, folder: Path, items: int, offline: bool) -> float:
    """Seconds from the first note made to the last one on the server."""
    service = VaultService(Paths(folder, folder), kdf_params=FLOOR)
    await service.create("bench passphrase")
    client_id, secret = server.keys["bench"]
    await service.login(server.url, client_id, secret)
    try:
        if offline:
            server.stop()
        started = time.perf_counter()
        for n in range(items):
            await service.create_item(ItemKind.NOTE, {"name": f"{folder.name} {n}", "note": "x"})
        if offline:
            made = time.perf_counter() - started
            server.start_again()
            started = time.perf_counter()
            result = await service.sync()
            assert result.sent == items and not service.waiting(), result
            return made + time.perf_counter() - started
        return time.perf_counter() - started
    finally:
        await service.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.items} notes, {args.rounds} rounds each, interleaved")
    print(f"{'server':<12} {'online':>10} {'offline, then sync':>20} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for mode, options in (("extension", []), ("plain", ["--no-extension"])):
            server = start_server(Path(tmp) / mode, users=("bench",),
                                  args=["--rate-limit", "100000", *options])  # fmt: skip
            times: dict[bool, list[float]] = {False: [], True: []}
            try:
                for r in range(args.rounds):
                    for offline in (False, True):
                        folder = Path(tmp) / f"{mode}-{r}-{'off' if offline else 'on'}"
                        times[offline].append(await one_round(server, folder, args.items, offline))
            finally:
                server.stop()
            online, queued = statistics.median(times[False]), statistics.median(times[True])
            print(f"{mode:<12} {online * 1000:>8.0f} ms {queued * 1000:>17.0f} ms "
                  f"{queued / online:>7.2f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())

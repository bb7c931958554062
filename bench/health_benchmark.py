#!/usr/bin/env python3
"""`mysafe health` at 10k items against breach data, beside `keepassxc-cli analyze --hibp`.

    .venv/bin/python bench/health_benchmark.py               # 10k items, 1 GiB sorted file
    .venv/bin/python bench/health_benchmark.py --mib 64      # a smaller file, quicker

Both tools open their file with the same KDF time (mysafe's default Argon2id; the KeePass
database made with `keepassxc-cli import -t` that many milliseconds) and look the same 10k
passwords up in the same sorted SHA1:COUNT file; mysafe also in a folder of 1,000 range files
(the official downloader's layout). The commands run in turn (mysafe, keepassxc-cli, mysafe
...), whole processes timed from outside: wall and CPU (user + system) seconds. mysafe's first
run rates every password (zxcvbn) and keeps the ratings; it is reported apart ("cold"), the
others are "warm". Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import ROOT, items, kdf_time, keepass_database  # noqa: E402

sys.path.insert(0, str(ROOT))


def timed(cmd: list[str], env: dict[str, str], stdin: str = "") -> tuple[float, float]:
    """(wall, cpu) seconds of one whole run of `cmd`, its children included."""
    start = time.perf_counter()
    process = subprocess.Popen(
        cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    assert process.stdin is not None
    process.stdin.write(stdin.encode())
    process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def sorted_file(path: Path, mib: int, breached: list[str]) -> None:
    """Evenly spread random hashes (sorted as they are made) with `breached` merged in: the
    layout of Pwned Passwords' single file, at about `mib` MiB."""
    lines = mib * 1024 * 1024 // 44
    step = (1 << 160) // lines
    rng = random.Random(1)
    extra = sorted(breached)
    with path.open("w", newline="") as out:
        buffer = []
        for i in range(lines):
            value = f"{i * step + rng.randrange(step):040X}"
            while extra and extra[0] < value:
                buffer.append(f"{extra.pop(0)}:{rng.randint(1, 10**6)}\r\n")
            buffer.append(f"{value}:{rng.randint(1, 50)}\r\n")
            if len(buffer) > 100_000:
                out.write("".join(buffer))
                buffer.clear()
        buffer += [f"{h}:1\r\n" for h in extra]
        out.write("".join(buffer))


def range_folder(path: Path, hashes: list[str]) -> None:
    """1,000 range files (PREFIX.txt, SUFFIX:COUNT), for the prefixes of the first hashes."""
    path.mkdir()
    rng = random.Random(2)
    prefixes = sorted({h[:5] for h in hashes})[:1000]
    for prefix in prefixes:
        suffixes = {f"{rng.getrandbits(140):035X}": rng.randint(1, 50) for _ in range(800)}
        suffixes.update({h[5:]: 99 for h in hashes if h.startswith(prefix)})
        text = "".join(f"{s}:{n}\r\n" for s, n in sorted(suffixes.items()))
        (path / f"{prefix}.txt").write_text(text, newline="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--mib", type=int, default=1024, help="size of the sorted file")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.vault.vault import Vault

    folder = Path(tempfile.mkdtemp(prefix="mysafe-health-bench-"))
    try:
        sample = items(args.items)
        passwords = [pw for _t, _u, _url, pw, _g in sample]
        hashes = [hashlib.sha1(pw.encode()).hexdigest().upper() for pw in passwords]
        home = folder / "home"
        vault = Vault.create(home / "default.mysafe", "bench passphrase", profile="default")
        vault.save_many(
            (ItemKind.PASSWORD, {"name": t, "username": u, "url": url}, {"password": pw})
            for t, u, url, pw, _g in sample
        )
        vault.close()
        kdf = kdf_time(home / "default.mysafe")
        print(f"{args.items} items; KDF {kdf:.2f} s; building a {args.mib} MiB sorted file...")
        pwned = folder / "pwned.txt"
        sorted_file(pwned, args.mib, hashes[::100])  # 1% breached
        ranges = folder / "ranges"
        range_folder(ranges, hashes)
        passfile = folder / "passphrase"
        passfile.write_text("bench passphrase\n")
        env = {**os.environ, "MYSAFE_HOME": str(home), "MYSAFE_PASSPHRASE_FILE": str(passfile)}
        mysafe = str(Path(sys.executable).parent / "mysafe")
        runs: dict[str, list[tuple[float, float]]] = {}
        runs["mysafe health, cold (sorted file)"] = [
            timed([mysafe, "health", "--hibp", str(pwned)], env)
        ]
        commands = {
            "mysafe health (sorted file)": ([mysafe, "health", "--hibp", str(pwned)], ""),
            "mysafe health (range folder)": ([mysafe, "health", "--hibp", str(ranges)], ""),
        }
        if shutil.which("keepassxc-cli"):
            db = keepass_database(sample, folder, int(kdf * 1000))
            commands["keepassxc-cli analyze --hibp (sorted file)"] = (
                ["keepassxc-cli", "analyze", "--hibp", str(pwned), str(db)],
                "pw\n",
            )
        for _ in range(args.runs):  # in turn: a drifting machine slows both alike
            for name, (cmd, stdin) in commands.items():
                runs.setdefault(name, []).append(timed(cmd, env, stdin))
        print(f"{'':46} {'wall s':>8} {'cpu s':>8}   (median of {args.runs})")
        for name, values in runs.items():
            wall = statistics.median(v[0] for v in values)
            cpu = statistics.median(v[1] for v in values)
            print(f"{name:46} {wall:8.2f} {cpu:8.2f}")
        print(f"KDF alone: {kdf:.2f} s; the budget is KDF + 2 s.")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

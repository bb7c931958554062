#!/usr/bin/env python3
"""The budgets a person feels, each beside its peer from the same run, as one table.

    .venv/bin/python bench/table.py            # 100k and 10k items, 15 pairs each
    .venv/bin/python bench/table.py --quick    # 1k items, 3 pairs: the harness, not figures

Every UI figure is taken at the painted frame (bench/frames.py): a keystroke in the filter
until the first frame painted after the list has its answer, and a spawn until the unlock
screen's first frame; the peer is a bare Textual app timed by the same harness. Commands are
timed as whole processes (wall, and user + system CPU from the kernel's accounting of the
finished child), mysafe and the peer taking turns: `mysafe get` through the unlock agent
against `pass show` (gpg's agent holding a key without passphrase, as ours holds the vault's);
and a full sync from a plain senhasegura API on loopback and 20 ms away (bench/server_benchmark.py,
its own budget: no peer). Ratios are mysafe / peer. Not a test: it prints what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import frames  # noqa: E402 (bench/ is not a package)


def typing_figures(
    items: int, home: Path, rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Keystroke to frame for mysafe (`items` in the vault) and the bare app, in turns."""
    mine: list[dict[str, float]] = []
    bare: list[dict[str, float]] = []
    frames.build(home, items)
    for _ in range(rounds):
        mine.append(_child(["--items", str(items), "--home", str(home)]))
        bare.append(_child(["--who", "bare"]))
    return _median_of(mine), _median_of(bare)


def _child(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(HERE / "frames.py"), *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def whole(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one whole process, its output thrown away."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def agent_versus_pass(
    folder: Path, pairs: int, python: str
) -> tuple[list[float], list[float]] | None:
    """Medians (wall, cpu) of `mysafe get` through the agent and of `pass show`, in turns."""
    if not (shutil.which("pass") and shutil.which("gpg")):
        return None
    from benchmark import items

    from mysafe_tui.core.kdf import KdfParams
    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.vault.vault import Vault

    sample = items(1000)
    home, runtime = folder / "home", folder / "run"
    runtime.mkdir(mode=0o700, parents=True)
    vault = Vault.create(
        home / "default.mysafe", "bench passphrase", params=KdfParams(19456, 2, 1, os.urandom(16))
    )
    vault.save_many(
        (ItemKind.PASSWORD, {"name": t, "username": u, "url": url}, {"password": pw})
        for t, u, url, pw, _tag in sample
    )
    vault.close()
    (folder / "passphrase").write_text("bench passphrase\n")
    env = {
        **os.environ,
        "MYSAFE_HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "GNUPGHOME": str(folder / "gnupg"),
        "PASSWORD_STORE_DIR": str(folder / "store"),
    }
    (folder / "gnupg").mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "bench@example.invalid"]
    subprocess.run([*gpg, "default", "default", "never"], env=env, capture_output=True, check=True)
    subprocess.run(
        ["pass", "init", "bench@example.invalid"], env=env, capture_output=True, check=True
    )
    title, _user, url, password, _tag = sample[len(sample) // 2]
    entry = title.replace(" ", "-")
    subprocess.run(
        ["pass", "insert", "-m", entry],
        input=f"{password}\nurl: {url}\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    mysafe = str(Path(python).parent / "mysafe")
    unlock = {**env, "MYSAFE_PASSPHRASE_FILE": str(folder / "passphrase")}
    subprocess.run([mysafe, "unlock"], env=unlock, capture_output=True, check=True)
    try:
        mine, theirs = [], []
        for _ in range(pairs + 1):  # the first pair warms both (gpg's agent starts on use)
            mine.append(whole([mysafe, "get", title], env))
            theirs.append(whole(["pass", "show", entry], env))
    finally:
        subprocess.run([mysafe, "lock"], env=env, capture_output=True)
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)
    return (
        [statistics.median(w for w, _ in mine[1:]), statistics.median(c for _, c in mine[1:])],
        [statistics.median(w for w, _ in theirs[1:]), statistics.median(c for _, c in theirs[1:])],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k items, 3 pairs")
    parser.add_argument("--json", action="store_true", help="the rows as JSON too")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the Python of the install whose start-up is timed (`pip install .` is what the "
        "budgets are for; an editable install adds its finder to every start)",
    )
    args = parser.parse_args()
    sizes = [1000] if args.quick else [100_000, 10_000]
    pairs = 3 if args.quick else 15
    rounds = 1 if args.quick else 2
    rows: list[tuple[str, float, str, float, str, float]] = []  # what, mine, peer, theirs, ...

    with tempfile.TemporaryDirectory(prefix="mysafe-table-") as tmp:
        folder = Path(tmp)
        for n in sizes:
            mine, bare = typing_figures(n, folder / f"ui-{n}", rounds)
            budget = 0.016 if n >= 100_000 else 0.008
            rows.append(
                (
                    f"filter key to frame, {n // 1000}k, CPU p95",
                    mine["cpu_p95"],
                    "bare Textual",
                    bare["cpu_p95"],
                    f"<= {budget * 1000:.0f} ms",
                    budget,
                )
            )
            rows.append(
                (
                    f"filter key to frame, {n // 1000}k, wall p95",
                    mine["wall_p95"],
                    "bare Textual",
                    bare["wall_p95"],
                    "<= 30 ms",
                    0.030,
                )
            )
            rows.append(
                (
                    f"filter key to frame, {n // 1000}k, CPU median",
                    mine["cpu_median"],
                    "bare Textual",
                    bare["cpu_median"],
                    "",
                    0.0,
                )
            )
        paint = [
            (
                frames.first_paint(args.python, _paint_home(folder)),
                frames.first_paint(args.python, None),
            )
            for _ in range(pairs)
        ]
        for what, at in (("CPU", 1), ("wall", 0)):
            mine_t = statistics.median(m[at] for m, _ in paint)
            bare_t = statistics.median(b[at] for _, b in paint)
            rows.append(
                (
                    f"spawn to unlock screen painted, {what}",
                    mine_t,
                    "bare Textual",
                    bare_t,
                    "<= 1.1x" if what == "CPU" else "",
                    -1.1 if what == "CPU" else 0.0,
                )
            )
        got = agent_versus_pass(folder / "pass", pairs, args.python)
        if got is not None:
            (mine_wall, mine_cpu), (pass_wall, pass_cpu) = got
            rows.append(
                ("get through the agent, CPU", mine_cpu, "pass show", pass_cpu, "<= 1.0x", -1.0)
            )
            rows.append(
                ("get through the agent, wall", mine_wall, "pass show", pass_wall, "<= 1.0x", -1.0)
            )

        for delay, seconds in plain_sync(1000 if args.quick else 10_000):
            budget = 6.0 if delay == 0 else 15.0
            rows.append(
                (
                    f"plain sync of {1 if args.quick else 10}k, +{delay} ms round trip",
                    seconds,
                    "",
                    0.0,
                    f"<= {budget:.0f} s",
                    budget if not args.quick else 0.0,
                )
            )

    editable = any(Path(args.python).parent.parent.glob("lib/python*/site-packages/__editable__*"))
    print(
        f"install timed: {Path(args.python).parent.parent}"
        + (" (editable: its finder adds ~14 ms to each start)" if editable else "")
    )
    print(f"{'operation':44} {'mysafe':>9} {'peer':>22} {'ratio':>6}  {'budget':9} met")
    out = []
    for what, mine_t, peer, theirs_t, budget_text, budget in rows:
        ratio = mine_t / theirs_t if theirs_t else float("nan")
        if budget > 0:
            met = "yes" if mine_t <= budget else "NO"
        elif budget < 0:
            met = "yes" if ratio <= -budget else "NO"
        else:
            met = ""
        peer_text = f"{peer} {theirs_t * 1000:.1f} ms" if peer else "-"
        mine_text = f"{mine_t * 1000:7.1f}ms" if mine_t < 1 else f"{mine_t:8.1f}s"
        ratio_text = f"{ratio:5.2f}x" if peer else "     -"
        print(f"{what:44} {mine_text:>9} {peer_text:>22} {ratio_text}  {budget_text:9} {met}")
        out.append(
            {
                "operation": what,
                "mysafe_s": mine_t,
                "peer": peer,
                "peer_s": theirs_t,
                "ratio": ratio,
                "budget": budget_text,
                "met": met,
            }
        )
    if args.json:
        print(json.dumps(out))


def plain_sync(items: int) -> list[tuple[int, float]]:
    """(added round trip in ms, seconds) of a full sync of `items` from a plain senhasegura
    API (`mysafe serve --no-extension`), on loopback and through a delaying relay."""
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "server_benchmark.py"),
            "--items",
            str(items),
            "--plain-sync",
            "0,20",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = []
    for line in out.splitlines():  # "plain sync of N items, round trip +D ms: T s, ..."
        if line.startswith("plain sync of"):
            delay, seconds = line.split("+", 1)[1].split(" ms: ", 1)
            found.append((int(delay), float(seconds.split(" s", 1)[0])))
    return found


def _paint_home(folder: Path) -> Path:
    home = folder / "paint"
    if not home.exists():
        frames.build(home, 10)
    return home


if __name__ == "__main__":
    main()

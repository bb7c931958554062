#!/usr/bin/env python3
"""An Ed25519 signature through `mysafe ssh-agent`, beside OpenSSH's own `ssh-agent` holding
the same key: the whole `ssh-keygen -Y sign` round trip (list the keys, ask for a signature).

    .venv/bin/python bench/ssh_agent_benchmark.py            # 50 runs of each, in turn
    .venv/bin/python bench/ssh_agent_benchmark.py --runs 200

A throwaway vault with one generated key, unlocked, and its SSH agent; OpenSSH's agent gets the
same key (written to a file only for `ssh-add`, then deleted). The two commands run in turn
(mysafe, OpenSSH, mysafe ...), whole processes timed from outside: wall and CPU seconds, the
client's own; the agents' CPU is their business. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from health_benchmark import timed  # noqa: E402

MYSAFE = str(Path(sys.executable).parent / "mysafe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mysafe-ssh-bench-") as folder:
        base = Path(folder)
        runtime = base / "run"
        runtime.mkdir(mode=0o700)
        (base / "pass").write_text("correct horse battery staple\n")
        env = {
            **os.environ,
            "MYSAFE_HOME": str(base / "home"),
            "XDG_RUNTIME_DIR": str(runtime),
            "MYSAFE_PASSPHRASE_FILE": str(base / "pass"),
        }

        def mysafe(*words: str) -> str:
            done = subprocess.run([MYSAFE, *words], env=env, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"mysafe {' '.join(words)}: {done.stderr.strip()}")
            return done.stdout

        mysafe("init", "--kdf-profile", "low-memory")
        mysafe("add", "ssh-key", "--name", "bench", "--generate")
        public = base / "bench.pub"
        public.write_text(mysafe("get", "bench"))
        mysafe("unlock")
        ours = mysafe("ssh-agent", "--json")
        our_sock = ours.split('"SSH_AUTH_SOCK": "')[1].split('"')[0]
        peer_sock = base / "openssh.sock"
        peer = subprocess.Popen(
            ["ssh-agent", "-D", "-a", str(peer_sock)], stdout=subprocess.DEVNULL
        )
        try:
            key = base / "key"
            key.write_text(mysafe("get", "bench", "--field", "private"))
            key.chmod(0o600)
            while not peer_sock.exists():  # ssh-agent -D binds as it starts
                time.sleep(0.01)
            subprocess.run(
                ["ssh-add", "-q", str(key)],
                check=True,
                env={**env, "SSH_AUTH_SOCK": str(peer_sock)},
            )
            key.unlink()
            message = "a commit to sign\n" * 64
            sign = ["ssh-keygen", "-Y", "sign", "-f", str(public), "-n", "git"]
            a_env = {**env, "SSH_AUTH_SOCK": our_sock}
            b_env = {**env, "SSH_AUTH_SOCK": str(peer_sock)}
            a, b = [], []
            for _ in range(3):  # warm-up: page cache, both agents' first connections
                timed(sign, a_env, message), timed(sign, b_env, message)
            for _ in range(args.runs):
                a.append(timed(sign, a_env, message))
                b.append(timed(sign, b_env, message))
        finally:
            peer.terminate()
            peer.wait()
            mysafe("ssh-agent", "-k")
            mysafe("lock")
    for label, runs in (("mysafe ssh-agent", a), ("OpenSSH ssh-agent", b)):
        walls = sorted(w for w, _ in runs)
        cpus = sorted(c for _, c in runs)
        print(
            f"{label:18} wall median {statistics.median(walls) * 1000:6.2f} ms "
            f"(min {walls[0] * 1000:.2f}, max {walls[-1] * 1000:.2f}); "
            f"client cpu median {statistics.median(cpus) * 1000:.2f} ms"
        )
    ratios = sorted(x[0] / y[0] for x, y in zip(a, b, strict=True))
    print(
        f"wall ratio mysafe / OpenSSH, pair by pair: median {statistics.median(ratios):.2f} "
        f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f}) over {args.runs} pairs"
    )


if __name__ == "__main__":
    main()

"""`mysafe run` and `mysafe inject`: secrets into a program's environment or a file, by
reference, never on a command line, masked in what the program prints."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from test_cli import Cli

PROGRAM = """
import os, sys, time
value = os.environ["TOKEN"]
print("token:", value, flush=True)
half = len(value) // 2
sys.stderr.write("split: " + value[:half]); sys.stderr.flush(); time.sleep(0.2)
sys.stderr.write(value[half:] + "\\n"); sys.stderr.flush()
print("user:", os.environ["WHO"], "plain:", os.environ["PLAIN"])
print("passphrase file:", os.environ.get("MYSAFE_PASSPHRASE_FILE"))
sys.exit(3)
"""


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(tmp_path / "home")
    c.ok("init", "--kdf-profile", "low-memory")
    c.ok("add", "password", "--name", "Github", "--username", "octo", stdin="gh-S3cret-pw\n")
    c.ok("add", "password", "--name", "Deploy key/prod", "--username", "ci", stdin="pr0d-pw\n")
    return c


def test_run_puts_secrets_in_the_environment_and_masks_them_in_the_output(
    cli: Cli, tmp_path: Path
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("WHO=mysafe://Github/username\nPLAIN=just text\n")
    os.environ["TOKEN"] = "mysafe://Github/password"
    try:
        done = cli("run", "--env-file", str(env_file), "--", sys.executable, "-c", PROGRAM)
        raw = cli("run", "--no-masking", "--env-file", str(env_file), "--",
                  sys.executable, "-c", PROGRAM)  # fmt: skip
    finally:
        del os.environ["TOKEN"]
    assert done.returncode == 3  # the program's own exit code
    assert "token: <concealed by mysafe>" in done.stdout
    assert "split: <concealed by mysafe>" in done.stderr  # even across two writes
    assert "user: <concealed by mysafe> plain: just text" in done.stdout
    assert "gh-S3cret-pw" not in done.stdout + done.stderr
    assert "passphrase file: None" in done.stdout  # not handed to the program
    assert "token: gh-S3cret-pw" in raw.stdout and raw.returncode == 3


def test_a_reference_that_does_not_resolve_runs_nothing(cli: Cli, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    os.environ["TOKEN"] = "mysafe://Nothing/password"
    try:
        error = cli.fails("run", "--", "touch", str(marker))
    finally:
        del os.environ["TOKEN"]
    assert "mysafe://Nothing/password" in error and "nothing was run" in error
    assert not marker.exists()


def test_inject_fills_a_template_into_a_private_file(cli: Cli, tmp_path: Path) -> None:
    template = tmp_path / "config.tmpl"
    template.write_text(
        "user = {{ mysafe://Github/username }}\n"
        "password = {{mysafe://Github}}\n"
        "deploy = {{ mysafe://Deploy%20key%2Fprod/password }}\n"
    )
    out = tmp_path / "config.ini"
    cli.ok("inject", "-i", str(template), "-o", str(out))
    assert out.read_text() == "user = octo\npassword = gh-S3cret-pw\ndeploy = pr0d-pw\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "exists" in cli.fails("inject", "-i", str(template), "-o", str(out))
    cli.ok("inject", "-i", str(template), "-o", str(out), "--force")
    assert cli.ok("inject", "-i", str(template)).startswith("user = octo\n")  # to a pipe
    template.write_text("a = {{ mysafe://Github/nope }}\nb = {{ mysafe://Gone }}\n")
    error = cli.fails("inject", "-i", str(template), "-o", str(tmp_path / "other.ini"))
    assert "mysafe://Github/nope" in error and "mysafe://Gone" in error
    assert not (tmp_path / "other.ini").exists()


def test_run_passes_a_term_on_and_reports_how_the_program_ended(cli: Cli, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    started = tmp_path / "started"
    program = f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(30)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
    env.update(MYSAFE_HOME=str(cli.home), MYSAFE_PASSPHRASE_FILE=str(cli.passfile))
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mysafe"), "run", "--", sys.executable, "-c", program],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 128 + signal.SIGTERM  # as a shell reports it

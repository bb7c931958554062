"""End to end: the installed `mysafe` in a real terminal (tmux), typed at like a person would."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tmuxkit import MYSAFE, PASSPHRASE, Terminal, burst, seeded, start, stop

from conftest import wait_for_exit

# Real terminals, sshd and browsers: the full suite (CI) runs them; `-m "not slow"` skips.
pytestmark = pytest.mark.slow


if shutil.which("tmux") is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install tmux (.ci/run does)")
    pytest.skip("tmux is not installed", allow_module_level=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = start(tmp_path)
    yield term
    stop(term)


def test_create_add_find_and_quit_in_a_real_terminal(terminal: Terminal, tmp_path: Path) -> None:
    terminal.wait_for("Choose a passphrase")
    terminal.type(PASSPHRASE)
    terminal.keys("Enter")
    terminal.type(PASSPHRASE)
    terminal.keys("Enter")
    terminal.wait_for("No passwords yet")
    terminal.keys("n")
    terminal.wait_for("New password")
    terminal.type("Jump host")
    terminal.keys("Tab")
    terminal.type("ops")
    terminal.keys("Tab")
    terminal.keys("C-g")
    terminal.wait_for("strong")
    terminal.keys("C-s")
    terminal.wait_for("Saved 'Jump host'")
    terminal.keys("n")
    terminal.wait_for("New password")
    terminal.type("Mail")
    terminal.keys("Tab")
    terminal.type("me")
    terminal.keys("Tab")
    terminal.type("hunter2-mail")
    terminal.keys("C-s")
    terminal.wait_for("Saved 'Mail'")
    terminal.keys("/")
    terminal.type("jump")
    screen = terminal.wait_for("Jump host")
    rows = [line.strip("★ ") for line in screen.splitlines()]
    assert any(row.startswith("Jump host") for row in rows)
    assert not any(row.startswith("Mail") for row in rows)  # filtered out of the list
    assert "hunter2-mail" not in screen  # secrets never on screen unasked
    terminal.keys("Enter")
    terminal.keys("C-q")
    deadline = time.monotonic() + 10
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not terminal.alive(), terminal.screen()
    assert (tmp_path / "home" / "default.mysafe").stat().st_mode & 0o777 == 0o600


def test_profile_option_opens_that_profiles_vault(tmp_path: Path) -> None:
    term = start(tmp_path, "--profile", "work")
    try:
        screen = term.wait_for("Choose a passphrase")
        assert "work.mysafe" in "".join(screen.replace("│", "").split())  # a long path wraps
    finally:
        stop(term)


def test_passphrase_enter_and_a_filter_typed_in_oneburst(tmp_path: Path) -> None:
    """What a fast typist or `tmux send-keys` delivers: the keys after Enter are no part of
    the passphrase; they filter the list once it is there."""
    seeded(tmp_path, ("GitHub", "pw"), ("Bank", "pw"))
    term = start(tmp_path)
    try:
        term.wait_for("Passphrase")
        subprocess.run([*term.base, "send-keys", "-t", term.session, "-l", PASSPHRASE + "\r/git"],
                       check=True)  # fmt: skip
        screen = term.wait_for("GitHub")
        assert "Wrong passphrase" not in screen
        assert "Bank" not in screen  # filtered by what was typed after Enter
    finally:
        stop(term)


def test_keys_after_slash_in_one_burst_only_filter(tmp_path: Path) -> None:
    """'/cred' at once: c, r, e, d must not copy, reveal, edit or trash; they are the filter."""
    seeded(tmp_path, ("AWS", "aws-S3cret-pw"), ("Credit card", "cc-pw"))
    term = start(tmp_path)
    try:
        term.wait_for("Passphrase")
        term.type(PASSPHRASE)
        term.keys("Enter")
        term.wait_for("AWS")
        for _ in range(5):
            burst(term, "-l", "/cred")
            screen = term.wait_for("Credit card")
            assert "AWS" not in screen.split("Credit card")[0].split("\n")[-1]
            assert "trash?" not in screen and "Edit password" not in screen
            assert "aws-S3cret-pw" not in screen
            buffers = subprocess.run([*term.base, "list-buffers"], capture_output=True, text=True)
            assert "S3cret" not in buffers.stdout  # nothing was copied
            term.keys("Escape")
            term.wait_for("AWS")
    finally:
        stop(term)


def test_a_whole_form_typed_in_one_burst_lands_field_by_field(tmp_path: Path) -> None:
    term = start(tmp_path)
    try:
        term.wait_for("Choose a passphrase")
        burst(term, "-l", PASSPHRASE)
        burst(term, "Enter", PASSPHRASE)  # Enter moves to the second box at once
        burst(term, "Enter")
        term.wait_for("No passwords yet")
        burst(term, "n")
        term.wait_for("New password")
        # Back with shift+tab, then on: a field entered by tab has its text selected, so
        # typing replaces it, exactly as for a slow typist.
        burst(term, "Aaa", "Tab", "bbb", "BTab", "Xx", "Tab", "yy", "Tab", "Ccc-9!xQ-long",
               "Tab", "https://example.com", "Tab", "JBSWY3DPEHPK3PXP", "C-s")  # fmt: skip
        term.wait_for("Saved 'Xx'")
    finally:
        stop(term)
    env = {**os.environ, "MYSAFE_HOME": str(tmp_path / "home")}
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE)
    got = subprocess.run([MYSAFE, "--passphrase-file", str(secret), "get", "Xx", "--json"],
                         env=env, capture_output=True, text=True, check=True)  # fmt: skip
    item = json.loads(got.stdout)
    assert (item["name"], item["username"], item["password"]) == ("Xx", "yy", "Ccc-9!xQ-long")
    assert (item["url"], item["secret_key"]) == ("https://example.com", "JBSWY3DPEHPK3PXP")


def test_killing_tmux_with_no_client_attached_leaves_no_process(tmp_path: Path) -> None:
    """mysafe as a pane's own command, the server killed while detached: the pane's terminal
    is gone; the process must go too (it used to hang in Textual's shutdown for good)."""
    seeded(tmp_path, ("AWS", "aws-pw"))
    for _ in range(3):
        term = start(tmp_path)
        term.wait_for("Passphrase")
        term.type(PASSPHRASE)
        term.keys("Enter")
        term.wait_for("AWS")
        [pid] = term.pane_pids()  # `env ... mysafe` execs: the pane's process is mysafe
        assert wait_for_exit([pid], timeout=0) == [pid]  # it runs
        stop(term)
        assert wait_for_exit([pid], timeout=5) == []


def test_cli_copy_in_tmux_lands_in_tmux_and_a_detached_clearer_clears_it(
    tmp_path: Path,
) -> None:
    """`mysafe copy` exits at once; what it copied is cleared after the set time by the
    small process it left behind."""
    seeded(tmp_path, ("Github", "gh-S3cret-pw"))
    home = tmp_path / "home"
    (home / "settings.json").write_text(json.dumps({"clear_seconds": 5}))
    passfile = tmp_path / "pass"
    passfile.write_text(PASSPHRASE + "\n")
    done = tmp_path / "done"
    socket = f"mysafe-test-{uuid.uuid4().hex[:8]}"
    command = (
        f"env MYSAFE_HOME={home} MYSAFE_PASSPHRASE_FILE={passfile} {MYSAFE} copy github "
        f"> {done} 2>&1; sleep 60"
    )
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "app", "-x", "100",
                    "-y", "30", command], check=True)  # fmt: skip
    term = Terminal(socket, "app")
    try:

        def buffer() -> str:
            out = subprocess.run([*term.base, "show-buffer", "-b", "mysafe"],
                                 capture_output=True, text=True)  # fmt: skip
            return out.stdout if out.returncode == 0 else ""

        deadline = time.monotonic() + 20
        while buffer() != "gh-S3cret-pw" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert buffer() == "gh-S3cret-pw"
        assert "sent to your terminal's clipboard through tmux" in done.read_text()
        deadline = time.monotonic() + 20  # 5 s in settings, then the clearer's turn
        while buffer() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert buffer() == ""  # our buffer is deleted; a space went to the outer clipboard
    finally:
        stop(term)


def test_totp_copy_with_an_unlocked_agent_lands_in_this_terminals_tmux(tmp_path: Path) -> None:
    """The agent holds the vault, but a copy happens where the person is: `mysafe totp
    --copy` with no passphrase at hand puts the code in the tmux this command runs in."""
    home = tmp_path / "home"
    passfile = tmp_path / "pass"
    passfile.write_text(PASSPHRASE + "\n")
    env = {**os.environ, "MYSAFE_HOME": str(home), "MYSAFE_PASSPHRASE_FILE": str(passfile)}
    run = functools.partial(subprocess.run, env=env, capture_output=True, text=True, check=True)
    run([MYSAFE, "init", "--kdf-profile", "low-memory"])
    run([MYSAFE, "add", "password", "--name", "Github", "--username", "octo", "--totp"],
        input="gh-pw\nJBSWY3DPEHPK3PXP\n")  # fmt: skip
    (home / "settings.json").write_text(json.dumps({"clear_seconds": 5}))
    run([MYSAFE, "unlock"])
    socket = f"mysafe-test-{uuid.uuid4().hex[:8]}"
    command = (  # no MYSAFE_PASSPHRASE_FILE: only the agent can open the vault
        f"env -u MYSAFE_PASSPHRASE_FILE MYSAFE_HOME={home} {MYSAFE} totp github --copy; sleep 60"
    )
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "app", "-x", "100",
                    "-y", "30", command], env=env, check=True)  # fmt: skip
    term = Terminal(socket, "app")
    try:

        def buffer() -> str:
            out = subprocess.run([*term.base, "show-buffer", "-b", "mysafe"],
                                 capture_output=True, text=True)  # fmt: skip
            return out.stdout if out.returncode == 0 else ""

        deadline = time.monotonic() + 20
        while not buffer() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert buffer().isdigit() and len(buffer()) == 6
        term.wait_for("One-time code")
        deadline = time.monotonic() + 20  # and its clearer clears it, as after `copy`
        while buffer() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert buffer() == ""
    finally:
        stop(term)
        subprocess.run([MYSAFE, "lock"], env=env, capture_output=True)

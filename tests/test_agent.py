"""The unlock agent: `mysafe unlock` once, then commands (and the UI) without the passphrase,
until it locks: idle, absolute maximum, `lock`, signals, a passphrase change, a replaced
file, sleep. Real processes, a real socket, a second uid for the peer check."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import PASSPHRASE, add_password, wait_for_exit
from mysafe_tui.vault.vault import Vault
from test_cli import Cli

BIN = Path(sys.executable).parent
PRINT_TOKEN = "import os; print(os.environ['TOKEN'])"


class Agent:
    """One test's vault with an agent: `unlock` starts it, teardown makes sure it is gone."""

    def __init__(self, cli: Cli, runtime: Path) -> None:
        self.cli = cli
        self.runtime = runtime
        self.pids: list[int] = []

    def unlock(self, *options: str, env: dict[str, str] | None = None) -> str:
        done = self.cli("unlock", *options)
        assert done.returncode == 0, done.stderr
        pid = self.pid()
        assert pid is not None, "the agent did not answer after unlock"
        self.pids.append(pid)
        return done.stderr

    def pid(self) -> int | None:
        status = self.nopass("status", "--json")
        if status.returncode != 0:
            return None
        agent = json.loads(status.stdout)["agent"]
        return int(agent["pid"]) if agent else None

    def nopass(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """A command with no passphrase at hand: only an agent can open the vault."""
        return self.cli(*args, stdin=stdin, passphrase=False)

    def socket_files(self) -> list[Path]:
        folder = self.runtime / "mysafe"
        return sorted(folder.glob("*.sock")) if folder.exists() else []

    def log(self) -> str:
        path = self.runtime / "mysafe" / "agent.log"
        return path.read_text() if path.exists() else ""


def until(condition: Callable[[], object], timeout: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def locked(agent: Agent) -> bool:
    return not agent.socket_files() and "locked:" in agent.log()


@pytest.fixture
def agent(tmp_path: Path, private_runtime_dir: Path) -> Iterator[Agent]:
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    cli.ok("add", "password", "--name", "Github", "--username", "octo",
           "--url", "https://github.com/octo", stdin="gh-S3cret-pw\n")  # fmt: skip
    cli.ok("add", "password", "--name", "prod db", "--username", "dba", "--url", "db.internal",
           stdin="db-pw\n")  # fmt: skip
    a = Agent(cli, private_runtime_dir)
    yield a
    cli("lock")
    for pid in a.pids:
        if wait_for_exit([pid]):
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"agent {pid} did not stop on 'mysafe lock'")


def test_unlock_once_then_every_command_works_without_the_passphrase(agent: Agent) -> None:
    assert agent.nopass("get", "Github").returncode == 1  # locked: no passphrase, no terminal
    said = agent.unlock("--timeout", "10m")
    assert "unlocked" in said and "locks after" in said

    assert agent.nopass("get", "Github").stdout == "gh-S3cret-pw\n"  # run by the agent
    assert "prod db" in agent.nopass("list").stdout
    # A write goes through the key the agent hands over; the agent sees it at once.
    done = agent.nopass("add", "password", "--name", "New one", "--username", "me",
                        stdin="n3w-pw\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert agent.nopass("get", "New one").stdout == "n3w-pw\n"
    assert "gave the key to pid" in agent.log() and "mysafe" in agent.log()  # who took it
    os.environ["TOKEN"] = "mysafe://Github/password"  # `run` resolves it with the agent's key
    try:
        ran = agent.nopass(
            "run", "--", sys.executable, "-c", "import os; print(os.environ['TOKEN'])"
        )
    finally:
        del os.environ["TOKEN"]
    assert ran.returncode == 0 and ran.stdout == "<concealed by mysafe>\n", ran.stderr
    status = agent.nopass("status")
    assert "Agent:     unlocked" in status.stdout

    assert agent.nopass("lock").stderr == "mysafe: locked\n"
    until(lambda: locked(agent), what="the agent to lock")
    gone = agent.nopass("get", "Github")
    assert gone.returncode == 1 and "passphrase" in gone.stderr and gone.stdout == ""


def test_its_exit_codes_and_errors_are_the_commands_own(agent: Agent) -> None:
    agent.unlock()
    missing = agent.nopass("get", "Nothing")
    assert missing.returncode == 1 and "Nothing" in missing.stderr and not missing.stdout
    usage = agent.nopass("get", "Github", "--no-such-option")
    assert usage.returncode == 2 and "unrecognized arguments" in usage.stderr
    assert "Traceback" not in missing.stderr + usage.stderr
    # The agent reads the caller's stdin too.
    cred = agent.nopass("git-credential", "get", stdin="protocol=https\nhost=github.com\n\n")
    assert cred.stdout == "username=octo\npassword=gh-S3cret-pw\n"


PEER_PROBE = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"v": 1, "op": "key", "vault": "x"}\\n')
    print(repr(s.recv(100)))
except (ConnectionResetError, BrokenPipeError):  # hung up on before or after it spoke
    print(repr(b""))
"""


@pytest.fixture
def open_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runtime folder others may pass through (outside pytest's 0700 base), so that only
    the peer check stands between another user and the agent."""
    runtime = Path(tempfile.mkdtemp(prefix="mysafe-agent-"))
    runtime.chmod(0o711)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    yield runtime
    shutil.rmtree(runtime, ignore_errors=True)


def test_socket_and_folder_are_private_and_another_uid_is_refused(
    tmp_path: Path, open_runtime_dir: Path
) -> None:
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as a second user")
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    agent = Agent(cli, open_runtime_dir)
    agent.unlock()
    try:
        folder, (sock,) = open_runtime_dir / "mysafe", agent.socket_files()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        folder.chmod(0o711)  # modes set wrong by hand, say
        sock.chmod(0o666)
        other = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "/usr/bin/python3", "-c", PEER_PROBE, str(sock)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert other.returncode == 0, other.stderr  # it got through the folder ...
        assert other.stdout.strip() == "b''"  # ... and was hung up on, with nothing said
        until(lambda: "refused a connection from uid 65534" in agent.log(), what="the log")
        # Our own commands no longer trust a folder others can enter: they ask instead.
        assert agent.nopass("get", "x").returncode == 1
    finally:
        os.kill(agent.pids[0], signal.SIGTERM)
        assert not wait_for_exit(agent.pids)


def test_it_locks_when_unused_for_its_timeout(agent: Agent) -> None:
    agent.unlock("--timeout", "2s")
    assert agent.nopass("get", "Github").returncode == 0
    until(lambda: locked(agent), what="the idle lock")
    assert "unused for 2 s" in agent.log()
    assert agent.nopass("get", "Github").returncode == 1


def test_status_checked_every_moment_neither_takes_the_key_nor_keeps_it_unlocked(
    agent: Agent,
) -> None:
    """A shell prompt or a tmux status line running `mysafe status` again and again."""
    agent.unlock("--timeout", "2s")
    assert "Agent:     unlocked" in agent.nopass("status").stdout  # run by the agent itself

    def status_and_locked() -> bool:
        agent.nopass("status")
        return locked(agent)

    until(status_and_locked, what="the idle lock while status runs")
    assert "unused for 2 s" in agent.log() and "gave the key" not in agent.log()


def test_the_key_goes_only_to_commands_that_write_and_by_name(agent: Agent) -> None:
    from mysafe_tui.agent import wire as agent_wire

    agent.unlock("--timeout", "10m")
    vault = str(agent.cli.home / "default.mysafe")
    refused = agent_wire.ask(vault, "key", command="status")  # the fixture's runtime folder
    given = agent_wire.ask(vault, "key", command="edit")
    assert refused is not None and "key" not in refused
    assert given is not None and "key" in given
    assert "refused the key" in agent.log() and "for edit" in agent.log()
    # Every command that opens the vault is in exactly one of the two tables.
    from mysafe_tui.cli.parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    opening = {name for name, sub in commands.items()  # type: ignore[union-attr]
               if sub.get_default("needs_unlock") is not False and name != "serve"}  # fmt: skip
    runs, takes = agent_wire.AGENT_COMMANDS, agent_wire.KEY_COMMANDS - {"ui"}
    assert opening == runs | takes and not runs & takes


def test_two_callers_racing_the_agent_under_load_each_run_once_and_never_take_the_key(
    agent: Agent,
) -> None:
    """200 `mysafe get` from two loops at once, every core kept busy: each prints the secret
    exactly once, none falls back to an unlock of its own, no key leaves the agent."""
    agent.unlock("--timeout", "10m")
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(2 * (os.cpu_count() or 1))]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
    env["MYSAFE_HOME"] = str(agent.cli.home)
    loop = (f'for i in $(seq 100); do "{BIN / "mysafe"}" get Github >> "$OUT" 2>&1 || '
            'echo "rc=$?" >> "$OUT"; done')  # fmt: skip
    try:
        outs = [agent.cli.home.parent / f"out-{n}" for n in range(2)]
        loops = [subprocess.Popen(["sh", "-c", loop], env={**env, "OUT": str(out)},
                                  stdin=subprocess.DEVNULL, start_new_session=True)
                 for out in outs]  # fmt: skip
        for process in loops:
            assert process.wait(timeout=600) == 0
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    for out in outs:
        assert out.read_text() == "gh-S3cret-pw\n" * 100
    assert "gave the key" not in agent.log()


def test_an_older_copy_put_back_under_the_agent_locks_it_and_serves_nothing_old(
    agent: Agent,
) -> None:
    """Rows and manifest of an older state written back into the file the agent holds open
    (same inode): the next command finds out, as a fresh open would, and the agent locks."""
    import sqlite3

    vault = agent.cli.home / "default.mysafe"
    agent.cli.ok("list")
    old = agent.cli.home.parent / "old.mysafe"
    with sqlite3.connect(vault) as source, sqlite3.connect(old) as copy:
        source.backup(copy)
    agent.cli.ok("edit", "Github", "--secret", "password", stdin="n3w-pw\n")
    agent.unlock("--timeout", "10m")
    assert agent.nopass("get", "Github").stdout == "n3w-pw\n"
    with sqlite3.connect(old) as copy, sqlite3.connect(vault) as target:
        copy.backup(target)  # the old state, written into the same file
    stale = agent.nopass("get", "Github")
    assert stale.returncode == 1 and "gh-S3cret-pw" not in stale.stdout, stale
    assert "older" in stale.stderr
    until(lambda: locked(agent), what="the agent to lock")
    assert "older copy" in agent.log()


def test_it_locks_at_its_maximum_even_while_used(agent: Agent) -> None:
    agent.unlock("--timeout", "1h", "--max", "3s")

    def used_and_locked() -> bool:
        agent.nopass("list")  # keeps it busy: the idle timer never runs out
        return locked(agent)

    until(used_and_locked, what="the absolute lock")
    assert "the most allowed" in agent.log()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_locks_it(agent: Agent, signum: signal.Signals) -> None:
    agent.unlock()
    os.kill(agent.pids[0], signum)
    assert not wait_for_exit(agent.pids)
    assert locked(agent) and f"signal {signum.name}" in agent.log()


def test_a_passphrase_change_ends_its_access(agent: Agent, tmp_path: Path) -> None:
    agent.unlock()
    new = tmp_path / "new-passphrase"
    new.write_text("a different passphrase for sure 9\n")
    agent.cli.ok("passwd", "--new-passphrase-file", str(new))
    until(lambda: locked(agent), what="the agent to notice")
    assert "passphrase changed" in agent.log()
    assert agent.nopass("get", "Github").returncode == 1


def test_a_replaced_vault_file_ends_its_access(agent: Agent) -> None:
    agent.unlock()
    vault = agent.cli.home / "default.mysafe"
    copy = vault.with_suffix(".copy")
    shutil.copy2(vault, copy)
    os.replace(copy, vault)  # same content, another file
    until(lambda: locked(agent), what="the agent to notice")
    assert "replaced" in agent.log()


def test_a_stale_socket_never_blocks_and_is_replaced(agent: Agent) -> None:
    agent.unlock()
    os.kill(agent.pids[0], signal.SIGKILL)
    assert not wait_for_exit(agent.pids)
    assert agent.socket_files()  # a crashed agent's leftover
    started = time.monotonic()
    assert agent.nopass("get", "Github").returncode == 1  # asks, as with no agent at all
    assert time.monotonic() - started < 10
    agent.unlock()
    assert agent.nopass("get", "Github").stdout == "gh-S3cret-pw\n"


def test_another_profiles_vault_is_not_opened_by_this_agent(agent: Agent) -> None:
    agent.cli.ok("--profile", "work", "init", "--kdf-profile", "low-memory")
    agent.unlock()
    other = agent.nopass("--profile", "work", "list")
    assert other.returncode == 1 and "passphrase" in other.stderr
    assert agent.nopass("list", "--profile", "work").returncode == 1


def test_the_agent_cannot_dump_core(agent: Agent) -> None:
    agent.unlock()
    limits = Path(f"/proc/{agent.pids[0]}/limits").read_text()
    core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
    assert core.split()[4:6] == ["0", "0"]


def test_it_locks_when_the_machine_goes_to_sleep(
    agent: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """logind's PrepareForSleep, as `gdbus monitor` prints it (a stand-in gdbus: this
    machine has no system bus)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    mark = tmp_path / "sleep-now"
    (fake / "gdbus").write_text(
        f"#!{sys.executable}\n"
        "import os, sys, time\n"
        f"while not os.path.exists({str(mark)!r}): time.sleep(0.05)\n"
        "print('/org/freedesktop/login1: org.freedesktop.login1.Manager.PrepareForSleep "
        "(true,)', flush=True)\n"
        "time.sleep(60)\n"
    )
    (fake / "gdbus").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    agent.unlock()
    assert agent.nopass("get", "Github").returncode == 0
    mark.touch()
    until(lambda: locked(agent), what="the sleep lock")
    assert "going to sleep" in agent.log()


def test_git_credential_fill_answers_from_the_agent_and_nothing_when_locked(
    agent: Agent, tmp_path: Path
) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
    env.update(MYSAFE_HOME=str(agent.cli.home), PATH=f"{BIN}:{env['PATH']}",
               GIT_TERMINAL_PROMPT="0", HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1")  # fmt: skip

    def fill(url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [git, "-c", "credential.helper=mysafe", "credential", "fill"],
            input=f"url={url}\n\n", capture_output=True, text=True, env=env, timeout=30,
            start_new_session=True,
        )  # fmt: skip

    locked_answer = fill("https://github.com/octo/repo.git")
    assert "gh-S3cret-pw" not in locked_answer.stdout and locked_answer.returncode != 0
    agent.unlock()
    done = fill("https://github.com/octo/repo.git")
    assert done.returncode == 0, done.stderr
    assert "username=octo\n" in done.stdout and "password=gh-S3cret-pw\n" in done.stdout
    assert "password=" not in fill("https://gitlab.com/x.git").stdout  # no login for it
    assert "password=" not in fill("http://github.com/x.git").stdout  # not over plain http
    # A login saved with a bare host (`--url db.internal`, as people type it): https only.
    assert "password=db-pw\n" in fill("https://db.internal/x.git").stdout
    for url in ("http://db.internal/x.git", "ftp://db.internal/x.git", "HTTP://db.internal/x"):
        assert "password=" not in fill(url).stdout, url
    # What git itself would clean up never matches here either (the helper relies on nobody).
    for host in ("evil.com@db.internal", "db.internal\r", "db.internal\t", "db.internal x"):
        raw = agent.nopass("git-credential", "get", stdin=f"protocol=https\nhost={host}\n\n")
        assert "password=" not in raw.stdout, repr(host)


def test_a_value_with_a_line_break_never_reaches_git(agent: Agent) -> None:
    """Another person's item with the password 'x\\nhost=elsewhere' must not add a line of
    its own to git's answer."""
    vault = Vault.open(agent.cli.home / "default.mysafe")
    try:
        vault.unlock(PASSPHRASE)
        add_password(vault, "Evil", "x\nhost=elsewhere", url="https://evil.example")
    finally:
        vault.close()
    agent.unlock()
    cred = agent.nopass("git-credential", "get", stdin="protocol=https\nhost=evil.example\n\n")
    assert cred.returncode == 0 and cred.stdout == ""


def test_completion_never_offers_a_name_that_would_drive_the_terminal(agent: Agent) -> None:
    vault = Vault.open(agent.cli.home / "default.mysafe")
    try:
        vault.unlock(PASSPHRASE)
        add_password(vault, "Red\x1b]52;c;ZXZpbA==\x07alert")  # an OSC 52 write, from a share
        add_password(vault, "two\nlines")
    finally:
        vault.close()
    agent.unlock()
    names = agent.nopass("__names").stdout.splitlines()
    assert "Github" in names and "prod db" in names
    assert not any("\x1b" in n or "lines" in n for n in names)


def test_bash_completes_item_names_from_an_unlocked_agent_only(agent: Agent) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    path = agent.cli.home.parent / "mysafe.bash"
    path.write_text(agent.cli.ok("completion", "bash"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
    env.update(MYSAFE_HOME=str(agent.cli.home), PATH=f"{BIN}:{env['PATH']}")

    def complete(*words: str) -> list[str]:
        program = (
            f"source {path}; COMP_WORDS=(mysafe {' '.join(words)}); COMP_CWORD={len(words)}; "
            'COMPREPLY=(); _mysafe; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        out = subprocess.run([bash, "-c", program], capture_output=True, text=True, env=env,
                             start_new_session=True, timeout=30)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return [line for line in out.stdout.splitlines() if line]

    assert complete("get", "G") == []  # locked: nothing, and no prompt
    agent.unlock()
    assert complete("get", "G") == ["Github"]
    assert complete("rm", "pro") == ["prod\\ db"]  # quoted for the shell
    assert complete("generate", "G") == []  # not a command that takes an item


def test_fish_completes_item_names_from_an_unlocked_agent(agent: Agent) -> None:
    fish = shutil.which("fish")
    if fish is None:
        if os.environ.get("CI"):
            pytest.fail("fish is missing: .ci/run installs it")
        pytest.skip("fish is not installed")
    path = agent.cli.home.parent / "mysafe.fish"
    path.write_text(agent.cli.ok("completion", "fish"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
    env.update(MYSAFE_HOME=str(agent.cli.home), PATH=f"{BIN}:{env['PATH']}")
    agent.unlock()
    out = subprocess.run([fish, "--no-config", "-c", f"source {path}; complete -C 'mysafe copy p'"],
                         capture_output=True, text=True, env=env, timeout=30)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [row.split("\t")[0] for row in out.stdout.splitlines()] == ["prod db"]


def test_the_ui_opens_without_the_passphrase_while_the_agent_holds_the_vault(
    agent: Agent, run: Callable[..., object]
) -> None:
    from mysafe_tui.service import VaultService
    from mysafe_tui.system.settings import Paths, Settings
    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.screens.main import MainScreen

    agent.unlock()
    os.environ["MYSAFE_HOME"] = str(agent.cli.home)
    try:
        paths = Paths.discover()
        service = VaultService(paths, Settings())

        async def scenario() -> None:
            app = MySafeApp(service)
            async with app.run_test(size=(100, 30)) as pilot:
                deadline = time.monotonic() + 60  # a bound for a loaded machine, not a wait
                while not isinstance(app.screen, MainScreen):
                    assert time.monotonic() < deadline, "still asking for the passphrase"
                    await pilot.pause(0.05)
                await app.lock_vault("").wait()
                await pilot.pause()
                assert not isinstance(app.screen, MainScreen)  # the UI's lock still locks it
                await service.close()

        run(scenario())
    finally:
        del os.environ["MYSAFE_HOME"]


def test_the_client_side_talks_to_the_socket_with_the_standard_library_only() -> None:
    """`mysafe get` through the agent imports no crypto, SQLite, asyncio or argparse."""
    probe = (
        "import sys; from mysafe_tui.agent import wire as agent_wire; "
        "agent_wire.run_in_agent(['get', 'x']); "
        "print(' '.join(m for m in ('argparse', 'asyncio', 'cryptography', 'sqlite3', "
        "'mysafe_tui.vault.vault') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr


def test_bin_mysafe_asks_the_agent_without_importing_re_json_or_typing(agent: Agent) -> None:
    """The whole `mysafe get` through the agent, from the script pip installs (bin/mysafe),
    without `site` (whose editable-install finder would import `re` first): Python's own
    import log shows none of the modules that would make it slower than `pass show`."""
    agent.unlock()
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
    env |= {"MYSAFE_HOME": str(agent.cli.home), "PYTHONPATH": str(root)}
    argv = [sys.executable, "-S", "-X", "importtime", str(root / "bin" / "mysafe"), "get", "Github"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, start_new_session=True)
    assert done.stdout == "gh-S3cret-pw\n", done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "mysafe_tui.agent.wire" in imported
    assert not imported & {"re", "json", "typing", "argparse", "asyncio", "contextlib"}


def test_the_hand_written_json_lines_read_back_as_json_reads_them() -> None:
    """The client writes plain requests without `json` and reads the two short answers
    without it: every message, plain or not, reads back as what was sent."""
    from mysafe_tui.agent import wire as agent_wire

    messages = [
        {"v": 1, "op": "run", "vault": "/home/me/default.mysafe", "argv": ["get", "prod db"]},
        {"v": 1, "op": "run", "vault": "/tmp/é", "argv": ["get", 'say "hi" \\ there']},
        {"argv": ["x\udcff", "tab\there"]},  # a non-UTF-8 argument, a control character
        {'a"b': 1, "argv": []},
        {"accepted": True},
        {"rc": 0},
        {"rc": -1},
        {"names": ["a", "b"]},
    ]
    for message in messages:
        line = agent_wire.encode(message)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert json.loads(line) == message
        assert agent_wire.decode(line.rstrip(b"\n")) == message

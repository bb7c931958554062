"""Shared fixtures: real vault files in temporary folders, KDF at the accepted floor (fast)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from pgkit import Cluster, postgres_bin

from mysafe_tui.core.kdf import KdfParams
from mysafe_tui.core.models import ItemKind
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from mysafe_tui.vault.vault import Vault
from serverkit import RunningServer, start_server

# The machine's proxy settings are not the tests' business: every server here is on loopback,
# and the tests of proxy support name their own proxy.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
    os.environ.pop(_name, None)
    os.environ.pop(_name.lower(), None)


@pytest.fixture(autouse=True)
def private_runtime_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: Any) -> Path:
    """Each test's own XDG_RUNTIME_DIR: an unlock agent one test starts (or the developer's
    own) is never seen by another."""
    path = tmp_path_factory.mktemp("run")
    path.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    return path


T = TypeVar("T")
PASSPHRASE = "correct horse battery staple"
# The lowest parameters a header may carry (DESIGN.md §3): tests stay fast, bounds stay real.
FLOOR = KdfParams(memory_kib=19456, iterations=2, lanes=1, salt=b"\0" * 16)


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "default.mysafe"


@pytest.fixture
def vault(vault_path: Path) -> Iterator[Vault]:
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    yield v
    v.close()


def add_password(v: Vault, name: str, password: str = "s3cret!", **fields: Any) -> Any:
    base = {"name": name, "username": fields.pop("username", "alice"), **fields}
    return v.save_item(ItemKind.PASSWORD, base, {"password": password})


@contextlib.contextmanager
def raw_vault(paths: Paths) -> Iterator[Vault]:
    """The vault file opened by the core itself, as another process would: for writing what
    the service refuses (hostile names) or keeps to itself (a server binding)."""
    vault = Vault.open(paths.vault)
    try:
        vault.unlock(PASSPHRASE, seen_dir=paths.seen_dir)
        yield vault
    finally:
        vault.close()


@pytest.fixture
def run() -> Iterator[Callable[[Coroutine[Any, Any, T]], T]]:
    """Run a coroutine on one event loop kept for the whole test."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.run_until_complete(loop.shutdown_default_executor())  # its threads end here
    loop.close()


@pytest.fixture
def service(tmp_path: Path, run: Callable[..., Any]) -> Iterator[VaultService]:
    """A real service over a fresh, unlocked vault in a temporary MYSAFE_HOME."""
    paths = Paths(tmp_path / "home", tmp_path / "home")
    svc = VaultService(paths, kdf_params=FLOOR)
    run(svc.create(PASSPHRASE))
    yield svc
    run(svc.close())


# The quick lane (`pytest -m "not slow"`, about a minute on 2 cores) leaves out, beside the
# tests marked slow where they are, these modules: each test in them drives real programs
# (the installed `mysafe`, the agent, keepassxc-cli, gpg, PostgreSQL) or a whole UI session.
SLOW_MODULES = {
    "test_agent",
    "test_backup",
    "test_cli",
    "test_export",
    "test_hostile",
    "test_import",
    "test_import_1password",
    "test_import_bounds",
    "test_import_keepass",
    "test_import_pass",
    "test_people",
    "test_postgres",
    "test_server_bounds",
    "test_shares",
    "test_tui",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """This test process's own PostgreSQL cluster (each xdist worker has one); skipped where
    PostgreSQL is not installed, failed on CI, which installs it."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    cluster = Cluster(bin_dir)
    yield cluster
    cluster.stop()


BACKENDS = ["sqlite", "postgresql"]


def database_for(request: pytest.FixtureRequest, backend: str) -> str:
    """ "" for SQLite, else a fresh database on this process's cluster."""
    if backend == "sqlite":
        return ""
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_database()


# `mysafe serve` with and without the extension (a plain senhasegura), and with it over
# PostgreSQL: the client's sync and sharing tests run against each.
SERVER_MODES = ["extension", "plain", "extension-postgresql"]


def start_in_mode(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> RunningServer:
    """A server (user "admin") for `request.param`, one of SERVER_MODES."""
    mode = request.param
    args = ["--rate-limit", "100000"] + (["--no-extension"] if mode == "plain" else [])
    backend = "postgresql" if mode.endswith("postgresql") else "sqlite"
    running = start_server(tmp_path_factory.mktemp(mode), users=("admin",), args=args,
                           database=database_for(request, backend))  # fmt: skip
    running.extension = mode.startswith("extension")
    return running


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real `mysafe serve` on a loopback port, one per test module and database backend
    (users alice, bob and carol). Modules that need other users or flags define their own."""
    running = start_server(tmp_path_factory.mktemp("server"),
                           database=database_for(request, request.param))  # fmt: skip
    yield running
    running.stop()


@pytest.fixture(scope="module")
def alice(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client("alice") as client:
        yield client


async def until(pilot: Any, condition: Any, timeout: float = 15) -> None:
    """Let the app run until `condition()` holds; fail the test after `timeout` seconds."""
    waited = 0.0
    while not condition():
        assert waited < timeout, "the app did not get there in time"
        await pilot.pause(0.05)
        waited += 0.05


def processes_under(folder: Path) -> list[int]:
    """Processes (not this one) whose MYSAFE_HOME lies under `folder`: a mysafe that a test
    started, found whatever started it (tmux, ssh, a shell). Only root can read the environ
    of an undumpable process: for anyone else this finds none (see `mysafe_descendants`)."""
    marker = f"MYSAFE_HOME={folder}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if any(var.startswith(marker) for var in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def mysafe_descendants(root: int) -> list[int]:
    """The mysafe processes among `root`'s descendants (an sshd, a shell). Found through
    /proc/PID/stat and cmdline, which stay readable when mysafe makes itself undumpable (its
    environ does not, for anyone but root)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = []
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root and _is_mysafe(pid):
            found.append(pid)
    return found


def _is_mysafe(pid: int) -> bool:
    try:
        return b"mysafe" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wait_for_exit(pids: list[int], timeout: float = 5) -> list[int]:
    """Wait for these processes to end; the ones still there after `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if _is_mysafe(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def wait_until_gone(folder: Path, timeout: float = 5) -> list[int]:
    """Wait for every mysafe under `folder` to end; the ones still there after `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := processes_under(folder)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite leaves nothing behind: no mysafe running (each test waits for its own; this
    catches the ones nobody waited for), no vault service open, no thread, no file
    descriptor this process did not have before the first test."""
    base = tmp_path_factory.getbasetemp()
    fds_before, threads_before = _open_fds(), {t.ident for t in threading.enumerate()}
    yield
    left = wait_until_gone(base)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"mysafe processes outlived the tests: {left}"
    # Nor a vault left open in this process: each service a test made was closed (its
    # thread stopped; the UI closes its own when it ends).
    open_vaults = [t.name for t in threading.enumerate() if t.name.startswith("mysafe-vault")]
    assert not open_vaults, f"services left open by the tests: {len(open_vaults)}"
    # Nor a thread or a file descriptor: what this process holds now that it did not hold
    # before the first test (a socket, a vault file, a pipe to a child, a worker thread).
    gc.collect()  # what only garbage still holds is closed by its finaliser, not leaked
    for thread in threading.enumerate():  # one that is ending has a moment to end
        if thread.ident not in threads_before and thread is not threading.current_thread():
            thread.join(timeout=2)
    threads = [
        t.name for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()
    ]
    assert not threads, f"threads left running by the tests: {threads}"
    fds = sorted(set(_open_fds().items()) - set(fds_before.items()) - _process_wide())
    assert not fds, f"file descriptors left open by the tests: {fds}"


def _process_wide() -> set[tuple[int, str]]:
    """Descriptors a process keeps for its life once it has used a feature: multiprocessing's
    resource tracker (started by the health check's worker processes) holds one pipe."""
    from multiprocessing import resource_tracker

    fd = getattr(resource_tracker._resource_tracker, "_fd", None)
    if fd is None:
        return set()
    with contextlib.suppress(OSError):
        return {(fd, os.readlink(f"/proc/self/fd/{fd}"))}
    return set()


def _open_fds() -> dict[int, str]:
    """This process's open file descriptors and what each one is."""
    found = {}
    scan = f"/proc/{os.getpid()}/fd"  # the scan's own descriptor: whichever number it has
    for entry in os.scandir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # or it is gone already
            target = os.readlink(entry.path)
            if target != scan:
                found[int(entry.name)] = target
    return found


def rendered_text(*renderables: Any) -> str:
    """What Rich renderables show, as plain text (100 columns)."""
    from rich.console import Console

    console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    for renderable in renderables:
        console.print(renderable)
    return console.export_text()


def keys(text: str) -> list[str]:
    """Text as the key names Pilot.press takes, one per character."""
    return ["space" if c == " " else c for c in text]


async def unlock_ui(app: Any, pilot: Any) -> Any:
    """Type the passphrase on the unlock screen; return the main screen once it shows."""
    from textual.widgets import Input

    from mysafe_tui.tui.screens.main import MainScreen

    await pilot.pause()
    app.screen.query_one("#passphrase", Input).value = PASSPHRASE
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, MainScreen))
    return app.screen

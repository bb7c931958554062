"""senhasegura's PAM credentials and DSM secrets through the A2A API, against the stand-in
built from the published examples (tests/a2akit.py): the CLI as a person or a script uses it,
custody taken once per reveal and released once, hostile fields shown escaped, DSM references
in `mysafe run` and `mysafe inject`."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from a2akit import CLIENT_ID, CLIENT_SECRET, A2AState, RunningA2A
from tmuxkit import MYSAFE

from conftest import FLOOR, PASSPHRASE
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def a2a() -> Iterator[RunningA2A]:
    state = A2AState()
    state.add_credential("5", username="root", hostname="db-1", password="r00t-Pw!")
    state.add_credential("6", username="ad\x1b[31mmin", hostname="evil\nhost", password="x")
    state.add_credential("7", username="old", hostname="gone-1", password="y")
    state.add_credential("8", username="deploy", hostname="web-1", password="w3b")
    state.inactive.add("7")
    state.application = {
        "name": "billing", "description": None, "tags": [""], "system": "back",
        "environment": "prod",
        "secrets": [{"secret_id": "106", "secret_name": "database", "identity": "billing-db",
                     "version": "", "expiration_date": "", "engine": "Kubernetes",
                     "data": [{"hostname": "db.internal", "username": "app", "password":
                               "s3cr3t-db-pw", "ip": None},
                              {"password": "not this one", "TTL": None}]}],
    }  # fmt: skip
    running = RunningA2A(state)
    yield running
    running.stop()


@pytest.fixture
def cli(tmp_path: Path, a2a: RunningA2A) -> Run:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    env = {**os.environ, "MYSAFE_HOME": str(tmp_path / "home"),
           "MYSAFE_PASSPHRASE_FILE": str(passphrase), "SENHASEGURA_CLIENT_ID": CLIENT_ID,
           "SENHASEGURA_CLIENT_SECRET": CLIENT_SECRET}  # fmt: skip

    def mysafe(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([MYSAFE, *args], env=env, input=stdin, capture_output=True,
                              text=True)  # fmt: skip

    assert mysafe("init", "--kdf-profile", "low-memory").returncode == 0
    login = mysafe("login", a2a.url, "--a2a")
    assert login.returncode == 0, login.stderr
    return mysafe


def test_a_credential_is_listed_revealed_under_custody_and_released(
    cli: Run, a2a: RunningA2A
) -> None:
    status = cli("status").stdout
    assert f"A2A:       {a2a.url} (client id {CLIENT_ID})" in status
    listed = cli("pam", "list")
    assert listed.returncode == 0, listed.stderr
    assert "root@db-1" in listed.stdout and "r00t" not in listed.stdout
    assert "\x1b" not in listed.stdout and "ad\\x1b[31mmin@evil\\nhost" in listed.stdout
    assert a2a.state.taken == {}  # listing takes no custody
    got = cli("pam", "get", "root@db-1")
    assert got.returncode == 0, got.stderr
    assert got.stdout == "r00t-Pw!\n" and "is in your custody" in got.stderr
    assert a2a.state.taken == {"5": 1} and a2a.state.custody == {"5"}
    assert "Custody:   root@db-1" in cli("status").stdout
    assert json.loads(cli("pam", "list", "--json").stdout)[0]["in_custody"] is True
    assert cli("pam", "get", "5", "--field", "hostname").stdout == "db-1\n"
    released = cli("pam", "release", "--all")
    assert released.returncode == 0, released.stderr
    assert a2a.state.released == {"5": 1} and a2a.state.custody == set()
    assert "Custody" not in cli("status").stdout


@pytest.mark.parametrize(
    ("ref", "said"),
    [
        ("nobody@nowhere", "no credential by that id, identifier or user@host"),
        ("7", "that credential is inactive in senhasegura"),
    ],
)
def test_a2a_errors_are_sentences(cli: Run, a2a: RunningA2A, ref: str, said: str) -> None:
    got = cli("pam", "get", ref)
    assert got.returncode == 1 and said in got.stderr and "Traceback" not in got.stderr
    assert got.stdout == ""
    assert cli("pam", "release", "--all").returncode == 0  # nothing was taken: nothing held
    assert a2a.state.released == {}


def test_custody_a_crashed_ui_left_is_released_at_the_next_start(
    tmp_path: Path, a2a: RunningA2A
) -> None:
    async def scenario() -> None:
        service = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
        await service.create(PASSPHRASE)
        await service.a2a_login(a2a.url, CLIENT_ID, CLIENT_SECRET)
        await service._pam.reveal("5", holder="ui:999999999")  # a UI that died holding it
        await service.pam_reveal("deploy@web-1")  # the CLI's: kept until released by hand
        assert a2a.state.taken == {"5": 1, "8": 1}
        try:
            assert await service.pam_release_mine() == []
            assert a2a.state.released == {"5": 1}
            assert list(await service.pam_in_custody()) == ["deploy@web-1"]
        finally:
            await service.close()

    import asyncio

    asyncio.run(scenario())


def test_the_api_prefix_works_as_the_iso_one(tmp_path: Path, a2a: RunningA2A) -> None:
    async def scenario() -> None:
        service = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
        await service.create(PASSPHRASE)
        await service.a2a_login(a2a.url, CLIENT_ID, CLIENT_SECRET, prefix="/api")
        assert [c.account for c in await service.pam_credentials("db")] == ["root@db-1"]
        await service.close()

    import asyncio

    asyncio.run(scenario())
    assert any(r.startswith("GET /api/pam/credential") for r in a2a.state.requests)


def test_a_wrong_a2a_key_is_refused_and_kept_nowhere(tmp_path: Path, a2a: RunningA2A) -> None:
    env = {**os.environ, "MYSAFE_HOME": str(tmp_path / "home"),
           "SENHASEGURA_CLIENT_ID": CLIENT_ID, "SENHASEGURA_CLIENT_SECRET": "wrong"}  # fmt: skip
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    env["MYSAFE_PASSPHRASE_FILE"] = str(tmp_path / "pass")
    subprocess.run([MYSAFE, "init", "--kdf-profile", "low-memory"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    login = subprocess.run([MYSAFE, "login", a2a.url, "--a2a"], env=env, capture_output=True,
                           text=True)  # fmt: skip
    assert login.returncode == 1 and "refused the access key" in login.stderr
    status = subprocess.run([MYSAFE, "status"], env=env, capture_output=True, text=True)
    assert "A2A:" not in status.stdout


def test_dsm_references_fill_run_and_inject_and_one_bad_one_stops_all(
    cli: Run, tmp_path: Path
) -> None:
    listed = cli("dsm", "list")
    assert "dsm://billing-db/" in listed.stdout and "s3cr3t" not in listed.stdout
    assert "hostname, ip, password, username" in listed.stdout
    run = cli("run", "--", "sh", "-c", 'echo "pw=$DB_PW host=$DB_HOST"',
              stdin="")  # fmt: skip
    assert run.returncode == 0  # nothing referred: nothing masked
    env_file = tmp_path / "app.env"
    env_file.write_text("DB_PW=dsm://billing-db/password\nDB_HOST=dsm://billing-db/hostname\n")
    run = cli("run", "--env-file", str(env_file), "--", "sh", "-c",
              'echo "pw=$DB_PW"; test "$DB_PW" = s3cr3t-db-pw && echo same')  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == "pw=<concealed by mysafe>\nsame\n"  # the first map holding it wins
    template = tmp_path / "config.tmpl"
    template.write_text("host = {{ dsm://billing-db/hostname }}\nall = {{ dsm://billing-db }}\n")
    filled = cli("inject", "-i", str(template))
    assert filled.returncode == 0, filled.stderr
    lines = filled.stdout.splitlines()
    assert lines[0] == "host = db.internal" and json.loads(lines[1][6:])[0]["username"] == "app"
    env_file.write_text("DB_PW=dsm://billing-db/password\nX=dsm://billing-db/no-such-key\n")
    marker = tmp_path / "ran"
    refused = cli("run", "--env-file", str(env_file), "--", "touch", str(marker))
    assert refused.returncode == 1 and "has no 'no-such-key'" in refused.stderr
    assert "nothing was run" in refused.stderr and not marker.exists()


async def test_the_pam_screen_asks_before_custody_and_gives_it_back(
    tmp_path: Path, a2a: RunningA2A
) -> None:
    from textual.widgets import DataTable, Static

    from conftest import unlock_ui, until
    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.confirm import ConfirmDialog
    from mysafe_tui.tui.screens.main import MainScreen
    from mysafe_tui.tui.screens.pam import PamScreen

    setup = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
    await setup.create(PASSPHRASE)
    await setup.a2a_login(a2a.url, CLIENT_ID, CLIENT_SECRET)
    await setup.close()
    from test_tui import FakeClock, RecordingBackend

    from mysafe_tui.system.clipboard import Clipboard

    backend = RecordingBackend()
    clipboard = Clipboard(backend, 20, clock=FakeClock())
    app = MySafeApp(VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR, clipboard=clipboard))
    async with app.run_test(size=(120, 36)) as pilot:
        await unlock_ui(app, pilot)
        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, PamScreen) and app.screen.rows)
        screen = app.screen
        table = screen.query_one(DataTable)
        cells = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "ad\\x1b[31mmin@evil\\nhost" in cells  # escaped, never sent to the terminal
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert a2a.state.taken == {}  # nothing taken before the person said yes
        await pilot.press("y")
        shown = screen.query_one("#pam-secret", Static)
        await until(pilot, lambda: "r00t-Pw!" in str(shown.render()))
        assert a2a.state.taken == {"5": 1}
        await pilot.press("c")  # the same custody: not taken again
        await until(pilot, lambda: backend.sent == ["r00t-Pw!"])
        assert a2a.state.taken == {"5": 1}
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert a2a.state.released == {"5": 1} and a2a.state.custody == set()

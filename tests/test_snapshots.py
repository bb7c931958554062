"""Snapshot tests: every screen and dialog at 80x24 (SSH) and 120x36, compared as SVG.

Update on purpose after a UI change: `pytest tests/test_snapshots.py --snapshot-update`, then
look at the report and at screenshots/ before committing.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import a2akit
import httpx
import pytest
from textual.containers import VerticalScroll
from textual.widgets import Button, Input

from conftest import FLOOR, PASSPHRASE, raw_vault
from mysafe_tui.core.extras import OldPassword
from mysafe_tui.core.models import ItemKind
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from mysafe_tui.tui.app import MySafeApp
from mysafe_tui.tui.screens.main import MainScreen
from serverkit import RunningServer, start_server

# Paths on screen read "~/..." (the test's own home: $HOME is set to it), and the share
# server's address is this one, whatever port the server got: a transport takes requests there.
SHOWN_SERVER = "http://127.0.0.1:18473"
FIXED_NOW = 1_790_000_000.0
SIZES = [(80, 24), (120, 36)]
SNAPSHOT_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz
c2gtZWQyNTUxOQAAACDFxW14KzwtPuK7/+BcB8Losg3YXJ8yzFDCUEYaeKCsuwAA
AIiqybSrqsm0qwAAAAtzc2gtZWQyNTUxOQAAACDFxW14KzwtPuK7/+BcB8Losg3Y
XJ8yzFDCUEYaeKCsuwAAAEC89KNO9JNZr493eag+lXa+WksnOvoSUguAJ38uGTjq
G8XFbXgrPC0+4rv/4FwHwuiyDdhcnzLMUMJQRhp4oKy7AAAAAAECAwQF
-----END OPENSSH PRIVATE KEY-----
"""
SAMPLE = [
    (
        ItemKind.PASSWORD,
        {
            "name": "GitHub",
            "username": "octocat",
            "password": "gh-pass-1",
            "url": "https://github.com",
            "tags": "dev,git",
            "secret_key": "JBSWY3DPEHPK3PXP",
        },
    ),
    (
        ItemKind.PASSWORD,
        {
            "name": "Bank of Examples",
            "username": "jane.doe",
            "password": "b4nk!",
            "url": "https://bank.example",
            "tags": "money",
        },
    ),
    (
        ItemKind.PASSWORD,
        {
            "name": "Router admin",
            "username": "admin",
            "password": "r0uter",
            "url": "http://192.0.2.1",
            "favourite": True,
            "urls": ["https://192.0.2.1:8443"],
            "custom_fields": [
                {"label": "Serial", "value": "RX-4410-0093", "type": "text"},
                {"label": "Recovery PIN", "value": "48213", "type": "hidden"},
            ],
            "password_history": [OldPassword("admin-2024", FIXED_NOW - 86400 * 90)],
        },
    ),
    (ItemKind.NOTE, {"name": "Server runbook", "note": "1. ssh in\n2. restart", "tags": "ops"}),
    (
        ItemKind.API_SECRET,
        {
            "name": "Stripe live",
            "url": "https://api.stripe.com",
            "client_id": "cid_123",
            "client_secret": "sk_live_x",
        },
    ),
    (
        ItemKind.SSH_KEY,
        {
            "name": "prod deploy",
            "private": SNAPSHOT_KEY,  # a fixed key: the same public line on every run
            "comment": "deploy@ci",
            "tags": "ops",
        },
    ),
]


class StillClock:
    def __call__(self) -> float:
        return 1000.0


# Each test has its own home and the share server its own port: snapshot tests run in any
# worker, beside another copy of the suite. Slow: 48 screens (the quick lane leaves them).
pytestmark = pytest.mark.slow


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(time, "time", lambda: FIXED_NOW)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # shown as "~"
    monkeypatch.chdir(home)


# A vault bound to a server that is not there (port 9, discard: refused): the offline look.
OFFLINE_BINDING = {
    "url": "http://127.0.0.1:9",
    "client_id": "cid",
    "client_secret": "x",
    "prefix": "/api",
    "ca_bundle": "",
    "capabilities": "files,revisions,shares",
    "last_sync": repr(FIXED_NOW - 600),
}


@pytest.fixture(scope="module")
def share_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real server for the share dialog's result view (started before time is frozen)."""
    running = start_server(tmp_path_factory.mktemp("snap-server"), users=("snap",))
    yield running
    running.stop()


class ShownServer(httpx.AsyncBaseTransport):
    """The app speaks to SHOWN_SERVER (or SHOWN_A2A), the address on screen; this sends it to
    the port the share server (the A2A stand-in) really has."""

    def __init__(self, port: int, a2a_port: int = 0) -> None:
        self.ports = {18473: port, 18474: a2a_port}
        self.real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.ports.get(request.url.port or 0):
            request.url = request.url.copy_with(port=self.ports[request.url.port or 0])
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


SHARE_SERVER: dict[str, str] = {}  # filled per test: the live server's binding
A2A_BINDING = {
    "url": "http://127.0.0.1:18474",
    "client_id": a2akit.CLIENT_ID,
    "client_secret": a2akit.CLIENT_SECRET,
    "prefix": "/iso",
    "ca_bundle": "",
}


@pytest.fixture(scope="module")
def a2a_server() -> Iterator[a2akit.RunningA2A]:
    """The A2A stand-in for the PAM screen: a plain credential and a hostile one."""
    state = a2akit.A2AState()
    state.add_credential("5", username="root", hostname="db-1", password="r00t-Pw!",
                         change="2026-11-03 16:19:53")  # fmt: skip
    state.add_credential("6", username="ad\x1b[31mmin", hostname="evil\nhost[/b]",
                         device_vendor="[b]Acme[/b]", connectivity="RDP")  # fmt: skip
    running = a2akit.RunningA2A(state)
    yield running
    running.stop()


async def pam(pilot: Any) -> None:
    await then("7")(pilot)
    for _ in range(200):
        if getattr(pilot.app.screen, "rows", None):
            break
        await pilot.pause(0.05)
    await quiet(pilot)


def make_app(seed: bool | str = True, server_port: int = 0, a2a_port: int = 0) -> MySafeApp:
    """The app on a vault in this test's home ($HOME), seeded with SAMPLE."""
    home = Path.home()
    paths = Paths(home, home)
    if seed:

        async def build() -> None:
            svc = VaultService(paths, kdf_params=FLOOR)
            await svc.create(PASSPHRASE)
            for kind, values in SAMPLE:
                item = await svc.create_item(kind, values)
                if item.name == "Router admin":
                    config = home / "router-backup.cfg"
                    config.write_text("hostname rx4410\n")
                    await svc.add_attachment(item.id, config)
            await svc.close()
            with raw_vault(paths) as vault:
                if seed == "offline":
                    vault.write_meta("remote", OFFLINE_BINDING)
                    _waiting(vault)
                if seed == "shares":
                    vault.write_meta("share-server", SHARE_SERVER)
                if seed == "pam":
                    vault.write_meta("a2a", A2A_BINDING)

        asyncio.run(build())
    transport = ShownServer(server_port, a2a_port) if server_port else None
    service = VaultService(paths, kdf_params=FLOOR, transport=transport)
    return MySafeApp(service, clock=StillClock())


def _waiting(vault: Any) -> None:
    """The offline look: every item from the server, two with changes made offline (one the
    server moved too: red)."""
    from mysafe_tui.core.outbox import Outgoing
    from mysafe_tui.service.values import summary_fields

    conflict = Outgoing(2, content=True, problem="conflict")
    marks = {"GitHub": Outgoing(1, content=True), "Router admin": conflict}
    for n, item in enumerate(sorted(vault.summaries.values(), key=lambda i: i.name)):
        fields = {**summary_fields(item), "remote": f"{item.kind.value}:{n + 1}:r1"}
        if item.name in marks:
            fields["outbox"] = marks[item.name].encode()
        vault.save_item(item.kind, fields, vault.reveal(item.id), item.id)


async def unlocked(pilot: Any) -> None:
    app = pilot.app
    await pilot.pause()
    app.screen.query_one("#passphrase", Input).value = PASSPHRASE
    await pilot.press("enter")
    for _ in range(200):
        if isinstance(app.screen, MainScreen):
            break
        await pilot.pause(0.05)
    await quiet(pilot)


async def quiet(pilot: Any) -> None:
    """Wait until list and detail workers are done and nothing changed for a moment: a
    snapshot taken mid-refresh would make the test flaky under load."""
    for _ in range(100):
        await pilot.pause(0.05)
        busy = [
            w
            for w in pilot.app.workers
            if w.is_running and w.group in ("search", "detail", "health", "health-marks")
        ]
        if not busy:
            break
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # a blinking cursor is on or off at random in a snapshot
    await pilot.pause(0.2)


def then(*keys: str) -> Callable[[Any], Awaitable[None]]:
    async def run_before(pilot: Any) -> None:
        await unlocked(pilot)
        for key in keys:
            screen = pilot.app.screen
            await pilot.press(key)
            await quiet(pilot)
            if key in ("n", "d", "question_mark", "f2", "L", "S", "I", "H"):  # these open one
                for _ in range(100):
                    if pilot.app.screen is not screen:
                        break
                    await pilot.pause(0.05)
                await quiet(pilot)

    return run_before


async def conflict(pilot: Any) -> None:
    from mysafe_tui.tui.modals.remote import ConflictDialog

    await unlocked(pilot)
    rows = [
        ("Name", "GitHub", "GitHub", False),
        ("Username", "octocat", "octocat", False),
        ("Password", "••••••", "••••••", True),
        ("URL", "https://github.com", "https://github.com/login", True),
        ("Tags", "dev,git", "dev", True),
    ]
    await pilot.app.push_screen(ConflictDialog("GitHub", rows))
    await quiet(pilot)


async def offline(pilot: Any) -> None:
    await unlocked(pilot)
    for _ in range(100):  # the sync at start fails: the banner shows
        if pilot.app.screen.query_one("#banner").display:
            break
        await pilot.pause(0.05)
    await quiet(pilot)


async def share_result(pilot: Any) -> None:
    await then("S")(pilot)
    screen = pilot.app.screen
    assert type(screen).__name__ == "ShareDialog", screen
    await pilot.press("ctrl+s")
    for _ in range(200):
        if screen.share_hash is not None:
            break
        await pilot.pause(0.05)
    await quiet(pilot)


async def share_cockpit(pilot: Any) -> None:
    """One link, revoked: every cell is then the same on every run (no "expires in")."""
    await unlocked(pilot)
    service = pilot.app.service
    item = (await service.search("router"))[0]
    created = await service.share_item(item.id, label="for the plumber")
    await service.revoke_share(created.share_hash)
    await pilot.press("O")
    for _ in range(200):
        table = pilot.app.screen.query("DataTable")
        if table and table.first().row_count:
            break
        await pilot.pause(0.05)
    await quiet(pilot)


async def _on_a_server(pilot: Any) -> Any:
    """GitHub as if it were on a server and shared with two people (no server needed to
    draw the dialogs about it)."""
    from mysafe_tui.core.models import Sharing

    await unlocked(pilot)
    item = (await pilot.app.service.search("github"))[0]
    sharing = Sharing("", (("group", "ops", False), ("user", "ana", True)))
    return item._replace(remote="password:7:r3", sharing=sharing.encode())


async def people(pilot: Any) -> None:
    from mysafe_tui.tui.modals.people import PeopleDialog

    item = await _on_a_server(pilot)
    await pilot.app.push_screen(PeopleDialog(pilot.app.service, item))
    await quiet(pilot)


async def history(pilot: Any) -> None:
    from mysafe_tui.core.models import HistoryEvent
    from mysafe_tui.tui.modals.history import HistoryDialog

    item = await _on_a_server(pilot)
    events = [
        HistoryEvent(FIXED_NOW - 60, "read", "ana", "cid_ana_laptop", "192.0.2.10"),
        HistoryEvent(FIXED_NOW - 3600, "shared", "jane", "cid_jane_cli", "192.0.2.7"),
        HistoryEvent(FIXED_NOW - 7200, "changed", "jane", "cid_jane_cli", "192.0.2.7"),
        HistoryEvent(FIXED_NOW - 86400, "created", "jane", "cid_jane_cli", "192.0.2.7"),
    ]

    async def fixed(item_id: str) -> list[HistoryEvent]:
        return events  # what a server would say: its clock is not this test's

    pilot.app.service.history = fixed
    await pilot.app.push_screen(HistoryDialog(pilot.app.service, item))
    for _ in range(100):
        if pilot.app.screen.query_one("DataTable").row_count:
            break
        await pilot.pause(0.05)
    await quiet(pilot)


async def import_report(pilot: Any) -> None:
    """The Import dialog after reading KeePassXC's Bitwarden sample: the report, nothing
    written yet."""
    from textual.widgets import Select

    sample = Path(__file__).parent / "data" / "import" / "bitwarden_export.json"
    shutil.copy(sample, Path.home() / "bitwarden.json")
    await then("I")(pilot)
    for _ in range(100):
        if type(pilot.app.screen).__name__ == "ImportDialog":
            break
        await pilot.pause(0.05)
    screen = pilot.app.screen
    screen.query_one(Select).value = "bitwarden"
    screen.query_one("#import-path", Input).value = "~/bitwarden.json"  # on screen
    await pilot.click("#read")
    for _ in range(200):
        if not screen.query_one("#import", Button).disabled:
            break
        await pilot.pause(0.05)
    await quiet(pilot)


async def export(pilot: Any) -> None:
    await unlocked(pilot)
    pilot.app.screen.action_export_items()  # from the palette
    for _ in range(100):
        if pilot.app.screen.query("#export-path"):
            break
        await pilot.pause(0.05)
    await quiet(pilot)


SCREENS: dict[str, tuple[bool | str, Callable[[Any], Awaitable[None]] | None]] = {
    "create": (False, quiet),
    "unlock": (True, quiet),
    "main": (True, then()),
    "detail": (True, then("down", "enter")),
    "notes": (True, then("2")),
    "new_password": (True, then("n")),
    "trash_confirm": (True, then("d")),
    "help": (True, then("question_mark")),
    "settings": (True, then("f2")),
    "attach": (True, then("3", "n")),
    "login": (True, then("L")),
    "conflict": (True, conflict),
    "extras": (True, then("enter", "m")),
    "people": (True, people),
    "history": (True, history),
    "import": (True, then("I")),
    "import_report": (True, import_report),
    "export": (True, export),
    "offline": ("offline", offline),
    "share_no_server": (True, then("S")),
    "share": ("shares", then("S")),
    "share_result": ("shares", share_result),
    "share_cockpit": ("shares", share_cockpit),
    "health": (True, then("H")),
    "ssh_key": (True, then("5", "enter")),
    "pam": ("pam", pam),
}


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(
    snap_compare: Any,
    name: str,
    size: tuple[int, int],
    share_server: RunningServer,
    a2a_server: a2akit.RunningA2A,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if name.startswith("share"):
        # A fixed id and key per size, so the link on screen is the same on every run; each
        # run starts its own server, so the ids never clash.
        from mysafe_tui.remote import shares

        # Its own server user: the links screen then lists this scene's links only.
        client_id, secret = share_server.new_user(f"{name}-{size[0]}")
        SHARE_SERVER.update(
            {
                "url": SHOWN_SERVER,
                "client_id": client_id,
                "client_secret": secret,
                "prefix": "/api",
                "ca_bundle": "",
                "capabilities": "bulk,files,revisions,shares",
                "last_sync": "",
            }
        )
        share_id = f"Snap-{name}-{size[0]}-xxxxxxxxxxxxxxxx"[:22]
        monkeypatch.setattr(shares, "new_share_id", lambda: share_id)
        fixed = types.SimpleNamespace(urandom=lambda n: bytes(range(n)))
        monkeypatch.setattr(shares, "os", fixed)  # this module's os only, not the process's
    seed, run_before = SCREENS[name]
    ports = (int(share_server.url.rsplit(":", 1)[1]), int(a2a_server.url.rsplit(":", 1)[1]))
    app = make_app(seed, *ports)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("name", [n for n in SCREENS if n == "share_no_server" or
                                  not n.startswith(("share", "pam"))])  # fmt: skip
def test_every_screen_fits_80x24_with_its_buttons_and_keys_in_sight(name: str) -> None:
    """An SSH session's 80x24: the last row of buttons and the key hints must be on screen
    (a dialog cut at the bottom hides how to save or leave it)."""
    seed, run_before = SCREENS[name]
    app = make_app(seed)

    async def check() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            if run_before is not None:
                await run_before(pilot)
            screen = app.screen
            keyed = [b for b in screen.query(Button) if re.search(r"\(\w+\)", str(b.label))]
            assert screen.query(".hint, Footer") or keyed, (name, "no key hints")
            shown = [  # in a scrolled part, a button is reached by scrolling: not those
                w for w in screen.query("Button, .hint") if w.display and w.region.area
                and not any(isinstance(a, VerticalScroll) for a in w.ancestors)
            ]  # fmt: skip
            for widget in shown:
                region = widget.region
                assert region.bottom <= 24 and region.right <= 80, (name, widget, region)

    asyncio.run(check())

"""`mysafe health` and the Health report: a vault with known weak, reused, old, http, duplicate
and breached secrets; breach data made by the test in Pwned Passwords' published layouts (the
downloader's range files, one sorted SHA1:COUNT file); the online range API as a stand-in on
loopback that records what it was sent, behind a real forward proxy."""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import json
import multiprocessing
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FLOOR, PASSPHRASE, rendered_text, unlock_ui, until
from mysafe_tui.core import health
from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.extras import OldPassword
from mysafe_tui.core.models import ItemKind, ItemSummary
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths, Settings
from mysafe_tui.transfer.breaches import MAX_RANGE_FILE, RangeFolder, SortedFile, open_local
from serverkit import CountingProxy
from test_cli import Cli

WEAK = "qwerty123"  # near the top of every breach list
STRONG = ["Vq8#nLw2!pZr5$tXk", "Hb3@mQy7&dWs9*eRu", "Jc6%gTz1^fPa4(oNi", "Lx2)kVb8_sMd3+qEw"]
SECRETS = [WEAK, *STRONG]
DAY = 86400


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest().upper()


def random_hashes(count: int, prefix: str = "") -> list[str]:
    rng = random.Random(count)
    return [
        prefix + "".join(rng.choice("0123456789ABCDEF") for _ in range(40 - len(prefix)))
        for _ in range(count)
    ]


def range_folder(where: Path, breached: dict[str, int]) -> Path:
    """The downloader's layout (`-s false`): PREFIX.txt, SUFFIX:COUNT lines, CRLF, sorted."""
    where.mkdir()
    prefixes = {h[:5] for h in breached} | {"00000", "FFFFF", "5BAA5"}
    for prefix in prefixes:
        lines = {h[5:]: 7 for h in random_hashes(900, prefix)}
        lines.update({h[5:]: n for h, n in breached.items() if h.startswith(prefix)})
        text = "".join(f"{s}:{n}\r\n" for s, n in sorted(lines.items()))
        (where / f"{prefix}.txt").write_text(text, newline="")
    return where


def sorted_file(where: Path, breached: dict[str, int], newline: str = "\r\n") -> Path:
    """The downloader's single file / the "ordered by hash" download: SHA1:COUNT lines."""
    lines = dict.fromkeys(random_hashes(50_000), 3)
    lines.update(breached)
    where.write_text("".join(f"{h}:{n}{newline}" for h, n in sorted(lines.items())), newline="")
    return where


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A vault with one of each problem, and a few items that must not be flagged."""
    paths = Paths(tmp_path / "home", tmp_path / "home")
    now = time.time()

    async def build() -> None:
        service = VaultService(paths, kdf_params=FLOOR)
        await service.create(PASSPHRASE)
        add = service.create_item
        login = ItemKind.PASSWORD
        await add(
            login,
            {
                "name": "Bank",
                "username": "jane",
                "password": WEAK,
                "url": "http://bank.example/login",
            },
        )
        await add(
            login,
            {"name": "Mail", "username": "jane", "password": WEAK, "url": "https://mail.example"},
        )
        await add(
            login,
            {
                "name": "Mail again",
                "username": "Jane",
                "password": STRONG[0],
                "url": "www.mail.example",
            },
        )
        old = [OldPassword("Zo1d-pass!", now - 400 * DAY)]
        await add(login, {"name": "Forum", "password": STRONG[1], "password_history": old})
        await add(
            login,
            {
                "name": "Router",
                "username": "admin",
                "password": STRONG[2],
                "url": "http://127.0.0.1:8080",
            },
        )
        for name in ("Stripe", "Stripe test"):
            await add(
                ItemKind.API_SECRET,
                {
                    "name": name,
                    "url": "https://api.stripe.com",
                    "client_id": name,
                    "client_secret": STRONG[3],
                },
            )
        await add(ItemKind.NOTE, {"name": "Wifi", "note": WEAK})  # a note: not checked
        gone = await add(ItemKind.PASSWORD, {"name": "Old bank", "password": WEAK})
        await service.deactivate(gone.id)  # in the trash: not checked
        await service.close()

    asyncio.run(build())
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Cli:
    return Cli(home)


def names(found: dict[str, Any], check: str) -> list[list[str]]:
    return sorted(
        sorted(i["name"] for i in f["items"]) for f in found["findings"] if f["check"] == check
    )


def test_each_kind_of_problem_is_found_and_no_secret_is_said(cli: Cli, tmp_path: Path) -> None:
    breaches = range_folder(tmp_path / "ranges", {sha1(WEAK): 9_659_365})
    result = cli("health", "--json", "--hibp", str(breaches))
    assert result.returncode == 0, result.stderr  # findings, but no --fail-on
    found = json.loads(result.stdout)
    assert (found["schema"], found["checked"], found["breach_source"]) == (1, 7, "folder")
    assert names(found, "breached") == [["Bank"], ["Mail"]]
    assert names(found, "weak") == [["Bank"], ["Mail"]]
    assert names(found, "reused") == [["Bank", "Mail"], ["Stripe", "Stripe test"]]
    assert names(found, "old") == [["Forum"]]
    assert names(found, "insecure") == [["Bank"]]  # not the router on 127.0.0.1
    assert names(found, "duplicate") == [["Mail", "Mail again"]]
    assert found["counts"] == {
        "breached": 2,
        "weak": 2,
        "reused": 4,
        "old": 1,
        "insecure": 1,
        "duplicate": 2,
    }
    details = {f["check"]: f["detail"] for f in found["findings"]}
    assert details["breached"] == "seen in breaches 9,659,365 times"
    assert details["old"].startswith("unchanged for 400 days")

    human = cli("health", "--hibp", str(breaches))
    assert "Breached: in Have I Been Pwned's Pwned Passwords" in human.stdout
    assert "2 breached · 2 weak · 4 reused · 1 old · 1 insecure URL · 2 duplicate logins" in (
        human.stdout
    )
    ratings = (cli.home / "default.mysafe.health").read_bytes()  # kept, encrypted
    for text in (result.stdout, result.stderr, human.stdout, human.stderr):
        for secret in SECRETS:
            assert secret not in text, secret
    for secret in SECRETS:
        assert secret.encode() not in ratings
    assert "Zo1d-pass!" not in result.stdout + human.stdout


def test_exit_codes_for_scripts(cli: Cli, tmp_path: Path) -> None:
    breaches = sorted_file(tmp_path / "pwned.txt", {sha1(WEAK): 3})
    assert cli("health", "--fail-on", "weak").returncode == 1
    assert cli("health", "--fail-on", "old", "--max-age", "1000").returncode == 0
    assert cli("health", "--fail-on", "breached", "--hibp", str(breaches)).returncode == 1
    missing = cli("health", "--fail-on", "breached")  # nothing to look breaches up in
    assert missing.returncode == 2 and "needs breach data" in missing.stderr
    absent = cli("health", "--hibp", str(tmp_path / "nowhere"))
    assert absent.returncode == 2 and "cannot check: no breach data at" in absent.stderr
    bad = cli("health", "--fail-on", "weak,nonsense")
    assert bad.returncode == 2 and "checks are breached, weak" in bad.stderr
    for result in (missing, absent, bad):
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_the_sorted_file_and_the_range_folder_agree_with_a_set(
    tmp_path: Path, newline: str
) -> None:
    """Binary search by seeks against the plain answer: every present hash (the first line, the
    last, one inside each block) found with its count, absent ones not, lower case too."""
    rng = random.Random(7)
    present = {h: rng.randint(1, 10**7) for h in random_hashes(3000)}
    lines = sorted(present)
    path = tmp_path / "all.txt"
    path.write_text("".join(f"{h}:{present[h]}{newline}" for h in lines), newline="")
    absent = [h for h in random_hashes(3001) if h not in present][:500]
    asked = [lines[0], lines[-1], *lines[::7], *absent, lines[5].lower()]
    got = SortedFile(path).counts(asked)
    assert got == {h.upper(): present[h.upper()] for h in asked if h.upper() in present}

    folder = tmp_path / "ranges"
    folder.mkdir()
    by_prefix: dict[str, list[str]] = {}
    for h in lines:
        by_prefix.setdefault(h[:5], []).append(h)
    for prefix, hashes in by_prefix.items():
        text = "".join(f"{h[5:]}:{present[h]}{newline}" for h in hashes)
        (folder / (prefix + (".txt" if len(prefix) % 2 else ""))).write_text(text, newline="")
    assert RangeFolder(folder).counts(asked) == got


def test_breach_data_from_outside_is_bounded_and_checked(tmp_path: Path) -> None:
    folder = tmp_path / "ranges"
    folder.mkdir()
    (folder / f"{sha1(WEAK)[:5]}.txt").write_bytes(b"0" * (MAX_RANGE_FILE + 1))
    with pytest.raises(InvalidInput, match="larger than a range file can be"):
        RangeFolder(folder).counts([sha1(WEAK)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="holds no range files"):
        open_local(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(InvalidInput, match="not a Pwned Passwords file"):
        open_local(tmp_path / "notes.txt")


class RangeApi:
    """A stand-in of api.pwnedpasswords.com/range/{prefix} on loopback, built from its
    published behaviour: SUFFIX:COUNT lines, CRLF, padding lines with count 0 on request."""

    def __init__(self, breached: dict[str, int]) -> None:
        self.seen: list[tuple[str, str]] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.seen.append((self.path, self.headers.get("Add-Padding", "")))
                prefix = self.path.rsplit("/", 1)[-1]
                rows = {h[5:]: n for h, n in breached.items() if h.startswith(prefix)}
                if self.headers.get("Add-Padding") == "true":  # one that matches, count 0
                    rows.setdefault(sha1(STRONG[0])[5:], 0)
                    rows.update({h[5:]: 0 for h in random_hashes(50, prefix)})
                body = "".join(f"{s}:{n}\r\n" for s, n in rows.items()).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def range_api() -> Iterator[RangeApi]:
    api = RangeApi({sha1(WEAK): 52_256_179})
    yield api
    api.stop()


def test_online_sends_five_hex_digits_with_padding_through_the_proxy(
    cli: Cli, range_api: RangeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    Settings(breach_api=range_api.url).save(cli.home / "settings.json")
    proxy = CountingProxy()
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = cli("health", "--json", "--online")
    finally:
        proxy.stop()
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["breach_source"] == "online"
    assert names(found, "breached") == [["Bank"], ["Mail"]]  # not the padding's count-0 line
    paths = [path for path, _ in range_api.seen]
    assert all(padding == "true" for _, padding in range_api.seen)
    assert all(p.startswith("/range/") and len(p) == 12 for p in paths), paths
    assert sorted(paths) == sorted({f"/range/{sha1(s)[:5]}" for s in SECRETS})  # once each
    assert len(proxy.requests) == len(paths)  # every one through the proxy
    for secret in SECRETS:  # no more of a hash than its prefix
        assert not any(sha1(secret)[5:] in p for p in proxy.requests)


def test_online_is_never_used_unless_asked(cli: Cli, range_api: RangeApi) -> None:
    Settings(breach_api=range_api.url).save(cli.home / "settings.json")
    assert cli("health").returncode == 0
    assert range_api.seen == []


def test_a_check_after_an_edit_decrypts_and_rates_only_what_changed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within a session, what a check learnt is remembered by item version (nothing to
    decrypt again); across sessions, the kept ratings (nothing to rate again); a lock forgets
    the session's part."""
    from mysafe_tui.service import health as service_health

    rated: list[str] = []
    revealed: list[str] = []
    rate_all, reveal = service_health.rate_all, service_health.HealthCheck._reveal

    def counting_rate(secrets: list[str]) -> Any:
        rated.extend(secrets)
        return rate_all(secrets)

    def counting_reveal(self: Any, items: list[ItemSummary]) -> Any:
        revealed.extend(i.id for i in items)
        return reveal(self, items)

    monkeypatch.setattr(service_health, "rate_all", counting_rate)
    monkeypatch.setattr(service_health.HealthCheck, "_reveal", counting_reveal)
    steps: list[tuple[int, int]] = []

    def step() -> None:
        steps.append((len(revealed), len(rated)))
        revealed.clear()
        rated.clear()

    async def scenario() -> None:
        service = VaultService(Paths(home, home), kdf_params=FLOOR)
        await service.unlock(PASSPHRASE)
        first = await service.health()
        step()
        assert (await service.health()).findings == first.findings
        step()
        forum = (await service.search("forum"))[0]
        await service.update_item(forum.id, {"password": "correct horse"})
        await service.health()
        step()
        await service.lock()
        await service.unlock(PASSPHRASE)
        assert (await service.health()).counts() != first.counts()  # Forum is no longer old
        step()
        await service.close()

    asyncio.run(scenario())
    assert steps == [(7, 7), (0, 0), (1, 1), (7, 0)]


def test_a_finding_never_holds_the_password_or_its_length() -> None:
    item = ItemSummary("i1", ItemKind.PASSWORD, "Bank", 1, 0.0, 0.0)
    subject = health.Subject(item, b"keyed hash", 0.0, score=0, warning="")
    report = health.check([subject], now=0.0)
    (weak,) = report.findings
    assert (
        weak.detail == "easy to guess"
        and "7" not in weak.detail
        and "hunter2" not in str(report.to_json())
    )


async def test_the_open_ui_rates_with_worker_processes_and_marks_the_list(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the UI (where Textual has replaced sys.stderr) the rating processes start too:
    the list's marks come, and the check is not started over by each keystroke."""
    from mysafe_tui.service import health as service_health
    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.widgets.item_list import ItemList

    monkeypatch.setattr(service_health, "POOL_FROM", 2)
    runs: list[int] = []
    run = service_health.HealthCheck.run

    async def counted(self: Any, **options: Any) -> Any:
        runs.append(1)
        return await run(self, **options)

    monkeypatch.setattr(service_health.HealthCheck, "run", counted)
    app = MySafeApp(VaultService(Paths(home, home), kdf_params=FLOOR))
    async with app.run_test(size=(120, 36)) as pilot:
        main = await unlock_ui(app, pilot)
        await pilot.press("slash", *"sta", "backspace", "backspace", "backspace")
        await until(pilot, lambda: main.health is not None)
        marks = main.query_one(ItemList).marks
        assert "weak" in marks.values() and "reused" in marks.values()
        assert len(runs) == 1
    assert multiprocessing.active_children() == []


async def test_the_list_marks_items_and_the_report_offers_a_new_password(
    home: Path, tmp_path: Path
) -> None:
    from textual.widgets import DataTable, Input

    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.item import ItemDialog
    from mysafe_tui.tui.screens.health import HealthScreen
    from mysafe_tui.tui.widgets.detail import DetailPane
    from mysafe_tui.tui.widgets.item_list import ItemList

    breaches = range_folder(tmp_path / "ranges", {sha1(WEAK): 5})
    settings = Settings(breach_data=str(breaches))
    app = MySafeApp(VaultService(Paths(home, home), settings, kdf_params=FLOOR))
    async with app.run_test(size=(120, 36)) as pilot:
        main = await unlock_ui(app, pilot)
        listing = main.query_one(ItemList)
        await until(pilot, lambda: main.health is not None)
        by_name = {i.name: i.id for i in await app.service.search("")}
        assert listing.marks == {
            by_name["Bank"]: "breached",
            by_name["Mail"]: "breached",
            by_name["Stripe"]: "reused",
            by_name["Stripe test"]: "reused",
        }
        row = [listing.render_line(y).text for y in range(4)]
        assert any(line.startswith(" ✗ Bank") for line in row), row
        main.jump_to((await app.service.search("bank"))[0])
        pane = main.query_one(DetailPane)
        await until(
            pilot, lambda: "Breached: seen in breaches" in rendered_text(pane.render_item())
        )
        await pilot.pause()
        shown = app.export_screenshot()
        assert "Breached" in shown and "qwerty" not in shown  # the pane, as painted

        await pilot.press("H")
        await until(pilot, lambda: isinstance(app.screen, HealthScreen))
        screen = app.screen
        table = screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 12)  # 2+2+4+1+1+2, as in the CLI test
        assert [item.name for item in screen.rows][:2] == ["Bank", "Mail"]  # breached first
        shown += app.export_screenshot()
        for secret in SECRETS:  # the list, the detail pane and the report: no secret
            assert secret not in shown, secret
        await pilot.press("g")  # Bank: a new password, in the edit dialog, not saved yet
        await until(pilot, lambda: isinstance(app.screen, ItemDialog))
        new = app.screen.query_one("#f-password", Input).value
        assert len(new) >= 20 and new != WEAK
        await pilot.press("ctrl+s")
        await until(pilot, lambda: by_name["Bank"] not in listing.marks)
        assert listing.marks.get(by_name["Mail"]) == "breached"


async def test_a_short_password_is_weak_in_the_estimators_words_not_by_its_length(
    tmp_path: Path,
) -> None:
    service = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    await service.create_item(ItemKind.PASSWORD, {"name": "Router", "password": "r0uter"})
    (weak,) = (await service.health()).findings
    await service.close()
    assert weak.check == "weak" and weak.detail
    assert "character" not in weak.detail and "6" not in weak.detail and "8" not in weak.detail


async def test_many_passwords_are_rated_in_worker_processes_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past 200 passwords not rated before, worker processes (one per core) rate them: the
    report is the one rated here, progress is told, and no worker is left behind."""
    from mysafe_tui.service import health as service_health

    service = VaultService(Paths(tmp_path, tmp_path), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    rng = random.Random(3)
    for n in range(260):
        password = rng.choice([f"summer{n}", f"Tq{n}!x9#Lm{n * 7}$pZ", "letmein", f"pw{n}"])
        await service.create_item(ItemKind.PASSWORD, {"name": f"site {n}", "password": password})
    heard: list[tuple[int, int]] = []
    pooled = await service.health(progress=lambda done, total: heard.append((done, total)))
    (tmp_path / "default.mysafe.health").unlink()  # rate everything again, here this time
    monkeypatch.setattr(service_health, "POOL_FROM", 10_000)
    here = await service.health()
    await service.close()
    assert pooled.findings == here.findings and pooled.counts()["weak"] > 50
    assert heard[-1] == (260, 260) and len(heard) >= 2
    assert multiprocessing.active_children() == []

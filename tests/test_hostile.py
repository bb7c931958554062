"""Text from outside is data, never control (DESIGN.md §9), tried with the hostile corpus on
every surface: the sanitiser, the CLI on a terminal and on a pipe, the UI, the server's
refusals, and file names written by `save` and `open`."""

from __future__ import annotations

import itertools
import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import FLOOR, PASSPHRASE, raw_vault, rendered_text, unlock_ui, until
from hostile import CORPUS, MARKUP, PATHS, SEQUENCES, raw_controls
from mysafe_tui.core.models import ItemKind
from mysafe_tui.core.sanitize import forbidden_char, printable, safe_filename
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from mysafe_tui.vault.vault import Vault
from serverkit import RunningServer

MYSAFE = str(Path(sys.executable).parent / "mysafe")
USERS = itertools.count()
# What a vault can hold at all: a lone surrogate cannot be encoded (the server refuses it).
STORABLE = [t for t in CORPUS if not any("\ud800" <= c <= "\udfff" for c in t)]


# --- the sanitiser ----------------------------------------------------------------------------


def test_printable_shows_every_control_escaped_and_keeps_the_rest() -> None:
    for text in CORPUS:
        shown = printable(text)
        assert raw_controls(shown) == [] and "\n" not in shown and "\t" not in shown, repr(text)
        assert raw_controls(printable(text, multiline=True)) == [], repr(text)
    assert printable("a\x1b]52;c;x\x07b") == "a\\x1b]52;c;x\\x07b"
    assert printable("exe.\u202etxt") == "exe.\\u202etxt"
    assert printable("two\nlines", multiline=True) == "two\nlines"
    assert printable("two\nlines") == "two\\nlines"
    for harmless in ("GitHub", "漢字 wide", "😀 👩‍👩‍👧", "e\u0301", "[b]x[/b]", "a\\x1b"):
        assert printable(harmless) == harmless


def test_forbidden_char_names_what_a_server_refuses() -> None:
    flagged = [t for t in CORPUS if forbidden_char(t) is not None]
    assert len(flagged) > 150
    for text in flagged:
        assert raw_controls(text) or "\n" in text or "\t" in text, repr(text)
    assert forbidden_char("multi\nline\tnote", multiline=True) is None
    assert forbidden_char("multi\nline") == "\\n"


def test_safe_filename_never_leaves_its_directory(tmp_path: Path) -> None:
    for text in CORPUS:
        name = safe_filename(text)
        assert name and name not in (".", "..") and "/" not in name and "\\" not in name
        assert not name.startswith(("-", "~", ".")) and raw_controls(name) == [], repr(text)
        assert len(name.encode()) <= 200
        assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("a" * 300 + ".txt").endswith(".txt")
    assert safe_filename("..") == "file"


# --- the command line ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault whose every name, username, URL, tag and note is from the corpus, as a server
    or an import would leave it (written below the service, which refuses most of them)."""
    home = tmp_path_factory.mktemp("hostile") / "home"
    vault = Vault.create(home / "default.mysafe", PASSPHRASE, params=FLOOR)
    for text in STORABLE:
        fields = {"name": text[:300] or "-", "username": text, "url": text, "tags": (text,)}
        vault.save_item(ItemKind.PASSWORD, fields, {"password": text or "p", "notes": text})
    for text in MARKUP + SEQUENCES:
        vault.save_item(ItemKind.NOTE, {"name": f"note {text}"}, {"note": f"body {text}\nend"})
    vault.close()
    (home.parent / "pass").write_text(PASSPHRASE + "\n")
    return home


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSAFE", "TMUX"))}
    return {**env, "MYSAFE_HOME": str(home), "MYSAFE_PASSPHRASE_FILE": str(home.parent / "pass")}


def on_pipe(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([MYSAFE, *args], env=_env(home), capture_output=True, timeout=60)


def on_terminal(home: Path, *args: str) -> bytes:
    """Everything `mysafe ARGS` writes to a terminal (stdout and stderr on one pty)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([MYSAFE, *args], env=_env(home), stdin=subprocess.DEVNULL,
                               stdout=follower, stderr=follower)  # fmt: skip
    os.close(follower)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
        process.wait(timeout=30)
    assert process.returncode == 0, out[-500:]
    return out


def test_cli_output_on_a_terminal_and_on_a_pipe_carries_no_control(hostile_home: Path) -> None:
    listed = on_pipe(hostile_home, "list")
    assert listed.returncode == 0, listed.stderr
    assert raw_controls(listed.stdout.decode()) == [] and raw_controls(listed.stderr.decode()) == []
    assert listed.stdout.count(b"\n") == len(STORABLE) + len(MARKUP) + len(SEQUENCES)
    shown = on_terminal(hostile_home, "list").decode()
    assert raw_controls(shown.replace("\r\n", "\n")) == []
    assert "\\x1b]52;c;aGFja2Vk\\x07" in shown  # visible, escaped
    as_json = on_pipe(hostile_home, "list", "--json")
    assert raw_controls(as_json.stdout.decode()) == []  # JSON escapes them itself
    names = {row["name"] for row in json.loads(as_json.stdout)}
    assert f"{SEQUENCES[0]}" in names  # ... and a program gets the exact value back


def test_get_prints_exact_values_to_programs_and_escaped_ones_to_people(
    hostile_home: Path,
) -> None:
    rows = json.loads(on_pipe(hostile_home, "list", "--json").stdout)
    by_name = {row["name"]: row["id"] for row in rows}
    for text in SEQUENCES[:6] + ["exe.\u202etxt"]:
        item = by_name.get(text) or by_name[f"exe.{text[4:]}"]
        exact = on_pipe(hostile_home, "get", item, "--field", "username")
        assert exact.returncode == 0 and exact.stdout.decode() == f"{text}\n"
        shown = on_terminal(hostile_home, "get", item, "--field", "username").decode()
        assert raw_controls(shown.replace("\r\n", "\n")) == [], repr(shown)
        forced = on_terminal(hostile_home, "get", item, "--field", "username", "--raw")
        assert text.encode() in forced  # asked for: --raw
    note = by_name[f"note {SEQUENCES[6]}"]
    body = on_terminal(hostile_home, "get", note).decode().replace("\r\n", "\n")
    assert body == "body \\x1b[2J\nend\n"  # a note keeps its lines, not its escapes


def test_custom_fields_urls_and_attachment_names_from_outside_print_escaped(
    tmp_path: Path,
) -> None:
    """What a server or an import left in the extras (written below the service's checks):
    `mysafe info` and `get --field` on a terminal show it escaped; a pipe gets it exact."""
    from mysafe_tui.core import extras

    home = tmp_path / "home"
    vault = Vault.create(home / "default.mysafe", PASSPHRASE, params=FLOOR)
    fields = [extras.CustomField(f"label {n}", text) for n, text in enumerate(SEQUENCES)]
    attached = extras.Attachment("a1", SEQUENCES[0], 3, "text/plain", "f", "00" * 32)
    vault.save_item(ItemKind.PASSWORD, {"name": "Router", "username": "u",
                                        "urls": tuple(SEQUENCES[:3])},
                    {"password": "p", extras.CUSTOM: extras.encode_fields(fields),
                     extras.ATTACHMENTS: extras.encode_attachments([attached])})  # fmt: skip
    vault.close()
    (home.parent / "pass").write_text(PASSPHRASE + "\n")
    shown = on_terminal(home, "info", "Router").decode().replace("\r\n", "\n")
    assert raw_controls(shown) == [], repr(shown)
    assert "\\x1b]52;c;aGFja2Vk\\x07" in shown  # the first value, visible
    exact = on_pipe(home, "get", "Router", "--field", "label 0")
    assert exact.stdout.decode() == SEQUENCES[0] + "\n"
    printed = on_terminal(home, "get", "Router", "--field", "label 0").decode()
    assert raw_controls(printed.replace("\r\n", "\n")) == []


def test_messages_quoting_a_name_are_escaped(tmp_path: Path, hostile_home: Path) -> None:
    rows = json.loads(on_pipe(hostile_home, "list", "--json").stdout)
    item = next(r["id"] for r in rows if r["name"] == SEQUENCES[0])
    home = tmp_path / "copy"
    home.mkdir()
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    (home / "default.mysafe").write_bytes((hostile_home / "default.mysafe").read_bytes())
    moved = on_pipe(home, "rm", item)
    assert moved.returncode == 0 and b"\\x1b]52" in moved.stderr
    assert raw_controls(moved.stderr.decode()) == []
    missing = on_pipe(home, "get", "\x1b[2Jnothing")
    assert missing.returncode == 1 and raw_controls(missing.stderr.decode()) == []


def test_a_closed_pipe_ends_quietly(hostile_home: Path) -> None:
    process = subprocess.Popen([MYSAFE, "list"], env=_env(hostile_home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # `mysafe list | head -1`
    error = process.stderr.read()
    process.wait(timeout=30)
    assert error == b"" and process.returncode in (0, 141)


# --- the UI ------------------------------------------------------------------------------


def _copy_of(hostile_home: Path, tmp_path: Path) -> VaultService:
    """A service over this test's own copy of the hostile vault (tests may write to it)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "default.mysafe").write_bytes((hostile_home / "default.mysafe").read_bytes())
    return VaultService(Paths(home, home), kdf_params=FLOOR)


@pytest.mark.slow
async def test_every_corpus_item_shows_escaped_in_the_list_and_the_detail_pane(
    hostile_home: Path, tmp_path: Path
) -> None:
    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.widgets.detail import DetailPane
    from mysafe_tui.tui.widgets.item_list import ItemList

    app = MySafeApp(_copy_of(hostile_home, tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        main = await unlock_ui(app, pilot)
        listing, pane = main.query_one(ItemList), main.query_one(DetailPane)
        await until(pilot, lambda: listing.current is not None)
        seen = 0
        for tab in ("1", "2"):
            await pilot.press(tab)
            await pilot.pause(0.1)
            for row in range(len(listing.items)):
                listing.cursor = row
                await until(pilot, lambda: pane.item == listing.current)
                assert raw_controls(_texts(pane.render_item())) == []
                for line in range(min(listing.size.height, 30)):
                    assert raw_controls(listing.render_line(line).text) == []
                seen += 1
        assert seen == len(STORABLE) + len(MARKUP) + len(SEQUENCES)
        # A whole screen's worth of what Textual writes: filtered of controls, whatever slipped.
        for strip in app.screen._compositor.render_strips():
            assert raw_controls(strip.text) == []


async def test_markup_in_names_and_notes_is_text_and_crashes_nothing(tmp_path: Path) -> None:
    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.confirm import ConfirmDialog
    from mysafe_tui.tui.widgets.detail import DetailPane
    from mysafe_tui.tui.widgets.item_list import ItemList

    home = tmp_path / "home"
    setup = VaultService(Paths(home, home), kdf_params=FLOOR)
    await setup.create(PASSPHRASE)
    await setup.close()
    with raw_vault(setup.paths) as vault:
        for text in MARKUP:
            vault.save_item(ItemKind.NOTE, {"name": text}, {"note": f"{text} runbook"})
    app = MySafeApp(VaultService(Paths(home, home), kdf_params=FLOOR))
    async with app.run_test(size=(100, 30)) as pilot:
        main = await unlock_ui(app, pilot)
        listing = main.query_one(ItemList)
        await pilot.press("2")
        await until(pilot, lambda: len(listing.items) == len(MARKUP))
        for _ in MARKUP:  # open each, then trash it: every toast quotes the name
            name = listing.current.name if listing.current else ""
            await pilot.press("enter")
            await until(pilot, lambda n=name: f"{n} runbook" in rendered_text(
                main.query_one(DetailPane).render_item()))  # fmt: skip
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
            await until(pilot, lambda n=name: any(n in t.message for t in app._notifications))
        await until(pilot, lambda: len(listing.items) == 0)
        assert app.is_running  # no MarkupError, no [@click=app.quit]


async def test_dialogs_and_the_palette_show_hostile_text_as_text(
    hostile_home: Path, tmp_path: Path
) -> None:
    from textual.command import CommandList, CommandPalette
    from textual.widgets import Label

    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.remote import ConflictDialog
    from mysafe_tui.tui.modals.share import ShareDialog
    from mysafe_tui.tui.widgets.item_list import ItemList

    app = MySafeApp(_copy_of(hostile_home, tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        main = await unlock_ui(app, pilot)
        listing = main.query_one(ItemList)
        await until(pilot, lambda: listing.current is not None)
        for text in [*SEQUENCES[:4], *MARKUP[:5]]:
            rows = [("Name", text, text + "x", True), ("Notes", text, "", True)]
            await app.push_screen(ConflictDialog(text, rows))
            await pilot.pause(0.05)
            title = str(app.screen.query(Label).first().render())
            assert raw_controls(title) == [] and printable(text) in title
            app.pop_screen()
        listing.cursor = next(i for i in range(len(listing.items))
                              if listing.items[i].name == SEQUENCES[0])  # fmt: skip
        await pilot.press("S")  # no share server: the dialog says so, titled with the name
        await until(pilot, lambda: isinstance(app.screen, ShareDialog))
        assert printable(SEQUENCES[0]) in str(app.screen.query(Label).first().render())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main)
        app.action_command_palette()
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"owned")
        palette = app.screen
        await until(pilot, lambda: palette.query_one(CommandList).option_count > 0)
        await pilot.pause()
        for strip in app.screen._compositor.render_strips():
            assert raw_controls(strip.text) == []
        assert app.is_running


def _texts(renderable: Any) -> str:
    """Every string a Rich renderable holds, before Rich's own rendering drops anything."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    if isinstance(renderable, Text):
        return renderable.plain
    if isinstance(renderable, Group):
        return "".join(_texts(part) for part in renderable.renderables)
    if isinstance(renderable, Table):
        return "".join(_texts(cell) for column in renderable.columns for cell in column.cells)
    return str(renderable)


# --- the server -----------------------------------------------------------------------------

REFUSED = {
    "ESC": "a\x1b]52;c;aGFja2Vk\x07",
    "C0": "a\x01b",
    "CR": "a\rb",
    "newline": "a\nb",
    "NUL": "a\x00b",
    "DEL": "a\x7fb",
    "C1": "a\x9bb",
    "bidi": "exe.\u202etxt",
    "isolate": "a\u2066b",
    "separator": "a\u2028b",
    "surrogate": "a\ud800b",
}


@pytest.mark.parametrize("field", ["name", "username", "url", "tags"])
def test_the_server_refuses_controls_in_shown_fields(alice: httpx.Client, field: str) -> None:
    for label, bad in REFUSED.items():
        body = {"name": "ok", "username": "u", "password": "p", field: bad}
        raw = json.dumps(body)  # lone surrogates go out as \ud800, as any JSON client sends
        answer = alice.post("/api/mysafe/password", content=raw,
                            headers={"Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 400, (field, label, answer.text)
        assert field in answer.json()["response"]["message"], answer.text
    fine = {"name": "ok 漢字 😀", "username": "u", "password": "p", "notes": "two\nlines\ttab"}
    assert alice.post("/api/mysafe/password", json=fine).status_code == 201


def test_the_server_refuses_controls_in_file_names_and_share_labels(alice: httpx.Client) -> None:
    def upload(file_name: str) -> httpx.Response:
        return alice.post(
            "/api/mysafe-ext/file",
            params={"name": "f", "file_name": file_name},
            content=b"data",
            headers={"Content-Type": "application/octet-stream"},
        )

    def share(label: str, n: int) -> httpx.Response:
        body = {"share_id": f"hostile{n:02d}" + "A" * 16, "kind": "note", "label": label,
                "ciphertext": "AAAA", "access_proof_hash": "A" * 43,
                "expires_in": 3600}  # fmt: skip
        return alice.post("/api/mysafe-ext/share", content=json.dumps(body),
                          headers={"Content-Type": "application/json"})  # fmt: skip

    assert upload("fine name.txt").status_code == 201
    assert share("fine label", 99).status_code == 201
    for n, (label, bad) in enumerate(REFUSED.items()):
        if label != "surrogate":  # a URL query cannot even carry one
            answer = upload(bad)
            assert answer.status_code == 400 and "file_name" in answer.text, (label, answer.text)
        answer = share(bad, n)
        assert answer.status_code == 400 and "label" in answer.text, (label, answer.text)


# --- file names: save and open -------------------------------------------------------------


async def test_save_writes_every_corpus_file_name_inside_the_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    vault = Vault.create(home / "default.mysafe", PASSPHRASE, params=FLOOR)
    for text in STORABLE:
        vault.save_file({"name": f"f{len(text)}", "file_name": text, "size": 4,
                         "media_type": "text/plain", "tags": ()}, {}, iter([b"data"]))  # fmt: skip
    vault.close()
    service = VaultService(Paths(home, home), kdf_params=FLOOR)
    await service.unlock(PASSPHRASE)
    out = tmp_path / "out" / "inner"
    out.mkdir(parents=True)
    (out / "passwd").write_text("mine")  # taken by ../../etc/passwd: must not be replaced
    before = {p for p in tmp_path.rglob("*")}
    written, refused = 0, 0
    for item in await service.search(kind=ItemKind.FILE):
        try:
            target = await service.save_file(item.id, out)
        except Exception as exc:  # a taken name: refused, never overwritten
            assert "already exists" in str(exc)
            refused += 1
            continue
        assert target.parent == out
        written += 1
    outside = {p for p in tmp_path.rglob("*")} - before - set(out.iterdir())
    assert outside == set() and (out / "passwd").read_text() == "mine"
    assert written + refused == len(STORABLE) and written > 50  # "a\x01b"... all become "ab"
    assert written == len(list(out.iterdir())) - 1  # each a new file beside "passwd"
    await service.close()


@pytest.fixture
def sharer(server: RunningServer, tmp_path: Path) -> Iterator[dict[str, Any]]:
    client_id, secret = server.new_user(f"hostile{next(USERS)}")
    yield {"server": server, "client_id": client_id, "secret": secret, "home": tmp_path / "s"}


async def _file_link(sharer: dict[str, Any], file_name: str, content: bytes) -> str:
    home = sharer["home"]
    service = VaultService(Paths(home, home), kdf_params=FLOOR)
    if service.vault_exists():
        await service.unlock(PASSPHRASE)
    else:
        await service.create(PASSPHRASE)
        await service.set_share_server(sharer["server"].url, sharer["client_id"], sharer["secret"])
    with raw_vault(service.paths) as vault:
        fields = {"name": f"f{len(file_name)}", "file_name": file_name, "size": len(content),
                  "media_type": "application/octet-stream", "tags": ()}  # fmt: skip
        item = vault.save_file(fields, {}, iter([content]))
    await service.refresh()
    created = await service.share_item(item.id, expires_in=3600, views=1, password=None)
    await service.close()
    return str(created.link)


def _open(link: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSAFE")}
    env["MYSAFE_HOME"] = str(cwd.parent / "recipient")
    return subprocess.run([MYSAFE, "open", link, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip


async def test_open_writes_a_senders_file_name_only_inside_the_folder(
    sharer: dict[str, Any], tmp_path: Path
) -> None:
    here = tmp_path / "a" / "b" / "here"
    here.mkdir(parents=True)
    (here / "x").write_text("mine")
    for name in ["../../x", "/abs/evil.sh", "~/x", "..\\..\\x.bat", "-rf", "..", "a\x1b[2Jb"]:
        link = await _file_link(sharer, name, b"payload")
        opened = _open(link, here)
        assert opened.returncode == 0, opened.stderr
        assert raw_controls(opened.stderr) == []
    written = sorted(p.name for p in here.iterdir())
    assert written == sorted(["x", "x (2)", "x (3)", "evil.sh", "x.bat", "rf", "file", "a[2Jb"])
    assert (here / "x").read_text() == "mine"  # never overwritten
    everything = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert everything <= {*here.iterdir()} | {p for p in everything if "/s/" in str(p)}


async def test_open_refuses_a_taken_save_path_before_spending_the_view(
    sharer: dict[str, Any], tmp_path: Path
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    taken = here / "report.pdf"
    taken.write_text("mine")
    link = await _file_link(sharer, "report.pdf", b"theirs")
    refused = _open(link, here, "--save", str(taken))
    assert refused.returncode == 1 and "link still works" in refused.stderr.replace(
        "nothing was opened (give --force", "link still works"
    )
    assert taken.read_text() == "mine"
    again = _open(link, here, "--save", str(taken), "--force")  # the view was not spent
    assert again.returncode == 0, again.stderr
    assert taken.read_bytes() == b"theirs"


def test_a_write_that_fails_after_the_view_keeps_the_content(
    sharer: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Any
) -> None:
    from mysafe_tui import cli
    from mysafe_tui.core.errors import StorageError
    from mysafe_tui.system import disk as fsutil

    here = tmp_path / "here"
    here.mkdir()
    link = run(_file_link(sharer, "key.pem", b"-----BEGIN KEY-----"))
    real = fsutil.write_new

    def disk_full(directory: Path, name: str, data: bytes) -> Path:
        if directory == here:
            raise StorageError(f"could not write {directory / name}: No space left on device")
        return real(directory, name, data)

    monkeypatch.setattr(fsutil, "write_new", disk_full)
    monkeypatch.setenv("MYSAFE_HOME", str(tmp_path / "recipient"))
    monkeypatch.chdir(here)
    assert cli.run(["open", link]) == 1
    kept = tmp_path / "recipient" / "received" / "key.pem"
    assert kept.read_bytes() == b"-----BEGIN KEY-----"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"


def test_open_refuses_plain_http_to_another_host(tmp_path: Path) -> None:
    opened = _open("http://vault.example.com/s/AAAAAAAAAAAAAAAAAAAAAA#" + "A" * 43, tmp_path)
    assert opened.returncode == 1 and "https" in opened.stderr


def test_paths_in_the_corpus_are_many() -> None:
    assert len(CORPUS) >= 200 and len(PATHS) >= 20

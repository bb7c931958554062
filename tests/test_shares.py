"""Share links from the vault, end to end on the real server: the service, the CLI, `mysafe
open`, password protection, revoke, expiry, and what the client's traffic never contains."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import BACKENDS, FLOOR, PASSPHRASE, database_for, unlock_ui, until
from mysafe_tui.core.crypto import sha256
from mysafe_tui.core.errors import NotSupported, RemoteRejected
from mysafe_tui.core.models import ItemKind
from mysafe_tui.core.sharecrypto import b64url
from mysafe_tui.remote.shares import open_link, parse_duration
from mysafe_tui.service import VaultService
from mysafe_tui.system.settings import Paths
from serverkit import RunningServer, start_server

USERS = itertools.count()


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("shares-e2e"), users=("admin",),
                           database=database_for(request, request.param))  # fmt: skip
    yield running
    running.stop()


class Recorder(httpx.AsyncBaseTransport):
    """The real network, recording every request the client sends (to prove what never goes)."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.sent: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        self.sent.append(f"{request.method} {request.url}\n{headers}\n".encode() + body)
        return await self.real.handle_async_request(request)


@pytest.fixture
async def vault(server: RunningServer, tmp_path: Path) -> AsyncIterator[tuple[VaultService, Any]]:
    """A local vault that names the server as its share server, with one password item."""
    client_id, secret = server.new_user(f"sharer{next(USERS)}")
    recorder = Recorder()
    service = VaultService(
        Paths(tmp_path / "home", tmp_path / "home"), kdf_params=FLOOR, transport=recorder
    )
    await service.create(PASSPHRASE)
    assert service.share_target() is None
    await service.set_share_server(server.url, client_id, secret)
    item = await service.create_item(
        ItemKind.PASSWORD,
        {
            "name": "Github",
            "username": "dleite",
            "password": "gh-SECRET-pass",
            "url": "https://github.com",
            "notes": "private notes",
        },
    )
    yield service, (item, recorder)
    await service.close()


async def no_password() -> str:
    raise AssertionError("this link has no password")


def stored_ciphertext(server: RunningServer, share_hash: str) -> bytes | None:
    return server.stored_share(bytes.fromhex(share_hash))


async def test_share_open_once_and_the_cockpit_counts(server: RunningServer, vault: Any) -> None:
    service, (item, _) = vault
    created = await service.share_item(item.id, label="for the plumber")
    assert str(created.link).startswith(f"{server.url}/s/")
    payload = await open_link(str(created.link), no_password)
    assert payload.title == "Github"
    assert {f["label"]: f["value"] for f in payload.fields} == {
        "Username": "dleite",
        "Password": "gh-SECRET-pass",
        "URL": "https://github.com",
    }
    with pytest.raises(RemoteRejected, match="already been used"):
        await open_link(str(created.link), no_password)
    [row] = await service.list_shares()
    assert (row["item"], row["label"], row["status"]) == ("Github", "for the plumber", "used_up")
    assert (row["views_used"], row["max_views"]) == (1, 1) and row["has_link"]
    assert stored_ciphertext(server, created.share_hash) is None
    assert await service.share_link(created.share_hash) == str(created.link)


async def test_chosen_fields_only(vault: Any) -> None:
    service, (item, _) = vault
    created = await service.share_item(item.id, fields=("password", "notes"), views=2)
    payload = await open_link(str(created.link), no_password)
    assert [f["label"] for f in payload.fields] == ["Password", "Notes"]
    with pytest.raises(Exception, match="cannot share client_secret"):
        await service.share_item(item.id, fields=("client_secret",))


async def test_password_share_and_traffic_never_holds_key_or_password(
    server: RunningServer, vault: Any
) -> None:
    service, (item, recorder) = vault
    created = await service.share_item(item.id, password="open sesame", views=1)

    async def wrong() -> str:
        return "open says me"

    async def right() -> str:
        return "open sesame"

    with pytest.raises(RemoteRejected, match=r"wrong password: nothing was revealed and no view "
                       r"was used \(9 more wrong ones destroy the link\)"):  # fmt: skip
        await open_link(str(created.link), wrong)
    damaged = str(created.link).split("#")[0] + "#" + b64url(os.urandom(32))
    with pytest.raises(RemoteRejected, match=r"^the link is damaged \(its key does not match"):
        await open_link(damaged, right)
    server.execute("UPDATE share_strangers SET blocked_until = ?", (time.time() + 60,))
    with pytest.raises(RemoteRejected, match=r"^too many tries: nothing was revealed; try again "
                       r"in [56]\d s$"):  # fmt: skip
        await open_link(damaged, right)  # the same guess again, too soon
    payload = await open_link(str(created.link), right)  # the wrong tries spent no view
    assert payload.fields[1]["value"] == "gh-SECRET-pass"
    key_text = str(created.link).split("#")[1]
    sent = b"\n".join(recorder.sent)
    assert b"/mysafe-ext/share" in sent  # the recorder did see the upload
    for secret in (key_text, "open sesame", "gh-SECRET-pass", "dleite"):
        assert secret.encode() not in sent, secret
    log = server.log()
    assert key_text not in log and "open sesame" not in log
    assert created.link.share_id not in log


async def test_revoke_and_expiry_kill_the_link(server: RunningServer, vault: Any) -> None:
    service, (item, _) = vault
    first = await service.share_item(item.id, views=5)
    await service.revoke_share(first.share_hash)
    assert stored_ciphertext(server, first.share_hash) is None
    with pytest.raises(RemoteRejected, match="revoked"):
        await open_link(str(first.link), no_password)
    second = await service.share_item(item.id, views=5, expires_in=3600)
    server.execute(
        "UPDATE shares SET expires_at = ? WHERE id_hash = ?",  # the clock moves on
        (time.time() - 1, bytes.fromhex(second.share_hash)),
    )
    with pytest.raises(RemoteRejected, match="expired"):
        await open_link(str(second.link), no_password)
    assert stored_ciphertext(server, second.share_hash) is None
    rows = {r["share_hash"]: r["status"] for r in await service.list_shares()}
    assert rows[first.share_hash] == "revoked" and rows[second.share_hash] == "expired"


async def test_without_a_share_server_the_reason_is_given(
    tmp_path: Path, server: RunningServer
) -> None:
    service = VaultService(Paths(tmp_path / "h", tmp_path / "h"), kdf_params=FLOOR)
    await service.create(PASSPHRASE)
    item = await service.create_item(ItemKind.NOTE, {"name": "n", "note": "b"})
    with pytest.raises(NotSupported, match="mysafe serve"):
        await service.share_item(item.id)
    await service.close()


def test_durations() -> None:
    assert parse_duration("90m") == 5400 and parse_duration("7d") == 7 * 86400
    for bad in ("0m", "31d", "soon", "5s"):
        with pytest.raises(Exception, match="duration|1 minute"):
            parse_duration(bad)


@pytest.mark.slow
def test_cli_share_shares_revoke_open_and_a_50_mib_file(
    server: RunningServer, tmp_path: Path
) -> None:
    client_id, secret = server.new_user(f"cli{next(USERS)}")
    passfile = tmp_path / "pass"
    passfile.write_text(PASSPHRASE + "\n")
    env = {
        **os.environ,
        "MYSAFE_HOME": str(tmp_path / "home"),
        "MYSAFE_PASSPHRASE_FILE": str(passfile),
        "SENHASEGURA_CLIENT_ID": client_id,
        "SENHASEGURA_CLIENT_SECRET": secret,
    }

    def mysafe(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mysafe_tui", *args],
            env=env,
            input=stdin.decode(),
            capture_output=True,
            text=True,
        )

    assert mysafe("init", "--kdf-profile", "low-memory").returncode == 0
    assert mysafe("share-server", server.url).returncode == 0
    big = tmp_path / "backup.bin"
    big.write_bytes(os.urandom(50 * 1024 * 1024))
    assert mysafe("attach", str(big), "--name", "Backup").returncode == 0
    made = mysafe("share", "Backup", "--expires", "1h", "--views", "2", "--label", "offsite")
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip()
    assert "can be opened 2 times" in made.stderr
    out = tmp_path / "received.bin"
    opened = mysafe("open", link, "--save", str(out))
    assert opened.returncode == 0, opened.stderr
    assert out.read_bytes() == big.read_bytes()

    listed = mysafe("shares")
    assert "Backup" in listed.stdout and "1/2 views" in listed.stdout and "offsite" in listed.stdout
    bogus = mysafe("share", "Backup", "--fields", "bogus")
    assert bogus.returncode == 1 and "a file cannot share bogus" in bogus.stderr
    assert mysafe("revoke", link).returncode == 0  # the link itself names it
    gone = mysafe("open", link, "--save", str(tmp_path / "again.bin"))
    assert gone.returncode == 1 and "revoked" in gone.stderr and "Traceback" not in gone.stderr
    assert (
        stored_ciphertext(server, sha256(link.split("/s/")[1].split("#")[0].encode()).hex()) is None
    )


async def _door_note_vault(server: RunningServer, tmp_path: Path) -> VaultService:
    """A vault with one note and a share server of its own user; locked, ready for the UI."""
    client_id, secret = server.new_user(f"door{next(USERS)}")
    home = tmp_path / "home"
    setup = VaultService(Paths(home, home), kdf_params=FLOOR)
    await setup.create(PASSPHRASE)
    await setup.set_share_server(server.url, client_id, secret)
    await setup.create_item(ItemKind.NOTE, {"name": "Door", "note": "4711#"})
    await setup.close()
    return VaultService(Paths(home, home), kdf_params=FLOOR)


async def _share_dialog_on_the_note(app: Any, pilot: Any) -> None:
    from mysafe_tui.tui.modals.share import ShareDialog
    from mysafe_tui.tui.widgets.item_list import ItemList

    main = await unlock_ui(app, pilot)
    await pilot.press("2")
    listing = main.query_one(ItemList)
    await until(pilot, lambda: listing.current is not None and listing.current.kind.value == "note")
    await pilot.press("S")
    await until(pilot, lambda: isinstance(app.screen, ShareDialog))


async def test_share_dialog_custom_expiry(server: RunningServer, tmp_path: Path) -> None:
    from textual.widgets import Input, RadioButton

    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.share import ShareDialog

    app = MySafeApp(await _door_note_vault(server, tmp_path))
    async with app.run_test(size=(100, 32)) as pilot:
        await _share_dialog_on_the_note(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ShareDialog)
        dialog.query(RadioButton).last().value = True  # "custom"
        dialog.query_one("#custom-expiry", Input).value = "99d"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "30 days" in str(dialog.query_one("#error").render()))
        assert dialog.share_hash is None  # refused here, nothing sent
        dialog.query_one("#custom-expiry", Input).value = "36h"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: dialog.share_hash is not None)
        [row] = await app.service.list_shares()
        expires = datetime.fromisoformat(row["expires_at"].replace("Z", "+00:00")).timestamp()
        assert abs(expires - (time.time() + 36 * 3600)) < 120


@pytest.mark.parametrize(("size", "shown"), [((80, 24), False), ((120, 36), True)])
async def test_the_qr_code_shows_whole_or_says_how_tall_the_terminal_must_be(
    server: RunningServer, tmp_path: Path, size: tuple[int, int], shown: bool
) -> None:
    from textual.widgets import Static

    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.share import ShareDialog

    app = MySafeApp(await _door_note_vault(server, tmp_path))
    async with app.run_test(size=size) as pilot:
        await _share_dialog_on_the_note(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ShareDialog)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: dialog.share_hash is not None)
        await pilot.press("q")
        if shown:
            await until(pilot, lambda: dialog.query_one("#qr", Static).display)
        else:
            await until(pilot, lambda: any("rows tall" in n.message for n in app._notifications))
            assert not dialog.query_one("#qr", Static).display

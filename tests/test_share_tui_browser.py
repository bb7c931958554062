"""The whole sharing promise through the real UI: S in the TUI (Pilot) makes a link, Debian's
headless chromium reveals it once, the links screen shows it used up, and a link revoked there
says so in the browser while the server forgets its content.

Its own module: Playwright's sync API (test_share_browser.py) and this async test cannot share a
module-scoped browser.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serverkit import RunningServer, start_server

CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
pytest.importorskip("playwright.async_api")


# Real terminals, sshd and browsers: the full suite (CI) runs them; `-m "not slow"` skips.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("tui-browser"))
    yield running
    running.stop()


async def test_tui_share_opened_in_chromium_then_revoked_from_the_cockpit(
    server: RunningServer, tmp_path: Path
) -> None:
    """The whole promise: S in the TUI makes a link, a browser reveals it once, the cockpit
    shows it used up, and a revoked link's page says so while the server forgets the content."""
    from playwright.async_api import async_playwright
    from textual.widgets import DataTable

    from conftest import FLOOR, PASSPHRASE, unlock_ui, until
    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.service import VaultService
    from mysafe_tui.system.settings import Paths
    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.confirm import ConfirmDialog
    from mysafe_tui.tui.modals.share import ShareDialog
    from mysafe_tui.tui.screens.shares import SharesScreen

    client_id, secret = server.new_user("tui-sharer")
    home = tmp_path / "home"
    setup = VaultService(Paths(home, home), kdf_params=FLOOR)
    await setup.create(PASSPHRASE)
    await setup.set_share_server(server.url, client_id, secret)
    await setup.create_item(ItemKind.NOTE, {"name": "Door code", "note": "4711#"})
    await setup.close()

    async def make_link(app: MySafeApp, pilot: Any) -> tuple[str, str]:
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ShareDialog))
        dialog = app.screen
        await pilot.press("ctrl+s")
        await until(pilot, lambda: dialog.share_hash is not None)
        statement = str(dialog.query_one("#statement").render())
        assert "opens once" in statement and "Note" in statement
        link, share_hash = dialog.link, dialog.share_hash
        await pilot.press("escape")
        return link, share_hash

    app = MySafeApp(VaultService(Paths(home, home), kdf_params=FLOOR))
    async with app.run_test(size=(100, 32)) as pilot, async_playwright() as playwright:
        await unlock_ui(app, pilot)
        await pilot.press("2")
        await pilot.pause(0.3)
        link, _ = await make_link(app, pilot)
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await browser.new_page()
        await page.goto(link)
        await page.wait_for_selector("body[data-state='ready']")
        await page.click("#reveal")
        await page.wait_for_selector("body[data-state='revealed']", timeout=30_000)
        assert await page.locator(".field .value").all_inner_texts() == ["4711#"]
        second = await browser.new_page()
        await second.goto(link)
        await second.wait_for_selector("body[data-state='used_up']")

        terminal_link, _ = await make_link(app, pilot)  # the recipient's side in a terminal
        opened = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "mysafe_tui", "open", terminal_link],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert opened.returncode == 0 and opened.stdout.strip() == "Note: 4711#", opened.stderr

        revoked_link, revoked_hash = await make_link(app, pilot)
        await pilot.press("O")
        await until(pilot, lambda: isinstance(app.screen, SharesScreen))
        cockpit = app.screen
        table = cockpit.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 3)
        statuses = [str(table.get_row_at(i)[2]) for i in range(3)]
        assert any("used up" in s for s in statuses) and any("active" in s for s in statuses)
        active_row = next(i for i, s in enumerate(statuses) if "active" in s)
        table.move_cursor(row=active_row)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(
            pilot,
            lambda: any("revoked" in str(table.get_row_at(i)[2]) for i in range(table.row_count)),
        )
        third = await browser.new_page()
        await third.goto(revoked_link)
        await third.wait_for_selector("body[data-state='revoked']")
        await browser.close()
    assert server.stored_share(bytes.fromhex(revoked_hash)) is None

#!/usr/bin/env python3
"""Regenerate screenshots/share-page*.png: the recipient's page in Debian's headless chromium,
before and after Reveal, against a real `mysafe serve` on loopback.

.venv/bin/python scripts/share_page_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from mysafe_tui.core.sharecrypto import SharePayload  # noqa: E402
from serverkit import start_server  # noqa: E402

LOGIN = SharePayload("password", "Github", [
    {"label": "Username", "value": "dleite", "secret": False},
    {"label": "Password", "value": "7yha&x-Pq2!vR", "secret": True},
    {"label": "URL", "value": "https://github.com", "secret": False},
])  # fmt: skip


def main() -> None:
    out = ROOT / "screenshots"
    server = start_server(Path(tempfile.mkdtemp()))
    try:
        with server.client() as client:
            link = str(server.share(client, LOGIN, views=2))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 900, "height": 600}, color_scheme="light")
            page.goto(link)
            page.wait_for_selector("body[data-state='ready']")
            page.screenshot(path=str(out / "share-page.png"))
            page.click("#reveal")
            page.wait_for_selector("body[data-state='revealed']", timeout=60_000)
            page.screenshot(path=str(out / "share-page-revealed.png"))
            browser.close()
    finally:
        server.stop()
    print(out / "share-page.png", out / "share-page-revealed.png")


if __name__ == "__main__":
    main()

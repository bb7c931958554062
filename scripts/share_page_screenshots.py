#!/usr/bin/env python3
"""Regenerate screenshots/share-page*.png: the recipient's page in Debian's headless chromium,
before and after Reveal, and a link for one recipient asking for its mailed code, against a
real `mysafe serve` on loopback (mailing through a local relay).

.venv/bin/python scripts/share_page_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402

from mailkit import Relay  # noqa: E402
from mysafe_tui.core.sharecrypto import SharePayload  # noqa: E402
from serverkit import start_server  # noqa: E402

LOGIN = SharePayload("password", "Github", [
    {"label": "Username", "value": "dleite", "secret": False},
    {"label": "Password", "value": "7yha&x-Pq2!vR", "secret": True},
    {"label": "URL", "value": "https://github.com", "secret": False},
])  # fmt: skip


def main() -> None:
    out = ROOT / "screenshots"
    folder = Path(tempfile.mkdtemp())
    relay = Relay(folder).__enter__()
    server = start_server(folder, args=["--smtp", relay.url], env=relay.env)
    try:
        with server.client() as client:
            link = str(server.share(client, LOGIN, views=2))
            for_bob = str(server.share(client, LOGIN, recipient="bob@example.com"))
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
            page.goto(for_bob)
            page.wait_for_selector("body[data-state='ready']")
            page.click("#send-code")
            page.wait_for_selector("body[data-state='code-sent']")
            page.screenshot(path=str(out / "share-page-code.png"))
            browser.close()
    finally:
        server.stop()
        relay.__exit__()
    print(*(out / f"share-page{n}.png" for n in ("", "-revealed", "-code")))


if __name__ == "__main__":
    main()

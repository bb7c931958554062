"""The share page in a real browser: Debian's chromium, headless, driven by Playwright.

Skipped only where chromium is not installed and CI is not set; `.ci/run` installs it, and on
CI a missing browser fails the run instead of skipping.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailkit import Relay, code_in
from mysafe_tui.core.sharecrypto import SharePayload, b64url
from serverkit import RunningServer, start_server

CHROMIUM = "/usr/bin/chromium"
VECTORS = json.loads((Path(__file__).parent / "share_vectors.json").read_text())
LOGIN = SharePayload(
    "password",
    "Github",
    [
        {"label": "Username", "value": "dleite", "secret": False},
        {"label": "Password", "value": "7yha&x<script>", "secret": True},
    ],
)

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


# Real terminals, sshd and browsers: the full suite (CI) runs them; `-m "not slow"` skips.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-quic",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


class Visit:
    """One page plus everything it did that the test wants to check afterwards."""

    def __init__(self, browser: Any, server: RunningServer, timezone: str | None = None) -> None:
        self.context = browser.new_context(timezone_id=timezone)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.server = server

    def _console(self, message: Any) -> None:
        # A 403/410 answer is logged by Chromium as a failed resource; anything else (a CSP
        # refusal, a script error) is a real problem.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(message.text)

    def open(self, url: str, state: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector(f"body[data-state='{state}']", timeout=30_000)
        return self.page

    def close(self) -> None:
        self.context.close()
        assert self.problems == []  # no CSP violation, no script error
        assert all(u.startswith(self.server.url) for u in self.requests)  # nothing external
        assert not any("#" in u for u in self.requests)  # the key never leaves the page


@pytest.fixture
def visit(browser: Any, server: RunningServer) -> Iterator[Any]:
    visits: list[Visit] = []

    def make(timezone: str | None = None) -> Visit:
        visits.append(Visit(browser, server, timezone))
        return visits[-1]

    yield make
    for opened in visits:
        opened.close()


def views_left(link: Any) -> int:
    status = httpx.get(f"{link.base_url}/api/public/share/{link.share_id}").json()["share"]
    return int(status.get("views_left", 0))


def test_reveal_once_then_the_link_is_used_up(
    server: RunningServer, alice: httpx.Client, visit: Any
) -> None:
    link = server.share(alice, LOGIN, views=1)
    page = visit().open(str(link), "ready")
    assert "Someone shared a password with you" in page.inner_text("#state-title")
    assert "1 remaining view" in page.inner_text("#message")
    assert page.is_visible("#reveal") and not page.is_visible("#password")
    page.reload()
    page.wait_for_selector("body[data-state='ready']")
    assert views_left(link) == 1  # opening (twice) spent nothing

    page.click("#reveal")
    page.wait_for_selector("body[data-state='revealed']", timeout=30_000)
    assert page.inner_text("#state-title") == "Github"
    assert page.locator(".field .value").all_inner_texts() == ["dleite", "7yha&x<script>"]
    assert "last view" in page.inner_text("#message")
    assert page.locator("button.copy").count() == 2

    second = visit().open(str(link), "used_up")
    assert "already been used" in second.inner_text("#state-title")


def test_password_share_asks_and_refuses_a_wrong_password(
    server: RunningServer, alice: httpx.Client, visit: Any
) -> None:
    link = server.share(alice, LOGIN, views=1, password="open sesame")
    # the reader's local time with its offset (India: +5:30 all year)
    page = visit("Asia/Kolkata").open(str(link), "ready")
    assert page.is_visible("#password")
    # the link's own password, not the shared one
    assert page.inner_text("#password-row").strip() == "Link password"
    assert re.search(r"expires .*\d{1,2}:\d{2}.* GMT\+5:30", page.inner_text("#message"))
    page.fill("#password", "wrong guess")
    page.click("#reveal")
    page.wait_for_selector("body[data-state='wrong-password']", timeout=60_000)
    assert page.inner_text("#password-error") == (
        "That link password is not right. 9 more wrong tries destroy the link."
    )
    assert views_left(link) == 1
    page.fill("#password", "open sesame")
    page.click("#reveal")
    page.wait_for_selector("body[data-state='revealed']", timeout=60_000)
    assert "7yha&x<script>" in page.locator(".field .value").all_inner_texts()


def test_revoked_expired_and_incomplete_links_say_so(
    server: RunningServer, alice: httpx.Client, visit: Any
) -> None:
    link = server.share(alice, LOGIN, views=3)
    alice.post(f"/api/mysafe-ext/share/revoke/{link.share_id}").raise_for_status()
    page = visit().open(str(link), "revoked")
    assert "revoked" in page.inner_text("#state-title")
    assert not page.is_visible("#reveal")
    incomplete = visit().open(str(link).split("#")[0], "incomplete")
    assert "incomplete" in incomplete.inner_text("#state-title")


def test_a_link_with_a_wrong_key_says_it_is_damaged_and_spends_nothing(
    server: RunningServer, alice: httpx.Client, visit: Any
) -> None:
    """A key of the right length that is not the link's (a copy cut and retyped): the page
    says the link is damaged; the server took it for a stranger's guess, not a password."""
    link = server.share(alice, LOGIN, views=1, password="open sesame")
    wrong = str(link).split("#")[0] + "#" + b64url(os.urandom(32))
    page = visit().open(wrong, "ready")
    page.fill("#password", "open sesame")
    page.click("#reveal")
    page.wait_for_selector("body[data-state='broken']", timeout=60_000)
    assert page.inner_text("#state-title") == "This link is damaged"
    assert views_left(link) == 1
    right = visit().open(str(link), "ready")  # the real recipient, same address: no wait
    right.fill("#password", "open sesame")
    right.click("#reveal")
    right.wait_for_selector("body[data-state='revealed']", timeout=60_000)


def test_file_share_offers_a_download(
    server: RunningServer, alice: httpx.Client, visit: Any
) -> None:
    content = b"%PDF-1.7 pretend\n" * 100
    link = server.share(
        alice, SharePayload("file", "Scan", [], "scan.pdf", "application/pdf", content)
    )
    page = visit().open(str(link), "ready")
    page.click("#reveal")
    page.wait_for_selector("body[data-state='revealed']", timeout=30_000)
    assert "scan.pdf" in page.inner_text("#content")
    with page.expect_download() as download:
        page.click("#download button")
    saved = download.value.path()
    assert download.value.suggested_filename == "scan.pdf"
    assert Path(saved).read_bytes() == content


def test_page_headers_are_strict(server: RunningServer) -> None:
    answer = httpx.get(f"{server.url}/s/AAAAAAAAAAAAAAAAAAAAAA")
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert '<script src="/static/share.js"' in answer.text and "http" not in answer.text.lower()


@pytest.mark.parametrize("vector", VECTORS, ids=["no-password", "password"])
def test_browser_crypto_matches_the_python_vectors(
    server: RunningServer, visit: Any, vector: dict
) -> None:
    page = visit().open(f"{server.url}/s/{vector['share_id']}", "incomplete")
    result = page.evaluate(
        """async (v) => {
            const s = window.mysafeShare;
            const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
            const fromHex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
            const keys = await s.deriveKeys(v.share_id, s.b64urlToBytes(v.key), v.password,
                                            v.kdf_salt);
            const plain = await s.openSealed(fromHex(v.sealed), v.share_id, keys.encryptionKey);
            return {enc: hex(keys.encryptionKey), proof: hex(keys.proof),
                    holder: hex(keys.holder), plain: hex(plain),
                    title: s.decodePayload(plain).header.title};
        }""",
        vector,
    )
    assert result == {
        "enc": vector["encryption_key"],
        "proof": vector["proof"],
        "holder": vector["holder"],
        "plain": vector["payload"],
        "title": "Vector",
    }


@pytest.fixture(scope="module")
def mailing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Relay]]:
    """A server that mails through a real relay (recipient-verified links)."""
    with Relay(tmp_path_factory.mktemp("relay")) as relay:
        args = ["--rate-limit", "100000", "--smtp", relay.url]
        running = start_server(tmp_path_factory.mktemp("mailing"), args=args, env=relay.env)
        try:
            yield running, relay
        finally:
            running.stop()


def test_a_link_for_a_recipient_opens_with_the_mailed_code(
    browser: Any, mailing: tuple[RunningServer, Relay]
) -> None:
    server, relay = mailing
    with server.client("alice") as alice:
        link = server.share(alice, LOGIN, views=1, recipient="bob@example.test")
    relay.next_mail()  # the notice
    visit = Visit(browser, server)
    try:
        page = visit.open(str(link), "ready")
        assert "opens with a code sent to b…@example.test" in page.inner_text("#code-note")
        assert not page.is_visible("#reveal") and not page.is_visible("#code")
        page.click("#send-code")
        page.wait_for_selector("body[data-state='code-sent']", timeout=30_000)
        code = code_in(relay.next_mail())
        assert "sent to b…@example.test" in page.inner_text("#code-note")

        page.fill("#code", "00000000" if code != "00000000" else "11111111")
        page.click("#reveal")
        page.wait_for_selector("body[data-state='wrong-code']", timeout=30_000)
        assert page.inner_text("#code-error") == (
            "That code is not right: nothing was revealed. 4 more wrong codes destroy the link."
        )
        assert views_left(link) == 1  # a wrong code spends no view

        page.fill("#code", f"{code[:4]} {code[4:]}")  # as the mail writes it
        page.click("#reveal")
        page.wait_for_selector("body[data-state='revealed']", timeout=30_000)
        assert "7yha&x<script>" in page.locator(".field .value").all_inner_texts()
    finally:
        visit.close()

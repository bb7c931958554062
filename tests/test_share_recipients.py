"""Recipient-verified links on the real server, mailing through a real SMTP relay (aiosmtpd,
STARTTLS under a private CA): the notice, codes, wrong codes, expiry, resend, and that the
server never mails (or holds) the link's key."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import BACKENDS, database_for, until
from mailkit import Relay, code_in, text_of
from mysafe_tui.core.crypto import sha256
from mysafe_tui.core.sharecrypto import SharePayload, b64url, derive
from mysafe_tui.server.app import ServerConfig, open_store
from mysafe_tui.server.errors import ShareRefused
from serverkit import RunningServer, start_server

NOTE = SharePayload("note", "Door code", [{"label": "Note", "value": "4711#", "secret": True}])
BOB = "bob@example.test"
PUBLIC = "https://vault.example.test"  # the address the admin says people reach it at


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with Relay(tmp_path_factory.mktemp("relay")) as running:
        yield running


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, relay: Relay
) -> Iterator[RunningServer]:
    args = ["--rate-limit", "100000", "--smtp", relay.url, "--mail-from", "vault@example.test",
            "--public-url", PUBLIC]  # fmt: skip
    running = start_server(tmp_path_factory.mktemp("server"), args=args, env=relay.env,
                           database=database_for(request, request.param))  # fmt: skip
    yield running
    running.stop()


@pytest.fixture(scope="module")
def alice(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client("alice") as client:
        yield client


def public(link: object, what: str, body: dict[str, str] | None = None) -> httpx.Response:
    base = f"{link.base_url}/api/public/share/{link.share_id}"  # type: ignore[attr-defined]
    if body is None:
        return httpx.get(base)
    return httpx.post(f"{base}/{what}", json=body)


def holder(link: object) -> dict[str, str]:
    keys = derive(link.share_id, link.key, None, None)  # type: ignore[attr-defined]
    return {"holder": keys.reveal_body()["holder"]}


def reveal(link: object, code: str) -> httpx.Response:
    keys = derive(link.share_id, link.key, None, None)  # type: ignore[attr-defined]
    return public(link, "reveal", {**keys.reveal_body(), "code": code})


def test_the_recipient_is_told_then_opens_with_the_mailed_code(
    server: RunningServer, alice: httpx.Client, relay: Relay
) -> None:
    link = server.share(alice, NOTE, views=2, recipient=BOB)
    notice = relay.next_mail()
    assert notice["To"] == BOB and notice["From"] == "MySafe <vault@example.test>"
    assert notice["X-Tls"] == "yes"  # STARTTLS, with the relay's certificate checked
    text = text_of(notice)
    assert "alice shared a secure note with you" in text
    assert f"{PUBLIC}/s/{link.share_id[:6]}" in text  # not the Host a request names
    # The server mails what it may know: never the key, never the whole share id.
    key = b64url(link.key)
    raw = notice.as_string()
    assert key not in raw and link.share_id not in raw and "4711" not in raw

    status = public(link, "").json()["share"]
    assert status["code_required"] is True and status["recipient_hint"] == "b…@example.test"
    assert status["code_pending"] is False and "recipient" not in status

    assert reveal(link, "").json()["share"]["refused"] == "code_needed"  # nothing spent
    answer = public(link, "code", holder(link))
    assert answer.status_code == 200, answer.text
    assert answer.json()["share"]["recipient_hint"] == "b…@example.test"
    code = code_in(relay.next_mail())
    assert public(link, "").json()["share"]["code_pending"] is True

    wrong = "00000000" if code != "00000000" else "11111111"
    refused = reveal(link, wrong)
    assert refused.status_code == 403
    assert refused.json()["share"] == {"status": "active", "refused": "code", "attempts_left": 4}
    assert public(link, "").json()["share"]["views_left"] == 2  # a wrong code spends nothing

    opened = reveal(link, f"{code[:4]} {code[4:]}")  # as the mail writes it
    assert opened.status_code == 200 and opened.json()["share"]["views_left"] == 1
    assert base64.b64decode(opened.json()["share"]["ciphertext"])
    # One code, one view: the second view wants a new one.
    assert reveal(link, code).json()["share"]["refused"] == "code_needed"

    listed = [s for s in alice.get("/api/mysafe-ext/share").json()["shares"]
              if s["share_id_prefix"] == link.share_id[:6]]  # fmt: skip
    assert listed[0]["recipient"] == BOB and listed[0]["mail_status"] == "code sent"
    assert listed[0]["code_failures"] == 1
    assert key not in server.log()


def test_five_wrong_codes_destroy_the_link(
    server: RunningServer, alice: httpx.Client, relay: Relay
) -> None:
    link = server.share(alice, NOTE, views=3, recipient=BOB)
    relay.next_mail()
    assert public(link, "code", holder(link)).status_code == 200
    code = code_in(relay.next_mail())
    wrong = "12345678" if code != "12345678" else "87654321"
    for left in (4, 3, 2, 1):
        assert reveal(link, wrong).json()["share"]["attempts_left"] == left
    last = reveal(link, wrong)
    assert last.status_code == 403 and last.json()["share"]["status"] == "revoked"
    assert "the link is destroyed" in last.json()["response"]["message"]
    assert reveal(link, code).status_code == 410  # even the right code comes too late
    assert server.stored_share(sha256(link.share_id.encode())) is None  # content deleted


def test_only_a_key_holder_gets_codes_and_not_too_often(
    server: RunningServer, alice: httpx.Client, relay: Relay
) -> None:
    link = server.share(alice, NOTE, recipient=BOB)
    relay.next_mail()
    stranger = public(link, "code", {"holder": b64url(b"x" * 32)})
    assert stranger.status_code == 403 and stranger.json()["share"]["refused"] == "link"
    again = public(link, "code", {"holder": b64url(b"y" * 32)})
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1  # slowed down
    assert relay.pending() == 0  # nobody without the key makes the server mail
    assert public(link, "code", holder(link)).status_code == 200  # the key holder: no wait
    code_in(relay.next_mail())
    soon = public(link, "code", holder(link))
    assert soon.status_code == 429 and soon.json()["share"]["refused"] == "code_soon"
    assert relay.pending() == 0

    plain = server.share(alice, NOTE)  # no recipient: as before, no code, no mail
    assert public(plain, "").json()["share"]["code_required"] is False
    assert public(plain, "code", holder(plain)).status_code == 400
    assert reveal(plain, "").status_code == 200


def test_resend_and_refusals_for_the_owner(
    server: RunningServer, alice: httpx.Client, relay: Relay
) -> None:
    link = server.share(alice, NOTE, recipient=BOB)
    relay.next_mail()
    resent = alice.post(  # a Host of the sender's choosing does not reach the mail
        f"/api/mysafe-ext/share/resend/{link.share_id}", headers={"Host": "evil.example"}
    )
    assert resent.status_code == 200, resent.text
    again = text_of(relay.next_mail())
    assert "alice shared a secure note" in again
    assert PUBLIC in again and "evil.example" not in again

    plain = server.share(alice, NOTE)
    answer = alice.post(f"/api/mysafe-ext/share/resend/{plain.share_id}")
    assert answer.status_code == 400 and "no recipient" in answer.text
    with server.client("bob") as bob:  # someone else's link is not found
        theirs = bob.post(f"/api/mysafe-ext/share/resend/{link.share_id}")
        assert "Share not found" in theirs.text and relay.pending() == 0

    for bad in ("bob@example.test\r\nBcc: eve@evil.test", "bob", "a b@example.test", "<x@y.z>"):
        body = {"recipient": bad}
        made = alice.post(
            "/api/mysafe-ext/share", json={**body, "share_id": "x" * 22, "kind": "note"}
        )
        assert made.status_code == 400 and "e-mail address" in made.text, bad
    assert relay.pending() == 0

    relay.refuse = True
    try:
        failed = server.share(alice, NOTE, recipient=BOB)
        rows = alice.get("/api/mysafe-ext/share").json()["shares"]
        row = next(r for r in rows if r["share_id_prefix"] == failed.share_id[:6])
        assert row["mail_status"].startswith("failed: ") and "550" in row["mail_status"]
        again = alice.post(f"/api/mysafe-ext/share/resend/{failed.share_id}")
        assert again.status_code == 502 and "was not sent" in again.text
    finally:
        relay.refuse = False


def test_a_server_without_a_relay_refuses_recipients(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    try:
        with running.client("alice") as alice:
            caps = alice.get("/api/mysafe-ext/capabilities").json()["capabilities"]
            assert "recipients" not in caps
            body = {"share_id": "y" * 22, "kind": "note", "recipient": BOB}
            answer = alice.post("/api/mysafe-ext/share", json=body)
            assert answer.status_code == 400 and "--smtp" in answer.text
    finally:
        running.stop()


def test_codes_expire_after_ten_minutes(tmp_path: Path) -> None:
    """On the store with a clock of the test's own: a code is good for 600 s, no longer; a new
    one is mailed at most every 30 s; ten in all until the owner resends."""
    now = [1_000_000.0]
    store = open_store(ServerConfig(tmp_path / "data", clock=lambda: now[0]))
    try:
        owner = store.add_user("alice")
        share_id = "z" * 22
        keys = derive(share_id, b"k" * 32, None, None)
        store.create_share(owner, share_id, {
            "kind": "note", "label": "", "ciphertext": io.BytesIO(b"sealed"),
            "password_protected": False, "kdf_salt": "",
            "proof_hash": sha256(keys.proof), "holder_hash": sha256(keys.holder),
            "expires_at": now[0] + 86400, "max_views": 5, "recipient": BOB,
        })  # fmt: skip
        proof, held = keys.proof, keys.holder
        address, code = store.new_code(share_id, held, "127.0.0.1")
        assert address == BOB and len(code) == 8 and code.isdigit()
        with pytest.raises(ShareRefused) as soon:
            store.new_code(share_id, held, "127.0.0.1")
        assert soon.value.reason == "code_soon" and 0 < soon.value.retry_after <= 30
        now[0] += 600
        with pytest.raises(ShareRefused) as late:
            store.reveal_share(share_id, proof, held, "127.0.0.1", code)
        assert late.value.reason == "code_needed"  # expired: asks for a new one, counts nothing
        for _ in range(9):
            _, code = store.new_code(share_id, held, "127.0.0.1")
            now[0] += 30
        with pytest.raises(ShareRefused) as spent:
            store.new_code(share_id, held, "127.0.0.1")
        assert spent.value.reason == "codes"
        store.recipient_share(owner, share_id)  # the owner's resend: codes again
        _, code = store.new_code(share_id, held, "127.0.0.1")
        content, info = store.reveal_share(share_id, proof, held, "127.0.0.1", code)
        content.close()
        assert info["views_left"] == 4
    finally:
        store.close()


def test_the_cli_sends_to_a_recipient_who_opens_with_the_code(
    server: RunningServer, relay: Relay, tmp_path: Path
) -> None:
    """`mysafe share --to`, `shares` (recipient, mail), `shares --resend`, and `mysafe open`
    asking for the code the server mailed when it asked for one."""
    client_id, secret = server.new_user("cli-sender")
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery staple\n")
    env = {
        **os.environ,
        "MYSAFE_HOME": str(tmp_path / "home"),
        "MYSAFE_PASSPHRASE_FILE": str(passfile),
        "SENHASEGURA_CLIENT_ID": client_id,
        "SENHASEGURA_CLIENT_SECRET": secret,
    }

    def mysafe(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mysafe_tui", *args], env=env,
                              capture_output=True, text=True, input=stdin)  # fmt: skip

    assert mysafe("init", "--kdf-profile", "low-memory").returncode == 0
    assert mysafe("share-server", server.url).returncode == 0
    assert mysafe("add", "note", "--name", "Door", stdin="4711#\n").returncode == 0
    made = mysafe("share", "Door", "--to", "Bob@Example.TEST", "--views", "2")
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip()
    assert "Send this link to Bob@example.test yourself" in made.stderr
    notice = relay.next_mail()
    assert notice["To"] == "Bob@example.test" and "cli-sender shared" in text_of(notice)

    listed = mysafe("shares")
    assert "to Bob@example.test (notified)" in listed.stdout, listed.stdout
    resent = mysafe("shares", "--resend", link)
    assert resent.returncode == 0 and "Mailed Bob@example.test again" in resent.stderr
    relay.next_mail()

    opening = subprocess.Popen([sys.executable, "-m", "mysafe_tui", "open", link], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    code = code_in(relay.next_mail())  # mailed because `open` asked: it now waits for it
    out, err = opening.communicate(f"{code}\n", timeout=60)
    assert opening.returncode == 0, err
    assert "A code was mailed to B…@example.test" in err and "4711#" in out

    wrong = subprocess.Popen([sys.executable, "-m", "mysafe_tui", "open", link], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    code = code_in(relay.next_mail())
    bad = "00000000" if code != "00000000" else "11111111"
    out, err = wrong.communicate(f"{bad}\n", timeout=60)
    assert wrong.returncode == 1 and "4711" not in out
    assert "wrong code: nothing was revealed and no view was used (4 more" in err
    assert "Traceback" not in err

    bare = mysafe("share", "Door", "--to", "not an address")
    assert bare.returncode == 1 and "is not an e-mail address" in bare.stderr


async def test_the_ui_makes_a_link_for_a_recipient_and_mails_them_again(
    server: RunningServer, relay: Relay, tmp_path: Path
) -> None:
    from textual.widgets import DataTable, Input, Static

    from mysafe_tui.tui.app import MySafeApp
    from mysafe_tui.tui.modals.share import ShareDialog
    from mysafe_tui.tui.screens.shares import SharesScreen
    from test_shares import _door_note_vault, _share_dialog_on_the_note

    app = MySafeApp(await _door_note_vault(server, tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await _share_dialog_on_the_note(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ShareDialog)
        dialog.query_one("#recipient", Input).value = "bob"
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: "not an e-mail address" in str(dialog.query_one("#error").render())
        )
        assert dialog.share_hash is None and relay.pending() == 0
        dialog.query_one("#recipient", Input).value = BOB
        await pilot.press("ctrl+s")
        await until(pilot, lambda: dialog.share_hash is not None)
        statement = str(dialog.query_one("#statement", Static).render())
        assert f"Only {BOB} opens it: send them the link yourself" in statement
        assert relay.next_mail()["To"] == BOB
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ShareDialog))

        await pilot.press("O")
        await until(pilot, lambda: isinstance(app.screen, SharesScreen))
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert table.get_row_at(0)[3].plain == BOB
        await pilot.press("m")
        await until(pilot, lambda: relay.pending() > 0)
        assert "shared a secure note" in text_of(relay.next_mail())  # mailed again

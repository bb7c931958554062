"""Share links on the real server: policy, atomic views, revoke, expiry, purge, hygiene."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from pathlib import Path

import httpx
import pytest

from mysafe_tui.core.crypto import sha256
from mysafe_tui.core.sharecrypto import (
    ShareLink,
    SharePayload,
    b64url,
    derive,
    new_share_id,
    open_sealed,
)
from serverkit import RunningServer, start_server

NOTE = SharePayload("note", "Door code", [{"label": "Note", "value": "4711#", "secret": True}])


def status_of(link: ShareLink) -> httpx.Response:
    return httpx.get(f"{link.base_url}/api/public/share/{link.share_id}")


def reveal(link: ShareLink, password: str | None = None, salt: str = "") -> httpx.Response:
    keys = derive(
        link.share_id, link.key, password, base64.urlsafe_b64decode(salt + "==") if salt else None
    )
    return httpx.post(
        f"{link.base_url}/api/public/share/{link.share_id}/reveal",
        json={"proof": b64url(keys.proof)},
    )


def stored_ciphertext(server: RunningServer, link: ShareLink) -> bytes | None:
    return server.stored_share(sha256(link.share_id.encode()))


def test_one_view_share_reveals_once_then_is_gone(
    server: RunningServer, alice: httpx.Client
) -> None:
    link = server.share(alice, NOTE, views=1)
    status = status_of(link).json()["share"]
    assert status["status"] == "active" and status["views_left"] == 1 and status["kind"] == "note"
    assert "ciphertext" not in status and status["password_protected"] is False
    assert status_of(link).json()["share"]["views_left"] == 1  # looking costs nothing

    answer = reveal(link)
    assert answer.status_code == 200 and answer.json()["share"]["views_left"] == 0
    keys = derive(link.share_id, link.key, None, None)
    blob = base64.b64decode(answer.json()["share"]["ciphertext"])
    assert SharePayload.decode(open_sealed(blob, link.share_id, keys)).fields[0]["value"] == "4711#"
    assert stored_ciphertext(server, link) is None  # hard-deleted with the last view

    again = reveal(link)
    assert again.status_code == 410 and again.json()["share"]["status"] == "used_up"
    assert "already been used" in again.json()["response"]["message"]
    assert status_of(link).json()["share"]["status"] == "used_up"


def test_a_wrong_proof_spends_no_view(server: RunningServer, alice: httpx.Client) -> None:
    link = server.share(alice, NOTE, views=1)
    forged = httpx.post(
        f"{link.base_url}/api/public/share/{link.share_id}/reveal",
        json={"proof": b64url(os.urandom(32))},
    )
    assert forged.status_code == 403
    assert status_of(link).json()["share"]["views_left"] == 1
    assert reveal(link).status_code == 200


def test_password_share_refuses_wrong_password_then_burns_after_ten(
    server: RunningServer, alice: httpx.Client
) -> None:
    link = server.share(alice, NOTE, views=2, password="s3same")
    status = status_of(link).json()["share"]
    assert status["password_protected"] is True and status["kdf_salt"]
    assert reveal(link, "wrong", status["kdf_salt"]).status_code == 403
    assert status_of(link).json()["share"]["views_left"] == 2
    right = reveal(link, "s3same", status["kdf_salt"])
    assert right.status_code == 200 and right.json()["share"]["views_left"] == 1
    forged = {"proof": b64url(os.urandom(32))}
    url = f"{link.base_url}/api/public/share/{link.share_id}/reveal"
    codes = [httpx.post(url, json=forged).status_code for _ in range(9)]
    assert codes == [403] * 9  # ten wrong in all, counting the mistyped password
    assert status_of(link).json()["share"]["status"] == "revoked"
    assert stored_ciphertext(server, link) is None


def test_fifty_parallel_reveals_of_three_views_succeed_exactly_three_times(
    server: RunningServer, alice: httpx.Client
) -> None:
    link = server.share(alice, NOTE, views=3)
    keys = derive(link.share_id, link.key, None, None)

    async def race() -> list[int]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"/api/public/share/{link.share_id}/reveal",
                        json={"proof": b64url(keys.proof)},
                    )
                    for _ in range(50)
                )
            )
        return [a.status_code for a in answers]

    codes = asyncio.run(race())
    assert codes.count(200) == 3 and codes.count(410) == 47
    assert stored_ciphertext(server, link) is None
    with server.db() as db:
        row = db.execute(
            "SELECT views_used FROM shares WHERE id_hash = ?", (sha256(link.share_id.encode()),)
        ).fetchone()
    assert row["views_used"] == 3


def test_owner_lists_and_revokes(server: RunningServer, alice: httpx.Client) -> None:
    link = server.share(alice, NOTE, views=5, label="for the plumber")
    reveal(link)
    listed = alice.get("/api/mysafe-ext/share").json()["shares"]
    mine = next(s for s in listed if s["share_hash"] == sha256(link.share_id.encode()).hex())
    assert mine["label"] == "for the plumber" and mine["status"] == "active"
    assert (mine["views_used"], mine["views_left"], mine["max_views"]) == (1, 4, 5)
    assert mine["last_access_at"] and mine["expires_at"].endswith("Z")
    assert link.share_id not in str(listed)  # ids are stored hashed

    with server.client("bob") as bob:
        stranger = bob.post(f"/api/mysafe-ext/share/revoke/{link.share_id}")
        assert stranger.status_code == 400 and stranger.json()["exception"]["code"] == 1005
        assert bob.get("/api/mysafe-ext/share").json()["shares"] == []
    revoked = alice.post(f"/api/mysafe-ext/share/revoke/{link.share_id}")
    assert revoked.status_code == 200 and revoked.json()["share"]["status"] == "revoked"
    assert stored_ciphertext(server, link) is None
    gone = reveal(link)
    assert gone.status_code == 410 and gone.json()["share"]["status"] == "revoked"


def test_expiry_deletes_the_ciphertext_on_access(
    server: RunningServer, alice: httpx.Client
) -> None:
    link = server.share(alice, NOTE, views=1)
    server.execute(
        "UPDATE shares SET expires_at = ? WHERE id_hash = ?",
        (time.time() - 1, sha256(link.share_id.encode())),
    )
    assert status_of(link).json()["share"]["status"] == "expired"
    assert stored_ciphertext(server, link) is None
    assert reveal(link).status_code == 410


def test_unknown_share_is_404(server: RunningServer) -> None:
    link = ShareLink(server.url, new_share_id(), os.urandom(32))
    assert status_of(link).status_code == 404
    assert reveal(link).status_code == 404
    assert httpx.get(f"{server.url}/api/public/share/bad!id").status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_views": 0}, "max_views"),
        ({"max_views": 101}, "max_views"),
        ({"expires_in": 31 * 24 * 3600}, "30 days"),
        ({"expires_in": -5}, "past"),
        ({"share_id": "short"}, "share_id"),
        ({"kind": "car"}, "kind"),
        ({"access_proof_hash": ""}, "access_proof_hash"),
        ({"password_protected": True, "kdf_salt": ""}, "kdf_salt"),
    ],
)
def test_share_policy_limits(alice: httpx.Client, change: dict, message: str) -> None:
    body = {
        "share_id": new_share_id(),
        "kind": "note",
        "max_views": 1,
        "expires_in": 60,
        "ciphertext": b64url(os.urandom(64)),
        "access_proof_hash": b64url(os.urandom(32)),
        **change,
    }
    answer = alice.post("/api/mysafe-ext/share", json=body)
    assert answer.status_code == 400 and message in answer.json()["response"]["message"]


def test_text_share_over_one_mib_is_refused(alice: httpx.Client) -> None:
    body = {
        "share_id": new_share_id(),
        "kind": "note",
        "max_views": 1,
        "expires_in": 60,
        "ciphertext": b64url(os.urandom(1024 * 1024 + 1)),
        "access_proof_hash": b64url(os.urandom(32)),
    }
    assert alice.post("/api/mysafe-ext/share", json=body).status_code == 413


def test_file_share_round_trip(server: RunningServer, alice: httpx.Client) -> None:
    content = os.urandom(3 * 1024 * 1024)
    link = server.share(
        alice, SharePayload("file", "backup", [], "backup.tar", "application/x-tar", content)
    )
    answer = reveal(link)
    keys = derive(link.share_id, link.key, None, None)
    blob = base64.b64decode(answer.json()["share"]["ciphertext"])
    assert SharePayload.decode(open_sealed(blob, link.share_id, keys)).content == content


def test_periodic_purge_deletes_expired_ciphertext_without_any_access(tmp_path: Path) -> None:
    running = start_server(tmp_path, users=("ivy",), args=("--purge-interval", "0.2"))
    try:
        with running.client("ivy") as ivy:
            link = running.share(ivy, NOTE)
        running.execute("UPDATE shares SET expires_at = ?", (time.time() - 1,))
        deadline = time.monotonic() + 10
        while stored_ciphertext(running, link) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stored_ciphertext(running, link) is None
    finally:
        running.stop()


def test_zz_log_holds_no_share_key_id_or_secret(server: RunningServer) -> None:
    log = server.log()
    assert '"path": "/api/public/share/' in log
    assert [s for s in server.secrets_used if s in log] == []
    assert "4711#" not in log and "s3same" not in log


@pytest.mark.slow
def test_a_100_mib_file_share_keeps_the_server_memory_flat(tmp_path: Path) -> None:
    """Uploaded as a raw body into a spool file, copied into the row in chunks, revealed as
    base64 streamed from a spool file: the server never holds the share whole."""
    running = start_server(tmp_path, users=("mo",), args=("--max-file-mib", "120"))
    try:

        def peak_kib() -> int:
            status = Path(f"/proc/{running.process.pid}/status").read_text()
            return int(next(line for line in status.splitlines() if line.startswith("VmHWM"))
                       .split()[1])  # fmt: skip

        with running.client("mo") as mo:
            mo.get("/api/mysafe/note")  # warm: every route and module loaded
            before = peak_kib()
            content = os.urandom(100 * 1024 * 1024)
            link = running.share(mo, SharePayload("file", "big", [], "big.bin", None, content))
        del content
        with httpx.stream("POST", f"{running.url}/api/public/share/{link.share_id}/reveal",
                          json={"proof": b64url(derive(link.share_id, link.key, None,
                                                       None).proof)},
                          timeout=120) as answer:  # fmt: skip
            assert answer.status_code == 200
            received = sum(len(chunk) for chunk in answer.iter_bytes())
        assert received > 133 * 1024 * 1024  # the base64 of it all
        grown = (peak_kib() - before) / 1024
        assert grown < 64, f"the server grew by {grown:.0f} MiB for a 100 MiB share"
    finally:
        running.stop()


def test_a_links_opens_and_reveals_are_in_its_owners_history(
    server: RunningServer, alice: httpx.Client
) -> None:
    link = server.share(alice, NOTE, views=2)
    assert status_of(link).status_code == 200
    assert reveal(link).status_code == 200
    history = alice.get(f"/api/mysafe-ext/share/{link.share_id}/history").json()["history"]
    assert [event["event"] for event in history] == ["revealed", "opened"]
    assert all(event["address"] == "127.0.0.1" and event["user"] is None for event in history)
    assert link.key.hex() not in str(history) and link.share_id not in str(history)
    other = server.client("bob").get(f"/api/mysafe-ext/share/{link.share_id}/history")
    assert other.status_code == 404  # only the owner's

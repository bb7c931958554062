"""Share links on the real server: policy, atomic views, revoke, expiry, purge, hygiene."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from pathlib import Path

import httpx
import pytest

from conftest import BACKENDS, database_for
from mysafe_tui.core.crypto import sha256
from mysafe_tui.core.sharecrypto import (
    ShareLink,
    SharePayload,
    b64url,
    derive,
    new_share_id,
    open_sealed,
    seal,
)
from mysafe_tui.server import database as server_database
from mysafe_tui.server.app import ServerConfig, open_store
from serverkit import RunningServer, start_server

NOTE = SharePayload("note", "Door code", [{"label": "Note", "value": "4711#", "secret": True}])


def status_of(link: ShareLink) -> httpx.Response:
    return httpx.get(f"{link.base_url}/api/public/share/{link.share_id}")


def reveal(link: ShareLink, password: str | None = None, salt: str = "") -> httpx.Response:
    keys = derive(
        link.share_id, link.key, password, base64.urlsafe_b64decode(salt + "==") if salt else None
    )
    return post_reveal(link, keys.reveal_body())


def post_reveal(link: ShareLink, body: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{link.base_url}/api/public/share/{link.share_id}/reveal", json=body)


def forged() -> dict[str, str]:
    """What a stranger who knows only the share id can send: guesses."""
    return {"proof": b64url(os.urandom(32)), "holder": b64url(os.urandom(32))}


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
    answer = post_reveal(link, forged())
    assert answer.status_code == 403 and answer.json()["share"]["refused"] == "link"
    assert status_of(link).json()["share"]["views_left"] == 1
    assert reveal(link).status_code == 200  # the recipient, from the same address: no wait


def test_password_share_refuses_wrong_password_then_burns_after_ten(
    server: RunningServer, alice: httpx.Client
) -> None:
    link = server.share(alice, NOTE, views=2, password="s3same")
    status = status_of(link).json()["share"]
    assert status["password_protected"] is True and status["kdf_salt"]
    mistyped = reveal(link, "wrong", status["kdf_salt"])
    assert mistyped.status_code == 403
    assert mistyped.json()["share"] == {"status": "active", "refused": "password",
                                        "attempts_left": 9}  # fmt: skip
    assert status_of(link).json()["share"]["views_left"] == 2
    right = reveal(link, "s3same", status["kdf_salt"])
    assert right.status_code == 200 and right.json()["share"]["views_left"] == 1
    # More wrong passwords from someone holding the key (the holder proof is right): the
    # PBKDF2 step is skipped here, the server sees what a mistyped password gives.
    holder = b64url(derive(link.share_id, link.key, None, None).holder)
    answers = [post_reveal(link, {**forged(), "holder": holder}) for _ in range(9)]
    assert [a.status_code for a in answers] == [403] * 9  # ten wrong in all
    assert [a.json()["share"]["attempts_left"] for a in answers] == list(range(8, -1, -1))
    assert "destroyed" in answers[-1].json()["response"]["message"]
    assert status_of(link).json()["share"]["status"] == "revoked"
    assert stored_ciphertext(server, link) is None


def test_a_stranger_never_destroys_a_link_and_waits_longer_each_time(
    server: RunningServer, alice: httpx.Client
) -> None:
    """Someone with the share id but not the key (a log line, a mail scanner, a shoulder):
    30 guesses while a wait runs, then four misses each after the last wait ran out. The waits
    are read from the database against the clock around each request (never slept on)."""
    link = server.share(alice, NOTE, views=1, password="s3same")
    id_hash = sha256(link.share_id.encode())

    def miss() -> tuple[float, float, float, int]:
        before = time.time()
        answer = post_reveal(link, forged())
        after = time.time()
        assert answer.status_code == 403 and answer.json()["share"]["refused"] == "link"
        with server.db() as db:
            row = db.execute("SELECT failures, blocked_until FROM share_strangers "
                             "WHERE id_hash = ?", (id_hash,)).fetchone()  # fmt: skip
        return before, row["blocked_until"], after, row["failures"]

    waits = []
    for _ in range(4):
        before, until, after, failures = miss()
        waits.append(failures)
        wait = 2.0 ** (failures - 1)
        assert before + wait <= until <= after + wait
        server.execute("UPDATE share_strangers SET blocked_until = ? WHERE id_hash = ?",
                       (time.time() - 1, id_hash))  # fmt: skip
    assert waits == [1, 2, 3, 4]  # waits of 1, 2, 4, 8 s

    server.execute("UPDATE share_strangers SET blocked_until = ? WHERE id_hash = ?",
                   (time.time() + 600, id_hash))  # fmt: skip
    answers = [post_reveal(link, forged()) for _ in range(30)]
    assert {a.status_code for a in answers} == {429}  # waiting: not even looked at
    assert 500 < int(answers[0].headers["Retry-After"]) <= 600
    with server.db() as db:
        row = db.execute("SELECT failed_attempts, revoked, failures FROM shares JOIN "
                         "share_strangers USING (id_hash) WHERE id_hash = ?",
                         (id_hash,)).fetchone()  # fmt: skip
    assert (row["failed_attempts"], row["revoked"], row["failures"]) == (0, 0, 4)
    assert status_of(link).json()["share"]["views_left"] == 1
    salt = status_of(link).json()["share"]["kdf_salt"]
    assert reveal(link, "s3same", salt).status_code == 200  # the recipient, same address


def test_a_link_made_before_the_holder_proof_counts_and_slows_every_miss(
    server: RunningServer, alice: httpx.Client
) -> None:
    """Without the holder proof's hash the server cannot tell a stranger from a recipient:
    a miss counts toward the ten, and its source waits."""
    link = server.share(alice, NOTE, views=1)
    id_hash = sha256(link.share_id.encode())
    server.execute("UPDATE shares SET holder_hash = NULL WHERE id_hash = ?", (id_hash,))
    first = post_reveal(link, forged())
    assert first.status_code == 403 and first.json()["share"]["attempts_left"] == 9
    server.execute("UPDATE share_strangers SET blocked_until = ? WHERE id_hash = ?",
                   (time.time() + 600, id_hash))  # fmt: skip
    assert post_reveal(link, forged()).status_code == 429
    assert reveal(link).status_code == 429  # no holder hash to let the recipient through
    server.execute("UPDATE share_strangers SET blocked_until = 0 WHERE id_hash = ?", (id_hash,))
    assert post_reveal(link, {"proof": reveal_proof(link)}).status_code == 200  # an old client


def reveal_proof(link: ShareLink) -> str:
    return b64url(derive(link.share_id, link.key, None, None).proof)


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
                        json=keys.reveal_body(),
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
        ({"holder_proof_hash": b64url(b"short")}, "holder_proof_hash"),
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


def test_the_log_holds_no_share_key_id_or_secret(
    server: RunningServer, alice: httpx.Client
) -> None:
    """Its own link, looked at, mistyped and opened: the log has the routes, never the key,
    the id, the password or what the link holds (whichever tests ran before it here)."""
    link = server.share(alice, NOTE, views=1, password="s3same")
    salt = status_of(link).json()["share"]["kdf_salt"]
    assert reveal(link, "wrong", salt).status_code == 403
    assert reveal(link, "s3same", salt).status_code == 200
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
                          json=derive(link.share_id, link.key, None, None).reveal_body(),
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


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_link_from_before_the_holder_proof_survives_the_upgrade(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at schema 2 (no holder hashes) holding a link: the server moves it to
    the newest schema at start, and the link still opens with the proof its client sends."""
    database = database_for(request, backend)
    config = ServerConfig(tmp_path / "server-data", database=database)
    with monkeypatch.context() as old_version:
        old_version.setattr(server_database, "SCHEMA_VERSION", 2)
        store = open_store(config)
    link = ShareLink("", new_share_id(), os.urandom(32))
    keys = derive(link.share_id, link.key, None, None)
    with store._write() as db:
        db.execute(
            "INSERT INTO shares (id_hash, id_prefix, owner_id, kind, ciphertext, "
            "password_protected, proof_hash, created_at, expires_at, max_views) "
            "VALUES (?, ?, 1, 'note', ?, 0, ?, ?, ?, 1)",
            (sha256(link.share_id.encode()), link.share_id[:6],
             seal(NOTE.encode(), link.share_id, keys), sha256(keys.proof), time.time(),
             time.time() + 3600),
        )  # fmt: skip
    store.close()
    running = start_server(tmp_path, database=database)
    try:
        link = ShareLink(running.url, link.share_id, link.key)
        with running.db() as db:
            newest = db.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            assert newest == server_database.SCHEMA_VERSION
        answer = post_reveal(link, {"proof": b64url(keys.proof)})
        assert answer.status_code == 200, answer.text
        blob = base64.b64decode(answer.json()["share"]["ciphertext"])
        assert SharePayload.decode(open_sealed(blob, link.share_id, keys)) == NOTE
    finally:
        running.stop()

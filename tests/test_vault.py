"""The encrypted vault on a real SQLite file: round trips, distinct errors, tamper detection."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from conftest import FLOOR, PASSPHRASE, add_password
from mysafe_tui.core import errors
from mysafe_tui.core.errors import MySafeError, WrongPassphrase
from mysafe_tui.core.kdf import KDF_PROFILES, KdfParams
from mysafe_tui.core.models import ItemKind
from mysafe_tui.vault.header import Header
from mysafe_tui.vault.vault import Vault


def reopen(path: Path, passphrase: str = PASSPHRASE) -> Vault:
    v = Vault.open(path)
    v.unlock(passphrase)
    return v


def sql(path: Path, statement: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(statement, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def rewrite_header(path: Path, **changes: object) -> None:
    (fmt, body, checksum) = sql(path, "SELECT format, body, checksum FROM header")[0]
    header = dataclasses.replace(Header.parse(fmt, body, checksum), **changes)
    sql(path, "UPDATE header SET format = ?, body = ?, checksum = ?",
        header.format, header.body(), header.checksum())  # fmt: skip


def test_items_survive_close_and_reopen(vault: Vault, vault_path: Path) -> None:
    a = add_password(vault, "Github", "gh-pass", url="https://github.com", tags=("dev", "git"))
    n = vault.save_item(ItemKind.NOTE, {"name": "Plan"}, {"note": "line 1\nline 2"})
    vault.close()
    v = reopen(vault_path)
    assert v.summaries[a.id] == a
    assert v.summaries[a.id].tags == ("dev", "git")
    assert v.reveal(a.id) == {"password": "gh-pass"}
    assert v.reveal(n.id) == {"note": "line 1\nline 2"}
    v.close()


def test_update_bumps_version_and_keeps_created(vault: Vault) -> None:
    a = add_password(vault, "Github")
    b = vault.save_item(
        ItemKind.PASSWORD, {"name": "GitHub", "username": "bob"}, {"password": "new"}, a.id
    )
    assert (b.version, b.created, b.name) == (2, a.created, "GitHub")
    assert vault.reveal(a.id) == {"password": "new"}


def test_wrong_passphrase_then_right_one(vault: Vault, vault_path: Path) -> None:
    add_password(vault, "x")
    vault.close()
    v = Vault.open(vault_path)
    with pytest.raises(errors.WrongPassphrase):
        v.unlock("not the passphrase")
    assert not v.unlocked
    v.unlock(PASSPHRASE)
    assert len(v.summaries) == 1
    v.close()


def test_the_three_failures_are_distinct_errors() -> None:
    kinds = [errors.WrongPassphrase, errors.CorruptHeader, errors.CorruptRecord]
    for a in kinds:
        for b in kinds:
            assert (a is b) == issubclass(a, b)


def test_damaged_header_is_corrupt_header_not_wrong_passphrase(
    vault: Vault, vault_path: Path
) -> None:
    vault.close()
    (body,) = sql(vault_path, "SELECT body FROM header")[0]
    assert isinstance(body, bytes)
    damaged = body.replace(b'"profile"', b'"profilf"')
    sql(vault_path, "UPDATE header SET body = ?", damaged)
    with pytest.raises(errors.CorruptHeader):
        Vault.open(vault_path)


def test_one_damaged_record_leaves_the_others_readable(vault: Vault, vault_path: Path) -> None:
    good = add_password(vault, "good", "good-pass")
    bad = add_password(vault, "bad", "bad-pass")
    vault.close()
    (summary,) = sql(vault_path, "SELECT summary FROM items WHERE id = ?", bad.id)[0]
    assert isinstance(summary, bytes)
    flipped = summary[:20] + bytes([summary[20] ^ 1]) + summary[21:]
    sql(vault_path, "UPDATE items SET summary = ? WHERE id = ?", flipped, bad.id)
    v = reopen(vault_path)
    assert set(v.corrupt) == {bad.id}
    assert v.reveal(good.id) == {"password": "good-pass"}
    with pytest.raises(errors.CorruptRecord) as caught:
        v.reveal(bad.id)
    assert caught.value.item_id == bad.id
    v.purge(bad.id)  # a damaged item can still be removed
    v.close()
    v = reopen(vault_path)
    assert list(v.summaries) == [good.id] and v.corrupt == {}
    v.close()


def test_damaged_secret_is_refused_on_reveal(vault: Vault, vault_path: Path) -> None:
    item = add_password(vault, "x", "pw")
    vault.close()
    (secret,) = sql(vault_path, "SELECT secret FROM items WHERE id = ?", item.id)[0]
    assert isinstance(secret, bytes)
    # One bit flipped: always a change (a byte set to 0 was already 0 one time in 256).
    damaged = secret[:-1] + bytes([secret[-1] ^ 1])
    sql(vault_path, "UPDATE items SET secret = ? WHERE id = ?", damaged, item.id)
    v = reopen(vault_path)
    with pytest.raises(errors.CorruptRecord):
        v.reveal(item.id)
    v.close()


@pytest.mark.parametrize("column", ["summary", "secret", "wrapped_key"])
def test_ciphertext_moved_to_another_item_is_rejected(
    vault: Vault, vault_path: Path, column: str
) -> None:
    a = add_password(vault, "a", "pass-a")
    b = add_password(vault, "b", "pass-b")
    vault.close()
    (blob,) = sql(vault_path, f"SELECT {column} FROM items WHERE id = ?", a.id)[0]
    sql(vault_path, f"UPDATE items SET {column} = ? WHERE id = ?", blob, b.id)
    v = reopen(vault_path)
    with pytest.raises(errors.CorruptRecord):
        v.reveal(b.id)
    assert v.reveal(a.id) == {"password": "pass-a"}
    v.close()


@pytest.mark.parametrize(("column", "value"), [("kind", "note"), ("version", 7), ("version", 0)])
def test_record_relabelled_to_another_kind_or_version_is_rejected(
    vault: Vault, vault_path: Path, column: str, value: object
) -> None:
    a = add_password(vault, "a")
    vault.close()
    sql(vault_path, f"UPDATE items SET {column} = ? WHERE id = ?", value, a.id)
    v = reopen(vault_path)
    assert a.id in v.corrupt
    with pytest.raises(errors.CorruptRecord):
        v.reveal(a.id)
    v.close()


def test_deleted_record_is_detected(vault: Vault, vault_path: Path) -> None:
    add_password(vault, "a")
    b = add_password(vault, "b")
    vault.close()
    sql(vault_path, "DELETE FROM items WHERE id = ?", b.id)
    with pytest.raises(errors.IntegrityError, match="deleted, added or rolled back"):
        reopen(vault_path)


def test_refresh_decrypts_only_what_another_process_changed(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_password(vault, "keep")
    edit, gone = add_password(vault, "edit"), add_password(vault, "gone")
    other = reopen(vault_path)  # another process: the CLI while the UI is open
    other.save_item(ItemKind.PASSWORD, {"name": "edited", "username": "bob"}, {"password": "x"},
                    edit.id)  # fmt: skip
    other.purge(gone.id)
    new = add_password(other, "new")
    other.write_meta("remote", {"url": "https://mysafe.example"})
    other.close()
    decrypted: list[str] = []
    from mysafe_tui.vault import loading as vault_module

    real = vault_module.decrypt_summaries

    def counting(sk: Any, ad: Any, rows: Any) -> Any:
        rows = list(rows)
        decrypted.extend(row[0] for row in rows)
        return real(sk, ad, rows)

    monkeypatch.setattr(vault_module, "decrypt_summaries", counting)
    assert vault.refresh()
    assert sorted(decrypted) == sorted([edit.id, new.id, "meta:remote"])
    assert vault.read_meta("remote") == {"url": "https://mysafe.example"}
    monkeypatch.undo()
    fresh = reopen(vault_path)
    assert dict(vault.summaries) == dict(fresh.summaries)
    assert sorted(s.name for s in vault.summaries.values()) == ["edited", "keep", "new"]
    fresh.close()
    add_password(vault, "after")  # the manifest state carried over is right: writes go on
    vault.close()
    assert len(reopen(vault_path).summaries) == 4


def test_refresh_still_catches_rows_deleted_outside_mysafe(vault: Vault, vault_path: Path) -> None:
    a = add_password(vault, "a")
    add_password(vault, "b")
    sql(vault_path, "DELETE FROM items WHERE id = ?", a.id)
    sql(vault_path, "UPDATE manifest SET generation = generation + 1")
    with pytest.raises(errors.IntegrityError):
        vault.refresh()


def test_duplicated_record_is_detected(vault: Vault, vault_path: Path) -> None:
    a = add_password(vault, "a")
    vault.close()
    copy_id = ("0" if a.id[0] != "0" else "1") + a.id[1:]  # differs from a.id, whatever a.id is
    sql(vault_path, "INSERT INTO items SELECT ?, kind, version, key_version, "
        "wrapped_key, summary, secret, mac FROM items WHERE id = ?", copy_id, a.id)  # fmt: skip
    with pytest.raises(errors.IntegrityError):
        reopen(vault_path)


def test_record_rolled_back_to_an_older_version_is_detected(vault: Vault, vault_path: Path) -> None:
    a = add_password(vault, "a", "old-password")
    old_row = sql(vault_path, "SELECT * FROM items WHERE id = ?", a.id)[0]
    vault.save_item(ItemKind.PASSWORD, {"name": "a", "username": "u"}, {"password": "new"}, a.id)
    vault.close()
    sql(vault_path, "DELETE FROM items WHERE id = ?", a.id)
    sql(vault_path, "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", *old_row)
    with pytest.raises(errors.IntegrityError):
        reopen(vault_path)


def test_rolled_back_content_under_current_mac_is_refused(vault: Vault, vault_path: Path) -> None:
    a = add_password(vault, "a", "old-password")
    old = sql(vault_path, "SELECT version, summary, secret FROM items WHERE id = ?", a.id)[0]
    vault.save_item(ItemKind.PASSWORD, {"name": "a", "username": "u"}, {"password": "new"}, a.id)
    vault.close()
    sql(
        vault_path, "UPDATE items SET version = ?, summary = ?, secret = ? WHERE id = ?", *old, a.id
    )
    v = reopen(vault_path)
    with pytest.raises(errors.CorruptRecord, match="modified outside"):
        v.reveal(a.id)
    v.close()


def test_truncated_file_is_reported_as_truncated(vault: Vault, vault_path: Path) -> None:
    for i in range(30):
        add_password(vault, f"item {i}", "x" * 500)
    vault.close()
    size = vault_path.stat().st_size
    with open(vault_path, "r+b") as handle:
        handle.truncate(size // 2)
    with pytest.raises(errors.VaultTruncated, match="truncated"):
        Vault.open(vault_path)
    with open(vault_path, "r+b") as handle:
        handle.truncate(10)
    with pytest.raises(errors.VaultTruncated):
        Vault.open(vault_path)


def test_not_a_vault(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a database at all" * 10)
    with pytest.raises(errors.CorruptVault, match="not a mysafe vault"):
        Vault.open(path)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(errors.CorruptVault, match="not a mysafe vault"):
        Vault.open(other)
    with pytest.raises(errors.VaultNotFound):
        Vault.open(tmp_path / "missing.mysafe")


def test_newer_format_is_unsupported(vault: Vault, vault_path: Path) -> None:
    vault.close()
    rewrite_header(vault_path, format=2)
    with pytest.raises(errors.UnsupportedVersion, match="upgrade"):
        Vault.open(vault_path)


def test_header_with_out_of_bounds_kdf_is_refused(vault: Vault, vault_path: Path) -> None:
    vault.close()
    rewrite_header(vault_path, kdf=KdfParams(1024, 1, 1, b"s" * 16))
    v = Vault.open(vault_path)
    with pytest.raises(errors.KdfParamsRejected):
        v.unlock(PASSPHRASE)
    v.close()


def test_passphrase_change_rewraps_only_the_vault_key(vault: Vault, vault_path: Path) -> None:
    for i in range(5):
        add_password(vault, f"item {i}", f"pw {i}")
    before = sql(vault_path, "SELECT * FROM items ORDER BY id")
    header_before = sql(vault_path, "SELECT body FROM header")
    with pytest.raises(errors.WrongPassphrase):
        vault.change_passphrase("wrong", "new passphrase here")
    vault.change_passphrase(PASSPHRASE, "a brand new passphrase")
    assert sql(vault_path, "SELECT * FROM items ORDER BY id") == before
    assert sql(vault_path, "SELECT body FROM header") != header_before
    vault.close()
    v = Vault.open(vault_path)
    with pytest.raises(errors.WrongPassphrase):
        v.unlock(PASSPHRASE)
    v.unlock("a brand new passphrase")
    assert sorted(v.reveal(i)["password"] for i in v.summaries) == [f"pw {i}" for i in range(5)]
    v.close()


def test_weak_kdf_is_upgraded_to_the_profile_after_unlock(vault: Vault, vault_path: Path) -> None:
    add_password(vault, "x", "pw")
    vault.close()
    rewrite_header(vault_path, profile="low-memory")  # header params are the floor: weaker
    rows = "SELECT id, wrapped_key, summary, secret, mac FROM items ORDER BY id"
    before = sqlite3.connect(vault_path).execute(rows).fetchall()
    v = reopen(vault_path)
    assert sqlite3.connect(vault_path).execute(rows).fetchall() == before  # only the header
    target = KDF_PROFILES["low-memory"]
    assert (v.kdf_params.memory_kib, v.kdf_params.iterations) == (
        target.memory_kib,
        target.iterations,
    )
    v.close()
    v = reopen(vault_path)
    assert v.reveal(next(iter(v.summaries))) == {"password": "pw"}
    v.close()


def test_permissions_are_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "v.mysafe"
    old = os.umask(0)
    try:
        v = Vault.create(path, PASSPHRASE, params=FLOOR)
        add_password(v, "x")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
        dir_mode = stat.S_IMODE(path.parent.stat().st_mode)
        v.close()
    finally:
        os.umask(old)
    assert dir_mode == 0o700
    assert {"v.mysafe", "v.mysafe-wal", "v.mysafe-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_second_writer_gets_a_clear_busy_error(vault: Vault, vault_path: Path) -> None:
    add_password(vault, "x")
    other = sqlite3.connect(vault_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(errors.VaultBusy, match="another mysafe process"):
            add_password(vault, "y")
        assert vault.reveal(next(iter(vault.summaries))) == {"password": "s3cret!"}  # reads work
    finally:
        other.execute("ROLLBACK")
        other.close()
    add_password(vault, "y")
    assert len(vault.summaries) == 2


def test_two_handles_on_one_vault_see_each_others_writes(vault: Vault, vault_path: Path) -> None:
    add_password(vault, "first")
    other = reopen(vault_path)
    b = add_password(other, "second", "pw-2")
    c = add_password(vault, "third")  # reloads before writing: the manifest stays consistent
    assert vault.reveal(b.id) == {"password": "pw-2"}
    other.close()
    vault.close()
    v = reopen(vault_path)
    assert {s.name for s in v.summaries.values()} == {"first", "second", "third"}
    assert c.id in v.summaries
    v.close()


def test_create_refuses_to_overwrite(vault: Vault, vault_path: Path) -> None:
    with pytest.raises(errors.VaultExists):
        Vault.create(vault_path, PASSPHRASE, params=FLOOR)


def test_locked_vault_refuses_reads(vault: Vault) -> None:
    item = add_password(vault, "x")
    vault.lock()
    with pytest.raises(errors.VaultLocked):
        vault.reveal(item.id)
    with pytest.raises(errors.VaultLocked):
        _ = vault.summaries


def test_meta_records_are_encrypted_kept_and_never_listed(vault_path: Path) -> None:
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    add_password(v, "github")
    v.write_meta("remote", {"url": "https://vault.example", "client_secret": "META-SECRET-XYZ"})
    v.write_meta("remote", {"url": "https://vault.example", "client_secret": "META-SECRET-2"})
    assert [s.name for s in v.summaries.values()] == ["github"]
    v.close()
    assert b"META-SECRET" not in vault_path.read_bytes()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE)
    assert v.read_meta("remote") == {
        "url": "https://vault.example",
        "client_secret": "META-SECRET-2",
    }
    assert v.read_meta("other") is None and len(v.summaries) == 1
    v.delete_meta("remote")
    v.close()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE)  # the manifest still agrees after the delete
    assert v.read_meta("remote") is None and len(v.summaries) == 1
    v.close()


def test_summaries_written_before_the_remote_field_still_read(vault: Vault) -> None:
    from mysafe_tui.vault.records import decode_summary, encode_summary

    saved = add_password(vault, "old")
    legacy = encode_summary(saved).decode().rsplit("\0", 1)[0]  # as the previous version wrote
    assert decode_summary(saved.id, saved.kind, saved.version, legacy) == saved


def test_rotating_the_key_leaves_an_old_header_and_passphrase_nothing(vault_path: Path) -> None:
    """An attacker with an old copy of the header (or the old passphrase that opened it) and
    today's file learns nothing written since: every item key and the vault key are new."""
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    kept = add_password(v, "GitHub", "gh-before")
    v.save_file({"name": "key", "file_name": "id", "size": 3, "media_type": "text/plain",
                 "tags": ()}, {}, iter([b"abc"]))  # fmt: skip
    v.write_meta("remote", {"url": "https://x"})
    conn = sqlite3.connect(vault_path)
    old_header = conn.execute("SELECT body, checksum FROM header").fetchone()
    old_rows = dict(conn.execute("SELECT id, secret FROM items").fetchall())
    conn.close()
    progress: list[int] = []
    assert v.rotate_key(PASSPHRASE, progress.append) == 3
    assert progress[-1] == 3
    v.save_item(ItemKind.PASSWORD, {"name": "GitHub", "username": "alice"},
                {"password": "gh-after"}, kept.id)  # fmt: skip
    v.close()
    conn = sqlite3.connect(vault_path)
    new_rows = dict(conn.execute("SELECT id, secret FROM items").fetchall())
    assert all(new_rows[i] != old_rows[i] for i in old_rows)  # every secret re-encrypted
    conn.execute("UPDATE header SET body = ?, checksum = ?", old_header)  # the old header back
    conn.commit()
    conn.close()
    stale = Vault.open(vault_path)
    with pytest.raises(MySafeError):  # the old vault key opens neither manifest nor items
        stale.unlock(PASSPHRASE)
    stale.close()


def test_a_rotated_vault_reads_back_everything(vault_path: Path) -> None:
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    for i in range(30):
        add_password(v, f"item {i}", f"pw {i}")
    f = v.save_file({"name": "key", "file_name": "id", "size": 3, "media_type": "text/plain",
                     "tags": ()}, {}, iter([b"abc"]))  # fmt: skip
    v.write_meta("remote", {"url": "https://x"})
    before = {i: v.reveal(i) for i in v.summaries}
    v.rotate_key(PASSPHRASE)
    v.close()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE)
    assert {i: v.reveal(i) for i in v.summaries} == before
    assert b"".join(v.read_file(f.id)) == b"abc" and v.read_meta("remote") == {"url": "https://x"}
    with pytest.raises(WrongPassphrase):
        v.rotate_key("not the passphrase")
    v.close()


def test_an_older_copy_put_back_is_reported_and_read_only(vault_path: Path) -> None:
    """The whole file rolled back (rows and manifest together): invisible from inside the
    file, caught by what this machine remembers of it."""
    seen = vault_path.parent / "state"
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    add_password(v, "GitHub", "gh-1")
    v.close()
    old = vault_path.read_bytes()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE, seen_dir=seen)
    add_password(v, "Bank", "bank-1")  # a change the old copy lacks
    v.close()
    vault_path.write_bytes(old)
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE, seen_dir=seen)
    assert v.rollback and "older" in v.rollback and "--accept-rollback" in v.rollback
    assert [s.name for s in v.summaries.values()] == ["GitHub"]  # readable
    with pytest.raises(errors.RolledBack):
        add_password(v, "Mail", "m")  # never writes on top of a rollback
    with pytest.raises(errors.RolledBack):
        v.change_passphrase(PASSPHRASE, "another passphrase entirely")
    v.close()
    v = Vault.open(vault_path)  # still older: still reported (the memory was not lowered)
    v.unlock(PASSPHRASE, seen_dir=seen)
    assert v.rollback
    v.close()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE, seen_dir=seen, accept_rollback=True)  # a backup restored on purpose
    assert v.rollback is None
    add_password(v, "Mail", "m")
    v.close()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE, seen_dir=seen)
    assert v.rollback is None
    v.close()


def test_a_different_copy_at_the_same_change_is_reported(vault_path: Path) -> None:
    seen = vault_path.parent / "state"
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    v.close()
    base = vault_path.read_bytes()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE, seen_dir=seen)
    add_password(v, "GitHub", "gh-1")
    v.close()
    fork = vault_path.parent / "fork.mysafe"
    fork.write_bytes(base)
    f = Vault.open(fork)
    f.unlock(PASSPHRASE)
    add_password(f, "Something else", "x")  # the same change number, other content
    f.close()
    vault_path.write_bytes(fork.read_bytes())
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE, seen_dir=seen)
    assert v.rollback and "differs" in v.rollback
    v.close()


def test_insecure_modes_are_repaired_and_a_symlinked_vault_refused(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        path = tmp_path / "deep" / "er" / "data" / "v.mysafe"
        v = Vault.create(path, PASSPHRASE, params=FLOOR)
        v.close()
        for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # parents too, under umask 0
        os.chmod(path, 0o644)
        os.chmod(path.parent, 0o755)
        Vault.open(path).close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        link = tmp_path / "link.mysafe"
        link.symlink_to(path)
        with pytest.raises(errors.StorageError, match="symbolic link"):
            Vault.open(link)
    finally:
        os.umask(old_umask)


def test_stale_temporary_files_are_removed_at_open(vault_path: Path) -> None:
    Vault.create(vault_path, PASSPHRASE, params=FLOOR).close()
    stale = vault_path.parent / ".default.mysafe.cache.abc123.part"
    fresh = vault_path.parent / ".default.mysafe.cache.def456.part"
    for leftover in (stale, fresh):
        leftover.write_bytes(b"ciphertext of a killed write")
    os.utime(stale, (0, 0))
    Vault.open(vault_path).close()
    assert not stale.exists()
    assert fresh.exists()  # maybe another process's write in progress: left alone


def test_the_process_is_not_dumpable() -> None:
    import subprocess
    import sys

    code = (
        "from mysafe_tui.system.process import dumpable, harden; import resource; "
        "print(dumpable()); harden(); print(dumpable(), resource.getrlimit(resource.RLIMIT_CORE))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["True", "False (0, 0)"]


def test_a_handle_that_did_not_follow_a_write_never_lowers_the_memory(vault_path: Path) -> None:
    seen = vault_path.parent / "state"
    Vault.create(vault_path, PASSPHRASE, params=FLOOR).close()
    window = Vault.open(vault_path)
    window.unlock(PASSPHRASE, seen_dir=seen)  # a UI left open...
    cli = Vault.open(vault_path)
    cli.unlock(PASSPHRASE, seen_dir=seen)
    add_password(cli, "GitHub", "gh")  # ...while the CLI writes
    cli.close()
    newest = json.loads(next(seen.iterdir()).read_text())["generation"]
    window.close()  # it never refreshed: its own state is older
    assert json.loads(next(seen.iterdir()).read_text())["generation"] == newest

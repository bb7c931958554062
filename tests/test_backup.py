"""`mysafe backup` and `mysafe restore-backup`: a consistent encrypted copy while the vault is
in use, and bringing one back without losing the vault it replaces."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from conftest import PASSPHRASE, add_password
from mysafe_tui.vault.vault import Vault
from test_cli import Cli


def make(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "home")
    cli.ok("init", "--kdf-profile", "low-memory")
    cli.ok("add", "password", "--name", "Github", "--username", "octo", stdin="gh-pw\n")
    return cli


def names(cli: Cli) -> list[str]:
    return [line.split()[0] for line in cli.ok("list").splitlines()]


def test_a_backup_taken_while_another_process_writes_opens_whole(tmp_path: Path) -> None:
    cli = make(tmp_path)
    vault_path = tmp_path / "home" / "default.mysafe"
    writer = Vault.open(vault_path)
    writer.unlock(PASSPHRASE)
    stop = threading.Event()

    def write() -> None:  # another process would do the same through SQLite's locks
        n = 0
        while not stop.is_set():
            add_password(writer, f"busy {n}")
            n += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for n in range(5):
            cli.ok("backup", str(tmp_path / f"copy{n}.mysafe"))
    finally:
        stop.set()
        thread.join()
        writer.close()
    for n in range(5):
        copy = tmp_path / f"copy{n}.mysafe"
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        opened = Vault.open(copy)
        try:
            opened.unlock(PASSPHRASE)  # every record checked against the manifest
            assert not opened.corrupt and "Github" in {s.name for s in opened.summaries.values()}
        finally:
            opened.close()


def test_a_backup_never_replaces_a_file_unless_forced(tmp_path: Path) -> None:
    cli = make(tmp_path)
    target = tmp_path / "copy.mysafe"
    target.write_text("my thesis")
    assert "already exists" in cli.fails("backup", str(target))
    assert target.read_text() == "my thesis"
    cli.ok("backup", str(target), "--force")
    assert target.read_bytes().startswith(b"SQLite format 3")


def test_restore_brings_the_backup_back_and_keeps_the_vault_it_replaces(tmp_path: Path) -> None:
    cli = make(tmp_path)
    backup = tmp_path / "monday.mysafe"
    cli.ok("backup", str(backup))
    cli.ok("add", "password", "--name", "Later", "--username", "u", stdin="later-pw\n")
    done = cli("restore-backup", str(backup))
    assert done.returncode == 0, done.stderr
    assert "restored 1 item(s)" in done.stderr and "kept at" in done.stderr
    listed = cli("list")
    assert names(cli) == ["Github"] and "read-only" not in listed.stderr  # older on purpose
    cli.ok("add", "note", "--name", "After restore", stdin="x\n")  # and writable
    [kept] = (tmp_path / "home").glob("default.mysafe.before-restore-*")
    opened = Vault.open(kept)
    try:
        opened.unlock(PASSPHRASE)
        assert {s.name for s in opened.summaries.values()} == {"Github", "Later"}  # not lost
    finally:
        opened.close()


def test_a_backup_that_does_not_open_changes_nothing(tmp_path: Path) -> None:
    cli = make(tmp_path)
    backup = tmp_path / "other.mysafe"
    cli.ok("backup", str(backup))
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all 7\n")
    said = cli.fails("restore-backup", str(backup), "--passphrase-file", str(wrong))
    assert "wrong passphrase" in said
    junk = tmp_path / "junk.mysafe"
    junk.write_bytes(b"\x00" * 5000)
    assert "not" in cli.fails("restore-backup", str(junk))
    assert "no backup" in cli.fails("restore-backup", str(tmp_path / "missing.mysafe"))
    assert not list((tmp_path / "home").glob("*.before-restore-*"))
    assert names(cli) == ["Github"]


@pytest.mark.parametrize("where", ["secret", "chunk"])
def test_a_damaged_backup_is_refused_before_anything_is_replaced(
    tmp_path: Path, where: str
) -> None:
    """One flipped bit in one item's secret, or in one chunk of a file: the backup opens (its
    header and summaries are whole) but is refused, naming the item; the vault is untouched."""
    import sqlite3

    cli = make(tmp_path)
    (tmp_path / "doc.txt").write_bytes(b"file body " * 1000)
    cli.ok("attach", str(tmp_path / "doc.txt"), "--name", "Doc")
    backup = tmp_path / "monday.mysafe"
    cli.ok("backup", str(backup))
    table, column, keys = (("items", "secret", "id") if where == "secret"
                           else ("chunks", "data", "item_id, file_id, seq"))  # fmt: skip
    match = " AND ".join(f"{k.strip()} = ?" for k in keys.split(","))
    with sqlite3.connect(backup) as conn:
        *key, blob = conn.execute(f"SELECT {keys}, {column} FROM {table} LIMIT 1").fetchone()
        flipped = bytearray(blob)
        flipped[len(flipped) // 2] ^= 0x01
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {match}", (bytes(flipped), *key))
    before = sorted(names(cli))
    said = cli.fails("restore-backup", str(backup))
    assert "damaged" in said and "nothing was restored" in said, said
    assert sorted(names(cli)) == before  # the vault is the one it was
    assert not list((tmp_path / "home").glob("default.mysafe.before-restore-*"))

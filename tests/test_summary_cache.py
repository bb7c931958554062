"""The summary cache beside the vault: a quicker unlock that never weakens one.

Real vault files; the cache is used only when the vault is exactly as it was written, a damaged
or foreign cache is ignored, and tampering with the vault is caught with the cache fresh.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_vault import reopen, sql

from conftest import FLOOR, PASSPHRASE, add_password
from mysafe_tui.core import errors
from mysafe_tui.core.crypto import CHUNK_SIZE
from mysafe_tui.core.models import ItemKind
from mysafe_tui.service import VaultService
from mysafe_tui.vault import summary_cache
from mysafe_tui.vault.search import SearchIndex
from mysafe_tui.vault.vault import Vault

Run = Callable[..., Any]
QUERIES = ["", "git", "bob", "prod", "gthb", "work hub"]


def close_with_cache(v: Vault) -> None:
    """What locking does in the app and the CLI."""
    index = SearchIndex.of(v.records)
    v.save_cache(index.records, index.state())
    v.close()


def fill(v: Vault) -> None:
    add_password(v, "GitHub", "gh", username="bob", url="https://github.com", tags=("work",))
    add_password(v, "GitLab", "gl", username="carol", tags=("prod",))
    fav = add_password(v, "Zebra hub", "z", username="bob")
    v.save_item(ItemKind.PASSWORD, {"name": "Zebra hub", "username": "bob", "favourite": True},
                {"password": "z"}, fav.id)  # fmt: skip
    gone = v.save_item(ItemKind.NOTE, {"name": "Old plan"}, {"note": "x"})
    v.save_item(ItemKind.NOTE, {"name": "Old plan", "active": False}, {"note": "x"}, gone.id)
    v.write_meta("remote", {"url": "https://mysafe.example"})


def results(index: SearchIndex) -> dict[tuple[str, bool], list[str]]:
    return {(q, trash): [s.id for s in index.search(q, trash=trash)]
            for q in QUERIES for trash in (False, True)}  # fmt: skip


def cache_of(path: Path) -> Path:
    return summary_cache.path_for(path)


def no_decrypting(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("decrypted every summary although the cache was fresh")

    from mysafe_tui.vault import loading as vault_module

    monkeypatch.setattr(vault_module, "decrypt_summaries", refuse)


def test_an_unchanged_vault_unlocks_from_the_cache_with_the_same_contents(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(vault)
    summaries = dict(vault.summaries)
    expected = results(SearchIndex.of(vault.records))
    close_with_cache(vault)
    assert cache_of(vault_path).exists()

    no_decrypting(monkeypatch)
    v = reopen(vault_path)
    state = v.take_index_state()
    assert state is not None
    assert dict(v.summaries) == summaries
    assert results(SearchIndex.of(v.records, state)) == expected
    assert v.read_meta("remote") == {"url": "https://mysafe.example"}
    github = next(s for s in summaries.values() if s.name == "GitHub")
    assert v.reveal(github.id) == {"password": "gh"}
    # the restored index keeps working as writes come in
    index = SearchIndex.of(v.records, None)
    saved = add_password(v, "Aardvark", "a")
    index.upsert(v.records[saved.id])
    assert [s.name for s in index.search("")][:2] == ["Zebra hub", "Aardvark"]
    v.close()


def test_a_vault_written_since_the_cache_is_read_in_full(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(vault)
    close_with_cache(vault)
    other = reopen(vault_path)  # another process, or a session killed before it locked
    late = add_password(other, "Written later", "new")
    other.close()

    v = reopen(vault_path)
    assert v.take_index_state() is None
    assert v.summaries[late.id].name == "Written later"
    assert len(v.summaries) == 5
    v.close()


@pytest.mark.parametrize(
    "tamper",
    [
        "DELETE FROM items WHERE rowid = (SELECT min(rowid) FROM items)",
        "INSERT INTO items SELECT '0' || substr(id, 2, 30) || '00', kind, version, key_version, "
        "wrapped_key, summary, secret, mac FROM items WHERE rowid = (SELECT min(rowid) FROM items)",
    ],
    ids=["deleted", "duplicated"],
)
def test_tampering_is_caught_even_with_a_fresh_cache(
    vault: Vault, vault_path: Path, tamper: str
) -> None:
    fill(vault)
    close_with_cache(vault)
    sql(vault_path, tamper)
    with pytest.raises((errors.IntegrityError, errors.CorruptRecord)):
        v = reopen(vault_path)
        v.close()


def test_a_stolen_row_mac_does_not_pass_with_a_fresh_cache(vault: Vault, vault_path: Path) -> None:
    a = add_password(vault, "a")
    add_password(vault, "b")
    close_with_cache(vault)
    # a rolled-back file: the old row under the current MAC, as in test_vault
    sql(vault_path, "UPDATE items SET version = version + 1 WHERE id = ?", a.id)
    v = reopen(vault_path)  # the list may come from the cache, but the secret is refused
    with pytest.raises(errors.CorruptRecord):
        v.reveal(a.id)
    v.close()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _drop_last_chunk(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])


@pytest.mark.parametrize(
    "damage",
    [
        _truncate,
        _flip,
        _drop_last_chunk,
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(os.urandom(5000)),
        lambda p: p.write_bytes(summary_cache.MAGIC + os.urandom(200)),
    ],
    ids=["truncated", "bit-flipped", "cut-short", "empty", "garbage", "garbage-after-magic"],
)
def test_a_damaged_cache_is_ignored_and_nothing_is_lost(
    vault: Vault, vault_path: Path, damage: Callable[[Path], None]
) -> None:
    fill(vault)
    summaries = dict(vault.summaries)
    close_with_cache(vault)
    damage(cache_of(vault_path))
    v = reopen(vault_path)
    assert v.take_index_state() is None
    assert dict(v.summaries) == summaries
    v.close()


def test_another_vaults_cache_is_ignored(tmp_path: Path, vault: Vault, vault_path: Path) -> None:
    add_password(vault, "mine")
    mine = dict(vault.summaries)
    vault.close()
    other_path = tmp_path / "other" / "default.mysafe"
    other = Vault.create(other_path, PASSPHRASE, params=FLOOR)
    add_password(other, "theirs")
    close_with_cache(other)
    shutil.copy(cache_of(other_path), cache_of(vault_path))
    v = reopen(vault_path)
    assert dict(v.summaries) == mine
    v.close()


def test_the_cache_is_private_and_holds_no_plaintext(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "data" / "default.mysafe"
        v = Vault.create(path, PASSPHRASE, params=FLOOR)
        add_password(
            v, "Distinctive-Name", username="distinctive-user", url="https://distinct.example"
        )
        close_with_cache(v)
    finally:
        os.umask(old)
    cache = cache_of(path)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    data = cache.read_bytes()
    for text in (b"Distinctive", b"distinctive", b"distinct.example", b"s3cret"):
        assert text not in data


def test_a_cache_that_cannot_be_written_is_no_error(
    vault: Vault, vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(vault)
    real_replace = os.replace

    def disk_full(src: Any, dst: Any) -> None:
        if str(dst).endswith(".cache"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full)
    close_with_cache(vault)
    assert not cache_of(vault_path).exists()
    assert [p.name for p in vault_path.parent.iterdir() if p.name.endswith(".part")] == []
    monkeypatch.undo()
    v = reopen(vault_path)
    assert len(v.summaries) == 4
    v.close()


def test_locking_the_service_leaves_a_cache_the_next_unlock_uses(
    run: Run, service: VaultService, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("alpha", "beta", "gamma"):
        values = {"name": name, "username": "u", "password": "p"}
        run(service.create_item(ItemKind.PASSWORD, values))
    before = [s.id for s in run(service.search("a"))]
    run(service.lock())
    assert cache_of(service.paths.vault).exists()

    no_decrypting(monkeypatch)
    run(service.unlock(PASSPHRASE))
    assert [s.id for s in run(service.search("a"))] == before
    beta = run(service.find("beta"))
    run(service.toggle_favourite(beta.id))
    assert [s.name for s in run(service.search(""))] == ["beta", "alpha", "gamma"]


def test_a_new_vault_removes_a_deleted_vaults_cache(vault: Vault, vault_path: Path) -> None:
    add_password(vault, "from the old vault")
    close_with_cache(vault)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{vault_path}{suffix}").unlink(missing_ok=True)
    Vault.create(vault_path, PASSPHRASE, params=FLOOR).close()
    assert not cache_of(vault_path).exists()


# Parts of sizes around the 64 KiB chunk boundary, the 8-byte frame included.
_SIZES = st.sampled_from([0, 1, CHUNK_SIZE - 13, CHUNK_SIZE - 12, CHUNK_SIZE, 3 * CHUNK_SIZE + 5])


@settings(max_examples=40, deadline=None)
@given(parts=st.lists(st.one_of(_SIZES.map(bytes), st.text(max_size=300)), max_size=5))
def test_the_cache_file_gives_back_exactly_what_was_written(
    tmp_path_factory: pytest.TempPathFactory, parts: list[object]
) -> None:
    path = tmp_path_factory.mktemp("cache") / "v.mysafe.cache"
    vk, vault_id = os.urandom(32), os.urandom(16)
    assert summary_cache.write(path, vk, vault_id, parts)
    assert summary_cache.read(path, vk, vault_id) == parts
    assert summary_cache.read(path, os.urandom(32), vault_id) is None  # another key

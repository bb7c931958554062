"""Security requirements not shown elsewhere, one named test (or group) each, numbered as in
the map in docs/security.md (which names every test that shows a requirement)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import re
import shutil
import sqlite3
import tempfile
import time
import tracemalloc
import types
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from conftest import FLOOR, PASSPHRASE, add_password
from mysafe_tui.core import crypto, errors
from mysafe_tui.core.crypto import Aead, AuthenticationFailed, decrypt_chunks, encrypt_chunks
from mysafe_tui.core.kdf import KdfParams
from mysafe_tui.core.models import Secret
from mysafe_tui.system import disk as fsutil
from mysafe_tui.system.clipboard import Clipboard
from mysafe_tui.vault.vault import Vault

HERE = Path(__file__).parent
WYCHEPROOF = HERE / "data" / "wycheproof"


# --- 2: no Argon2id, no vault ---------------------------------------------------------------


def test_r2_without_argon2id_nothing_is_created_or_unlocked(
    vault_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Vault.create(vault_path, PASSPHRASE, params=FLOOR).close()

    def unsupported(**_: Any) -> Any:
        raise UnsupportedAlgorithm("argon2id is not supported by this backend")

    monkeypatch.setattr(crypto, "Argon2id", unsupported)
    with pytest.raises(errors.KdfUnavailable, match="will not fall back"):
        Vault.create(vault_path.parent / "new.mysafe", PASSPHRASE, params=FLOOR)
    v = Vault.open(vault_path)
    with pytest.raises(errors.KdfUnavailable):
        v.unlock(PASSPHRASE)
    v.close()


# --- 4: absurd KDF parameters are refused before anything is allocated -------------------


@pytest.mark.parametrize(
    ("memory_kib", "iterations", "lanes"),
    [(2**30, 3, 4), (2**21 + 1, 3, 4), (65536, 11, 4), (65536, 3, 17), (65536, 10**9, 1)],
)
def test_r4_absurd_kdf_parameters_are_refused_at_once(
    memory_kib: int, iterations: int, lanes: int
) -> None:
    params = KdfParams(memory_kib, iterations, lanes, os.urandom(16))
    tracemalloc.start()
    started = time.process_time()  # CPU time: a loaded machine's scheduling does not count
    with pytest.raises(errors.KdfParamsRejected):
        crypto.derive_passphrase_key(PASSPHRASE, params)
    elapsed = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.05 and peak < 10 * 2**20


# --- 7: Wycheproof AEAD vectors ---------------------------------------------------------


def _groups(name: str) -> list[dict[str, Any]]:
    return list(json.loads((WYCHEPROOF / name).read_text())["testGroups"])


def test_r7_wycheproof_aes_256_gcm_through_the_wrapper() -> None:
    """Every AES-256-GCM vector with a 96-bit nonce and 128-bit tag (what the vault uses):
    valid ones seal to the same bytes and open; invalid ones are refused. Other nonce sizes
    are refused before any decryption."""
    tried = refused_nonces = 0
    for group in _groups("aes_gcm_test.json"):
        if group["keySize"] != 256 or group["tagSize"] != 128:
            continue  # the wrapper takes 256-bit keys only (ValueError otherwise)
        for case in group["tests"]:
            key, nonce = bytes.fromhex(case["key"]), bytes.fromhex(case["iv"])
            aad, msg = bytes.fromhex(case["aad"]), bytes.fromhex(case["msg"])
            sealed = bytes.fromhex(case["ct"] + case["tag"])
            if group["ivSize"] != 96:
                with pytest.raises(ValueError):
                    Aead(key).open_with_nonce(nonce, sealed, aad)
                refused_nonces += 1
                continue
            tried += 1
            if case["result"] == "valid":
                assert Aead(key).seal_with_nonce(nonce, msg, aad) == sealed, case["tcId"]
                assert Aead(key).open_with_nonce(nonce, sealed, aad) == msg, case["tcId"]
            elif case["result"] == "invalid":
                with pytest.raises(AuthenticationFailed):
                    Aead(key).open_with_nonce(nonce, sealed, aad)
    assert tried > 50 and refused_nonces > 10
    with pytest.raises(ValueError):
        Aead(os.urandom(32)).seal_with_nonce(os.urandom(8), b"x", b"")


def test_r7_wycheproof_chacha20_poly1305_in_the_library() -> None:
    """The vault does not use ChaCha20-Poly1305; the library's implementation, which it would
    use, is held to the same vectors."""
    tried = 0
    for group in _groups("chacha20_poly1305_test.json"):
        if group["ivSize"] != 96 or group["keySize"] != 256:
            continue
        for case in group["tests"]:
            key, nonce = bytes.fromhex(case["key"]), bytes.fromhex(case["iv"])
            aad, msg = bytes.fromhex(case["aad"]), bytes.fromhex(case["msg"])
            sealed = bytes.fromhex(case["ct"] + case["tag"])
            tried += 1
            if case["result"] == "valid":
                assert ChaCha20Poly1305(key).decrypt(nonce, sealed, aad) == msg
            elif case["result"] == "invalid":
                with pytest.raises(Exception):  # noqa: B017 (InvalidTag, or ValueError)
                    ChaCha20Poly1305(key).decrypt(nonce, sealed, aad)
    assert tried > 100


# --- 8: fresh nonces --------------------------------------------------------------------


def test_r8_no_nonce_repeats_over_a_hundred_thousand_encryptions() -> None:
    aead = Aead(os.urandom(32))
    nonces = {aead.seal(b"record", b"ad")[:12] for _ in range(100_000)}
    assert len(nonces) == 100_000


# --- 11: truncated and permuted attachment chunks ----------------------------------------


def _pieces(content: bytes) -> list[bytes]:
    """A file as the vault reads it: 64 KiB at a time."""
    return [content[i : i + 65536] for i in range(0, len(content), 65536)]


def test_r11_a_200_kib_file_cut_at_any_offset_is_refused() -> None:
    key, file_id = os.urandom(32), "f" * 32
    content = os.urandom(200 * 1024)
    blobs = list(encrypt_chunks(key, file_id, _pieces(content)))
    stored = b"".join(blobs)
    sizes = [len(b) for b in blobs]
    for cut in range(len(stored)):
        pieces, offset = [], 0
        for size in sizes:  # the stored chunks, cut where the file was cut
            if offset >= cut:
                break
            pieces.append(stored[offset : min(offset + size, cut)])
            offset += size
        with pytest.raises(AuthenticationFailed):
            b"".join(decrypt_chunks(key, file_id, pieces))


def test_r11_permuted_chunks_of_a_10_mib_file_are_refused() -> None:
    import random

    key, file_id = os.urandom(32), "e" * 32
    blobs = list(encrypt_chunks(key, file_id, _pieces(os.urandom(10 * 2**20))))
    rng = random.Random(11)
    for _ in range(20):
        order = list(range(len(blobs)))
        i, j = rng.sample(range(len(blobs)), 2)
        order[i], order[j] = order[j], order[i]
        with pytest.raises(AuthenticationFailed):
            b"".join(decrypt_chunks(key, file_id, [blobs[k] for k in order]))


# --- 13: a passphrase change writes almost nothing ----------------------------------------


def test_r13_a_passphrase_change_rewrites_a_few_bytes_and_no_item(vault_path: Path) -> None:
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    for i in range(1000):
        add_password(v, f"item {i}", f"pw {i}")
    v.close()
    before = vault_path.read_bytes()
    rows_before = sqlite3.connect(vault_path).execute("SELECT id, secret FROM items").fetchall()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE)
    v.change_passphrase(PASSPHRASE, "another passphrase entirely")
    v.close()
    after = vault_path.read_bytes()
    assert len(after) == len(before)
    changed = sum(a != b for a, b in zip(before, after, strict=True))
    assert changed < 4096
    rows_after = sqlite3.connect(vault_path).execute("SELECT id, secret FROM items").fetchall()
    assert rows_after == rows_before
    v = Vault.open(vault_path)
    with pytest.raises(errors.WrongPassphrase):
        v.unlock(PASSPHRASE)
    v.close()


# --- 15: every released format still opens ------------------------------------------------


def test_r15_every_released_format_still_opens(tmp_path: Path) -> None:
    for folder in sorted((HERE / "fixtures").glob("format_*")):
        manifest = json.loads((folder / "manifest.json").read_text())
        path = tmp_path / folder.name / "vault.mysafe"
        path.parent.mkdir()
        shutil.copyfile(folder / "vault.mysafe", path)  # opening may repair modes, add a log
        v = Vault.open(path)
        v.unlock(manifest["passphrase"])
        assert v.corrupt == {}
        for item in manifest["items"]:
            summary = v.summaries[item["id"]]
            assert (summary.kind.value, summary.name) == (item["kind"], item["name"])
            secret = v.reveal(item["id"])
            assert {k: secret[k] for k in item["secret"]} == item["secret"]
            if "content_sha256" in item:
                content = b"".join(v.read_file(item["id"]))
                assert hashlib.sha256(content).hexdigest() == item["content_sha256"]
        for name, data in manifest["meta"].items():
            assert v.read_meta(name) == data
        v.close()


# --- 17, 19, 20: atomic writes ----------------------------------------------------------


def _recording(monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    real_mkstemp, real_fsync, real_replace = tempfile.mkstemp, os.fsync, os.replace
    real_verify = fsutil._verify

    def mkstemp(*args: Any, **kwargs: Any) -> Any:
        calls.append("create")
        return real_mkstemp(*args, **kwargs)

    def fsync(fd: int) -> None:
        calls.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync")
        real_fsync(fd)

    def verify(temp: str, expected: bytes) -> None:
        calls.append("verify")
        real_verify(temp, expected)

    def replace(src: Any, dst: Any) -> None:
        calls.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(fsutil, "_verify", verify)
    monkeypatch.setattr(os, "replace", replace)


def test_r17_a_save_creates_writes_syncs_verifies_replaces_then_syncs_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    _recording(monkeypatch, calls)
    target = tmp_path / "settings.json"
    fsutil.write_atomic(target, b"{}")
    assert calls == ["create", "fsync", "verify", "replace", "fsync-dir"]
    created = [p for p in tmp_path.iterdir()]
    assert created == [target] and (target.stat().st_mode & 0o777) == 0o600


def test_r20_a_temp_file_damaged_on_its_way_to_disk_is_never_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "settings.json"
    target.write_bytes(b"the old contents")
    calls: list[str] = []
    _recording(monkeypatch, calls)
    real_fsync = os.fsync

    def fsync_then_rot(fd: int) -> None:  # the disk hands back something else
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            os.pwrite(fd, b"X", 0)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_then_rot)
    with pytest.raises(errors.StorageError):
        fsutil.write_atomic(target, b"the new contents")
    assert "replace" not in calls
    assert target.read_bytes() == b"the old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temp file left


@pytest.mark.parametrize("failing", ["write", "fsync", "replace", "fsync-dir"])
@pytest.mark.parametrize("error", ["ENOSPC", "EIO"])
def test_r19_an_os_error_at_any_step_leaves_the_original_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str, error: str
) -> None:
    import errno

    target = tmp_path / "settings.json"
    target.write_bytes(b"the old contents")
    real_fsync, real_replace = os.fsync, os.replace
    code = getattr(errno, error)

    def fail(*_: Any) -> Any:
        raise OSError(code, os.strerror(code))

    def fsync(fd: int) -> None:
        is_dir = os.path.isdir(f"/proc/self/fd/{fd}")
        if (failing == "fsync-dir") == is_dir and failing in ("fsync", "fsync-dir"):
            fail()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", fail if failing == "replace" else real_replace)

    def chunks() -> Any:
        yield b"the new "
        if failing == "write":
            fail()
        yield b"contents"

    with pytest.raises(errors.StorageError), fsutil.atomic_writer(target) as handle:
        for chunk in chunks():
            handle.write(chunk)
    if failing == "fsync-dir":  # the rename happened; only its durability is in doubt
        assert target.read_bytes() == b"the new contents"
    else:
        assert target.read_bytes() == b"the old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


# --- 21: SQLite settings; a damaged file is refused ----------------------------------------


def test_r21_wal_full_sync_and_a_damaged_database_refused(vault_path: Path) -> None:
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    for i in range(50):
        add_password(v, f"item {i}", "pw" * 200)
    conn = v._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    v.close()
    raw = bytearray(vault_path.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    raw[3 * page : 3 * page + 16] = b"\xff" * 16  # a b-tree page header of the items table
    vault_path.write_bytes(bytes(raw))
    with pytest.raises(errors.CorruptVault):  # refused at open: nothing can be written
        Vault.open(vault_path)


# --- 22: a file's chunks and its item commit together ---------------------------------------


def test_r22_a_file_save_that_fails_half_way_leaves_no_row_and_no_chunk(
    vault_path: Path,
) -> None:
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)

    def half() -> Any:
        yield os.urandom(200 * 1024)
        raise OSError("the source file went away")

    with pytest.raises(errors.StorageError):
        v.save_file({"name": "half", "file_name": "half.bin", "size": 400 * 1024,
                     "media_type": "", "tags": ()}, {}, half())  # fmt: skip
    assert list(v.summaries) == []
    assert v._conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
    v.close()


# --- 24: clipboard ------------------------------------------------------------------------


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class _System:
    name = "system"

    def __init__(self, content: str) -> None:
        self.content = content

    def set(self, text: str) -> None:
        self.content = text

    def get(self) -> str | None:
        return self.content


def test_r24_the_clipboard_gets_back_what_it_held_only_if_still_ours() -> None:
    clock, system = _Clock(), _System("the user's own text")
    clip = Clipboard(system, 20, clock=clock)
    clip.copy("secret-1", "Password")
    clock.now = 10
    clip.copy("secret-2", "Password")  # restarts the timer; the prior text is still the user's
    clock.now = 29
    assert clip.tick() is None and system.content == "secret-2"
    clock.now = 30
    assert clip.tick() and system.content == "the user's own text"
    clip.copy("secret-3", "Password")
    system.content = "copied by the user meanwhile"
    clock.now = 60
    assert clip.tick() is None and system.content == "copied by the user meanwhile"


# --- 28: secrets never show, never pickle ---------------------------------------------------


def test_r28_a_secret_never_shows_in_repr_str_format_or_logs_and_never_pickles(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = Secret("hunter2-canary")
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s" % secret, str([secret])]  # noqa: UP031
    logging.getLogger("test").warning("value %s %r", secret, {"k": secret})
    assert not any("hunter2" in text for text in [*shown, caplog.text])
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert secret.reveal() == "hunter2-canary"


# --- 31: what a lock drops --------------------------------------------------------------


def _reachable(root: object) -> list[object]:
    """Everything reachable from `root` through attributes, slots and containers (not through
    modules, classes or functions): what an object still holds, whatever the names."""
    seen: set[int] = set()
    found: list[object] = []
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(obj))
        found.append(obj)
        if isinstance(obj, dict):
            todo += [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset):
            todo += list(obj)
        if hasattr(obj, "__dict__"):
            todo += list(vars(obj).values())
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                todo.append(getattr(obj, slot))
    return found


def test_r31_a_locked_vault_holds_no_key_and_no_summary(vault_path: Path) -> None:
    """Python's bytes cannot be zeroed in place (docs/security.md says so): what holds is that
    a locked vault refers to no key and no decrypted summary any more, and answers nothing.
    Every key-sized value and AEAD reachable from the unlocked vault, whatever its attribute
    is called (a new one is caught too), and its decrypted summaries are noted; after the
    lock, none of them, nor any copy of a key's bytes, is reachable from the vault."""
    v = Vault.create(vault_path, PASSPHRASE, params=FLOOR)
    item = add_password(v, "GitHub", "gh-pw")
    texts = {record.text for record in v.records.values()}  # decrypted summaries, encoded
    assert any("GitHub" in text for text in texts)
    before = _reachable(v)
    keys = {bytes(x) for x in before if isinstance(x, bytes) and len(x) == 32}
    aeads = {id(x) for x in before if isinstance(x, Aead)}
    assert len(keys) >= 2 and len(aeads) >= 2  # the vault key, the manifest key; two AEADs
    v.lock()
    after = _reachable(v)
    assert not [x for x in after if isinstance(x, bytes) and bytes(x) in keys]
    assert not [x for x in after if id(x) in aeads and isinstance(x, Aead)]
    assert not [x for x in after if isinstance(x, str) and x in texts]
    for read in (
        lambda: v.reveal(item.id),
        lambda: v.summaries,
        lambda: v.extras(item.id),
        lambda: v.attachments(item.id),
        lambda: v.read_meta("remote"),
    ):
        with pytest.raises(errors.VaultLocked):
            read()
    v.close()


# --- the map itself ------------------------------------------------------------------------


def test_the_security_map_names_only_tests_that_exist_and_every_requirement() -> None:
    doc = (HERE.parent / "docs" / "security.md").read_text()
    rows = re.findall(r"^\| (\d+) \|(.*)$", doc, re.MULTILINE)
    assert [int(n) for n, _ in rows] == list(range(1, 37))
    for number, row in rows:
        ids = re.findall(r"`tests/(test_\w+)\.py::(\w+)`", row)
        assert ids or "not met" in row, f"requirement {number} names no test"
        for module, name in ids:
            source = (HERE / f"{module}.py").read_text()
            assert re.search(rf"^(async )?def {name}\(", source, re.MULTILINE), (number, name)

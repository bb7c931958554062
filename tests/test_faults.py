"""Bad input and bad luck: random bit flips, SIGKILL mid-write, full disks, failing syscalls."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FLOOR, PASSPHRASE, add_password
from mysafe_tui.core import errors
from mysafe_tui.core.models import ItemKind
from mysafe_tui.system import disk as fsutil
from mysafe_tui.system.settings import Settings
from mysafe_tui.vault.vault import Vault


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, object]]:
    """A small closed vault file and what it must read back as."""
    path = tmp_path_factory.mktemp("pristine") / "v.mysafe"
    v = Vault.create(path, PASSPHRASE, params=FLOOR)
    for i in range(6):
        add_password(v, f"item {i}", f"password {i}", url=f"https://{i}.example")
    v.save_item(ItemKind.NOTE, {"name": "note"}, {"note": "body " * 50})
    expected = {i: (s, v.reveal(i)) for i, s in v.summaries.items()}
    v.close()
    return path.read_bytes(), expected


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
@pytest.mark.slow
def test_a_bit_flip_anywhere_never_yields_wrong_data(
    pristine: tuple[bytes, dict[str, object]], tmp_path: Path, data: st.DataObject
) -> None:
    """Either a MySafeError names the problem, or every readable item reads back exactly and
    every unreadable one is reported as damaged. Never silent wrong data, never a crash."""
    raw, expected = pristine
    offset = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="offset")
    bit = data.draw(st.integers(min_value=0, max_value=7), label="bit")
    damaged = bytearray(raw)
    damaged[offset] ^= 1 << bit
    path = tmp_path / f"flip-{offset}-{bit}.mysafe"
    path.write_bytes(bytes(damaged))
    try:
        v = Vault.open(path)
        try:
            v.unlock(PASSPHRASE)
            for item_id in v.corrupt:
                with pytest.raises(errors.CorruptRecord):
                    v.reveal(item_id)
            for item_id, (summary, secret) in expected.items():  # type: ignore[misc]
                if item_id not in v.summaries:
                    continue  # counted below: it must be reported as damaged
                assert v.summaries[item_id] == summary
                # A flip in this item's secret is refused (CorruptRecord), never misread.
                with contextlib.suppress(errors.CorruptRecord):
                    assert v.reveal(item_id) == secret
            # Every record that cannot be read is reported, possibly under its damaged id (a
            # flip inside the id column), and nothing readable is invented.
            assert set(v.summaries) <= set(expected)
            assert len(v.corrupt) == len(set(expected) - set(v.summaries))
        finally:
            v.close()
    except errors.MySafeError:
        pass


CRASH_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.vault.vault import Vault
    v = Vault.open(Path(sys.argv[1]))
    v.unlock(sys.argv[2])
    item_id = next(i for i, s in v.summaries.items() if s.name == "counter")
    start = int(v.reveal(item_id)["note"])
    for n in range(start + 1, start + 201):
        v.save_item(ItemKind.NOTE, {"name": "counter"}, {"note": str(n)}, item_id)
        if n % 3 == 0:
            v.save_item(ItemKind.NOTE, {"name": f"extra {n}"}, {"note": "x" * 3000})
        print(n, flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_at_random_points_leaves_old_or_new_contents(
    vault: Vault, vault_path: Path
) -> None:
    counter = vault.save_item(ItemKind.NOTE, {"name": "counter"}, {"note": "0"})
    vault.close()
    rng = random.Random(20261129)
    last_committed = 0
    for _round in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c", CRASH_CHILD, str(vault_path), PASSPHRASE],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        for _ in range(rng.randrange(0, 150)):
            line = child.stdout.readline()
            if not line:
                break
            last_committed = int(line)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        # Lines still in the pipe were printed after their commit too (a loaded machine lets
        # the child run ahead of the reader): they count as committed.
        for line in child.stdout:
            last_committed = int(line)
        v = Vault.open(vault_path)
        v.unlock(PASSPHRASE)
        value = int(v.reveal(counter.id)["note"])
        # Every printed value was committed; at most one more may have landed before the kill.
        assert last_committed <= value <= last_committed + 1
        assert v.corrupt == {}
        last_committed = value
        v.close()


FULL_DISK_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from mysafe_tui.core import errors
    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.vault.vault import Vault
    path = Path(sys.argv[1])
    v = Vault.open(path)
    v.unlock(sys.argv[2])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    wal = Path(str(path) + "-wal")
    limit = max(path.stat().st_size, wal.stat().st_size if wal.exists() else 0) + 4096
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        v.save_item(ItemKind.NOTE, {"name": "huge"}, {"note": "z" * 2_000_000})
        print("saved")
    except errors.StorageError as exc:
        print("StorageError:", exc)
    """
)


def test_write_refused_by_the_os_keeps_the_vault_intact(vault: Vault, vault_path: Path) -> None:
    keep = add_password(vault, "keep", "keep-pass")
    vault.close()
    out = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CHILD, str(vault_path), PASSPHRASE],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.startswith("StorageError:"), out.stdout + out.stderr
    assert "nothing was changed" in out.stdout
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE)
    assert [s.name for s in v.summaries.values()] == ["keep"]
    assert v.reveal(keep.id) == {"password": "keep-pass"}
    add_password(v, "after")  # and the vault still takes writes once space is back
    v.close()


def test_full_database_is_a_clear_error_and_loses_nothing(vault: Vault, vault_path: Path) -> None:
    keep = add_password(vault, "keep", "keep-pass")
    (pages,) = vault._conn.execute("PRAGMA page_count").fetchone()
    vault._conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(errors.StorageError, match="full"):
        vault.save_item(ItemKind.NOTE, {"name": "big"}, {"note": "n" * 500_000})
    assert [s.name for s in vault.summaries.values()] == ["keep"]
    vault._conn.execute("PRAGMA max_page_count = 1073741823")
    add_password(vault, "after")
    vault.close()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE)
    assert {s.name for s in v.summaries.values()} == {"keep", "after"}
    assert v.reveal(keep.id) == {"password": "keep-pass"}
    v.close()


@pytest.mark.parametrize("call", ["fsync", "replace"])
def test_failing_syscall_during_a_file_save_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    target = tmp_path / "out.txt"
    target.write_text("previous contents")

    def fail(*_args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fsutil.os, call, fail)
    with pytest.raises(errors.StorageError, match="No space left"):
        fsutil.write_chunks_atomic(target, [b"new ", b"contents"], overwrite=True)
    monkeypatch.undo()
    assert target.read_text() == "previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_failing_write_of_settings_keeps_the_old_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.json"
    Settings(clear_seconds=30).save(path)
    monkeypatch.setattr(
        fsutil.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error"))
    )
    with pytest.raises(errors.StorageError):
        Settings(clear_seconds=90).save(path)
    monkeypatch.undo()
    assert Settings.load(path).clear_seconds == 30
    assert json.loads(path.read_text())["clear_seconds"] == 30


def test_unreadable_settings_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    with pytest.raises(errors.InvalidInput, match="fix or delete"):
        Settings.load(path)
    path.write_text('{"clear_seconds": 1000}')
    with pytest.raises(errors.InvalidInput, match="5 to 120"):
        Settings.load(path)


# --- checkpoints cut short, full disks (issue: lockouts after an interrupted checkpoint) ----

_WRITER = textwrap.dedent(
    """
    import os, resource, signal, sys
    from pathlib import Path
    from mysafe_tui.core.models import ItemKind
    from mysafe_tui.vault.vault import Vault
    path, limit, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    v = Vault.open(path)
    v.unlock(sys.argv[4])
    if limit:  # the disk fills up: files may not grow past `limit` bytes
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    for i in range(count):
        try:
            item = v.save_item(ItemKind.NOTE, {"name": f"w{i}"}, {"note": os.urandom(300).hex()})
        except Exception:
            break
        print(item.id, flush=True)  # committed
    print("closing", flush=True)
    try:
        v.close()
    except Exception:
        pass
    """
)


def _grown_vault(tmp_path: Path, items: int = 300) -> Path:
    path = tmp_path / "v.mysafe"
    v = Vault.create(path, PASSPHRASE, params=FLOOR)
    for i in range(items):
        v.save_item(ItemKind.NOTE, {"name": f"p{i}"}, {"note": os.urandom(300).hex()})
    v.close()
    return path


def _committed_items_readable(path: Path, committed: list[str]) -> None:
    v = Vault.open(path)  # no "truncated" lockout
    try:
        v.unlock(PASSPHRASE)
        for item_id in committed:
            assert v.reveal(item_id)["note"]
    finally:
        v.close()


@pytest.mark.slow
def test_a_checkpoint_cut_short_by_a_full_disk_locks_nobody_out(tmp_path: Path) -> None:
    """The disk fills while the write-ahead log is copied into the vault at close: the file is
    left short of what its header promises, but the log still holds every commit."""
    original = _grown_vault(tmp_path).read_bytes()
    for step in range(12):
        path = tmp_path / f"round{step}" / "v.mysafe"
        path.parent.mkdir()
        path.write_bytes(original)
        limit = len(original) + 2000 + step * 3000
        out = subprocess.run([sys.executable, "-c", _WRITER, str(path), str(limit), "80",
                              PASSPHRASE], capture_output=True, text=True, check=True)  # fmt: skip
        committed = [line for line in out.stdout.split() if line != "closing"]
        _committed_items_readable(path, committed)


@pytest.mark.slow
def test_sigkill_during_close_locks_nobody_out(tmp_path: Path) -> None:
    original = _grown_vault(tmp_path, items=100).read_bytes()
    rng = random.Random(1)
    for step in range(100):
        path = tmp_path / f"kill{step}" / "v.mysafe"
        path.parent.mkdir()
        path.write_bytes(original)
        child = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "0", "30",
                                  PASSPHRASE], stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert child.stdout is not None
        committed = []
        for line in child.stdout:
            if line.strip() == "closing":
                break
            committed.append(line.strip())
        # Anywhere inside close(): its checkpoint copies ~30 items' pages into the file.
        deadline = time.monotonic() + rng.uniform(0, 0.004)
        while time.monotonic() < deadline:
            pass
        child.kill()
        child.wait()
        _committed_items_readable(path, committed)


def test_reads_need_no_free_space_and_writes_come_back_with_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    v = Vault.create(home / "default.mysafe", PASSPHRASE, params=FLOOR)
    add_password(v, "GitHub", "gh-pw")
    v.close()
    (tmp_path / "pass").write_text(PASSPHRASE)
    env = {**os.environ, "MYSAFE_HOME": str(home), "MYSAFE_PASSPHRASE_FILE": str(tmp_path / "pass")}
    mysafe = [sys.executable, "-m", "mysafe_tui"]

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, 1))  # not one byte more anywhere

    def run(*args: str, full: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*mysafe, *args], env=env, input="body", capture_output=True,
                              text=True, preexec_fn=full_disk if full else None)  # fmt: skip

    assert run("get", "GitHub", full=True).stdout == "gh-pw\n"
    assert "GitHub" in run("list", full=True).stdout
    refused = run("add", "note", "--name", "n", full=True)
    assert refused.returncode == 1 and "read-only" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert run("add", "note", "--name", "n", full=False).returncode == 0  # space is back
    assert "n" in run("list", full=False).stdout.split()


def test_a_full_disk_during_attach_leaves_the_vault_whole(tmp_path: Path) -> None:
    """The file's chunks fill the disk half way: "Added" must not be said, nothing is lost,
    and the same attach works once there is room."""
    home = tmp_path / "home"
    v = Vault.create(home / "default.mysafe", PASSPHRASE, params=FLOOR)
    add_password(v, "GitHub", "gh-pw")
    v.close()
    (tmp_path / "pass").write_text(PASSPHRASE)
    big = tmp_path / "backup.bin"
    big.write_bytes(os.urandom(4 * 1024 * 1024))
    env = {**os.environ, "MYSAFE_HOME": str(home), "MYSAFE_PASSPHRASE_FILE": str(tmp_path / "pass")}
    limit = (home / "default.mysafe").stat().st_size + 1024 * 1024

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    def mysafe(*args: str, full: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mysafe_tui", *args], env=env,
                              capture_output=True, text=True,
                              preexec_fn=small_disk if full else None)  # fmt: skip

    failed = mysafe("attach", str(big), full=True)
    assert failed.returncode == 1 and "Added" not in failed.stderr
    assert "Traceback" not in failed.stderr
    assert mysafe("get", "GitHub", full=False).stdout == "gh-pw\n"
    assert "backup.bin" not in mysafe("list", full=False).stdout
    assert mysafe("attach", str(big), full=False).returncode == 0
    out = tmp_path / "out.bin"
    assert mysafe("save", "backup.bin", str(out), full=False).returncode == 0
    assert out.read_bytes() == big.read_bytes()

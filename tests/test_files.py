"""Files in the vault: streamed with flat memory, and every chunk manipulation refused."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import PASSPHRASE
from mysafe_tui.core import errors
from mysafe_tui.vault.vault import Vault

MEMORY_CHILD = textwrap.dedent(
    """
    import hashlib, json, os, resource, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from conftest import FLOOR, PASSPHRASE
    from mysafe_tui.core.crypto import CHUNK_SIZE
    from mysafe_tui.system.disk import write_chunks_atomic
    from mysafe_tui.vault.vault import Vault

    folder = Path(sys.argv[1])
    size = int(sys.argv[3])
    source = folder / "big.bin"
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(source, "wb") as out:
        for i in range(size >> 20):
            chunk = i.to_bytes(8, "big") + block[8:]
            digest.update(chunk)
            out.write(chunk)
    v = Vault.create(folder / "v.mysafe", PASSPHRASE, params=FLOOR)
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    baseline = rss()
    def chunks():
        with open(source, "rb") as handle:
            while data := handle.read(CHUNK_SIZE):
                yield data
    item = v.save_file({"name": "big", "file_name": "big.bin", "size": size}, {}, chunks())
    source.unlink()
    back = hashlib.sha256()
    def tee():
        for data in v.read_file(item.id):
            back.update(data)
            yield data
    write_chunks_atomic(folder / "out.bin", tee())
    print(json.dumps({"growth": rss() - baseline, "same": back.digest() == digest.digest(),
                      "size": (folder / "out.bin").stat().st_size}))
    """
)


@pytest.mark.slow
def test_200_mib_file_round_trips_with_flat_memory(tmp_path: Path) -> None:
    size = 200 << 20
    tests_dir = str(Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(tmp_path), tests_dir, str(size)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout)
    assert result["same"] and result["size"] == size
    assert result["growth"] < 64 << 20, f"peak memory grew by {result['growth'] >> 20} MiB"


def _file_item(vault: Vault, parts: int = 4) -> tuple[str, str]:
    data = [bytes([i]) * 70_000 for i in range(parts)]  # > 64 KiB each: several chunks
    item = vault.save_file({"name": "f", "file_name": "f.bin"}, {}, iter(data))
    return item.id, b"".join(data).hex()


def _chunks(path: Path, item_id: str) -> list[tuple[str, int, bytes]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT file_id, seq, data FROM chunks WHERE item_id = ? ORDER BY seq", (item_id,)
    ).fetchall()
    conn.close()
    return rows


def _tamper(path: Path, statement: str, *args: object) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement, args)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("attack", ["truncate", "reorder", "duplicate", "flip"])
def test_tampered_file_content_is_refused_and_nothing_is_written(
    vault: Vault, vault_path: Path, tmp_path: Path, attack: str
) -> None:
    item_id, _ = _file_item(vault)
    rows = _chunks(vault_path, item_id)
    file_id, last_seq = rows[-1][0], rows[-1][1]
    if attack == "truncate":
        _tamper(vault_path, "DELETE FROM chunks WHERE item_id = ? AND seq = ?", item_id, last_seq)
    elif attack == "reorder":
        _tamper(vault_path, "UPDATE chunks SET data = ? WHERE item_id = ? AND seq = 1",
                rows[2][2], item_id)  # fmt: skip
        _tamper(vault_path, "UPDATE chunks SET data = ? WHERE item_id = ? AND seq = 2",
                rows[1][2], item_id)  # fmt: skip
    elif attack == "duplicate":
        _tamper(vault_path, "INSERT INTO chunks VALUES (?, ?, ?, ?)",
                item_id, file_id, last_seq + 1, rows[-1][2])  # fmt: skip
    else:
        data = bytearray(rows[1][2])
        data[100] ^= 0x40
        _tamper(vault_path, "UPDATE chunks SET data = ? WHERE item_id = ? AND seq = 1",
                bytes(data), item_id)  # fmt: skip
    target = tmp_path / "restored.bin"
    from mysafe_tui.system.disk import write_chunks_atomic

    with pytest.raises(errors.CorruptRecord, match="file content is damaged"):
        write_chunks_atomic(target, vault.read_file(item_id))
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".restored")] == []


def test_replacing_content_removes_the_old_chunks(vault: Vault, vault_path: Path) -> None:
    item_id, _ = _file_item(vault)
    vault.save_file({"name": "f", "file_name": "g.bin"}, {}, iter([b"new"]), item_id=item_id)
    assert b"".join(vault.read_file(item_id)) == b"new"
    assert len(_chunks(vault_path, item_id)) == 1
    vault.purge(item_id)
    assert _chunks(vault_path, item_id) == []


def test_file_survives_reopen(vault: Vault, vault_path: Path) -> None:
    item_id, content = _file_item(vault, parts=3)
    vault.close()
    v = Vault.open(vault_path)
    v.unlock(PASSPHRASE)
    assert b"".join(v.read_file(item_id)).hex() == content
    v.close()

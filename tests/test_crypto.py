"""Primitives: RFC 9106 Argon2id, AEAD nonce rules, associated data, KDF bounds, STREAM."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mysafe_tui.core import crypto
from mysafe_tui.core.crypto import Aead, AuthenticationFailed, associated_data
from mysafe_tui.core.errors import KdfParamsRejected
from mysafe_tui.core.kdf import KdfParams


def test_argon2id_matches_rfc9106_test_vector() -> None:
    # RFC 9106 §5.3: Argon2id, t=3, m=32 KiB, p=4, with secret and associated data.
    tag = crypto.argon2id(
        b"\x01" * 32,
        b"\x02" * 16,
        memory_kib=32,
        iterations=3,
        lanes=4,
        secret=b"\x03" * 8,
        ad=b"\x04" * 12,
    )
    assert tag.hex() == "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"


@pytest.mark.parametrize("length", [0, 8, 11, 13, 16, 24])
def test_aead_rejects_nonces_that_are_not_12_bytes(length: int) -> None:
    aead = Aead(b"k" * 32)
    with pytest.raises(ValueError, match="12 bytes"):
        aead.seal_with_nonce(b"n" * length, b"data", b"")
    with pytest.raises(ValueError, match="12 bytes"):
        aead.open_with_nonce(b"n" * length, b"x" * 32, b"")


def test_aead_round_trip_and_wrong_associated_data() -> None:
    aead = Aead(b"k" * 32)
    blob = aead.seal(b"secret", b"ad-1")
    assert aead.open(blob, b"ad-1") == b"secret"
    with pytest.raises(AuthenticationFailed):
        aead.open(blob, b"ad-2")
    assert aead.seal(b"secret", b"ad-1") != blob  # fresh random nonce every time


def test_associated_data_is_length_prefixed() -> None:
    assert associated_data("ab", "c") != associated_data("a", "bc")
    assert associated_data("a", 1) != associated_data("a", "1")
    assert associated_data("x", "y", "z") == associated_data("x") + associated_data("y", "z")


@pytest.mark.parametrize(
    "params",
    [
        KdfParams(19455, 3, 4, b"s" * 16),  # memory below the floor
        KdfParams(1024 * 1024 + 1, 3, 4, b"s" * 16),  # over 1 GiB
        KdfParams(65536, 1, 4, b"s" * 16),  # too few passes
        KdfParams(65536, 11, 4, b"s" * 16),  # too many
        KdfParams(65536, 3, 17, b"s" * 16),  # too many lanes
        KdfParams(65536, 3, 4, b"s" * 8),  # short salt
    ],
)
def test_kdf_parameters_outside_bounds_are_refused_before_deriving(
    params: KdfParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(crypto, "argon2id", lambda *a, **k: calls.append(a))
    with pytest.raises(KdfParamsRejected):
        crypto.derive_passphrase_key("pw", params)
    assert calls == []


def _encrypt(parts: list[bytes]) -> list[bytes]:
    return list(crypto.encrypt_chunks(b"f" * 32, "file-1", iter(parts)))


def _decrypt(chunks: list[bytes], file_id: str = "file-1") -> bytes:
    return b"".join(crypto.decrypt_chunks(b"f" * 32, file_id, iter(chunks)))


chunk_lists = st.lists(st.binary(min_size=1, max_size=64), min_size=2, max_size=8)


@given(chunk_lists)
def test_stream_round_trip(parts: list[bytes]) -> None:
    assert _decrypt(_encrypt(parts)) == b"".join(parts)


@given(chunk_lists, st.data())
@settings(max_examples=60)
def test_stream_rejects_truncation(parts: list[bytes], data: st.DataObject) -> None:
    chunks = _encrypt(parts)
    keep = data.draw(st.integers(min_value=0, max_value=len(chunks) - 1))
    with pytest.raises(AuthenticationFailed):
        _decrypt(chunks[:keep])


@given(chunk_lists, st.data())
@settings(max_examples=60)
def test_stream_rejects_reordering_and_duplicates(parts: list[bytes], data: st.DataObject) -> None:
    chunks = _encrypt(parts)
    i = data.draw(st.integers(min_value=0, max_value=len(chunks) - 1))
    j = data.draw(st.integers(min_value=0, max_value=len(chunks) - 1).filter(lambda x: x != i))
    swapped = list(chunks)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    with pytest.raises(AuthenticationFailed):
        _decrypt(swapped)
    duplicated = [*chunks[: i + 1], chunks[i], *chunks[i + 1 :]]
    with pytest.raises(AuthenticationFailed):
        _decrypt(duplicated)


def test_stream_chunks_are_bound_to_their_file() -> None:
    chunks = _encrypt([b"a", b"b"])
    with pytest.raises(AuthenticationFailed):
        _decrypt(chunks, file_id="file-2")


def test_empty_file_is_one_authenticated_last_chunk() -> None:
    chunks = list(crypto.encrypt_chunks(b"f" * 32, "f", iter([])))
    assert len(chunks) == 1
    assert _decrypt(chunks, "f") == b""
    with pytest.raises(AuthenticationFailed):
        _decrypt([], "f")

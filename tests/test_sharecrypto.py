"""Share-link crypto: pinned vectors (also checked in the browser), links, payload framing."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.sharecrypto import (
    ShareLink,
    SharePayload,
    derive,
    new_share_id,
    open_sealed,
    seal,
    unb64url,
)

VECTORS = json.loads((Path(__file__).parent / "share_vectors.json").read_text())


@pytest.mark.parametrize("vector", VECTORS, ids=["no-password", "password"])
def test_vectors_match_an_independent_derivation(vector: dict) -> None:
    """Re-derive with raw primitives (hashlib PBKDF2, HKDF, AES-GCM), not through our module."""
    share_id, key = vector["share_id"], unb64url(vector["key"])
    master = key
    if vector["password"]:
        master += hashlib.pbkdf2_hmac(
            "sha256", vector["password"].encode(), unb64url(vector["kdf_salt"]), 600_000
        )

    def hkdf(info: str) -> bytes:
        return HKDF(hashes.SHA256(), 32, salt=b"", info=info.encode()).derive(master)

    enc = hkdf(f"mysafe/share/v1/enc|{share_id}")
    assert enc.hex() == vector["encryption_key"]
    assert hkdf(f"mysafe/share/v1/proof|{share_id}").hex() == vector["proof"]
    # The holder proof comes from the key alone, whatever the password.
    info = f"mysafe/share/v1/holder|{share_id}".encode()
    holder = HKDF(hashes.SHA256(), 32, salt=b"", info=info).derive(key)
    assert holder.hex() == vector["holder"]
    assert hashlib.sha256(holder).hexdigest() == vector["holder_hash"]
    label, sid = b"mysafe/share/v1", share_id.encode()
    ad = len(label).to_bytes(4, "big") + label + len(sid).to_bytes(4, "big") + sid
    nonce = bytes.fromhex(vector["nonce"])
    expected = nonce + AESGCM(enc).encrypt(nonce, bytes.fromhex(vector["payload"]), ad)
    assert expected.hex() == vector["sealed"]

    keys = derive(share_id, key, vector["password"], unb64url(vector["kdf_salt"]) or None)
    assert (keys.proof.hex(), keys.holder.hex()) == (vector["proof"], vector["holder"])
    assert unb64url(keys.proof_hashes()["holder_proof_hash"]).hex() == vector["holder_hash"]
    assert seal(bytes.fromhex(vector["payload"]), share_id, keys, nonce).hex() == vector["sealed"]
    payload = SharePayload.decode(open_sealed(bytes.fromhex(vector["sealed"]), share_id, keys))
    assert payload.title == "Vector" and payload.fields[0]["value"] == "héllo"


def test_wrong_password_wrong_id_or_tampering_fail_cleanly() -> None:
    share_id, key, salt = new_share_id(), os.urandom(32), os.urandom(16)
    keys = derive(share_id, key, "right", salt)
    blob = seal(
        SharePayload("note", "t", [{"label": "Note", "value": "x"}]).encode(), share_id, keys
    )
    assert SharePayload.decode(open_sealed(blob, share_id, keys)).title == "t"
    for other_id, other_keys, data in (
        (share_id, derive(share_id, key, "wrong", salt), blob),
        (new_share_id(), keys, blob),
        (share_id, keys, blob[:-1] + bytes([blob[-1] ^ 1])),
    ):
        with pytest.raises(InvalidInput, match="could not be decrypted"):
            open_sealed(data, other_id, other_keys)


def test_file_payload_keeps_raw_bytes() -> None:
    content = os.urandom(100_000)
    payload = SharePayload("file", "scan", [], "scan.pdf", "application/pdf", content)
    back = SharePayload.decode(payload.encode())
    assert (back.file_name, back.media_type, back.content) == (
        "scan.pdf",
        "application/pdf",
        content,
    )


def test_links_parse_and_never_show_their_key() -> None:
    link = ShareLink("https://vault.example.com", new_share_id(), os.urandom(32))
    parsed = ShareLink.parse(str(link))
    assert parsed == link
    assert str(link).startswith("https://vault.example.com/s/")
    assert link.share_id not in repr(link) and str(link).split("#")[1] not in repr(link)
    with pytest.raises(InvalidInput, match="no key"):
        ShareLink.parse(str(link).split("#")[0])
    with pytest.raises(InvalidInput, match="not a share link"):
        ShareLink.parse("ftp://x/y")
    with pytest.raises(InvalidInput, match="damaged"):
        ShareLink.parse(str(link)[:-5])

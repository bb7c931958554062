"""SSH keys as the vault keeps them (core/sshkeys.py): made, read, described and signing as an
agent does, each signature checked with the public key alone."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from mysafe_tui.core import sshkeys
from mysafe_tui.core.errors import InvalidInput


def fields(blob: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(blob):
        (size,) = struct.unpack_from(">I", blob, at)
        out.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
    return out


def verify(public_line: str, data: bytes, signature: bytes) -> str:
    """The algorithm a signature names, once the public key has checked it (raises if not)."""
    key = serialization.load_ssh_public_key(public_line.encode())
    algorithm, raw = fields(signature)
    if algorithm == b"ssh-ed25519":
        key.verify(raw, data)  # type: ignore[call-arg, union-attr]
    elif algorithm.startswith(b"rsa-sha2-"):
        hash_ = hashes.SHA512() if algorithm.endswith(b"512") else hashes.SHA256()
        key.verify(raw, data, padding.PKCS1v15(), hash_)  # type: ignore[call-arg, union-attr]
    else:
        r, s = (int.from_bytes(v, "big") for v in fields(raw))
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))  # type: ignore
    return algorithm.decode()


@pytest.mark.parametrize(
    ("key_type", "flags", "algorithm"),
    [
        ("ed25519", 0, "ssh-ed25519"),
        ("rsa", sshkeys.RSA_SHA2_256, "rsa-sha2-256"),
        ("rsa", sshkeys.RSA_SHA2_512, "rsa-sha2-512"),
        ("ecdsa", 0, "ecdsa-sha2-nistp256"),
    ],
)
def test_a_made_key_signs_as_an_agent_does(key_type: str, flags: int, algorithm: str) -> None:
    private = sshkeys.generate(key_type)
    assert private.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    shown = sshkeys.describe(private, "me@host")
    assert shown.public.endswith(" me@host")
    assert base64.b64decode(shown.public.split()[1]) == shown.blob
    assert verify(shown.public, b"challenge", sshkeys.sign(private, b"challenge", flags)) == (
        algorithm
    )


def test_an_rsa_signature_with_sha1_is_refused() -> None:
    with pytest.raises(InvalidInput, match="SHA-1"):
        sshkeys.sign(sshkeys.generate("rsa"), b"challenge", 0)


def test_a_key_file_is_read_once_its_passphrase_is_given() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase"),
    )
    with pytest.raises(sshkeys.NeedsPassphrase):
        sshkeys.read(locked)
    with pytest.raises(InvalidInput, match="wrong passphrase"):
        sshkeys.read(locked, "not it")
    private = sshkeys.read(locked, "pass phrase")  # kept unencrypted: the vault encrypts it
    assert "ENCRYPTED" not in private
    shown = sshkeys.describe(private)
    assert shown.key_type == "ecdsa-sha2-nistp384"
    verify_line = shown.public
    signature = sshkeys.sign(private, b"data")
    algorithm, raw = fields(signature)
    assert algorithm == b"ecdsa-sha2-nistp384"
    r, s = (int.from_bytes(v, "big") for v in fields(raw))
    loaded = serialization.load_ssh_public_key(verify_line.encode())
    loaded.verify(encode_dss_signature(r, s), b"data", ec.ECDSA(hashes.SHA384()))  # type: ignore


@pytest.mark.parametrize("data", [b"", b"not a key", b"-----BEGIN OPENSSH PRIVATE KEY-----\nxx"])
def test_what_is_not_a_key_is_one_sentence(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        sshkeys.read(data)


def test_a_file_too_large_to_be_a_key_is_not_parsed() -> None:
    with pytest.raises(InvalidInput, match="too large"):
        sshkeys.read(b"A" * (sshkeys.MAX_KEY_TEXT + 1))


@pytest.mark.parametrize(
    ("key_type", "flags"), [("ed25519", 0), ("rsa", 2), ("rsa", 4), ("ecdsa", 0)]
)
def test_a_hosts_signature_is_checked_with_its_public_key_alone(key_type: str, flags: int) -> None:
    host, other = sshkeys.generate(key_type), sshkeys.generate(key_type)
    blob = sshkeys.describe(host).blob
    signature = sshkeys.sign(host, b"session id", flags)
    assert sshkeys.verify(blob, signature, b"session id")
    assert not sshkeys.verify(blob, signature, b"another session")
    assert not sshkeys.verify(sshkeys.describe(other).blob, signature, b"session id")
    name, raw = fields(signature)
    flipped = bytes([raw[0] ^ 1]) + raw[1:]
    forged = struct.pack(">I", len(name)) + name + struct.pack(">I", len(raw)) + flipped
    assert not sshkeys.verify(blob, forged, b"session id")
    for junk in (b"", b"\x00\x00\x00\xff", signature[:-3]):
        assert not sshkeys.verify(blob, junk, b"session id")
    assert not sshkeys.verify(b"\x00\x00\x00\x07ssh-foo", signature, b"session id")


class Bindings:
    """The SSH agent's per-connection session binding (agent/ssh.py), message by message."""

    def __init__(self) -> None:
        from mysafe_tui.agent import ssh

        self.ssh = ssh
        self.relay = ssh.Relay("default")
        self.asked: list[dict[str, object]] = []
        self.relay.ask = lambda op, client, **f: self.asked.append(f) or None  # type: ignore
        self.conn = ssh.Connection(self.relay, None, 0)  # type: ignore[arg-type]

    def bind(self, host: str, session: bytes, forwarding: bool, signature: bytes | None = None
             ) -> bool:  # fmt: skip
        s = self.ssh.string
        signed = signature if signature is not None else sshkeys.sign(host, session)
        body = s(self.ssh.SESSION_BIND) + s(sshkeys.describe(host).blob) + s(session)
        body += s(signed) + bytes([forwarding])
        answer = self.conn.answer(self.ssh.EXTENSION, self.ssh.Reader(body))
        return answer[4] == self.ssh.SUCCESS

    def sign(self, data: bytes) -> None:
        s = self.ssh.string
        body = s(b"key blob") + s(data) + struct.pack(">I", 0)
        self.conn.answer(self.ssh.SIGN_REQUEST, self.ssh.Reader(body))


def login(session: bytes) -> bytes:
    s = sshkeys._string
    return s(session) + bytes([50]) + s(b"me") + s(b"ssh-connection") + s(b"publickey") + b"\1"


def test_a_session_binding_is_checked_as_openssh_checks_it() -> None:
    host, other = sshkeys.generate(), sshkeys.generate()
    b = Bindings()
    assert not b.bind(host, b"s1", True, signature=sshkeys.sign(other, b"s1"))  # forged
    assert b.conn.hosts == [] and not b.conn.forwarded
    assert b.bind(host, b"s1", True) and b.conn.forwarded
    assert b.bind(host, b"s1", True)  # said again: taken, recorded once
    assert not b.bind(other, b"s1", True)  # one session id, another host key
    assert not b.bind(host, b"x" * 129, True)  # longer than any session id
    assert b.bind(other, b"s2", False) and len(b.conn.hosts) == 2
    assert not b.bind(host, b"s3", True)  # bound for a login: nothing more binds
    # A login signature must be for the session bound last; other data is not a login.
    b.sign(login(b"s1"))
    assert b.asked == []
    b.sign(login(b"s2"))
    b.sign(b"SSHSIG anything")
    assert len(b.asked) == 2 and all(a["forwarded"] for a in b.asked)


def test_at_most_sixteen_bindings_a_connection() -> None:
    host = sshkeys.generate()
    b = Bindings()
    assert all(b.bind(host, f"s{i}".encode(), True) for i in range(16))
    assert not b.bind(host, b"s16", True)

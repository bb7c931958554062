"""SSH keys as the vault keeps them: generated or read (OpenSSH, PEM, PKCS#8) with
`cryptography`, written as unencrypted OpenSSH text (the vault encrypts it), described by
their public line and SHA256 fingerprint, and signing as ssh-agent does (PROTOCOL.agent:
ed25519, rsa-sha2-256/512 and ecdsa-sha2-nistp256/384/521; never SHA-1).

No key parsing is written here by hand: only the agent protocol's own framing of a public
key blob and a signature (RFC 4251 strings and mpints).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from mysafe_tui.core.errors import InvalidInput

KEY_TYPES = ("ed25519", "rsa", "ecdsa")
RSA_BITS = 3072  # ssh-keygen's default
MAX_KEY_TEXT = 64 * 1024  # a 16k-bit RSA key in PEM is ~13 KiB
# SSH_AGENTC_SIGN_REQUEST flags (PROTOCOL.agent).
RSA_SHA2_256 = 2
RSA_SHA2_512 = 4


def _curves() -> dict[int, tuple[str, Any]]:
    from cryptography.hazmat.primitives import hashes

    return {
        256: ("nistp256", hashes.SHA256()),
        384: ("nistp384", hashes.SHA384()),
        521: ("nistp521", hashes.SHA512()),
    }


class NeedsPassphrase(InvalidInput):
    """The key file is encrypted: ask for its passphrase and read it again."""


@dataclass(frozen=True)
class Described:
    """What is shown of a key: never the private part."""

    key_type: str  # "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ...
    public: str  # the authorized_keys line (type, base64 blob, comment)
    fingerprint: str  # "SHA256:..." as ssh-keygen -l prints it
    blob: bytes  # the public key in the agent protocol's form


def generate(key_type: str = "ed25519") -> str:
    """A new private key as OpenSSH text."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key: Any
    if key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    elif key_type == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise InvalidInput(f"unknown key type {key_type!r}: {', '.join(KEY_TYPES)}")
    return _openssh_text(key)


def read(data: bytes, passphrase: str | None = None) -> str:
    """A private key file (OpenSSH, or PEM: PKCS#1, SEC1, PKCS#8), encrypted or not, as
    unencrypted OpenSSH text. NeedsPassphrase for an encrypted one without `passphrase`."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    if len(data) > MAX_KEY_TEXT:
        raise InvalidInput("that file is too large to be an SSH private key")
    password = passphrase.encode() if passphrase is not None else None
    loader = (
        serialization.load_ssh_private_key
        if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data
        else serialization.load_pem_private_key
    )
    try:
        key = loader(data, password)
    except TypeError:  # encrypted and no password, or a password for a plain key
        if password is None:
            raise NeedsPassphrase("that key is protected by a passphrase") from None
        key = loader(data, None)
    except ValueError:
        if password is not None:
            raise InvalidInput("wrong passphrase for that key (or the key is damaged)") from None
        raise InvalidInput("that is not an SSH private key mysafe can read") from None
    except UnsupportedAlgorithm:
        raise InvalidInput("that key's type is not one mysafe can use") from None
    return _openssh_text(key)


def describe(private_text: str, comment: str = "") -> Described:
    """The public line, fingerprint and type of a key kept as OpenSSH text."""
    from cryptography.hazmat.primitives import serialization

    public = _load(private_text).public_key()
    line = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    key_type, encoded = line.split(" ", 1)
    blob = base64.b64decode(encoded)
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    shown = f"{line} {comment}" if comment else line
    return Described(key_type, shown, f"SHA256:{digest}", blob)


def sign(private_text: str, data: bytes, flags: int = 0) -> bytes:
    """A signature of `data` as an agent returns it (string algorithm, string signature).
    InvalidInput for what this agent will not sign (an RSA signature with SHA-1)."""
    return Signer(private_text).sign(data, flags)


class Signer:
    """A key read once, to sign many times (the unlock agent keeps one per key in use while
    it is unlocked, as ssh-agent keeps its keys)."""

    def __init__(self, private_text: str) -> None:
        self._key = _load(private_text)

    def sign(self, data: bytes, flags: int = 0) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return _string(b"ssh-ed25519") + _string(key.sign(data))
        if isinstance(key, rsa.RSAPrivateKey):
            hash_: hashes.HashAlgorithm
            if flags & RSA_SHA2_512:
                name, hash_ = b"rsa-sha2-512", hashes.SHA512()
            elif flags & RSA_SHA2_256:
                name, hash_ = b"rsa-sha2-256", hashes.SHA256()
            else:
                raise InvalidInput("an RSA signature with SHA-1 (ssh-rsa) was asked for: refused")
            return _string(name) + _string(key.sign(data, padding.PKCS1v15(), hash_))
        if isinstance(key, ec.EllipticCurvePrivateKey):
            curve, hash_ = _curves()[key.curve.key_size]
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_)))
            return _string(f"ecdsa-sha2-{curve}".encode()) + _string(_mpint(r) + _mpint(s))
        raise InvalidInput("that key's type is not one mysafe can use")


def verify(public_blob: bytes, signature: bytes, data: bytes) -> bool:
    """Whether `signature` (string algorithm, string signature, as an agent or a host sends
    it) is `public_blob`'s signature of `data`: how a host's proof of a session id is checked
    (`session-bind@openssh.com`). Any key or signature that does not parse is False."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    try:
        name, body = _strings(signature, 2)
        key_type = _strings(public_blob, 1)[0]
        line = key_type + b" " + base64.b64encode(public_blob)
        key = serialization.load_ssh_public_key(line)
        if isinstance(key, ed25519.Ed25519PublicKey) and name == b"ssh-ed25519":
            key.verify(body, data)
        elif isinstance(key, rsa.RSAPublicKey):
            hash_ = {b"rsa-sha2-256": hashes.SHA256(), b"rsa-sha2-512": hashes.SHA512()}.get(
                name,
                hashes.SHA1(),  # an old server's ssh-rsa: checked as it was made
            )
            if name not in (b"rsa-sha2-256", b"rsa-sha2-512", b"ssh-rsa"):
                return False
            key.verify(body, data, padding.PKCS1v15(), hash_)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            curve, ec_hash = _curves()[key.curve.key_size]
            if name != f"ecdsa-sha2-{curve}".encode():
                return False
            r, s = (int.from_bytes(v, "big") for v in _strings(body, 2))
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(ec_hash))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, InvalidInput, ValueError, TypeError, KeyError):
        return False
    return True


def _strings(data: bytes, count: int) -> list[bytes]:
    """The first `count` RFC 4251 strings of `data` (InvalidInput when it is shorter)."""
    out, at = [], 0
    for _ in range(count):
        if at + 4 > len(data):
            raise InvalidInput("a short SSH message")
        (size,) = struct.unpack_from(">I", data, at)
        if at + 4 + size > len(data):
            raise InvalidInput("a short SSH message")
        out.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return out


def _load(private_text: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_ssh_private_key(private_text.encode(), None)
    except (TypeError, ValueError):
        raise InvalidInput("the private key is not an unencrypted OpenSSH key") from None


def _openssh_text(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b""
    return _string(raw)

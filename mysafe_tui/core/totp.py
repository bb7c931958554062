"""Time-based one-time passwords (RFC 6238 over RFC 4226), and otpauth:// URIs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
import urllib.parse
from dataclasses import dataclass

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.models import TotpCode

_ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


@dataclass(frozen=True)
class TotpSpec:
    """A TOTP configuration: the secret key and how codes are made from it."""

    key: bytes
    digits: int = 6
    period: int = 30
    algorithm: str = "SHA1"


def parse_seed(seed: str) -> TotpSpec:
    """A base32 seed (spaces and case ignored) or an `otpauth://totp/...` URI."""
    text = seed.strip()
    if text.lower().startswith("otpauth://"):
        return _parse_uri(text)
    return TotpSpec(_decode_base32(text))


def _decode_base32(text: str) -> bytes:
    cleaned = text.replace(" ", "").replace("-", "").upper().rstrip("=")
    if not cleaned:
        raise InvalidInput("the TOTP seed is empty")
    try:
        return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except ValueError:
        raise InvalidInput(
            "the TOTP seed is not valid base32 (letters A-Z and digits 2-7)"
        ) from None


def _parse_uri(uri: str) -> TotpSpec:
    parsed = urllib.parse.urlparse(uri)
    if parsed.netloc.lower() != "totp":
        raise InvalidInput("only time-based (otpauth://totp/) one-time passwords are supported")
    query = {k.lower(): v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
    if "secret" not in query:
        raise InvalidInput("the otpauth URI has no secret")
    algorithm = query.get("algorithm", "SHA1").upper()
    try:
        digits = int(query.get("digits", "6"))
        period = int(query.get("period", "30"))
    except ValueError:
        raise InvalidInput("the otpauth URI has a non-numeric digits or period") from None
    spec = TotpSpec(_decode_base32(query["secret"]), digits, period, algorithm)
    validate(spec)
    return spec


def validate(spec: TotpSpec) -> None:
    if spec.algorithm not in _ALGORITHMS:
        raise InvalidInput(f"unsupported TOTP algorithm {spec.algorithm} (SHA1, SHA256, SHA512)")
    if not 6 <= spec.digits <= 8:
        raise InvalidInput("TOTP codes have 6 to 8 digits")
    if not 1 <= spec.period <= 300:
        raise InvalidInput("the TOTP period must be 1 to 300 seconds")


def hotp(key: bytes, counter: int, digits: int = 6, algorithm: str = "SHA1") -> str:
    """RFC 4226 HOTP value for one counter."""
    digest = hmac.new(key, struct.pack(">Q", counter), _ALGORITHMS[algorithm]).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def totp(spec: TotpSpec, at: float | None = None) -> TotpCode:
    """The code valid at `at` (default: now) and the whole seconds it stays valid."""
    validate(spec)
    now = time.time() if at is None else at
    counter = int(now // spec.period)
    left = spec.period - int(now % spec.period)
    return TotpCode(hotp(spec.key, counter, spec.digits, spec.algorithm), left, spec.period)

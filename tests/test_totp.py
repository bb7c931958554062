"""RFC 6238 Appendix B vectors, otpauth URIs, and clear errors for bad seeds."""

from __future__ import annotations

import base64

import pytest

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.totp import TotpSpec, parse_seed, totp

SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc6238_vectors(at: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        spec = TotpSpec(SEEDS[algorithm], digits=8, algorithm=algorithm)
        assert totp(spec, at).code == expected


def test_seconds_left_counts_down_within_the_period() -> None:
    spec = TotpSpec(SEEDS["SHA1"])
    assert totp(spec, 60).seconds_left == 30
    assert totp(spec, 89).seconds_left == 1
    assert len(totp(spec, 89).code) == 6


def test_base32_seed_with_spaces_and_lower_case() -> None:
    seed = base64.b32encode(SEEDS["SHA1"]).decode().lower()
    spaced = " ".join(seed[i : i + 4] for i in range(0, len(seed), 4))
    assert parse_seed(spaced).key == SEEDS["SHA1"]


def test_otpauth_uri() -> None:
    secret = base64.b32encode(SEEDS["SHA256"]).decode().rstrip("=")
    uri = f"otpauth://totp/ACME:alice?secret={secret}&algorithm=SHA256&digits=8&period=30"
    spec = parse_seed(uri)
    assert (spec.algorithm, spec.digits, spec.period) == ("SHA256", 8, 30)
    assert totp(spec, 59).code == "46119246"


@pytest.mark.parametrize(
    "seed",
    ["", "not base32!", "otpauth://hotp/x?secret=JBSWY3DP", "otpauth://totp/x?digits=6",
     "otpauth://totp/x?secret=JBSWY3DP&digits=9", "otpauth://totp/x?secret=JBSWY3DP&algorithm=MD5"],
)  # fmt: skip
def test_bad_seeds_give_a_clear_error(seed: str) -> None:
    with pytest.raises(InvalidInput):
        spec = parse_seed(seed)
        totp(spec, 0)

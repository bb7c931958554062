"""Password and passphrase generation, and a strength estimate.

Everything random comes from `secrets`. Passphrases are made of pronounceable invented words
(consonant-vowel syllables), whose entropy is exact and needs no bundled word list.
"""

from __future__ import annotations

import math
import re
import secrets
import string

from .errors import InvalidInput
from .models import Strength

AMBIGUOUS = set("Il1O0o|`'\"")
SYMBOLS = "!#$%&*+-.:=?@^_~"
_CONSONANTS = "bdfghjklmnprstvz"
_VOWELS = "aeiou"

# The most common passwords' stems: a password built on one is weak whatever its length.
_COMMON = (
    "password", "passw0rd", "123456", "qwerty", "letmein", "welcome", "admin", "iloveyou",
    "monkey", "dragon", "master", "login", "abc123", "football", "baseball", "sunshine",
    "princess", "trustno1", "secret", "shadow", "superman", "michael", "mysafe",
)  # fmt: skip
_LABELS = ("very weak", "weak", "fair", "good", "strong")


def generate_password(
    length: int = 20,
    *,
    lower: bool = True,
    upper: bool = True,
    digits: bool = True,
    symbols: bool = True,
    avoid_ambiguous: bool = True,
) -> str:
    """A random password with at least one character from each chosen class."""
    if not 8 <= length <= 256:
        raise InvalidInput("password length must be between 8 and 256")
    classes = [
        chars
        for enabled, chars in (
            (lower, string.ascii_lowercase),
            (upper, string.ascii_uppercase),
            (digits, string.digits),
            (symbols, SYMBOLS),
        )
        if enabled
    ]
    if not classes:
        raise InvalidInput("choose at least one character class")
    if avoid_ambiguous:
        classes = ["".join(c for c in chars if c not in AMBIGUOUS) for chars in classes]
    alphabet = "".join(classes)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(c in chars for c in candidate) for chars in classes):
            return candidate


def generate_passphrase(words: int = 5, separator: str = "-", capitalize: bool = True) -> str:
    """Words of three random consonant-vowel syllables, plus one digit: ~20 bits per word."""
    if not 3 <= words <= 20:
        raise InvalidInput("a passphrase has between 3 and 20 words")
    made = []
    for _ in range(words):
        word = "".join(secrets.choice(_CONSONANTS) + secrets.choice(_VOWELS) for _ in range(3))
        made.append(word.capitalize() if capitalize else word)
    made[secrets.randbelow(words)] += str(secrets.randbelow(10))
    return separator.join(made)


def passphrase_bits(words: int) -> float:
    return words * 3 * math.log2(len(_CONSONANTS) * len(_VOWELS)) + math.log2(10 * words)


def estimate_strength(secret: str) -> Strength:
    """A conservative estimate: character-pool entropy minus penalties for common patterns."""
    if not secret:
        return Strength(0, 0.0, _LABELS[0], ("empty",))
    pool = 0
    for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        if any(c in chars for c in secret):
            pool += len(chars)
    if any(not c.isalnum() for c in secret):
        pool += 33
    # Runs of one character and keyboard or alphabet sequences add almost nothing.
    effective = len(re.sub(r"(.)\1+", r"\1", secret))
    effective -= _sequence_chars(secret)
    bits = max(effective, 1) * math.log2(max(pool, 2))
    warnings: list[str] = []
    lowered = secret.lower()
    for word in _COMMON:
        if word in lowered:
            bits = min(bits, 10.0 + (len(secret) - len(word)) * 2)
            warnings.append("contains a very common password")
            break
    if len(secret) < 8:
        warnings.append("shorter than 8 characters")
    score = 0 if bits < 28 else 1 if bits < 40 else 2 if bits < 60 else 3 if bits < 80 else 4
    return Strength(score, round(bits, 1), _LABELS[score], tuple(warnings))


def _sequence_chars(secret: str) -> int:
    """Characters that continue an ascending or descending run (abc, 321)."""
    count = 0
    for a, b, c in zip(secret, secret[1:], secret[2:], strict=False):
        if ord(b) - ord(a) == ord(c) - ord(b) and abs(ord(b) - ord(a)) == 1:
            count += 1
    return count

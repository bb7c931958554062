"""Password and passphrase generation, and a strength estimate (zxcvbn).

Everything random comes from `secrets`. Passphrases are made of pronounceable invented words
(consonant-vowel syllables), whose entropy is exact and needs no bundled word list.
"""

from __future__ import annotations

import math
import secrets
import string
from collections.abc import Sequence

from mysafe_tui.core.errors import InvalidInput
from mysafe_tui.core.models import Strength

AMBIGUOUS = set("Il1O0o|`'\"")
SYMBOLS = "!#$%&*+-.:=?@^_~"
_CONSONANTS = "bdfghjklmnprstvz"
_VOWELS = "aeiou"

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


TOO_SHORT = "shorter than 8 characters"  # ours, after zxcvbn's own warning
# zxcvbn refuses longer input (its matching is quadratic); 72 characters rated are plenty.
_RATED_LENGTH = 72


def estimate_strength(secret: str) -> Strength:
    """zxcvbn's estimate (Dropbox's, well kept): dictionary words, names, dates, keyboard walks
    and l33t substitutions count for what they are, so `P@ssw0rd123` rates weak. Its warning
    and suggestions come along, to be shown as they are."""
    if not secret:
        return Strength(0, 0.0, _LABELS[0], ("empty",))
    from zxcvbn import zxcvbn  # ~20 ms: only when something is rated

    result = zxcvbn(secret[:_RATED_LENGTH], max_length=_RATED_LENGTH)
    score = int(result["score"])
    feedback = result["feedback"]
    warnings = tuple(text for text in [feedback.get("warning")] if text)
    if len(secret) < 8:
        warnings += (TOO_SHORT,)
    bits = round(float(result["guesses_log10"]) * math.log2(10), 1)
    return Strength(score, bits, _LABELS[score], warnings, tuple(feedback.get("suggestions", ())))


def rate_all(secrets: Sequence[str]) -> list[tuple[int, str]]:
    """(score, what the estimator says) for each secret: its warning, else its first
    suggestion; never our note on the length, so that a report says nothing of a password's
    size. Importable on its own: the health check runs it in worker processes."""
    out = []
    for secret in secrets:
        strength = estimate_strength(secret)
        said = [w for w in strength.warnings if w != TOO_SHORT] + list(strength.suggestions)
        out.append((strength.score, said[0] if said else ""))
    return out

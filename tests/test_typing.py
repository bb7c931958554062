"""What a person types arrives exactly as typed, in a real terminal (tmux): bursts of keys with
edits in them (a paste, a fast typist, a laggy SSH link; one `send-keys` each), type-ahead
before the first paint, and the expected values from a small line editor written here."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tmuxkit import MYSAFE, PASSPHRASE, Terminal, burst, seeded, start, stop

# Real terminals: the full suite (CI) runs them; `-m "not slow"` skips.
pytestmark = pytest.mark.slow

if shutil.which("tmux") is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install tmux (.ci/run does)")
    pytest.skip("tmux is not installed", allow_module_level=True)

WORD_START = re.compile(r"(?<=\W)\w")  # where a word starts, for ctrl+w and alt+b / alt+f


@dataclass
class Line:
    """One text field as a person expects it to behave (bash's line editor, and a field that
    selects its text when tab enters it, as browsers' do)."""

    hidden: bool = False
    value: str = ""
    cursor: int = 0
    anchor: int | None = None  # the other end of the selection, when there is one

    def _span(self) -> tuple[int, int] | None:
        if self.anchor is None or self.anchor == self.cursor:
            return None
        return min(self.anchor, self.cursor), max(self.anchor, self.cursor)

    def _cut(self, start: int, end: int) -> None:
        start, end = max(0, start), min(len(self.value), end)
        self.value = self.value[:start] + self.value[end:]
        self.cursor, self.anchor = start, None

    def _cut_selection_or(self, start: int, end: int) -> None:
        span = self._span()
        self._cut(*(span or (start, end)))

    def _move(self, to: int) -> None:
        self.cursor, self.anchor = max(0, min(len(self.value), to)), None

    def _word_start_before(self) -> int:
        hits = list(WORD_START.finditer(self.value[: self.cursor]))
        return hits[-1].start() if hits else 0

    def enter(self) -> None:  # tab or shift+tab arrived here: the text is selected
        if self.value:
            self.anchor, self.cursor = 0, len(self.value)

    def key(self, key: str) -> None:
        span = self._span()
        if len(key) == 1:
            start, end = span or (self.cursor, self.cursor)
            self.value = self.value[:start] + key + self.value[end:]
            self.cursor, self.anchor = start + 1, None
        elif key == "BSpace":
            self._cut_selection_or(self.cursor - 1, self.cursor)
        elif key in ("DC", "C-d"):
            self._cut_selection_or(self.cursor, self.cursor + 1)
        elif key in ("Left", "C-b"):
            self._move(span[0] if span else self.cursor - 1)
        elif key in ("Right", "C-f"):
            self._move(span[1] if span else self.cursor + 1)
        elif key in ("Home", "C-a"):
            self._move(0)
        elif key in ("End", "C-e"):
            self._move(len(self.value))
        elif key == "C-k":
            self._cut_selection_or(self.cursor, len(self.value))
        elif key == "C-u":
            self._cut_selection_or(0, self.cursor)
        elif key == "C-w":  # a hidden field says nothing of where its words are
            start = 0 if self.hidden else self._word_start_before()
            self._cut_selection_or(start, self.cursor)
        elif key == "M-b":
            self._move(0 if self.hidden else self._word_start_before())
        elif key == "M-f":
            hit = WORD_START.search(self.value[self.cursor :])
            end = len(self.value) if self.hidden or hit is None else self.cursor + hit.start()
            self._move(end)
        else:
            raise AssertionError(key)


@dataclass
class Form:
    """Fields in tab order; tab and shift+tab stay inside `reach` of them."""

    fields: list[Line]
    reach: int
    at: int = 0
    keys: list[str] = field(default_factory=list)

    def press(self, key: str) -> None:
        self.keys.append(key)
        if key in ("Tab", "BTab"):
            self.at += 1 if key == "Tab" else -1
            self.fields[self.at].enter()
        elif key != "Enter":  # Enter in a field of the item dialog does nothing
            self.fields[self.at].key(key)


TEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -._@#!%+=,/"
EDITS = ["BSpace", "DC", "Left", "Right", "Home", "End", "C-a", "C-e", "C-k", "C-u", "C-w",
         "C-b", "C-f", "C-d", "M-b", "M-f", "Enter"]  # fmt: skip


def random_burst(rng: random.Random, form: Form, length: int) -> None:
    """Characters mostly, edits often, a tab now and then (never out of the reachable fields)."""
    for _ in range(length):
        roll = rng.random()
        if roll < 0.08 and form.at < form.reach - 1:
            form.press("Tab")
        elif roll < 0.12 and form.at > 0:
            form.press("BTab")
        elif roll < 0.40:
            form.press(rng.choice(EDITS))
        else:
            form.press(rng.choice(TEXT))


def password_form() -> Form:
    # name, username, password; the URL and TOTP seed (validated) are left alone
    return Form([Line(), Line(), Line(hidden=True)], reach=3)


def _vault(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "MYSAFE_HOME": str(tmp_path / "home")}
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE)
    return [MYSAFE, "--passphrase-file", str(secret)], env


def _unlocked(tmp_path: Path, size: tuple[int, int] = (80, 24)) -> Terminal:
    seeded(tmp_path)
    term = start(tmp_path, size=size)
    term.wait_for("Passphrase")
    burst(term, "-l", PASSPHRASE)
    burst(term, "Enter")
    term.wait_for("Passwords (0)")
    return term


def test_fifty_bursts_with_edits_save_exactly_what_a_slow_typist_would(tmp_path: Path) -> None:
    """`n`, then the whole form with its edits, then ctrl+s: one send-keys each, 50 times."""
    rng = random.Random(27)
    expected: list[tuple[str, str, str]] = []
    term = _unlocked(tmp_path)
    try:
        while len(expected) < 50:
            form = password_form()
            random_burst(rng, form, rng.randint(15, 70))
            name, user, password = (line.value for line in form.fields)
            want = (name.strip(), user.strip(), password)
            if not all(part.strip() for part in want) or want in expected:
                continue  # the dialog would refuse it (required fields), or it is a repeat
            expected.append(want)
            burst(term, "n", *form.keys, "C-s")
            term.wait_for(f"Passwords ({len(expected)})")
    finally:
        stop(term)
    cli, env = _vault(tmp_path)
    listed = json.loads(subprocess.run([*cli, "list", "--json"], env=env, check=True,
                                       capture_output=True, text=True).stdout)  # fmt: skip
    got = []
    for item in listed:
        full = subprocess.run([*cli, "get", item["id"], "--json"], env=env, check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
        data = json.loads(full)
        got.append((data["name"], data["username"], data["password"]))
    assert sorted(got) == sorted(expected)


@pytest.mark.parametrize(
    ("keys", "want"),
    [
        (["G", "i", "t", "x", "BSpace", "h", "u", "b"], ("Github", "", "")),
        (["G", "i", "t", "x", "BSpace", "h", "u", "b", "Tab", "o", "c", "t", "o"],
         ("Github", "octo", "")),
        (["G", "i", "t", "h", "u", "b", "Tab", "o", "c", "t", "x", "BSpace", "o"],
         ("Github", "octo", "")),
        (["o", "l", "d", " ", "n", "a", "m", "e", "C-a", "C-k", "N", "e", "w"], ("New", "", "")),
        (["a", "b", " ", "c", "d", "C-w", "C-u", "x", "y", "Left", "Left", "C-d", "z"],
         ("zy", "", "")),
    ],
)  # fmt: skip
def test_the_reported_bursts_land_where_they_were_meant(
    keys: list[str], want: tuple[str, str, str]
) -> None:
    """The reference line editor itself, on the cases the bug report found wrong."""
    form = password_form()
    for key in keys:
        form.press(key)
    assert tuple(line.value for line in form.fields) == want


def test_unlock_with_a_typo_fixed_in_the_burst_twenty_times(tmp_path: Path) -> None:
    """The passphrase, a stray key, backspace and Enter in one send-keys: 20 of 20 unlock."""
    term = _unlocked(tmp_path)
    try:
        for _ in range(20):
            burst(term, "C-l")
            term.wait_for("Passphrase", timeout=60)  # a loaded machine: the lock writes a file
            burst(term, *PASSPHRASE, "x", "BSpace", "Enter")
            screen = term.wait_for("Passwords (0)")
            assert "Wrong passphrase" not in screen
    finally:
        stop(term)


def test_first_run_with_a_stray_key_fixed_creates_the_vault(tmp_path: Path) -> None:
    term = start(tmp_path, size=(80, 24))
    try:
        term.wait_for("Choose a passphrase")
        burst(term, *PASSPHRASE, "q", "BSpace", "Enter", *PASSPHRASE, "Home", "DC", PASSPHRASE[0],
              "Enter")  # fmt: skip
        screen = term.wait_for("Passwords (0)")
        assert "differ" not in screen
    finally:
        stop(term)
    cli, env = _vault(tmp_path)
    subprocess.run([*cli, "list"], env=env, check=True, capture_output=True)  # the passphrase


@pytest.mark.parametrize("delay_ms", [0, 50, 200, 1000])
def test_passphrase_and_enter_typed_before_the_first_paint_unlock(
    tmp_path: Path, delay_ms: int
) -> None:
    """`mysafe` started and the passphrase typed at once, Enter included: 5 of 5 unlock, and
    nothing of it is left on the screen after the UI has gone."""
    seeded(tmp_path)
    for _ in range(5):
        term = _shell(tmp_path)
        try:
            burst(term, f"env MYSAFE_HOME={tmp_path / 'home'} {MYSAFE}; echo rc=$?", "Enter")
            time.sleep(delay_ms / 1000)  # the delay under test, not a wait for something
            burst(term, "-l", PASSPHRASE)
            burst(term, "Enter")
            term.wait_for("Passwords (0)")
            burst(term, "C-q")
            screen = term.wait_for("rc=0")
            assert "horse" not in screen  # the passphrase typed ahead was never shown
        finally:
            stop(term)


def _shell(tmp_path: Path) -> Terminal:
    term = Terminal(f"mysafe-test-{os.urandom(4).hex()}", "sh")
    subprocess.run([*term.base, "new-session", "-d", "-s", "sh", "-x", "80", "-y", "24",
                    "env PS1='$ ' bash --norc --noprofile"], check=True)  # fmt: skip
    term.wait_for("$")
    return term

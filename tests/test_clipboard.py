"""Clipboard backends: the exact OSC 52 bytes, tmux passthrough, clear-after, auto selection."""

from __future__ import annotations

import base64

import pytest

from mysafe_tui.core import clipboard
from mysafe_tui.core.clipboard import Clipboard, ClipboardUnavailable, Osc52Backend


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_osc52_sequence_and_clear() -> None:
    sent: list[str] = []
    clock = Clock()
    clip = Clipboard(Osc52Backend(write=sent.append, env={}), 20, clock=clock)
    message = clip.copy("s3cr3t", "Password")
    assert sent == ["\x1b]52;c;" + base64.b64encode(b"s3cr3t").decode() + "\x07"]
    assert message == "Password sent to your terminal's clipboard (OSC 52) — clears in 20 s"
    clock.now = 19.9
    assert not clip.tick()
    clock.now = 20
    assert clip.tick()
    assert sent[-1] == "\x1b]52;c;\x07"  # empty payload: the terminal's clipboard is emptied
    assert not clip.tick() and clip.seconds_left is None


def test_osc52_inside_tmux_is_wrapped_for_passthrough() -> None:
    sent: list[str] = []
    Osc52Backend(write=sent.append, env={"TMUX": "/tmp/tmux-0/default,1,0"}).set("x")
    assert sent == ["\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\"]


def test_a_new_copy_restarts_the_timer() -> None:
    sent: list[str] = []
    clock = Clock()
    clip = Clipboard(Osc52Backend(write=sent.append, env={}), 20, clock=clock)
    clip.copy("one", "A")
    clock.now = 15
    clip.copy("two", "B")
    clock.now = 25
    assert not clip.tick()
    clock.now = 35
    assert clip.tick()


class FakeSystem:
    name = "system"

    def __init__(self) -> None:
        self.content = ""

    def set(self, text: str) -> None:
        self.content = text

    def get(self) -> str | None:
        return self.content


def test_system_clipboard_is_cleared_only_if_it_still_holds_our_text() -> None:
    system, clock = FakeSystem(), Clock()
    clip = Clipboard(system, 20, clock=clock)
    assert clip.copy("secret", "Password") == "Password copied — clears in 20 s"
    system.content = "something the user copied since"
    clock.now = 21
    clip.tick()
    assert system.content == "something the user copied since"
    clip.copy("secret", "Password")
    assert clip.clear_now() and system.content == ""


def test_off_refuses_with_a_clear_message() -> None:
    with pytest.raises(ClipboardUnavailable, match="turned off"):
        Clipboard(clipboard.OffBackend()).copy("x", "Password")


@pytest.mark.parametrize(
    ("env", "system_works", "expected"),
    [
        ({"SSH_TTY": "/dev/pts/1"}, True, "osc52"),
        ({"SSH_CONNECTION": "192.0.2.1 22 192.0.2.2 5555"}, True, "osc52"),
        ({}, True, "system"),
        ({}, False, "osc52"),
    ],
)
def test_auto_prefers_osc52_over_ssh_or_without_a_system_clipboard(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], system_works: bool, expected: str
) -> None:
    monkeypatch.setattr(clipboard.SystemBackend, "works", classmethod(lambda cls: system_works))
    assert clipboard.choose_backend("auto", env).name == expected
    assert clipboard.choose_backend("off", env).name == "off"

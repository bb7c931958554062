"""Clipboard backends: the exact OSC 52 bytes, tmux passthrough, clear-after, auto selection."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mysafe_tui.system import clipboard
from mysafe_tui.system.clipboard import Clipboard, ClipboardUnavailable, Osc52Backend


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
    assert clip.tick() == "Clipboard cleared (a space sent in its place)"
    # Not an empty payload: tmux ignores those, and the secret would stay in its buffer.
    assert sent[-1] == "\x1b]52;c;IA==\x07"
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
    clip.copy("secret", "Password")  # over what the user had copied: it comes back
    assert clip.clear_now() and system.content == "something the user copied since"


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


def test_osc52_over_ssh_says_what_to_do_when_nothing_arrives() -> None:
    sent: list[str] = []
    clip = Clipboard(Osc52Backend(write=sent.append, env={"SSH_TTY": "/dev/pts/3"}), 20)
    assert "set -g set-clipboard on" in clip.copy("s3cr3t", "Password")


def test_osc52_refuses_what_terminals_would_cut() -> None:
    with pytest.raises(ClipboardUnavailable, match="too large"):
        Osc52Backend(write=lambda _: None, env={}).set("x" * 100_001)


@pytest.fixture
def tmux_server(tmp_path: Path) -> Iterator[Callable[..., subprocess.CompletedProcess[bytes]]]:
    """A private tmux server (its own socket), as the `tmux` the backend talks to."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    socket = str(tmp_path / "tmux.sock")
    subprocess.run(["tmux", "-S", socket, "new-session", "-d", "-x", "80", "-y", "24",
                    "sleep 600"], check=True)  # fmt: skip

    def run(*args: str, text: str | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["tmux", "-S", socket, *args], capture_output=True, timeout=5,
                              input=None if text is None else text.encode())  # fmt: skip

    yield run
    run("kill-server")


def test_inside_tmux_the_copy_goes_through_a_tmux_buffer_that_the_clear_deletes(
    tmux_server: Callable[..., subprocess.CompletedProcess[bytes]],
) -> None:
    sent: list[str] = []
    backend = clipboard.TmuxBackend(run=tmux_server, write=sent.append, env={"TMUX": "x"})
    clip = Clipboard(backend, 20)
    assert "through tmux" in clip.copy("Gh-S3cret!pw", "Password")
    assert tmux_server("show-buffer", "-b", "mysafe").stdout == b"Gh-S3cret!pw"
    assert sent == []  # tmux carries it (set-clipboard external drops an app's own OSC 52)
    assert "deleted" in (clip.clear_now() or "")
    buffers = tmux_server("list-buffers", "-F", "#{buffer_name}:#{buffer_sample}").stdout
    assert b"Gh-S3cret" not in buffers and b"mysafe" not in buffers


def test_when_tmux_cannot_carry_it_passthrough_is_used_only_if_allowed(
    tmux_server: Callable[..., subprocess.CompletedProcess[bytes]],
) -> None:
    def old_tmux(*args: str, text: str | None = None) -> subprocess.CompletedProcess[bytes]:
        if args[0] == "load-buffer":  # tmux before 3.2 has no -w
            return subprocess.CompletedProcess(args, 1, b"", b"unknown flag -w")
        return tmux_server(*args, text=text)

    sent: list[str] = []
    backend = clipboard.TmuxBackend(run=old_tmux, write=sent.append, env={"TMUX": "x"})
    with pytest.raises(ClipboardUnavailable, match="allow-passthrough on"):
        Clipboard(backend, 20).copy("s3cr3t", "Password")  # never a false "sent"
    assert sent == []
    tmux_server("set-option", "-g", "allow-passthrough", "on")
    clip = Clipboard(backend, 20)
    assert "passthrough" in clip.copy("s3cr3t", "Password")
    assert sent == ["\x1bPtmux;\x1b\x1b]52;c;czNjcjN0\x07\x1b\\"]
    clip.clear_now()
    assert sent[-1] == "\x1bPtmux;\x1b\x1b]52;c;IA==\x07\x1b\\"


def test_a_clear_in_tmux_leaves_a_later_copy_alone(
    tmux_server: Callable[..., subprocess.CompletedProcess[bytes]],
) -> None:
    """Two `mysafe copy` in a row: the first one's clearer must not cut the second short."""
    first = Clipboard(clipboard.TmuxBackend(run=tmux_server, write=print, env={"TMUX": "x"}), 20)
    second = Clipboard(clipboard.TmuxBackend(run=tmux_server, write=print, env={"TMUX": "x"}), 20)
    first.copy("first-S3cret", "Password")
    second.copy("second-S3cret", "Password")
    assert first.clear_now() is None
    assert tmux_server("show-buffer", "-b", "mysafe").stdout == b"second-S3cret"
    assert "deleted" in (second.clear_now() or "")
    assert tmux_server("show-buffer", "-b", "mysafe").returncode != 0

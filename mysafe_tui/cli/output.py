"""How the CLI talks to a person: messages on stderr, values on stdout, all of it escaped
unless a program asked for the exact bytes."""

from __future__ import annotations

import sys

from mysafe_tui.core.humanize import size  # no imports of its own: free at start-up


def say(message: str) -> None:
    """A one-line message for the person at the terminal, on stderr. Whatever it quotes (item names,
    file names, server answers) is shown escaped: text from outside never controls a terminal."""
    from mysafe_tui.core.sanitize import printable

    print(printable(message), file=sys.stderr)


def said_waiting(outbox: str) -> None:
    """After a write: when the server could not take it, that the change waits here."""
    if not outbox:
        return
    from mysafe_tui.core.outbox import PROBLEMS, Outgoing

    mark = Outgoing.parse(outbox)
    if mark is not None and mark.problem:
        say(
            f"mysafe: the item was {PROBLEMS[mark.problem]}: your change is kept here; "
            "'mysafe sync --mine NAME' sends it, --theirs NAME takes the server's"
        )
        return
    say(
        "mysafe: the server cannot be reached: this change is kept here and sent at the "
        "next 'mysafe sync' ('mysafe status' lists what waits)"
    )


def q(text: str) -> str:
    """A value quoted inside a message, on one line and escaped."""
    from mysafe_tui.core.sanitize import printable

    return printable(text)


def raw_or_printable(value: str, raw: bool) -> str:
    """A value asked for by a program is printed as is (to a pipe, or with --raw); on a
    terminal, whatever controls it holds are shown escaped (a note keeps its lines)."""
    from mysafe_tui.core.sanitize import printable

    if raw or not sys.stdout.isatty():
        return value
    return printable(value, multiline=True)


class ProgressLine:
    """'\\r 42% 420.0 MiB / 1.0 GiB' (or '4,200 / 10,000 passwords' with a `unit`) on stderr
    when it is a terminal; silent otherwise."""

    def __init__(self, verb: str, unit: str = "") -> None:
        self.verb = verb
        self.unit = unit
        self.enabled = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if self.enabled and percent != self.shown:
            self.shown = percent
            amount = (
                f"{done:,} / {total:,} {self.unit}"
                if self.unit
                else f"{size(done)} / {size(total)}"
            )
            sys.stderr.write(f"\r{self.verb} {percent:3d}%  {amount}  ")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled and self.shown >= 0:
            sys.stderr.write("\n")

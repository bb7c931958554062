"""Composition root: `mysafe` parses arguments and runs a command (or, later, the TUI)."""

from __future__ import annotations

import gc
import os
import sys

from mysafe_tui import __version__


def main(argv: list[str] | None = None) -> None:
    # Start-up imports and builds much and frees little: the collector's passes over it are
    # pure cost (60 ms before the UI's first paint). A command turns it back on once parsed;
    # the UI after its first frame, the start-up's objects frozen out of its sight.
    gc.disable()
    args = sys.argv[1:] if argv is None else argv
    # Before anything heavy is imported: an unlocked agent answers `get`, `list`... in about
    # the time Python takes to start (DESIGN.md §8), and `--version` needs nothing at all.
    if args == ["--version"]:
        print(f"mysafe {__version__}")
        sys.exit(0)
    from mysafe_tui.agent import wire as agent_wire

    if args[:1] == ["__names"]:
        sys.exit(agent_wire.print_names(args[1:]))
    code = agent_wire.run_in_agent(args)
    if code is not None:
        sys.stdout.flush()
        os._exit(code)  # nothing to tear down: the agent did the work

    from mysafe_tui.system.process import harden

    harden()  # before anything holds a secret
    from mysafe_tui.cli import run

    code = run(args)
    # The vault is closed and the output written: the interpreter's teardown (~20 ms of
    # freeing modules and objects one by one) is work nobody waits for.
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left before the last lines: as a shell tool reports
        code = code or 141
    import contextlib  # here, not at the top: an agent's `get` ends before, without it

    with contextlib.suppress(OSError):
        sys.stderr.flush()
    os._exit(code)


def git_credential() -> None:
    """`git-credential-mysafe OP`: what git runs for `git config credential.helper mysafe`."""
    main(["git-credential", *sys.argv[1:]])


if __name__ == "__main__":
    main()

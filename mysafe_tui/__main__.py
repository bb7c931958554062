"""Composition root: `mysafe` parses arguments and runs a command (or, later, the TUI)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from .core.process import harden

    harden()  # before anything holds a secret
    from .cli import run

    sys.exit(run(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()

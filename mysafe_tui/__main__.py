"""Composition root: `mysafe` parses arguments and runs a command (or, later, the TUI)."""

from __future__ import annotations

import sys


def disable_core_dumps() -> None:
    """A core dump of a process holding decrypted secrets would write them to disk."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):  # not on this platform, or not permitted
        pass


def main(argv: list[str] | None = None) -> None:
    disable_core_dumps()
    from .cli import run

    sys.exit(run(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()

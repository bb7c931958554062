"""`mysafe <command>`: the non-interactive interface for people and scripts.

Output goes to stdout, messages to stderr. Exit codes: 0 success, 1 error (one sentence on
stderr, never a traceback), 2 bad usage, 130 interrupted. Imports beyond argparse are lazy so
`mysafe --version` stays fast (DESIGN.md §8).

parser.py builds the command line; items.py and remote.py hold the commands and their
options; output.py is how anything reaches the terminal; prompts.py asks for secrets.
"""

from mysafe_tui.cli.main import run

__all__ = ["run"]

"""Where the vault files live. Standard library only: the unlock agent's client reads this
before anything else is imported (agent/wire.py)."""

from __future__ import annotations

import os
import re


def data_dir() -> str:
    """The folder of the vault files: `MYSAFE_HOME`, else the platform's data folder."""
    home = os.environ.get("MYSAFE_HOME")
    if home:
        return os.path.expanduser(home)
    import platformdirs  # ~4 ms: not needed with MYSAFE_HOME

    return platformdirs.user_data_dir("mysafe")


def vault_name(profile: str) -> str:
    return f"{profile}.mysafe"


def check_profile(name: str) -> str:
    """A profile name is part of a file name: letters, digits, '.', '_', '-' (not first),
    at most 64; anything else (a '/', '..') is refused with ValueError."""

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise ValueError(
            f"{name!r} is not a profile name: letters, digits, '.', '_' and '-' (64 at most)"
        )
    return name

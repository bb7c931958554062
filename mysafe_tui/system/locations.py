"""Where the vault files live. Standard library only: the unlock agent's client reads this
before anything else is imported (agent/wire.py)."""

from __future__ import annotations

import os


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

    # Without `re`: its import (~4 ms) is most of what `get` through the agent would add.
    ok = 1 <= len(name) <= 64 and name.isascii() and name[0].isalnum()
    if not (ok and all(c.isalnum() or c in "._-" for c in name)):
        raise ValueError(
            f"{name!r} is not a profile name: letters, digits, '.', '_' and '-' (64 at most)"
        )
    return name


def device_name() -> str:
    """Who changed something, as an item's earlier versions say: "user@host" of this device."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"

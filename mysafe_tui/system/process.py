"""Process hardening: a process holding decrypted secrets must not leave them in a core file,
nor let another process of the same user read its memory through ptrace or /proc."""

from __future__ import annotations

import sys

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4


def harden() -> None:
    """No core dumps (RLIMIT_CORE 0) and, on Linux, not dumpable: no core file whatever the
    limit, no ptrace attach and no /proc/PID/mem or environ for other processes of the user."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):  # not on this platform, or not permitted
        pass
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def dumpable() -> bool | None:
    """What the kernel says of this process (None off Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    return bool(ctypes.CDLL(None).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))

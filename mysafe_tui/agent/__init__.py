"""The unlock agent: the daemon that keeps one vault unlocked for later commands (daemon.py)
and the one wire module both ends import (wire.py: where the socket lives, framing, the peer
check; the standard library only, so `mysafe get` through the agent starts fast)."""

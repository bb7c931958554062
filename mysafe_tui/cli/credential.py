"""`mysafe git-credential get`: git's credential helper protocol, answered from the vault.

`git config --global credential.helper 'mysafe git-credential'` makes git ask here before it
asks the person. Only an unlocked agent answers (a helper must never prompt: git runs it in the
middle of a fetch); when the vault is locked, or no login matches, nothing is printed and git
asks as it would have. `store` and `erase` are accepted and ignored: the vault is edited by
its owner, not by git.

What reaches git is a login's username and password for a URL whose host (and port) is the
one git asks for, and whose scheme matches when the item's URL names one. A value with a line
break or NUL is never given: git's protocol is lines, and another person's item must not add
lines of its own.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.models import ItemSummary
    from ..service import VaultService
    from .parser import AddParser

MAX_INPUT = 64 * 1024


def add_parsers(add: AddParser) -> None:
    p = add(
        "git-credential",
        help="a git credential helper (answers from an unlocked agent only)",
        description="Use with: git config --global credential.helper 'mysafe git-credential'. "
        "'get' prints the username and password of the login whose URL has git's host, when "
        "an agent is unlocked ('mysafe unlock'); otherwise nothing, and git asks you.",
    )
    p.add_argument("operation", choices=("get", "store", "erase"))
    p.set_defaults(func=cmd_git_credential, agent_only=True)


def read_request(text: str) -> dict[str, str]:
    """git's `key=value` lines, up to the first empty one."""
    request: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            break
        key, sep, value = line.partition("=")
        if sep:
            request[key] = value
    return request


def _host_port(scheme: str, netloc: str) -> tuple[str, int | None]:
    from urllib.parse import urlsplit  # ~2 ms: not at every command's start

    parts = urlsplit(f"{scheme}://{netloc}")
    try:
        port = parts.port
    except ValueError:
        port = -1  # never equal to a real one
    return (parts.hostname or "").lower(), port


def matches(item_url: str, request: dict[str, str]) -> bool:
    """Whether a login's URL is for the host (and port, and scheme if it names one) git
    asks about."""
    from urllib.parse import urlsplit

    url = item_url.strip()
    if not url:
        return False
    scheme, has_scheme = ("", "://" in url)
    if has_scheme:
        scheme = url.split("://", 1)[0].lower()
    parts = urlsplit(url if has_scheme else f"//{url}")
    wanted = _host_port(request.get("protocol", "https"), request.get("host", ""))
    if not wanted[0]:
        return False
    try:
        port = parts.port
    except ValueError:
        return False
    if has_scheme and scheme != request.get("protocol", "").lower():
        return False
    return ((parts.hostname or "").lower(), port) == wanted


def _clean(value: str) -> bool:
    return "\n" not in value and "\r" not in value and "\0" not in value


def choose(logins: list[ItemSummary], request: dict[str, str]) -> ItemSummary | None:
    """The login to answer with: one for this host, with git's username when it gave one."""
    found = [item for item in logins if matches(item.field("url"), request)]
    wanted_user = request.get("username")
    if wanted_user:
        found = [item for item in found if item.field("username") == wanted_user]
    return found[0] if found else None


async def cmd_git_credential(args: argparse.Namespace, service: VaultService) -> int:
    if args.operation != "get":
        return 0
    from ..core.models import ItemKind

    request = read_request(sys.stdin.read(MAX_INPUT))
    logins = list(await service.search("", kind=ItemKind.PASSWORD))
    item = choose(logins, request)
    if item is None:
        return 0
    password, _ = await service.field_value(item.id, "password")
    username = item.field("username")
    if not password or not _clean(password) or not _clean(username):
        return 0
    if username:
        sys.stdout.write(f"username={username}\n")
    sys.stdout.write(f"password={password}\n")
    return 0

"""`mysafe git-credential get`: git's credential helper protocol, answered from the vault.

`git config --global credential.helper mysafe` (git then runs `git-credential-mysafe get`,
which the package installs) makes git ask here before it asks the person. Only an unlocked
agent answers (a helper must never prompt: git runs it in the middle of a fetch); when the
vault is locked, or no login matches, nothing is printed and git asks as it would have.
`store` and `erase` are accepted and ignored: the vault is edited by its owner, not by git.

What reaches git is a login's username and password for a URL whose host (and port) is the
one git asks for, over https: a URL without a scheme is for https only, plain http only when
the item's URL says `http://`, and no other protocol ever. Hosts are DNS names (compared after
IDNA) or IP literals; anything else (`a@b`, spaces, control characters) matches nothing. A
value with a line break or NUL is never given: git's protocol is lines, and another person's
item must not add lines of its own.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.core.models import ItemSummary
    from mysafe_tui.service import VaultService

MAX_INPUT = 64 * 1024


def add_parsers(add: AddParser) -> None:
    p = add(
        "git-credential",
        help="a git credential helper (answers from an unlocked agent only)",
        description="Use with: git config --global credential.helper mysafe. "
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


_SCHEMES = ("https", "http")


def _host_port(url: str) -> tuple[str, int | None] | None:
    """(host, port) of a URL, the host a DNS name (IDNA, lowercased) or an IP literal; None
    for one without a host, with a bad port, or with a host that is neither (`a@b`, spaces,
    control characters)."""

    if any(c.isspace() or not c.isprintable() for c in url):
        return None  # urlsplit would quietly drop a tab or a line break: nothing matches
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if not host or "@" in parts.netloc:
        return None
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return None
    label = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
    if not re.fullmatch(rf"{label}(\.{label})*", ascii_host):
        return None
    return ascii_host, port


def matches(item_url: str, request: dict[str, str]) -> bool:
    """Whether a login's URL is for what git asks about: the same host and port, over TLS.
    A URL with no scheme (`github.com`, as people type it) is for https only; plain http
    only when the item's URL says `http://` itself; no other protocol ever."""
    protocol = request.get("protocol", "")
    if protocol not in _SCHEMES:  # exactly as git writes it: "HTTP", "ftp", "file": no
        return False
    wanted = _host_port(f"{protocol}://{request.get('host', '')}")
    url = item_url.strip()
    if "://" in url:
        if url.split("://", 1)[0].lower() != protocol:
            return False
    elif protocol != "https":
        return False
    else:
        url = f"//{url}"
    return wanted is not None and _host_port(url) == wanted


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
    from mysafe_tui.core.models import ItemKind

    # Bytes, not text: a text stream would turn "host\r\n" into "host\n" on its own.
    request = read_request(sys.stdin.buffer.read(MAX_INPUT).decode("utf-8", "replace"))
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

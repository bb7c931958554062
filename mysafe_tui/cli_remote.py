"""`mysafe login | logout | sync | status`: the command line side of a MySafe server binding."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from .core.errors import InvalidInput

if TYPE_CHECKING:
    from .service import VaultService


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("login", help="bind this vault to a MySafe server and sync it")
    p.add_argument("url", nargs="?", help="server URL (or $SENHASEGURA_URL)")
    p.add_argument("--client-id", help="access key client id (or $SENHASEGURA_CLIENT_ID)")
    p.add_argument("--prefix", default="/api", help="API prefix: /api (default) or /iso")
    p.add_argument("--ca-bundle", metavar="PATH", help="trust this CA bundle for TLS")
    p.set_defaults(func=cmd_login)
    p = sub.add_parser("logout", help="forget the server and drop its items from the cache")
    p.set_defaults(func=cmd_logout)
    p = sub.add_parser("sync", help="pull the server's items into the encrypted cache")
    p.set_defaults(func=cmd_sync)
    p = sub.add_parser("status", help="the vault, its server and the last sync")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() and total:
        end = "\n" if done == total else ""
        print(f"\rSyncing: {done}/{total} items", end=end, file=sys.stderr, flush=True)


def _client_secret() -> str:
    """$SENHASEGURA_CLIENT_SECRET, piped standard input, or a hidden prompt: never an argument."""
    if os.environ.get("SENHASEGURA_CLIENT_SECRET"):
        return os.environ["SENHASEGURA_CLIENT_SECRET"]
    if not sys.stdin.isatty():
        secret = sys.stdin.readline().rstrip("\r\n")
        if not secret:
            raise InvalidInput("the client secret on standard input is empty")
        return secret
    return getpass.getpass("Client secret: ")


async def cmd_login(args: argparse.Namespace, service: VaultService) -> int:
    url = args.url or os.environ.get("SENHASEGURA_URL")
    if not url:
        raise InvalidInput("give the server URL: mysafe login https://vault.example.com")
    client_id = args.client_id or os.environ.get("SENHASEGURA_CLIENT_ID")
    if not client_id:
        if not sys.stdin.isatty():
            raise InvalidInput("give --client-id or $SENHASEGURA_CLIENT_ID")
        client_id = input("Client id: ").strip()
    secret = _client_secret()
    result = await service.login(
        url, client_id, secret, prefix=args.prefix, ca_bundle=args.ca_bundle, progress=_progress
    )
    status = service.remote_status()
    features = ", ".join(sorted(status.capabilities)) or "none (a plain senhasegura server)"
    print(
        f"Logged in to {status.url}; {result.written} items cached. Extension features: "
        f"{features}.",
        file=sys.stderr,
    )
    return 0


async def cmd_logout(args: argparse.Namespace, service: VaultService) -> int:
    url = service.remote_status().url
    removed = await service.logout()
    print(
        f"Logged out of {url}; {removed} cached items removed (local items stay).", file=sys.stderr
    )
    return 0


async def cmd_sync(args: argparse.Namespace, service: VaultService) -> int:
    result = await service.sync(progress=_progress)
    print(
        f"Synced: {result.written} updated, {result.removed} removed, {result.unchanged} "
        "unchanged.",
        file=sys.stderr,
    )
    return 0


async def cmd_status(args: argparse.Namespace, service: VaultService) -> int:
    status = service.remote_status()
    counts = service.counts_now()
    data = {
        "vault": str(service.vault_path),
        "items": sum(counts.values()),
        "server": status.url or None,
        "client_id": status.client_id or None,
        "state": status.state,
        "last_sync": status.last_sync,
        "capabilities": sorted(status.capabilities),
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"Vault:     {data['vault']} ({data['items']} active items)")
    if not status.bound:
        print("Server:    none (a local vault; 'mysafe login URL' binds it to a server)")
        return 0
    when = (
        time.strftime("%Y-%m-%d %H:%M", time.localtime(status.last_sync))
        if (status.last_sync)
        else "never"
    )
    print(f"Server:    {status.url} (client id {status.client_id})")
    print(f"Last sync: {when}")
    print(f"Features:  {', '.join(sorted(status.capabilities)) or 'plain senhasegura API'}")
    return 0

"""`mysafe login | logout | sync | status`: the command line side of a MySafe server binding."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from mysafe_tui.cli import pam, prompts
from mysafe_tui.cli.agent import agent_status, describe
from mysafe_tui.cli.output import q, say
from mysafe_tui.core.errors import InvalidInput, MySafeError
from mysafe_tui.core.humanize import moment

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService


def add_parsers(add: AddParser) -> None:
    p = add("login", help="bind this vault to a MySafe server and sync it")
    p.add_argument("url", nargs="?", help="server URL (or $SENHASEGURA_URL)")
    p.add_argument("--client-id", help="access key client id (or $SENHASEGURA_CLIENT_ID)")
    p.add_argument(
        "--a2a",
        action="store_true",
        help="keep an A2A authorization instead (senhasegura PAM credentials and DSM secrets: "
        "'mysafe pam', 'mysafe dsm', dsm:// references), beside the MySafe login",
    )
    p.add_argument("--prefix", help="API prefix: /api or /iso (default: /api, and /iso with --a2a)")
    p.add_argument("--ca-bundle", metavar="PATH", help="trust this CA bundle for TLS")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="do not check the server's TLS certificate (anyone on the path could read the "
        "access key and every item); remembered for this server and shown by status",
    )
    p.add_argument("--tenant", help="the tenant of a multi-tenant senhasegura reached by address")
    p.add_argument(
        "--proxy",
        type=_proxy_url,
        metavar="URL",
        help="an HTTP proxy to reach the server through (default: HTTPS_PROXY, HTTP_PROXY, "
        "ALL_PROXY and NO_PROXY from the environment)",
    )
    p.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="per request (default 15; 1-600)"
    )
    p.set_defaults(func=cmd_login)
    p = add(
        "push",
        help="upload items made before login (local only) to the server",
        description="Create local-only items on the server the vault is logged in to; they "
        "are then synced like the others. A plain senhasegura keeps no files.",
    )
    p.add_argument("name", nargs="?", help="one item's name or id")
    p.add_argument("--all-local", action="store_true", help="every local-only item")
    p.set_defaults(func=cmd_push)
    p = add("logout", help="forget the server and drop its items from the cache")
    p.add_argument(
        "--a2a", action="store_true", help="forget the A2A authorization instead (custody released)"
    )
    p.set_defaults(func=cmd_logout)
    p = add(
        "sync",
        help="send what waits from offline, then pull the server's items into the cache",
        description="Send the changes made while the server could not be reached, in the "
        "order they were made, then pull the server's items into the encrypted cache. A "
        "waiting change the server moved too (changed, trashed or unshared there) waits for "
        "your choice: --mine NAME sends this copy, --theirs NAME takes the server's, --both "
        "NAME keeps the server's and sends this copy as a new item.",
    )
    choice = p.add_mutually_exclusive_group()
    for word, what in (
        ("mine", "send this device's copy of NAME (anew if it was deleted there)"),
        ("theirs", "take the server's copy of NAME; the change made here is dropped"),
        ("both", "keep the server's NAME and send this copy as 'NAME (my copy)'"),
    ):
        choice.add_argument(f"--{word}", metavar="NAME", help=what)
    p.set_defaults(func=cmd_sync)
    p = add("status", help="the vault, its server and the last sync")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)


def _proxy_url(text: str) -> str:
    """`--proxy`: refused at once when it carries a password (ps and shell history show argv)."""
    if "@" in text.split("//", 1)[-1].split("/", 1)[0]:
        raise argparse.ArgumentTypeError(
            "a proxy password is never taken from the command line: put the proxy URL in "
            "HTTPS_PROXY instead"
        )
    return text


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
    return prompts.ask("Client secret: ", hidden=True)


def access_key(args: argparse.Namespace) -> tuple[str, str, str]:
    """URL, client id and secret from the arguments, the SENHASEGURA_* variables or prompts."""
    url = args.url or os.environ.get("SENHASEGURA_URL")
    if not url:
        raise InvalidInput(f"give the server URL: mysafe {args.command} https://vault.example.com")
    client_id = args.client_id or os.environ.get("SENHASEGURA_CLIENT_ID")
    if not client_id:
        if not sys.stdin.isatty():
            raise InvalidInput("give --client-id or $SENHASEGURA_CLIENT_ID")
        client_id = prompts.ask("Client id: ", hidden=False).strip()
    return url, client_id, _client_secret()


async def cmd_login(args: argparse.Namespace, service: VaultService) -> int:
    url, client_id, secret = access_key(args)
    if args.insecure:
        say("mysafe: WARNING: --insecure: the server's TLS certificate will NOT be checked")
    names = ("ca_bundle", "insecure", "tenant", "proxy", "timeout")  # both logins take them
    options = {name: getattr(args, name) for name in names}
    if args.a2a:
        return await pam.a2a_login(service, url, client_id, secret, args.prefix, options)
    result = await service.login(
        url, client_id, secret, prefix=args.prefix or "/api", progress=_progress, **options
    )
    status = service.remote_status()
    features = ", ".join(sorted(status.capabilities)) or "none (a plain senhasegura server)"
    say(
        f"Logged in to {status.url}; {result.written} items cached. Extension features: {features}."
    )
    _say_unreadable(result.unreadable)
    return 0


async def cmd_push(args: argparse.Namespace, service: VaultService) -> int:
    if bool(args.name) == bool(args.all_local):
        raise InvalidInput("name one item, or give --all-local")
    items = service.local_only() if args.all_local else [await service.find(args.name)]
    if not items:
        say("Nothing to push: every item is on the server already.")
        return 0
    failed = 0
    for item in items:
        try:
            await service.push(item.id)
        except MySafeError as exc:
            failed += 1
            say(f"  {q(item.name)}: not pushed: {exc}")
        else:
            say(f"  {q(item.name)}: on the server now")
    say(f"Pushed {len(items) - failed} of {len(items)} item(s).")
    return 1 if failed else 0


async def cmd_logout(args: argparse.Namespace, service: VaultService) -> int:
    if args.a2a:
        await service.a2a_logout()
        say("A2A authorization forgotten (every custody it held was released).")
        return 0
    url = service.remote_status().url
    removed = await service.logout()
    say(f"Logged out of {url}; {removed} cached items removed (local items stay).")
    return 0


async def cmd_sync(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.core.outbox import SETTLED

    for choice in SETTLED:
        name = getattr(args, choice, None)
        if name:
            waiting = {item.id for item, _ in service.waiting()}
            item = await service.find(name, trash=None)
            if item.id not in waiting:
                raise InvalidInput(f"'{item.name}' has nothing waiting to be sent")
            await service.settle(item.id, choice)
            say(f"'{item.name}': {SETTLED[choice]}")
    result = await service.sync(progress=_progress)
    if result.sent:
        say(f"Sent {result.sent} change(s) made while the server could not be reached.")
    say(
        f"Synced: {result.written} updated, {result.removed} removed, {result.unchanged} unchanged."
    )
    _say_unreadable(result.unreadable)
    if result.problems:
        say(f"{len(result.problems)} change(s) made here wait for your choice:")
        for line in result.problems:
            say(f"  {line}")
        say(
            "  'mysafe sync --mine NAME' sends yours, --theirs NAME takes the server's, "
            "--both NAME keeps both"
        )
        return 1
    return 0


def _say_unreadable(unreadable: list[str] | tuple[str, ...]) -> None:
    """Items a sync could not read: named, with why; their cached copies stay as they were."""
    if unreadable:
        say(
            f"{len(unreadable)} item(s) could not be read (their cached copies are kept; the "
            "next sync asks again):"
        )
        for line in unreadable:
            say(f"  {line}")


async def cmd_status(args: argparse.Namespace, service: VaultService) -> int:
    problem = await service.check_server()  # is it there now? (one request)
    status = service.remote_status()
    counts = service.counts_now()
    agent = agent_status(service)
    a2a = service.a2a_binding()
    custody = sorted(await service.pam_in_custody())
    data = {
        "vault": str(service.vault_path),
        "items": sum(counts.values()),
        "server": status.url or None,
        "client_id": status.client_id or None,
        "state": status.state,
        "last_sync": status.last_sync,
        "capabilities": sorted(status.capabilities),
        "tls_verified": not status.insecure,
        "tenant": status.tenant or None,
        "proxy": status.proxy or None,
        "reachable": problem is None if status.bound else None,
        "share_server": service.share_target(),
        "a2a": a2a,
        "pam_custody": custody,
        "unreadable": list(status.unreadable),
        "agent": agent,
    }
    kept = await service.kept_here() if status.bound else []
    data["kept_on_this_device"] = [{"item": i.name, "what": what} for i, what in kept]
    waiting = service.waiting()
    data["waiting"] = [
        {
            "item": i.name,
            "kind": i.kind.value,
            "change": mark.describe(),
            "problem": mark.problem or None,  # waiting for a choice: why
        }
        for i, mark in waiting
    ]
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"Vault:     {data['vault']} ({data['items']} active items)")
    print(
        f"Agent:     unlocked, {describe(agent)} ('mysafe lock' locks it)"
        if agent
        else "Agent:     none ('mysafe unlock' keeps the vault unlocked for later commands)"
    )
    links = data["share_server"] or "none ('mysafe share-server URL' names one)"
    pam.status_lines(a2a, custody)
    if not status.bound:
        print("Server:    none (a local vault; 'mysafe login URL' binds it to a server)")
        print(f"Links:     {links}")
        return 0
    when = moment(status.last_sync) if status.last_sync else "never"
    print(f"Server:    {q(status.url)} (client id {q(status.client_id)})")
    if status.insecure:
        print("TLS:       NOT VERIFIED (logged in with --insecure)")
    if status.tenant:
        print(f"Tenant:    {q(status.tenant)}")
    if status.proxy:
        print(f"Proxy:     {q(status.proxy)}")
    print(f"State:     {'online' if problem is None else 'OFFLINE: ' + q(problem)}")
    print(f"Last sync: {when}")
    print(f"Features:  {', '.join(sorted(status.capabilities)) or 'plain senhasegura API'}")
    print(f"Links:     {links}")
    if kept:
        print(f"Here only: {len(kept)} item(s) hold what the server cannot keep:")
        for item, what in kept:
            print(f"           {q(item.name)}: {', '.join(what)}")
    if waiting:
        print(f"Waiting:   {len(waiting)} change(s) made here, not on the server yet:")
        for item, mark in waiting:
            print(f"           {q(item.name)}: {mark.describe()}")
    if status.unreadable:
        print(f"Unread:    {len(status.unreadable)} item(s) at the last sync (copies kept):")
        for line in status.unreadable:
            print(f"           {q(line)}")
    return 0

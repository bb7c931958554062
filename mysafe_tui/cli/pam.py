"""senhasegura's PAM credentials and DSM secrets from the command line: `mysafe pam list|get|
release` and `mysafe dsm list` (the A2A authorization from `mysafe login URL --a2a`). What
the server sends is printed through the terminal's escapes; a password only where asked."""

from __future__ import annotations

import argparse
import json
from functools import partial
from typing import TYPE_CHECKING, Any

from mysafe_tui.cli.agent import duration
from mysafe_tui.cli.output import q, raw_or_printable, say
from mysafe_tui.core.errors import InvalidInput

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService


def add_parsers(add: AddParser, common: argparse.ArgumentParser) -> None:
    pam = add(
        "pam",
        help="senhasegura PAM credentials (A2A): list, get under custody, release",
        description="The privileged credentials the vault's A2A authorization may read "
        "('mysafe login URL --a2a'). Getting a password takes its custody in senhasegura, "
        "as the web console does; 'mysafe pam release' gives it back.",
    ).add_subparsers(dest="action", metavar="ACTION")
    pam.required = True
    pam_add: AddParser = partial(pam.add_parser, parents=[common])
    p = pam_add("list", help="the credentials, never their passwords")
    p.add_argument("query", nargs="?", default="", help="only those whose fields hold this")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_pam_list)
    p = pam_add(
        "get",
        help="print a credential's password (or --field), taking its custody",
        description="REF is the credential's id, identifier or user@host. Its custody stays "
        "with you until 'mysafe pam release REF' (listed by 'mysafe status').",
    )
    p.add_argument("ref")
    p.add_argument(
        "--field",
        default="password",
        help="password (default), username, hostname, ip, port, domain or additional",
    )
    p.add_argument("--raw", action="store_true", help="print control characters as they are")
    p.set_defaults(func=cmd_pam_get)
    p = pam_add(
        "ssh-add",
        help="lend a PAM SSH key to the SSH agent for a while (memory only)",
        description="The unlock agent ('mysafe unlock') fetches the key, taking its custody, "
        "and 'mysafe ssh-agent' offers it until --for is over or the vault locks; then it is "
        "dropped and its custody given back. The key is never written to disk.",
    )
    p.add_argument("key_id", help="the key's id in senhasegura")
    p.add_argument(
        "--for", dest="seconds", type=duration, default="15m", help="how long (15m; at most 24h)"
    )
    p.set_defaults(func=cmd_pam_ssh_add, needs_unlock=False)
    p = pam_add("release", help="give a credential's custody back to senhasegura")
    p.add_argument("ref", nargs="?", help="its id, identifier or user@host")
    p.add_argument("--all", action="store_true", help="every custody this vault holds")
    p.set_defaults(func=cmd_pam_release)

    dsm = add(
        "dsm",
        help="senhasegura DSM application secrets (A2A): list",
        description="The secrets of the DSM application the A2A authorization is. Use them "
        "as dsm://IDENTITY/KEY in 'mysafe run' and 'mysafe inject'.",
    ).add_subparsers(dest="action", metavar="ACTION")
    dsm.required = True
    p = partial(dsm.add_parser, parents=[common])("list", help="identities and keys, no values")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_dsm_list)


async def cmd_pam_list(args: argparse.Namespace, service: VaultService) -> int:
    found = await service.pam_credentials(args.query)
    held = {v["id"] for v in (await service.pam_in_custody()).values()}
    if args.json:
        print(json.dumps([{**c.to_json(), "in_custody": c.id in held} for c in found], indent=2))
        return 0
    for c in found:
        mark = "*" if c.id in held else " "
        print(q(f"{mark} {c.id:>6}  {c.account:<32}  {c.ip:<15}  {c.connectivity:<8}  {c.device}"))
    say(f"{len(found)} credential(s)" + (" (* in your custody)" if held else ""))
    return 0


async def cmd_pam_get(args: argparse.Namespace, service: VaultService) -> int:
    secret = await service.pam_reveal(args.ref)
    value = secret.field(args.field)
    print(raw_or_printable(value, args.raw))
    say(
        f"mysafe: {q(secret.username)}@{q(secret.hostname)} (id {q(secret.id)}) is in your "
        f"custody in senhasegura: 'mysafe pam release {q(secret.id)}' gives it back"
    )
    return 0


async def cmd_pam_ssh_add(args: argparse.Namespace, service: VaultService) -> int:
    import asyncio

    from mysafe_tui.agent import wire as agent_wire

    answer = await asyncio.to_thread(
        agent_wire.ask,
        str(service.vault_path),
        "pam-ssh-add",
        60.0,
        key_id=args.key_id,
        seconds=args.seconds,
    )
    if answer is None or "fallback" in answer:
        raise InvalidInput("PAM keys are lent through the unlock agent: 'mysafe unlock' first")
    if "error" in answer:
        raise InvalidInput(str(answer["error"]))
    minutes = args.seconds // 60
    until = f"{minutes} min" if minutes else f"{args.seconds} s"
    say(
        f"{q(str(answer.get('name')))} is in the SSH agent for {until} (or until the vault "
        "locks); its custody goes back then"
    )
    return 0


async def cmd_pam_release(args: argparse.Namespace, service: VaultService) -> int:
    if bool(args.ref) == bool(args.all):
        raise InvalidInput("name one credential, or give --all")
    if args.all:
        failed = await service.pam_release_all()
        for line in failed:
            say(f"  not released: {q(line)}")
        say("Released every custody" if not failed else f"{len(failed)} not released")
        return 1 if failed else 0
    cid = await service.pam_release(args.ref)
    say(f"Released the custody of {q(cid)}")
    return 0


async def cmd_dsm_list(args: argparse.Namespace, service: VaultService) -> int:
    app = await service.dsm_application()
    rows = [
        {"identity": s.identity, "name": s.name, "keys": sorted({k for m in s.data for k in m})}
        for s in app.secrets
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "application": app.name,
                    "system": app.system,
                    "environment": app.environment,
                    "secrets": rows,
                },
                indent=2,
            )
        )
        return 0
    print(q(f"{app.name} ({app.system}, {app.environment})"))
    for row in rows:
        print(q(f"  dsm://{row['identity']}/  {', '.join(row['keys'])}"))
    return 0


async def a2a_login(
    service: VaultService,
    url: str,
    client_id: str,
    secret: str,
    prefix: str | None,
    options: dict[str, Any],
) -> int:
    """`mysafe login URL --a2a`: the A2A authorization kept in the vault (/iso unless told)."""
    await service.a2a_login(url, client_id, secret, prefix=prefix or "/iso", **options)
    say(f"A2A authorization kept for {q(url)}: 'mysafe pam list', 'mysafe dsm list'.")
    return 0


def status_lines(a2a: dict[str, str] | None, custody: list[str]) -> None:
    """`mysafe status`: the A2A authorization and what is in custody."""
    if a2a:
        print(f"A2A:       {q(a2a['url'])} (client id {q(a2a['client_id'])}): PAM and DSM")
    if custody:
        held = ", ".join(q(ref) for ref in custody)
        print(f"Custody:   {held} ('mysafe pam release --all' gives them back)")

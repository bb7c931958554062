"""Secrets into programs and files, by reference: `mysafe run` and `mysafe inject`.

A reference is `mysafe://ITEM/FIELD` (`mysafe://ITEM` alone means the item's main secret);
ITEM is a name or an id, percent-encoded where it holds a "/". `dsm://IDENTITY/KEY` is a
senhasegura DSM secret of the vault's A2A authorization (ESO's rules: the first data map
holding KEY wins; no KEY is the whole data as JSON). Every reference is resolved before
anything runs or is written: one that does not resolve stops everything, with one sentence
naming each.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from mysafe_tui.cli.output import q, raw_or_printable, say
from mysafe_tui.core.errors import InvalidInput, MySafeError

if TYPE_CHECKING:
    import asyncio

    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.service import VaultService

PREFIX = "mysafe://"
DSM = "dsm://"
MASK = b"<concealed by mysafe>"
MIN_MASKED = 4  # shorter values would garble ordinary output; they are not masked
_TEMPLATE = re.compile(r"\{\{\s*((?:mysafe|dsm)://[^\s}]+)\s*\}\}")


def add_parsers(add: AddParser) -> None:
    p = add(
        "run",
        help="run a program with secrets in its environment, masked in its output",
        description="Environment values of the form mysafe://ITEM/FIELD (from the "
        "environment or --env-file) are replaced by the secret, for the program only; what "
        "it prints has those secrets masked. Its exit code is mysafe's.",
    )
    p.add_argument("--env-file", type=Path, help="KEY=VALUE lines to add (values may refer)")
    p.add_argument(
        "--no-masking", action="store_true", help="pass the program's output through as is"
    )
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    p.set_defaults(func=cmd_run)
    p = add(
        "inject",
        help="fill {{ mysafe://ITEM/FIELD }} references in a template",
        description="Write the template with every {{ mysafe://ITEM/FIELD }} replaced by its "
        "secret: to standard output, or to -o FILE (0600, never over an existing file "
        "without --force).",
    )
    p.add_argument("-i", "--in-file", type=Path, required=True, help="the template")
    p.add_argument("-o", "--out-file", type=Path, help="where to write (default: stdout)")
    p.add_argument("--force", action="store_true", help="replace an existing --out-file")
    p.set_defaults(func=cmd_inject)


async def resolve(service: VaultService, references: set[str]) -> dict[str, str]:
    """Every reference's value; InvalidInput naming each one that does not resolve."""
    from mysafe_tui.core.models import SPECS

    values: dict[str, str] = {}
    problems: list[str] = []
    dsm = sorted(r for r in references if r.startswith(DSM))
    if dsm:
        values.update(await _resolve_dsm(service, dsm, problems))
    for reference in sorted(r for r in references if r.startswith(PREFIX)):
        path = reference[len(PREFIX) :]
        item_part, _, field = path.rpartition("/") if "/" in path else (path, "", "")
        name = urllib.parse.unquote(item_part)
        try:
            item = await service.find(name)
            field = field or SPECS[item.kind].primary
            value, _ = await service.field_value(item.id, field)
            if not value:
                raise InvalidInput(f"its {field} is empty")
        except MySafeError as exc:
            problems.append(f"{reference}: {exc}")
            continue
        values[reference] = value
    if problems:
        raise InvalidInput("; ".join(problems) + " (nothing was run or written)")
    return values


async def _resolve_dsm(
    service: VaultService, references: list[str], problems: list[str]
) -> dict[str, str]:
    """DSM references, from one request for the application's secrets."""
    try:
        application = await service.dsm_application()
    except MySafeError as exc:
        problems.extend(f"{reference}: {exc}" for reference in references)
        return {}
    values = {}
    for reference in references:
        identity, _, key = reference[len(DSM) :].partition("/")
        try:
            values[reference] = application.value(urllib.parse.unquote(identity), key)
        except MySafeError as exc:
            problems.append(f"{reference}: {exc}")
    return values


def _env_file(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None
    out = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{path}:{number}: expected KEY=VALUE")
        out[key.strip()] = value.strip().strip("'\"")
    return out


async def cmd_run(args: argparse.Namespace, service: VaultService) -> int:
    import asyncio  # here: the parser imports this module at every start

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise InvalidInput("name the program to run: mysafe run -- COMMAND ARGS")
    env = {**os.environ, **(_env_file(args.env_file) if args.env_file else {})}
    wanted = {value for value in env.values() if value.startswith((PREFIX, DSM))}
    values = await resolve(service, wanted)
    await service.lock()  # the program may run for long: the vault need not stay open
    # Where the vault passphrase is read from is mysafe's business, not the program's.
    child_env = {
        key: values.get(value, value)
        for key, value in env.items()
        if key != "MYSAFE_PASSPHRASE_FILE"
    }
    secrets = sorted(
        {v.encode() for v in values.values() if len(v) >= MIN_MASKED}, key=len, reverse=True
    )
    masking = bool(secrets) and not args.no_masking
    pipe = asyncio.subprocess.PIPE if masking else None
    try:
        child = await asyncio.create_subprocess_exec(
            *command, env=child_env, stdout=pipe, stderr=pipe
        )
    except OSError as exc:
        raise InvalidInput(f"cannot run {q(command[0])}: {exc.strerror}") from None
    loop = asyncio.get_running_loop()
    # ctrl+c reaches the program from the terminal itself (same process group): mysafe only
    # waits for its exit code. A TERM or HUP sent to mysafe alone is passed on.
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, child.send_signal, sig)
    try:
        if masking:
            assert child.stdout is not None and child.stderr is not None
            await asyncio.gather(
                _masked(child.stdout, sys.stdout.buffer, secrets),
                _masked(child.stderr, sys.stderr.buffer, secrets),
            )
        code = await child.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it


async def _masked(source: asyncio.StreamReader, sink: object, secrets: list[bytes]) -> None:
    """Copy `source` to `sink` with every secret replaced; a secret split across two reads
    is still caught."""
    pending = b""
    write = sink.write  # type: ignore[attr-defined]
    flush = sink.flush  # type: ignore[attr-defined]
    while chunk := await source.read(65536):
        pending += chunk
        for secret in secrets:
            pending = pending.replace(secret, MASK)
        cut = len(pending) - _could_begin_a_secret(pending, secrets)
        write(pending[:cut])
        flush()
        pending = pending[cut:]
    for secret in secrets:
        pending = pending.replace(secret, MASK)
    write(pending)
    flush()


def _could_begin_a_secret(data: bytes, secrets: list[bytes]) -> int:
    """How many trailing bytes of `data` could be the start of a secret: only those wait for
    the next read (a prompt without a newline still shows at once)."""
    for size in range(min(len(data), max(map(len, secrets)) - 1), 0, -1):
        tail = data[-size:]
        if any(secret.startswith(tail) for secret in secrets):
            return size
    return 0


async def cmd_inject(args: argparse.Namespace, service: VaultService) -> int:
    from mysafe_tui.system.disk import write_atomic

    try:
        template = args.in_file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {args.in_file}: {exc}") from None
    out: Path | None = args.out_file
    if out is not None and out.exists() and not args.force:
        raise InvalidInput(f"{out} exists: --force replaces it")
    values = await resolve(service, set(_TEMPLATE.findall(template)))
    filled = _TEMPLATE.sub(lambda match: values[match.group(1)], template)
    if out is None:  # exact to a pipe; on a terminal, control characters shown escaped
        sys.stdout.write(raw_or_printable(filled, raw=False))
        return 0
    write_atomic(out, filled.encode(), overwrite=args.force)  # 0600, whole or not at all
    say(f"Wrote {out} ({len(values)} secret(s) filled in)")
    return 0

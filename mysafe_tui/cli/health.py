"""`mysafe health`: weak, reused, old, breached and insecure secrets, for people and for CI.

Exit codes: 0 when nothing named by `--fail-on` was found (always, without it), 1 when
something was, 2 when the check could not be made (breach data unreadable, the range API
unreachable, or `--fail-on breached` with no breach data to look in).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from mysafe_tui.cli.output import ProgressLine, q, say
from mysafe_tui.core.errors import InvalidInput, OfflineError, ServerError

if TYPE_CHECKING:
    from mysafe_tui.cli.parser import AddParser
    from mysafe_tui.core.health import Report
    from mysafe_tui.service import VaultService

NAME_WIDTH = 32


def add_parsers(add: AddParser) -> None:
    from mysafe_tui.core.health import CHECKS

    p = add(
        "health",
        help="report weak, reused, old, breached and insecure passwords",
        description="Check every login and API secret: weak (zxcvbn), reused, unchanged for "
        "long, plain http:// login pages, the same login twice, and passwords in Have I Been "
        "Pwned's Pwned Passwords, from a local copy (--hibp) or online (--online: only the "
        "first five hex digits of each SHA-1 leave the machine). Exit code 1 when a check "
        "named by --fail-on finds something, 2 when it cannot be made.",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON (schema 1)")
    p.add_argument(
        "--fail-on",
        type=_checks,
        default=(),
        metavar="CHECKS",
        help=f"exit 1 if any of these find something: {','.join(CHECKS)}",
    )
    p.add_argument(
        "--hibp",
        type=Path,
        metavar="PATH",
        help="Pwned Passwords copy: a folder of range files or one sorted "
        "SHA1:COUNT file (default: the breach_data setting)",
    )
    p.add_argument(
        "--online", action="store_true", help="ask the Pwned Passwords range API (k-anonymity)"
    )
    p.add_argument(
        "--max-age",
        type=int,
        metavar="DAYS",
        help="a secret unchanged for longer is old (default: 365, or the setting)",
    )
    p.set_defaults(func=cmd_health)


def _checks(text: str) -> tuple[str, ...]:
    from mysafe_tui.core.health import CHECKS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in CHECKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"checks are {', '.join(CHECKS)}")
    return names


async def cmd_health(args: argparse.Namespace, service: VaultService) -> int:
    if args.max_age is not None and args.max_age < 1:
        say("mysafe: --max-age is a number of days, 1 or more")
        return 2
    # The first check of many passwords rates them all (zxcvbn): seconds at 10k items.
    rating = ProgressLine("Rating passwords (kept for the next check)", unit="passwords")
    try:
        report = await service.health(
            breach_data=args.hibp,
            online=args.online or None,
            max_age_days=args.max_age,
            progress=rating,
        )
    except (InvalidInput, OfflineError, ServerError, OSError) as exc:
        rating.finish()
        say(f"mysafe: cannot check: {exc}")
        return 2
    rating.finish()
    print(json.dumps(report.to_json(), indent=2) if args.json else render(report))
    if "breached" in args.fail_on and not report.breach_source:
        say("mysafe: --fail-on breached needs breach data: --hibp PATH or --online")
        return 2
    return 1 if report.failing(args.fail_on) else 0


def render(report: Report) -> str:
    """The report for a person: a summary line, then each finding with its items' names."""
    from mysafe_tui.core.health import CHECKS, MEANING, TITLES, counted

    counts = report.counts()
    source = {
        "folder": "a folder of range files",
        "file": "a sorted file",
        "online": "the online range API",
    }.get(report.breach_source)
    lines = [
        f"Checked {report.checked:,} logins and API secrets; "
        + (
            f"breaches looked up in {source}."
            if source
            else "breaches not checked (--hibp PATH or --online)."
        )
    ]
    lines.append("  " + " · ".join(counted(c, counts[c]) for c in CHECKS))
    current = ""
    for finding in report.findings:
        if finding.check != current:
            current = finding.check
            lines += ["", f"{TITLES[current]}: {MEANING[current]}"]
        names = ", ".join(q(report.items[i].name) for i in finding.item_ids)
        if len(names) > NAME_WIDTH and len(finding.item_ids) == 1:
            names = names[: NAME_WIDTH - 1] + "…"
        lines.append(f"  {names:<{NAME_WIDTH}}  {q(finding.detail)}")
    if not report.findings:
        lines += ["", "Nothing to fix."]
    return "\n".join(lines)

"""Vault health: weak, reused, old and breached secrets, insecure login pages, the same login
twice. What `mysafe health` prints and the Health screen shows.

Pure: the caller hands in each item with a keyed hash of its secret, when that secret was
set, its strength and how often it appears in a breach. A finding names items and says why in
words that hold nothing of a secret: the estimator's warning, never the password or its
length. Reuse is equal keyed hashes (the caller's key, never stored).
"""

from __future__ import annotations

import hashlib
import ipaddress
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mysafe_tui.core.models import ItemKind, ItemSummary

SCHEMA = 1  # the `--json` shape (docs/health.md); raised on any change a reader must know
CHECKS = ("breached", "weak", "reused", "old", "insecure", "duplicate")
TITLES = {
    "breached": "Breached",
    "weak": "Weak",
    "reused": "Reused",
    "old": "Old",
    "insecure": "Insecure URL",
    "duplicate": "Duplicate login",
}
# What each check means, for the report's section headings (`mysafe health`).
MEANING = {
    "breached": "in Have I Been Pwned's Pwned Passwords: change it everywhere it is used",
    "weak": "rated below 'good' by the strength estimate (zxcvbn)",
    "reused": "the same secret in several items: one leak opens them all",
    "old": "not changed for longer than the limit in settings",
    "insecure": "the login page is plain http://: the password crosses the network unencrypted",
    "duplicate": "the same site and username twice: keep one",
}
CHECKED_KINDS = (ItemKind.PASSWORD, ItemKind.API_SECRET)
MARKS = {"breached": "✗", "weak": "!", "reused": "≈"}  # the list's glyph per check
MIN_SCORE = 3  # zxcvbn's "good"


@dataclass(frozen=True)
class Subject:
    """One item as the checks see it (built by the service). Not its secret: a keyed hash of
    it that only tells equal secrets apart (the service's key, made for one session)."""

    item: ItemSummary
    fingerprint: bytes = field(repr=False)
    changed: float  # when the secret was last set (its history, else the item's `updated`)
    score: int = 4  # the strength estimate's score, 0..4
    warning: str = ""  # its warning, shown as it is
    breaches: int = 0  # times seen in a breach (0: not seen, or not checked)


@dataclass(frozen=True)
class Finding:
    check: str  # one of CHECKS
    item_ids: tuple[str, ...]
    detail: str  # why, in words: never a secret


@dataclass
class Report:
    findings: list[Finding]
    checked: int  # items looked at
    breach_source: str = ""  # "" (not checked), "folder", "file" or "online"
    max_age_days: int = 365
    items: dict[str, ItemSummary] = field(default_factory=dict)  # those checked, by id

    def by_item(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for finding in self.findings:
            for item_id in finding.item_ids:
                out.setdefault(item_id, []).append(finding)
        return out

    def counts(self) -> dict[str, int]:
        """Items concerned, by check."""
        out = dict.fromkeys(CHECKS, 0)
        for finding in self.findings:
            out[finding.check] += len(finding.item_ids)
        return out

    def failing(self, checks: Iterable[str]) -> bool:
        wanted = set(checks)
        return any(f.check in wanted for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        """The `--json` shape, version SCHEMA (docs/health.md)."""

        def item(item_id: str) -> dict[str, str]:
            summary = self.items[item_id]
            return {"id": item_id, "name": summary.name, "kind": summary.kind.value}

        return {
            "schema": SCHEMA,
            "checked": self.checked,
            "breach_source": self.breach_source or None,
            "max_age_days": self.max_age_days,
            "counts": self.counts(),
            "findings": [
                {"check": f.check, "detail": f.detail, "items": [item(i) for i in f.item_ids]}
                for f in self.findings
            ],
        }


def check(
    subjects: Sequence[Subject], *, now: float, max_age_days: int = 365, breach_source: str = ""
) -> Report:
    """Every finding for `subjects`, most urgent check first, then by item name."""
    findings: list[Finding] = []
    for subject in subjects:
        findings += _own(subject, now, max_age_days)
    findings += _reused(subjects)
    findings += _duplicates([s.item for s in subjects])
    order = {name: n for n, name in enumerate(CHECKS)}
    items = {s.item.id: s.item for s in subjects}
    findings.sort(key=lambda f: (order[f.check], items[f.item_ids[0]].name.casefold()))
    return Report(findings, len(subjects), breach_source, max_age_days, items)


def _own(subject: Subject, now: float, max_age_days: int) -> list[Finding]:
    """The findings about one item alone."""
    item, out = subject.item, []
    if subject.breaches:
        times = "once" if subject.breaches == 1 else f"{subject.breaches:,} times"
        out.append(Finding("breached", (item.id,), f"seen in breaches {times}"))
    if subject.score < MIN_SCORE:
        out.append(Finding("weak", (item.id,), subject.warning or "easy to guess"))
    days = int((now - subject.changed) // 86400)
    if days > max_age_days:
        out.append(Finding("old", (item.id,), f"unchanged for {days} days"))
    if item.kind is ItemKind.PASSWORD:
        for url in (item.url, *item.urls):
            if _insecure(url):
                out.append(Finding("insecure", (item.id,), f"{url} is not https"))
                break
    return out


def _reused(subjects: Sequence[Subject]) -> list[Finding]:
    groups: dict[bytes, list[str]] = {}
    for subject in subjects:
        groups.setdefault(subject.fingerprint, []).append(subject.item.id)
    return [
        Finding("reused", tuple(ids), f"the same secret in {len(ids)} items")
        for ids in groups.values()
        if len(ids) > 1
    ]


def _duplicates(items: Iterable[ItemSummary]) -> list[Finding]:
    groups: dict[tuple[str, str], list[str]] = {}
    for item in items:
        site = site_of(item.url)
        if item.kind is ItemKind.PASSWORD and site and item.username:
            groups.setdefault((site, item.username.casefold()), []).append(item.id)
    return [
        Finding("duplicate", tuple(ids), f"{len(ids)} logins for {site} as {user}")
        for (site, user), ids in groups.items()
        if len(ids) > 1
    ]


def counted(check: str, count: int) -> str:
    """ "3 weak", "1 insecure URL", "2 duplicate logins": a summary's words."""
    nouns = {"insecure": "insecure URL", "duplicate": "duplicate login"}
    noun = nouns.get(check, check)
    return f"{count:,} {noun}{'s' if count != 1 and check in nouns else ''}"


def marked(report: Report) -> dict[str, str]:
    """What the list marks on each item: the most urgent of breached, weak and reused."""
    out: dict[str, str] = {}
    for finding in report.findings:  # most urgent check first
        if finding.check in MARKS:
            for item_id in finding.item_ids:
                out.setdefault(item_id, finding.check)
    return out


def site_of(url: str) -> str:
    """The host a login is for, without `www.`: what "the same site" means here."""
    text = url.strip()
    if text and "://" not in text:
        text = "https://" + text
    try:
        host = urllib.parse.urlsplit(text).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _insecure(url: str) -> bool:
    """A plain http:// page that is not on this machine (a router's page counts: its
    password still crosses the network)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def sha1_hex(secret: str) -> str:
    """What Pwned Passwords is keyed by: SHA-1 of the UTF-8 secret, upper-case hex."""
    return hashlib.sha1(secret.encode(), usedforsecurity=False).hexdigest().upper()

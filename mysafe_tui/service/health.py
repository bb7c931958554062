"""The health check (core/health.py) over the unlocked vault: gather each login's and API
secret's secret and dates, rate its strength, look its hash up in breach data, report.

Strength ratings are the slow part (zxcvbn, 1-6 ms a password): they are kept, encrypted under
the vault's key, in a file beside the vault (`Vault.write_side_cache`), by item id and
version, so a check rates only what changed since the last one; many at once are rated in
worker processes. Nothing else is kept: the
keyed hashes that find reuse live as long as one check.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core import health
from ..core.breaches import open_local
from ..core.extras import HISTORY, parse_history
from ..core.generator import rate_all
from ..core.models import SPECS
from ..core.process import harden
from ..core.settings import Settings
from .store import VaultStore

RATINGS = "health"  # the side cache's name: default.mysafe.health
Rating = tuple[int, int, str]  # (item version, score, warning)
Progress = Callable[[int, int], None]  # (passwords rated, to rate), from a worker thread
POOL_FROM = 200  # fewer are rated here: starting the worker processes costs ~0.2 s
CHUNK = 250


class HealthCheck:
    """`run` is the whole check; `markers` is what the list shows (weak, reused, breached)."""

    def __init__(
        self,
        store: VaultStore,
        settings: Callable[[], Settings],
        proxy: Callable[[], Awaitable[str]],
    ) -> None:
        self._store = store
        self._settings = settings
        self._proxy = proxy  # the server login's proxy, if any (else the environment's)

    async def run(
        self,
        *,
        breach_data: Path | None = None,
        online: bool | None = None,
        max_age_days: int | None = None,
        progress: Progress | None = None,
    ) -> health.Report:
        settings = self._settings()
        if breach_data is None and settings.breach_data:
            breach_data = Path(settings.breach_data).expanduser()
        online = settings.breach_online if online is None else online
        subjects = await self._store.run(self._gather)
        kept = await self._store.run(self._kept)
        subjects, ratings = await asyncio.to_thread(_rate, subjects, kept, progress)
        if ratings != kept:
            await self._store.run(self._store.vault.write_side_cache, RATINGS, ratings)
        source = ""
        digests = {s.item.id: health.sha1_hex(s.secret) for s in subjects}
        counts: dict[str, int] = {}
        if breach_data is not None:
            local = await asyncio.to_thread(open_local, breach_data)
            counts = await asyncio.to_thread(local.counts, digests.values())
            source = local.source
        elif online:
            from ..remote.pwned import OnlineRanges

            ranges = OnlineRanges(settings.breach_api, proxy=await self._proxy() or None)
            counts = await ranges.counts(digests.values())
            source = ranges.source
        subjects = [replace(s, breaches=counts.get(digests[s.item.id], 0)) for s in subjects]
        days = max_age_days or settings.health_max_age_days
        return health.check(subjects, now=time.time(), max_age_days=days, breach_source=source)

    def _gather(self) -> list[health.Subject]:
        """On the vault's thread: each checked item with its main secret and when it was set
        (its password history's newest date, else the item's last change)."""
        vault = self._store.vault
        subjects = []
        for item in list(vault.summaries.values()):
            if not item.active or item.kind not in health.CHECKED_KINDS:
                continue
            secret = vault.reveal(item.id)
            value = secret.get(SPECS[item.kind].primary, "")
            if not value:
                continue
            history = parse_history(secret.get(HISTORY, ""))
            changed = history[0].date if history else item.updated
            subjects.append(health.Subject(item, value, changed))
        return subjects

    def _kept(self) -> dict[str, Rating]:
        """On the vault's thread: the ratings kept by the last check (none if unreadable)."""
        kept = self._store.vault.read_side_cache(RATINGS)
        if not isinstance(kept, dict):
            return {}
        return {k: v for k, v in kept.items() if isinstance(k, str) and _is_rating(v)}


def _rate(
    subjects: list[health.Subject], kept: dict[str, Rating], progress: Progress | None
) -> tuple[list[health.Subject], dict[str, Rating]]:
    """Each subject with its strength (from `kept` where the item has not changed since), and
    the ratings to keep: one per item checked now."""
    fresh = [s for s in subjects if s.item.id not in kept or kept[s.item.id][0] != s.item.version]
    rated = iter(_rate_many([s.secret for s in fresh], progress))
    ratings = {s.item.id: (s.item.version, *next(rated)) for s in fresh}
    ratings.update({s.item.id: kept[s.item.id] for s in subjects if s.item.id not in ratings})
    out = [replace(s, score=ratings[s.item.id][1], warning=ratings[s.item.id][2]) for s in subjects]
    return out, ratings


def _rate_many(secrets: list[str], progress: Progress | None) -> list[tuple[int, str]]:
    """zxcvbn for each: in worker processes when there are many (they run on every core, and
    this process, perhaps a UI, keeps its own thread free), else here. Each worker is hardened
    like this process (no core dump, not dumpable) before it is handed a secret."""
    if len(secrets) < POOL_FROM or (os.cpu_count() or 1) < 2:
        return rate_all(secrets)
    chunks = [secrets[n : n + CHUNK] for n in range(0, len(secrets), CHUNK)]
    out: list[tuple[int, str]] = []
    try:
        with ProcessPoolExecutor(
            max_workers=min(os.cpu_count() or 2, 4),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=harden,
        ) as pool:
            for done in pool.map(rate_all, chunks):
                out += done
                if progress is not None:
                    progress(len(out), len(secrets))
    except (OSError, BrokenProcessPool):  # no processes to be had here: all in this one
        return rate_all(secrets)
    return out


def _is_rating(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], int)
        and isinstance(value[1], int)
        and isinstance(value[2], str)
    )

"""The health check (core/health.py) over the unlocked vault: each login's and API secret's
secret and dates, its strength, its hash looked up in breach data; the report.

A check remembers, while the vault stays unlocked, what it learnt of each item at its current
version (`Known`: never a secret, never a hash of one that outlives the session: reuse is
found by an HMAC under a key made at unlock and dropped at lock), so the next check, after an
edit, decrypts and looks up only what changed. Decrypting is done in slices on the vault's
thread, so that opening an item is never queued behind a whole vault's worth.

Strength ratings are the slow part (zxcvbn, 1-6 ms a password): they are also kept across
sessions, encrypted under the vault's key in a file beside the vault
(`Vault.write_side_cache`), by item id and version; many at once are rated in worker
processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import hmac
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mysafe_tui.core import health
from mysafe_tui.core.extras import HISTORY, parse_history
from mysafe_tui.core.generator import rate_all
from mysafe_tui.core.models import SPECS, ItemSummary
from mysafe_tui.service.worker import VaultWorker
from mysafe_tui.system.process import harden
from mysafe_tui.system.settings import Settings
from mysafe_tui.transfer.breaches import open_local

RATINGS = "health"  # the side cache's name: default.mysafe.health
Rating = tuple[int, int, str]  # (item version, score, warning)
Progress = Callable[[int, int], None]  # (passwords rated, to rate), from a worker thread
POOL_FROM = 200  # fewer are rated here: starting the worker processes costs ~0.2 s
CHUNK = 250  # passwords per task of a worker process
SLICE = 500  # items decrypted per turn on the vault's thread (~20 ms)


@dataclass(frozen=True)
class Known:
    """What a check learnt of one item at one version, against one source of breach data."""

    version: int
    source: str  # the breach data the count came from ("" for none)
    fingerprint: bytes  # HMAC of the secret under this session's key ("" for no secret)
    changed: float
    score: int
    warning: str
    breaches: int


class HealthCheck:
    """`run` is the whole check; `forget` (at lock) drops everything it remembers."""

    def __init__(
        self,
        worker: VaultWorker,
        settings: Callable[[], Settings],
        proxy: Callable[[], Awaitable[str]],
    ) -> None:
        self._worker = worker
        self._settings = settings
        self._proxy = proxy  # the server login's proxy, if any (else the environment's)
        self._one_at_a_time = asyncio.Lock()  # the list's marks and the report share `_known`
        self.forget()

    def forget(self) -> None:
        self._known: dict[str, Known] = {}
        self._key = os.urandom(32)

    async def run(
        self,
        *,
        breach_data: Path | None = None,
        online: bool | None = None,
        max_age_days: int | None = None,
        progress: Progress | None = None,
    ) -> health.Report:
        async with self._one_at_a_time:
            return await self._run(breach_data, online, max_age_days, progress)

    async def _run(
        self,
        breach_data: Path | None,
        online: bool | None,
        max_age_days: int | None,
        progress: Progress | None,
    ) -> health.Report:
        settings = self._settings()
        if breach_data is None and settings.breach_data:
            breach_data = Path(settings.breach_data).expanduser()
        online = settings.breach_online if online is None else online
        lookup, source, source_key = None, "", ""
        if breach_data is not None:
            local = await asyncio.to_thread(open_local, breach_data)
            lookup, source = local.counts, local.source
            stat = breach_data.stat()
            source_key = f"{source}:{breach_data}:{stat.st_mtime_ns}:{stat.st_size}"
        elif online:
            from mysafe_tui.remote.pwned import OnlineRanges

            ranges = OnlineRanges(settings.breach_api, proxy=await self._proxy() or None)
            source = source_key = ranges.source
        key, remembered = self._key, self._known  # a lock (`forget`) replaces both
        items = await self._worker.run(self._checked)
        stale = [i for i in items if self._stale(i, source_key)]
        fresh: list[tuple[ItemSummary, str, float]] = []
        for n in range(0, len(stale), SLICE):  # other work on the vault runs between slices
            fresh += await self._worker.run(self._reveal, stale[n : n + SLICE])
        # The kept ratings are read (and written) only when something is new to this session.
        kept = await self._worker.run(self._kept) if fresh else {}
        unrated = [
            (i, secret)
            for i, secret, _ in fresh
            if secret and kept.get(i.id, (-1,))[0] != i.version
        ]
        rated = await asyncio.to_thread(_rate_many, [secret for _, secret in unrated], progress)
        ratings = {i.id: kept[i.id] for i in items if kept.get(i.id, (-1,))[0] == i.version}
        ratings.update({i.id: (i.version, *r) for (i, _), r in zip(unrated, rated, strict=True)})
        digests = {i.id: health.sha1_hex(secret) for i, secret, _ in fresh if secret}
        counts: dict[str, int] = {}
        if lookup is not None:
            counts = await asyncio.to_thread(lookup, digests.values())
        elif online:
            counts = await ranges.counts(digests.values())
        present = {i.id for i in items}
        known = {k: v for k, v in remembered.items() if k in present}
        for item, secret, changed in fresh:
            mac = hmac.new(key, secret.encode(), hashlib.sha256).digest() if secret else b""
            _, score, warning = ratings.get(item.id, (0, 4, ""))  # no secret: not rated
            breaches = counts.get(digests.get(item.id, ""), 0)
            known[item.id] = Known(item.version, source_key, mac, changed, score, warning, breaches)
        if self._key is key:  # not locked meanwhile
            self._known = known
        subjects = [
            health.Subject(i, k.fingerprint, k.changed, k.score, k.warning, k.breaches)
            for i in items
            if (k := known.get(i.id)) is not None and k.fingerprint
        ]
        if fresh and ratings != kept:
            await self._worker.run(self._worker.vault.write_side_cache, RATINGS, ratings)
        days = max_age_days or settings.health_max_age_days
        report = health.check(subjects, now=time.time(), max_age_days=days, breach_source=source)
        # The report (a summary per item found wanting: 50k of them in a large vault) lives
        # until the next check: out of the garbage collector's sight like the index (see
        # IndexKeeper.build), or each full collection walks it again (~30 ms, while typing).
        gc.freeze()
        return report

    def _stale(self, item: ItemSummary, source_key: str) -> bool:
        known = self._known.get(item.id)
        return known is None or known.version != item.version or known.source != source_key

    def _checked(self) -> list[ItemSummary]:
        """On the vault's thread: the items a check looks at."""
        return [
            item
            for item in list(self._worker.vault.summaries.values())
            if item.active and item.kind in health.CHECKED_KINDS
        ]

    def _reveal(self, items: list[ItemSummary]) -> list[tuple[ItemSummary, str, float]]:
        """On the vault's thread: each item's main secret and when it was set (its password
        history's newest date, else the item's last change)."""
        vault, out = self._worker.vault, []
        for item in items:
            secret = vault.reveal(item.id)
            history = parse_history(secret.get(HISTORY, ""))
            changed = history[0].date if history else item.updated
            out.append((item, secret.get(SPECS[item.kind].primary, ""), changed))
        return out

    def _kept(self) -> dict[str, Rating]:
        """On the vault's thread: the ratings kept by the last check (none if unreadable)."""
        kept = self._worker.vault.read_side_cache(RATINGS)
        if not isinstance(kept, dict):
            return {}
        return {k: v for k, v in kept.items() if isinstance(k, str) and _is_rating(v)}


def _rate_many(secrets: list[str], progress: Progress | None) -> list[tuple[int, str]]:
    """zxcvbn for each: in worker processes when there are many (they run on every core, and
    this process, perhaps a UI, keeps its own thread free), else here. Each worker is hardened
    like this process (no core dump, not dumpable) before it is handed a secret."""
    if len(secrets) < POOL_FROM or (os.cpu_count() or 1) < 2:
        return rate_all(secrets)
    import multiprocessing  # here: 3 ms of imports the UI's first paint does without
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunks = [secrets[n : n + CHUNK] for n in range(0, len(secrets), CHUNK)]
    out: list[tuple[int, str]] = []
    try:
        _start_tracker()
        with ProcessPoolExecutor(
            max_workers=min(os.cpu_count() or 2, 4),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
        ) as pool:
            for done in pool.map(rate_all, chunks):
                out += done
                if progress is not None:
                    progress(len(out), len(secrets))
    except (OSError, ValueError, BrokenProcessPool):  # no processes here: all in this one
        return rate_all(secrets)
    return out


def _worker_start() -> None:
    """Each rating process: hardened, and behind the UI in the CPU's queue (a first check of
    100k passwords keeps every core busy for a while; keys typed meanwhile come first)."""
    harden()
    with contextlib.suppress(OSError):
        os.nice(10)


def _start_tracker() -> None:
    """Start multiprocessing's resource tracker, which a process pool needs, with /dev/null for
    its stderr. It takes this process's `sys.stderr`, which a running UI has replaced (Textual
    captures it; its fileno() is -1): there its start failed, and with it the whole check, so
    the list's marks never came and each keystroke started the check over."""
    from multiprocessing import resource_tracker

    stderr = sys.stderr
    try:
        if stderr.fileno() >= 0:
            resource_tracker.ensure_running()
            return
    except (OSError, ValueError, AttributeError):
        pass
    with open(os.devnull, "w") as null:
        sys.stderr = null  # for the few ms of the tracker's start
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = stderr


def _is_rating(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], int)
        and isinstance(value[1], int)
        and isinstance(value[2], str)
    )

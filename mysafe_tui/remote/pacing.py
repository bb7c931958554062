"""How many requests a pull keeps in flight, found as it goes.

A plain senhasegura answers one entity per request, so a pull of 10k items is 10k round trips.
Far away, the time goes in waiting for the network: each request more in flight brings as
many answers more per second. Near, or on a busy server, the time goes in work (the server's,
and this process's own reading of the answers): more in flight then only queue. The pacer
climbs towards the most answers per second: it starts at a few requests in flight, counts the
answers per second over each window of answers (the time with nothing in flight left out:
the caller saving a batch is not the server slowing), and

- more in flight while that rate still rises with them (by at least half of what they would
  bring if all were waiting): twice as many each time at first, as TCP's slow start, then one
  more at a time; else back to where it was;
- there, a quarter fewer when the rate falls by more than 20% (the server slows), or at once
  when an answer fails; one more tried again after a few steady windows.

A window in which the caller gave it too little to do (the end of a batch) is not judged.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

START = 4
MOST = 32
WINDOW = 64  # answers counted before each decision (at least four times the requests in flight)
# One more in flight is worth it while the rate rises by at least half of what pure waiting
# would give (from L to L+1: by L+1/L); a rate below FALL of the last is the server slowing.
RISE = 0.5
FALL = 0.80
PROBE_EVERY = 4  # steady windows before one more in flight is tried again


class Pacer:
    """A gate for concurrent requests whose width follows the answers per second."""

    def __init__(
        self,
        start: int = START,
        least: int = 1,
        most: int = MOST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = start
        self.least, self.most = least, most
        self.widest = start  # the most it has allowed at once
        self._clock = clock
        self._in_flight = 0
        self._counted = 0
        self._since = clock()
        self._idle = 0.0  # of the time since `_since`, what passed with nothing in flight
        self._idle_since: float | None = None  # when the last request came back, if none left
        self._last_rate = 0.0
        self._last_limit = 0  # the limit the last window ran with (0: none yet)
        self._steady = 0  # windows judged steady since the limit last changed
        self._starved = False  # an answer of this window found nobody waiting
        self._doubling = True  # until a step is not worth it: twice as many each time
        self._waiting: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the requests in flight while the body runs; an exception counts as a
        failed answer (and is raised on). Waiters are woken one per free place, in order
        (waking them all at each answer would cost 10k x hundreds of wake-ups in a pull)."""
        if self._in_flight < self.limit and not self._waiting:
            self._start_one()
        else:
            place = asyncio.get_running_loop().create_future()
            self._waiting.append(place)
            try:
                await place
            except asyncio.CancelledError:
                if place.done() and not place.cancelled():  # given a place, then cancelled
                    self._end_one()
                else:
                    self._waiting.remove(place)
                raise
        ok = False
        try:
            yield
            ok = True
        finally:
            self.answered(ok, waited_on=bool(self._waiting))
            self._end_one()

    def _wake(self) -> None:
        while self._waiting and self._in_flight < self.limit:
            self._start_one()
            self._waiting.popleft().set_result(None)

    def _start_one(self) -> None:
        if self._idle_since is not None:  # the pipe was idle (the caller busy elsewhere)
            self._idle += self._clock() - self._idle_since
            self._idle_since = None
        self._in_flight += 1

    def _end_one(self) -> None:
        self._in_flight -= 1
        if not self._in_flight:
            self._idle_since = self._clock()
        self._wake()

    def answered(self, ok: bool = True, waited_on: bool = True) -> None:
        """One answer came back (`ok` False: it failed). `waited_on`: other requests were
        waiting for a place; a window with an answer that found none (the end of a batch)
        says nothing of the server and is not judged."""
        if not ok:  # refused or broken: fewer at once, now, and a fresh count
            self._doubling = False
            self._set(self.limit * 3 // 4, 0.0)
            return
        self._counted += 1
        self._starved = self._starved or not waited_on
        if self._counted < max(WINDOW, 4 * self.limit):
            return
        now = self._clock()
        idle = self._idle + (now - self._idle_since if self._idle_since is not None else 0.0)
        rate = self._counted / max(now - self._since - idle, 1e-6)
        last, before = self._last_rate, self._last_limit
        if self._starved:
            self._set(self.limit, last, before)
        elif self.limit > before and last:  # more were tried: kept while worth it
            worth = 1 + RISE * (self.limit - before) / max(before, 1)
            if rate > last * worth:
                self._set(self.limit * 2 if self._doubling else self.limit + 1, rate)
            else:
                self._doubling = False
                self._set(before, last, before)
        elif rate < last * FALL:  # the server slows
            self._doubling = False
            self._set(self.limit * 3 // 4, 0.0)
        else:  # steady: now and then, one more is tried
            self._steady += 1
            probe = not last or self._steady >= PROBE_EVERY
            self._set(self.limit + 1 if probe else self.limit, rate)

    def _set(self, limit: int, rate: float, before: int | None = None) -> None:
        """Run the next window with `limit`, this one's `rate` kept to judge it by (`before`:
        the limit to call this one's, when it is kept as it was)."""
        self._last_limit = self.limit if before is None else before
        self._last_rate = rate
        if limit != self.limit:
            self._steady = 0
        self._starved = False
        self.limit = max(self.least, min(self.most, limit))
        self.widest = max(self.widest, self.limit)
        self._counted, self._since, self._idle = 0, self._clock(), 0.0
        if self._idle_since is not None:
            self._idle_since = self._since
        self._wake()  # a wider gate lets more through now

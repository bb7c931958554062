"""The pull's pacer: more requests in flight while the answers per second still rise with them
(the wait is the network), fewer when the rate falls (the server slows) or an answer fails."""

from __future__ import annotations

import asyncio

import pytest

from mysafe_tui.remote.pacing import MOST, START, Pacer


class Server:
    """Answers per second with `limit` requests in flight: `limit / round_trip`, up to what
    the server (and the client reading its answers) can do."""

    def __init__(self, round_trip: float, capacity: float) -> None:
        self.round_trip, self.capacity, self.now = round_trip, capacity, 0.0

    def clock(self) -> float:
        return self.now

    def serve(self, pacer: Pacer, answers: int) -> None:
        for _ in range(answers):
            self.now += 1 / min(pacer.limit / self.round_trip, self.capacity)
            pacer.answered()


def test_far_away_it_widens_to_its_most() -> None:
    server = Server(round_trip=0.022, capacity=5000)  # 20 ms away, a fast server
    pacer = Pacer(clock=server.clock)
    server.serve(pacer, 10_000)
    assert pacer.limit == MOST


def test_near_it_stops_where_more_would_only_queue() -> None:
    server = Server(round_trip=0.004, capacity=1000)  # loopback: 4 in flight already fill it
    pacer = Pacer(clock=server.clock)
    server.serve(pacer, 10_000)
    assert START <= pacer.limit <= 8 and pacer.widest <= 8


def test_a_server_that_slows_gets_fewer_and_a_failure_fewer_at_once() -> None:
    server = Server(round_trip=0.022, capacity=5000)
    pacer = Pacer(clock=server.clock)
    server.serve(pacer, 5000)
    assert pacer.limit == MOST
    server.capacity = 200  # the server is busy now: answers come at a quarter of the pace
    server.serve(pacer, 200)
    assert pacer.limit < MOST
    before = pacer.limit
    pacer.answered(ok=False)
    assert pacer.limit == before * 3 // 4
    for _ in range(50):
        pacer.answered(ok=False)
    assert pacer.limit == 1  # never below one


async def test_no_more_run_at_once_than_it_allows() -> None:
    pacer = Pacer(start=3, most=3)
    running, most = 0, 0

    async def request() -> None:
        nonlocal running, most
        async with pacer.slot():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.001)
            running -= 1

    await asyncio.gather(*(request() for _ in range(50)))
    assert most == 3


async def test_a_request_that_raises_counts_as_failed_and_frees_its_place() -> None:
    pacer = Pacer(start=4)

    async def broken() -> None:
        async with pacer.slot():
            raise ConnectionError("reset")

    for _ in range(2):
        with pytest.raises(ConnectionError):
            await broken()
    assert pacer.limit == 2  # 4 -> 3 -> 2
    async with pacer.slot():  # places were given back
        pass


async def test_a_cancelled_waiter_takes_no_place_with_it() -> None:
    pacer = Pacer(start=1, most=1)
    release = asyncio.Event()

    async def holder() -> None:
        async with pacer.slot():
            await release.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(holder()) for _ in range(3)]
    await asyncio.sleep(0)
    waiting[0].cancel()  # still waiting: leaves the queue
    release.set()
    await asyncio.gather(first, *waiting[1:])
    async with pacer.slot():  # every place came back
        pass

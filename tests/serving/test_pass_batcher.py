"""serving/pass_batcher.py: concurrent requests share model calls, a bounded number of calls and passes in
flight, no request hogging a call."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from serving.pass_batcher import PassBatcher, call_shares

MERGE_FROM = 8  # SLANT_PASS_MERGE_FROM's default
IN_FLIGHT = 2  # SLANT_PASS_CALLS_IN_FLIGHT's default


class Model:
    """A fake model worker: records every call; each answer is the pass itself."""

    def __init__(self, fail: list[Exception] | None = None, seconds=lambda batch: 0.01) -> None:
        self.calls: list[list] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.passes_in_flight = 0
        self.most_passes_in_flight = 0
        self.fail = list(fail or [])
        self.seconds = seconds  # how long a call takes

    async def __call__(self, batch: list) -> list:
        self.calls.append(list(batch))
        self.in_flight += 1
        self.passes_in_flight += len(batch)
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.most_passes_in_flight = max(self.most_passes_in_flight, self.passes_in_flight)
        try:
            await asyncio.sleep(self.seconds(batch))
            if self.fail:
                raise self.fail.pop(0)
            return list(batch)
        finally:
            self.in_flight -= 1
            self.passes_in_flight -= len(batch)


def test_a_lone_request_is_one_call():
    model = Model()
    assert asyncio.run(PassBatcher(model, 8, MERGE_FROM, IN_FLIGHT).score([1, 2, 3])) == [1, 2, 3]
    assert model.calls == [[1, 2, 3]]


def test_concurrent_requests_share_calls_one_in_flight():
    model = Model()

    async def main():
        batcher = PassBatcher(model, 16, MERGE_FROM, 1)
        return await asyncio.gather(*(batcher.score([f"{r}.{i}" for i in range(3)]) for r in range(requests)))

    requests = MERGE_FROM + 2  # enough waiting to merge
    answers = asyncio.run(main())
    assert answers == [[f"{r}.{i}" for i in range(3)] for r in range(requests)]
    assert model.most_in_flight == 1
    assert len(model.calls) < requests and all(len(c) <= 16 for c in model.calls)


def test_a_large_request_is_cut_into_calls_of_the_limit():
    model = Model()
    assert asyncio.run(PassBatcher(model, 4, MERGE_FROM, 1).score(list(range(10)))) == list(range(10))
    assert [len(c) for c in model.calls] == [4, 4, 2]


def test_a_lost_connection_is_sent_again():
    model = Model(fail=[aiohttp.ServerDisconnectedError()])
    assert asyncio.run(PassBatcher(model, 8, MERGE_FROM, IN_FLIGHT).score([1])) == [1]
    assert len(model.calls) == 2


def test_other_errors_reach_the_request():
    model = Model(fail=[RuntimeError("worker failed")])
    with pytest.raises(RuntimeError, match="worker failed"):
        asyncio.run(PassBatcher(model, 8, MERGE_FROM, IN_FLIGHT).score([1]))
    assert len(model.calls) == 1


@pytest.mark.parametrize(
    "left, capacity, shares",
    [
        ([1000], 256, [256]),  # alone: the whole call
        ([1000, 10], 256, [246, 10]),  # the short one goes in whole, the long one fills the call
        ([1000, 1000, 10], 256, [182, 64, 10]),  # a quarter each, the rest to the oldest
        ([30, 20, 10, 300], 64, [22, 16, 10, 16]),  # a quarter each in arrival order, the rest to the oldest
        ([5, 6], 256, [5, 6]),
        ([60] * 6, 256, [60, 60, 60, 60, 16, 0]),  # requests under a quarter: first come, first served
        ([1] * 5, 3, [1, 1, 1, 0, 0]),  # more requests than room: the earliest go first
    ],
)
def test_call_shares(left, capacity, shares):
    assert call_shares(left, capacity) == shares


def test_no_request_is_starved():
    """However many requests keep coming, the oldest moves by at least a quarter of every call,
    and later ones never go before it."""
    assert call_shares([1000] + [8] * 100, 256)[0] == 64
    assert call_shares([8] * 100 + [1000], 256)[-1] == 0


def test_a_short_request_is_not_held_behind_a_long_one():
    """A short article (up to a quarter of a call) that arrives while a long one is being scored
    is done in the next call, not after every pass of the long one; both get their own outs."""
    model = Model()

    async def main():
        batcher = PassBatcher(model, 12, MERGE_FROM, 1)
        long = asyncio.ensure_future(batcher.score([f"L{i}" for i in range(40)]))
        await asyncio.sleep(0.005)  # the long one's first call is in flight
        short = await batcher.score(["S0", "S1", "S2"])
        return short, long.done(), await long

    short, long_done_first, long = asyncio.run(main())
    assert short == ["S0", "S1", "S2"] and long == [f"L{i}" for i in range(40)]
    assert not long_done_first
    assert model.calls[0] == [f"L{i}" for i in range(12)]
    assert model.calls[1] == [f"L{i}" for i in range(12, 15)]  # a quarter of a call while S waits
    assert model.calls[2] == ["S0", "S1", "S2"]
    assert model.calls[3] == [f"L{i}" for i in range(15, 27)]  # alone again: whole calls
    assert model.most_in_flight == 1


def arrivals_during_a_call(model: Model, waiting: int, passes: int = 2) -> list[list]:
    """Request 0 alone, then ``waiting`` more of ``passes`` sent while its call is in flight: each
    one's answer. A call holds all of them, each at most a quarter of it."""

    async def main():
        batcher = PassBatcher(model, passes * max(4, waiting), MERGE_FROM, 1)
        first = asyncio.ensure_future(batcher.score([f"0.{i}" for i in range(passes)]))
        await asyncio.sleep(0.005)
        rest = [batcher.score([f"{r}.{i}" for i in range(passes)]) for r in range(1, waiting + 1)]
        return await asyncio.gather(first, *rest)

    return asyncio.run(main())


def test_while_few_requests_wait_each_call_is_one_request():
    """Below ``merge_from`` waiting requests, each is answered when its own passes are scored, not
    when the others merged with it are."""
    model = Model()
    answers = arrivals_during_a_call(model, MERGE_FROM - 1)
    assert answers == [[f"{r}.{i}" for i in range(2)] for r in range(MERGE_FROM)]
    assert model.calls == answers  # one request per call, in arrival order


def test_from_merge_from_waiting_requests_calls_merge():
    model = Model()
    answers = arrivals_during_a_call(model, MERGE_FROM)
    assert answers == [[f"{r}.{i}" for i in range(2)] for r in range(MERGE_FROM + 1)]
    assert model.calls == [answers[0], [p for a in answers[1:] for p in a]]


def test_a_cancelled_request_sends_no_more_passes():
    model = Model()

    async def main():
        batcher = PassBatcher(model, 4, MERGE_FROM, 1)
        gone = asyncio.ensure_future(batcher.score([f"G{i}" for i in range(40)]))
        await asyncio.sleep(0.005)
        gone.cancel()
        return await batcher.score([1, 2])

    assert asyncio.run(main()) == [1, 2]
    sent = [p for call in model.calls for p in call]
    assert sent == ["G0", "G1", "G2", "G3", 1, 2]


def test_the_next_call_goes_out_while_one_is_in_flight():
    """Requests that arrive while a call is in flight go out in a second call at once, so that the
    model worker reads and tokenizes it while the first one's windows run; no more than
    ``calls_in_flight`` calls at a time."""
    model = Model()

    async def main():
        batcher = PassBatcher(model, 16, MERGE_FROM, IN_FLIGHT)
        return await asyncio.gather(*(batcher.score([f"{r}.{i}" for i in range(3)]) for r in range(4)))

    answers = asyncio.run(main())
    assert answers == [[f"{r}.{i}" for i in range(3)] for r in range(4)]
    assert model.calls == answers  # one request per call (fewer than MERGE_FROM wait), in arrival order
    assert model.most_in_flight == IN_FLIGHT


def test_the_calls_in_flight_hold_at_most_one_call_of_passes():
    """However many calls are in flight, their passes together are at most a call's: a long request
    alone fills one call and nothing goes beside it, so a request that arrives next waits for at most
    that many passes, as with one call in flight."""
    model = Model()
    assert asyncio.run(PassBatcher(model, 12, MERGE_FROM, IN_FLIGHT).score(list(range(40)))) == list(range(40))
    assert [len(c) for c in model.calls] == [12, 12, 12, 4]
    assert model.most_passes_in_flight == 12 and model.most_in_flight == 1


def test_calls_that_come_back_out_of_order_give_each_request_its_outs_in_order():
    slow = {"B0"}  # the call holding B's first passes takes longer than the one after it

    model = Model(seconds=lambda batch: 0.05 if slow & set(batch) else 0.01)

    async def main():
        batcher = PassBatcher(model, 8, MERGE_FROM, IN_FLIGHT)
        a = asyncio.ensure_future(batcher.score(["A0", "A1", "A2"]))
        await asyncio.sleep(0.001)  # A's call is in flight; B's first call goes beside it, in the room left
        b = await batcher.score([f"B{i}" for i in range(10)])
        return await a, b

    a, b = asyncio.run(main())
    assert a == ["A0", "A1", "A2"] and b == [f"B{i}" for i in range(10)]
    assert model.calls[:3] == [["A0", "A1", "A2"], [f"B{i}" for i in range(5)], ["B5", "B6", "B7"]]
    assert model.most_passes_in_flight <= 8

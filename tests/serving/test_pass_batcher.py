"""serving/pass_batcher.py: concurrent requests share model calls, one call in flight, shortest first."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from serving.pass_batcher import PassBatcher, call_shares


class Model:
    """A fake model worker: records every call; each answer is the pass itself."""

    def __init__(self, fail: list[Exception] | None = None) -> None:
        self.calls: list[list] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail = list(fail or [])

    async def __call__(self, batch: list) -> list:
        self.calls.append(list(batch))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if self.fail:
                raise self.fail.pop(0)
            return list(batch)
        finally:
            self.in_flight -= 1


def test_a_lone_request_is_one_call():
    model = Model()
    assert asyncio.run(PassBatcher(model, 8).score([1, 2, 3])) == [1, 2, 3]
    assert model.calls == [[1, 2, 3]]


def test_concurrent_requests_share_calls_one_in_flight():
    model = Model()

    async def main():
        batcher = PassBatcher(model, 8)
        return await asyncio.gather(*(batcher.score([f"{r}.{i}" for i in range(3)]) for r in range(6)))

    answers = asyncio.run(main())
    assert answers == [[f"{r}.{i}" for i in range(3)] for r in range(6)]
    assert model.most_in_flight == 1
    assert len(model.calls) < 6 and all(len(c) <= 8 for c in model.calls)


def test_a_large_request_is_cut_into_calls_of_the_limit():
    model = Model()
    assert asyncio.run(PassBatcher(model, 4).score(list(range(10)))) == list(range(10))
    assert [len(c) for c in model.calls] == [4, 4, 2]


def test_a_lost_connection_is_sent_again():
    model = Model(fail=[aiohttp.ServerDisconnectedError()])
    assert asyncio.run(PassBatcher(model, 8).score([1])) == [1]
    assert len(model.calls) == 2


def test_other_errors_reach_the_request():
    model = Model(fail=[RuntimeError("worker failed")])
    with pytest.raises(RuntimeError, match="worker failed"):
        asyncio.run(PassBatcher(model, 8).score([1]))
    assert len(model.calls) == 1


@pytest.mark.parametrize(
    "left, capacity, shares",
    [
        ([1000], 256, [256]),
        ([1000, 10], 256, [246, 10]),  # the short one goes in whole, the long one fills the call
        ([10, 1000, 1000], 256, [10, 246, 0]),
        ([30, 20, 10, 300], 64, [30, 20, 10, 4]),  # shortest first, whole while they fit
        ([300, 30, 20, 10], 64, [16, 18, 20, 10]),  # the oldest first gets a quarter of the call
        ([5, 6], 256, [5, 6]),
        ([1] * 5, 3, [1, 1, 1, 0, 0]),  # more requests than room: the earliest go first
    ],
)
def test_call_shares(left, capacity, shares):
    assert call_shares(left, capacity) == shares


def test_a_long_request_is_not_starved_by_short_ones():
    """However many short requests keep coming, the oldest moves by a quarter of every call."""
    left = [1000] + [8] * 100
    assert call_shares(left, 256)[0] == 64


def test_a_short_request_is_not_held_behind_a_long_one():
    """A short article that arrives while a long one is being scored is done in the next call,
    not after every pass of the long one; both get their own outs, in order."""
    model = Model()

    async def main():
        batcher = PassBatcher(model, 8)
        long = asyncio.ensure_future(batcher.score([f"L{i}" for i in range(40)]))
        await asyncio.sleep(0.005)  # the long one's first call is in flight
        short = await batcher.score(["S0", "S1", "S2"])
        return short, long.done(), await long

    short, long_done_first, long = asyncio.run(main())
    assert short == ["S0", "S1", "S2"] and long == [f"L{i}" for i in range(40)]
    assert not long_done_first
    assert model.calls[0] == [f"L{i}" for i in range(8)]
    assert model.calls[1] == ["L8", "L9", "L10", "L11", "L12", "S0", "S1", "S2"]
    assert model.most_in_flight == 1


def test_a_cancelled_request_sends_no_more_passes():
    model = Model()

    async def main():
        batcher = PassBatcher(model, 4)
        gone = asyncio.ensure_future(batcher.score([f"G{i}" for i in range(40)]))
        await asyncio.sleep(0.005)
        gone.cancel()
        return await batcher.score([1, 2])

    assert asyncio.run(main()) == [1, 2]
    sent = [p for call in model.calls for p in call]
    assert sent == ["G0", "G1", "G2", "G3", 1, 2]

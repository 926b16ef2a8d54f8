"""serving/pass_batcher.py: concurrent requests share model calls, one call in flight."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from serving.pass_batcher import PassBatcher


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

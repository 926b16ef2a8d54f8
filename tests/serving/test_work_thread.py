"""serving/work_thread.py: one job at a time in a worker thread, preparations before answers
(but no answer waits long)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import serving.work_thread
from serving.work_thread import ANSWER, PREPARE, WorkThread


def test_jobs_run_one_at_a_time_off_the_event_loop():
    running, most, threads = [0], [0], set()

    def job():
        running[0] += 1
        most[0] = max(most[0], running[0])
        threads.add(threading.get_ident())
        time.sleep(0.01)
        running[0] -= 1

    async def main():
        work = WorkThread()
        await asyncio.gather(*(work.run(PREPARE if i % 2 else ANSWER, job) for i in range(8)))

    asyncio.run(main())
    assert most[0] == 1
    assert threading.get_ident() not in threads


def test_waiting_preparations_go_before_waiting_answers():
    order: list[str] = []

    async def main():
        work = WorkThread()
        first = asyncio.ensure_future(work.run(ANSWER, time.sleep, 0.05))  # holds the thread
        await asyncio.sleep(0.01)
        jobs = [
            work.run(ANSWER, order.append, "answer 1"),
            work.run(ANSWER, order.append, "answer 2"),
            work.run(PREPARE, order.append, "prepare 1"),
            work.run(PREPARE, order.append, "prepare 2"),
        ]
        await asyncio.gather(first, *jobs)

    asyncio.run(main())
    assert order == ["prepare 1", "prepare 2", "answer 1", "answer 2"]


def test_an_answer_that_waited_too_long_goes_first(monkeypatch):
    """New requests arriving faster than the thread cannot starve the answers already scored."""
    monkeypatch.setattr(serving.work_thread, "ANSWER_MAX_WAIT_S", 0.01)
    order: list[str] = []

    async def main():
        work = WorkThread()
        first = asyncio.ensure_future(work.run(PREPARE, time.sleep, 0.05))  # the answer waits 0.04 s
        await asyncio.sleep(0.01)
        jobs = [work.run(ANSWER, order.append, "answer"), work.run(PREPARE, order.append, "prepare")]
        await asyncio.gather(first, *jobs)

    asyncio.run(main())
    assert order == ["answer", "prepare"]


def test_a_cancelled_waiter_passes_the_thread_on():
    order: list[str] = []

    async def main():
        work = WorkThread()
        first = asyncio.ensure_future(work.run(PREPARE, time.sleep, 0.05))
        await asyncio.sleep(0.01)
        gone = asyncio.ensure_future(work.run(PREPARE, order.append, "gone"))
        kept = asyncio.ensure_future(work.run(ANSWER, order.append, "kept"))
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.gather(first, kept)
        with pytest.raises(asyncio.CancelledError):
            await gone
        await asyncio.wait_for(work.run(PREPARE, order.append, "after"), 5)  # the thread is free again

    asyncio.run(main())
    assert order == ["kept", "after"]


def test_an_error_reaches_the_caller_and_frees_the_thread():
    async def main():
        work = WorkThread()
        with pytest.raises(ZeroDivisionError):
            await work.run(PREPARE, lambda: 1 / 0)
        return await asyncio.wait_for(work.run(ANSWER, lambda: "free"), 5)

    assert asyncio.run(main()) == "free"

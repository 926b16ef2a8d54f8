"""``WorkThread``: the API worker's GIL-bound work (splitting text, spaCy NER, building answers)
one job at a time in a worker thread, preparations first.

One at a time: spaCy runs single-threaded, and the event loop stays free for the model calls.
Preparations first: a prepared request feeds the model worker, a built answer only its client.
When a model call returns, the answers of all its requests are built; a new request that arrives
meanwhile (a client that just got its answer) is prepared before the rest of them, so the next
model call is not held back by the answers of the last one (bench/serve.py: /classify at 16
clients left the model worker idle while a call's answers were built first come, first served).
An answer waits for preparations at most ``ANSWER_MAX_WAIT_S``: a stream of new requests faster
than this thread cannot starve the answers of the requests already scored.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from typing import TypeVar

import anyio

T = TypeVar("T")

PREPARE, ANSWER = "prepare", "answer"
ANSWER_MAX_WAIT_S = 0.5  # then the oldest waiting answer goes before waiting preparations


class WorkThread:
    def __init__(self) -> None:
        self._busy = False
        # Per kind, in arrival order: (when it started waiting, the future that grants it the thread).
        self._waiting: dict[str, collections.deque[tuple[float, asyncio.Future[None]]]] = {
            PREPARE: collections.deque(),
            ANSWER: collections.deque(),
        }

    async def run(self, kind: str, fn: Callable[..., T], *args) -> T:
        """``fn(*args)`` in a worker thread, when it is this job's turn (``kind``: PREPARE or ANSWER)."""
        await self._acquire(kind)
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            self._release()

    async def _acquire(self, kind: str) -> None:
        if not self._busy:
            self._busy = True
            return
        grant = asyncio.get_running_loop().create_future()
        self._waiting[kind].append((time.monotonic(), grant))
        try:
            await grant
        except asyncio.CancelledError:
            if grant.done() and not grant.cancelled():  # granted as it was cancelled: pass it on
                self._release()
            raise

    def _release(self) -> None:
        for queue in self._waiting.values():  # a done grant's request was cancelled while waiting
            while queue and queue[0][1].done():
                queue.popleft()
        prepare, answer = self._waiting[PREPARE], self._waiting[ANSWER]
        if answer and (not prepare or time.monotonic() - answer[0][0] > ANSWER_MAX_WAIT_S):
            answer.popleft()[1].set_result(None)
        elif prepare:
            prepare.popleft()[1].set_result(None)
        else:
            self._busy = False

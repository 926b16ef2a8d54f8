"""``WorkThread``: the API worker's GIL-bound work (splitting text, spaCy NER, building answers)
one job at a time in a worker thread, preparations first.

One at a time: spaCy runs single-threaded, and the event loop stays free for the model calls.
Preparations first: a prepared request feeds the model worker, a built answer only its client.
When a model call returns, the answers of all its requests are built; a new request that arrives
meanwhile (a client that just got its answer) is prepared before the rest of them, so the next
model call is not held back by the answers of the last one (bench/serve.py: /classify at 16
clients left the model worker idle while a call's answers were built first come, first served).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import TypeVar

import anyio

T = TypeVar("T")

PREPARE, ANSWER = 0, 1  # priorities: lower runs first


class WorkThread:
    def __init__(self) -> None:
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []  # a heap: (priority, arrival, grant)
        self._arrival = itertools.count()

    async def run(self, priority: int, fn: Callable[..., T], *args) -> T:
        """``fn(*args)`` in a worker thread once every job of a lower ``priority`` number, and every
        earlier one of the same, has run."""
        await self._acquire(priority)
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if not self._busy:
            self._busy = True
            return
        grant = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrival), grant))
        try:
            await grant
        except asyncio.CancelledError:
            if grant.done() and not grant.cancelled():  # granted as it was cancelled: pass it on
                self._release()
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, grant = heapq.heappop(self._waiting)
            if not grant.done():  # done: its request was cancelled while waiting
                grant.set_result(None)
                return
        self._busy = False

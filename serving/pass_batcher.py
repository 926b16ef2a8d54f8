"""``PassBatcher``: the API worker's batching of model passes, in front of BentoML's own adaptive
batching of the model worker's ``score`` endpoint (bench/batching.py measures both on the same load)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

import aiohttp

log = logging.getLogger("slant.serving")


class PassBatcher:
    """Merges the model passes of concurrent requests into calls of the model worker, with ONE call
    in flight per API worker; a lone request is sent at once, never held back.

    Why not BentoML's adaptive batching alone (bench/batching.py measures both; bench/RESULTS.md):
    - its cork learns how long to hold a batch open from the queueing delays it saw under load and
      keeps applying that after the load is gone: a lone article right after a burst took 3-10x
      as long as on a fresh server, for minutes. With one call in flight the model worker's queue
      never holds more than one job, BentoML dispatches it at once, and batching happens here:
      whatever queued while a call ran goes into the next call (up to ``max_passes``; bigger
      requests are cut into chunks of that size), so batches still grow with the load.
    - BentoML's worker-to-worker client replaces its connection pool every 100 calls and closes
      the calls in flight on the old one (aiohttp ServerDisconnectedError, a 500 for the request).
      With one call in flight, none is in flight when the pool is replaced; a call that still
      loses its connection (a keep-alive race) is sent again: scoring is idempotent.
    """

    RETRIES = 2

    def __init__(self, call: Callable[[list], Awaitable[list]], max_passes: int) -> None:
        self._call = call  # async (list[PassIn]) -> list[PassOut]
        self._max = max_passes
        # (a chunk of a request's passes, the future of their outs)
        self._queue: collections.deque[tuple[list, asyncio.Future[list]]] = collections.deque()
        self._draining: asyncio.Task | None = None

    async def score(self, passes: list) -> list:
        loop = asyncio.get_running_loop()
        futures = []
        for i in range(0, len(passes), self._max):
            future = loop.create_future()
            self._queue.append((passes[i : i + self._max], future))
            futures.append(future)
        if self._draining is None or self._draining.done():
            self._draining = loop.create_task(self._drain())
        chunks = await asyncio.gather(*futures)
        return [out for chunk in chunks for out in chunk]

    async def _drain(self) -> None:
        while self._queue:
            jobs: list[tuple[asyncio.Future[list], int]] = []  # (a chunk's future, its number of passes)
            batch: list = []
            while self._queue and (not batch or len(batch) + len(self._queue[0][0]) <= self._max):
                passes, future = self._queue.popleft()
                if not future.done():  # done = cancelled: the client went away
                    jobs.append((future, len(passes)))
                    batch.extend(passes)
            if not batch:
                continue
            try:
                outs = await self._call_with_retry(batch)
            except Exception as e:  # noqa: BLE001 - the requests in this batch get the error
                for future, _ in jobs:
                    if not future.done():
                        future.set_exception(e)
                continue
            at = 0
            for future, n in jobs:
                if not future.done():
                    future.set_result(outs[at : at + n])
                at += n

    async def _call_with_retry(self, batch: list) -> list:
        for attempt in range(self.RETRIES + 1):
            try:
                return await self._call(batch)
            except aiohttp.ClientConnectionError as e:
                if attempt == self.RETRIES:
                    raise
                log.warning("model call lost its connection (%s: %s); sending it again", type(e).__name__, e)
        raise AssertionError("unreachable")

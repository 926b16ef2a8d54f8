"""``PassBatcher``: the API worker's batching of model passes, in front of BentoML's own adaptive
batching of the model worker's ``score`` endpoint (bench/batching.py measures both on the same load)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import aiohttp

log = logging.getLogger("slant.serving")


class _Waiting:
    """One request's passes: how many have gone into calls so far, and the outs that came back."""

    __slots__ = ("passes", "sent", "scored", "outs", "future")

    def __init__(self, passes: list, future: asyncio.Future[list]) -> None:
        self.passes = passes
        self.sent = 0
        self.scored = 0
        self.outs: list = [None] * len(passes)  # by position: slices may come back from two workers out of order
        self.future = future

    @property
    def left(self) -> int:
        return len(self.passes) - self.sent


def quota(capacity: int, waiting: int) -> int:
    """The most passes one request puts into a call of ``capacity`` while ``waiting`` requests
    (itself included) wait: the whole call alone, a quarter of it otherwise."""
    return capacity if waiting == 1 else max(1, capacity // 4)


def call_shares(left: list[int], capacity: int) -> list[int]:
    """How many passes each waiting request (in arrival order, ``left`` passes to go) puts into a
    merged call of ``capacity`` passes: first come, first served, but while others wait none takes
    more than a quarter of the call; the room left then goes to the oldest. So a short article
    (up to a quarter of a call) behind up to three long ones is scored in the next call, not
    after their last passes, and nothing is starved: the order is still arrival (shortest-first
    ordering starved long requests behind streams of short ones)."""
    shares = [0] * len(left)
    room = capacity
    most = quota(capacity, len(left))
    for i, n in enumerate(left):
        if room <= 0:
            break
        shares[i] = min(n, most, room)
        room -= shares[i]
    for i, n in enumerate(left):
        if room <= 0:
            break
        extra = min(n - shares[i], room)
        shares[i] += extra
        room -= extra
    return shares


class PassBatcher:
    """Sends the model passes of concurrent requests to the model workers, with ONE call in flight
    per model worker (``calls``: one async callable each), merged into shared calls as the load
    grows; a lone request is sent at once, to whichever worker is free, never held back.

    While fewer than ``merge_from`` requests wait, a call carries one request's passes, the oldest
    first, a quarter of a call at a time while others wait (round robin): each request is answered
    as soon as its own passes are scored instead of when everything merged with it is (a merged
    call makes its oldest request, the one at the tail, wait for the newer ones' passes). At half
    the peak load merging from 8 gave a lower p99 than from 4 in 4 of 4 paired rounds (445 against
    521 ms; always merging 555, a real one-at-a-time server 474) and the same peak at 16 clients
    (bench/call_policy.py, 2026-12-05, bench/RESULTS.md).
    From ``merge_from`` waiting requests on, calls of at most ``max_passes`` passes are filled
    first come, first served, no request taking more than a quarter of a call (``call_shares``),
    so batches grow with the load. Either way a short article is scored within a call or two even
    while a long one has thousands of passes to go. A pass's scores do not depend on what it is
    batched with (slant/predictor.py), so cutting a request across calls changes no answer.

    Why not BentoML's adaptive batching alone (bench/batching.py measures both; bench/RESULTS.md):
    its cork learns how long to hold a batch open from the queueing delays it saw under load and
    keeps applying that after the load is gone: a lone article right after a burst took 3-10x as
    long as on a fresh server, for minutes. With one call in flight per model worker, its queue never
    holds more than one job, BentoML dispatches it at once, and batching happens here: whatever
    queued while a call ran goes into the next call, so batches still grow with the load.

    A call that loses its connection (a keep-alive race) is sent again: scoring is idempotent.
    """

    RETRIES = 2

    def __init__(self, calls: Sequence[Callable[[list], Awaitable[list]]], max_passes: int, merge_from: int) -> None:
        self._calls = list(calls)  # per model worker: async (list[PassIn]) -> list[PassOut]
        self._max = max_passes
        self._merge_from = merge_from  # waiting requests from which calls merge them (SLANT_PASS_MERGE_FROM)
        self._waiting: list[_Waiting] = []  # in turn order: arrival, rotated by round robin
        self._draining: list[asyncio.Task | None] = [None] * len(self._calls)  # per model worker

    async def score(self, passes: list) -> list:
        if not passes:
            return []
        loop = asyncio.get_running_loop()
        waiting = _Waiting(passes, loop.create_future())
        self._waiting.append(waiting)
        self._start_free_worker()  # if all are busy, the first to finish its call takes it
        return await waiting.future

    async def _drain(self, call: Callable[[list], Awaitable[list]]) -> None:
        """One model worker's calls, one after the other, while any request has passes to send."""
        while True:
            # A done future here was cancelled: the client went away; its passes are not sent.
            self._waiting = [w for w in self._waiting if not w.future.done()]
            unsent = [w for w in self._waiting if w.left > 0]  # the rest are in another worker's call
            if not unsent:
                return
            jobs = [(w, w.sent, n) for w, n in self._next_call(unsent)]
            batch = [p for w, start, n in jobs for p in w.passes[start : start + n]]
            for w, _, n in jobs:
                w.sent += n
            if any(w.left > 0 for w in self._waiting):
                self._start_free_worker()
            try:
                outs = await self._call_with_retry(call, batch)
            except Exception as e:  # noqa: BLE001 - the requests in this call get the error
                for w, _, _ in jobs:
                    if not w.future.done():
                        w.future.set_exception(e)
                continue
            at = 0
            for w, start, n in jobs:
                w.outs[start : start + n] = outs[at : at + n]
                at += n
                w.scored += n
                if w.scored == len(w.passes) and not w.future.done():
                    w.future.set_result(w.outs)

    def _start_free_worker(self) -> None:
        """A model worker with no call in flight, if there is one, starts sending the waiting passes."""
        for worker, task in enumerate(self._draining):
            if task is None or task.done():
                self._draining[worker] = asyncio.get_running_loop().create_task(self._drain(self._calls[worker]))
                return

    def _next_call(self, unsent: list[_Waiting]) -> list[tuple[_Waiting, int]]:
        """(request, passes) that go into the next call, taken from the head of ``unsent``."""
        if len(unsent) < self._merge_from:
            first = unsent[0]
            n = min(first.left, quota(self._max, len(unsent)))
            if first.left > n:  # its next quarter waits for the others' turns
                self._waiting.remove(first)
                self._waiting.append(first)
            return [(first, n)]
        shares = call_shares([w.left for w in unsent], self._max)
        return [(w, n) for w, n in zip(unsent, shares) if n > 0]

    async def _call_with_retry(self, call: Callable[[list], Awaitable[list]], batch: list) -> list:
        for attempt in range(self.RETRIES + 1):
            try:
                return await call(batch)
            except aiohttp.ClientConnectionError as e:
                if attempt == self.RETRIES:
                    raise
                log.warning("model call lost its connection (%s: %s); sending it again", type(e).__name__, e)
        raise AssertionError("unreachable")

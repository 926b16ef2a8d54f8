"""``PassBatcher``: the API worker's batching of model passes, in front of BentoML's own adaptive
batching of the model worker's ``score`` endpoint (bench/batching.py measures both on the same load)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp

log = logging.getLogger("slant.serving")


class _Waiting:
    """One request's passes: how many have gone into calls so far, and the outs that came back."""

    __slots__ = ("passes", "sent", "outs", "scored", "future")

    def __init__(self, passes: list, future: asyncio.Future[list]) -> None:
        self.passes = passes
        self.sent = 0
        self.outs: list = [None] * len(passes)  # filled by position: its calls may come back in any order
        self.scored = 0
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
    """Sends the model passes of concurrent requests to the model worker, with at most
    ``calls_in_flight`` calls in flight per API worker (2 by default) holding at most ``max_passes``
    passes together, merged into shared calls as the load grows; a lone request is sent at once,
    never held back.

    Two calls in flight: a request that arrives while a call runs goes out at once, and the model
    worker reads and tokenizes it while the running call's windows keep the cores busy (its windows
    queue behind that call's on the Predictor's onnxruntime workers), instead of leaving them idle
    between calls while answers travel and the next call is read. With one call in flight the model
    worker used 1.7 of 2 cores at 4 clients (bench/serve.py, 2026-12-05 10:29); two gave 2.5 % more
    articles/s at 4 clients, 1-5 % at 16, 3 % less at 64 (merged calls half as large), and the same
    or a lower half-peak p99 (bench/call_policy.py, 2026-12-05, docs/benchmarks.md). The budget of passes in flight keeps what a new request can
    find ahead of it at one call's worth, as with one call in flight: a long article alone fills a
    call and nothing goes beside it.

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
    long as on a fresh server, for minutes. The calls go to the model worker's ``score_call``
    endpoint, which BentoML runs at once, without its batching, and batching happens here: whatever
    queued while the calls ran goes into the next call, so batches still grow with the load.

    A call that loses its connection (a keep-alive race) is sent again: scoring is idempotent.
    """

    RETRIES = 2

    def __init__(
        self, call: Callable[[list], Awaitable[list]], max_passes: int, merge_from: int, calls_in_flight: int
    ) -> None:
        self._call = call  # async (list[PassIn]) -> list[PassOut]
        self._max = max_passes  # passes in one call, and in all the calls in flight together
        self._merge_from = merge_from  # waiting requests from which calls merge them (SLANT_PASS_MERGE_FROM)
        self._most_calls = calls_in_flight  # SLANT_PASS_CALLS_IN_FLIGHT
        self._waiting: list[_Waiting] = []  # passes still to send, in turn order: arrival, rotated by round robin
        self._calls: set[asyncio.Task] = set()
        self._passes_in_flight = 0

    async def score(self, passes: list) -> list:
        if not passes:
            return []
        waiting = _Waiting(passes, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        self._send_calls()
        return await waiting.future

    def _send_calls(self) -> None:
        """Starts calls while fewer than ``calls_in_flight`` are in flight and their passes leave room."""
        while len(self._calls) < self._most_calls:
            # A done future here was cancelled: the client went away; its passes are not sent.
            self._waiting = [w for w in self._waiting if w.left > 0 and not w.future.done()]
            room = self._max - self._passes_in_flight
            if not self._waiting or room <= 0:
                return
            jobs = [(w, w.sent, n) for w, n in self._next_call(room)]
            for w, _, n in jobs:
                w.sent += n
            batch = [p for w, at, n in jobs for p in w.passes[at : at + n]]
            self._passes_in_flight += len(batch)
            task = asyncio.get_running_loop().create_task(self._send(jobs, batch))
            self._calls.add(task)

    async def _send(self, jobs: list[tuple[_Waiting, int, int]], batch: list) -> None:
        try:
            outs = await self._call_with_retry(batch)
        except Exception as e:  # noqa: BLE001 - the requests in this call get the error
            for w, _, _ in jobs:
                if not w.future.done():
                    w.future.set_exception(e)
        else:
            i = 0
            for w, at, n in jobs:
                w.outs[at : at + n] = outs[i : i + n]
                w.scored += n
                i += n
                if w.scored == len(w.passes) and not w.future.done():
                    w.future.set_result(w.outs)
        finally:
            self._passes_in_flight -= len(batch)
            self._calls.discard(asyncio.current_task())  # type: ignore[arg-type]
            self._send_calls()

    def _next_call(self, room: int) -> list[tuple[_Waiting, int]]:
        """(request, passes) that go into the next call, at most ``room`` passes, taken from the head
        of ``_waiting``."""
        if len(self._waiting) < self._merge_from:
            first = self._waiting[0]
            n = min(first.left, quota(self._max, len(self._waiting)), room)
            if first.left > n:  # its next part waits for the others' turns
                self._waiting.append(self._waiting.pop(0))
            return [(first, n)]
        shares = call_shares([w.left for w in self._waiting], room)
        return [(w, n) for w, n in zip(self._waiting, shares) if n > 0]

    async def _call_with_retry(self, batch: list) -> list:
        for attempt in range(self.RETRIES + 1):
            try:
                return await self._call(batch)
            except aiohttp.ClientConnectionError as e:
                if attempt == self.RETRIES:
                    raise
                log.warning("model call lost its connection (%s: %s); sending it again", type(e).__name__, e)
        raise AssertionError("unreachable")

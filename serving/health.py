"""Readiness of the API worker.

``Readiness`` says why this API worker cannot answer yet, or None when it can: not warmed up (a
real sample article has not yet gone through the whole path), the HTML parse pool stalled, or the
model worker not answering a ping. ``ReadyRoute`` answers ``GET /readyz`` from it with a hard time
bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.responses import JSONResponse

from serving.error_answers import error, unavailable
from serving.intake import ParsePool

log = logging.getLogger("slant.serving")

WARMUP_DEADLINE_S = 600
READINESS: list[Readiness] = []  # this API worker process's (one Slant instance per process)


class Readiness:
    def __init__(self, ping: Callable[[], Awaitable], parse_pool: ParsePool | None) -> None:
        self.warm = False
        self.warmup_error: str | None = None
        self._ping = ping  # the model worker's ping endpoint
        self._parse_pool = parse_pool
        self._model_seen = 0.0  # monotonic time of the model worker's last answer to a ping
        self._last_log = 0.0
        READINESS.append(self)

    async def warm_up(self, attempt: Callable[[], Awaitable]) -> None:
        """``attempt`` (a real sample article through the whole path) again and again until it
        succeeds, then ``warm``; gives up after 10 minutes. The model worker may still be starting."""
        deadline = time.monotonic() + WARMUP_DEADLINE_S
        while True:
            try:
                await attempt()
                self.warm = True
                return
            except Exception as e:  # noqa: BLE001 - keep trying until the model worker is up
                self.warmup_error = f"{type(e).__name__}: {e}"
                if time.monotonic() > deadline:
                    log.error("warm-up failed for 10 minutes, last error: %s", self.warmup_error)
                    return
                await asyncio.sleep(0.5)

    async def not_ready_reason(self) -> str | None:
        if not self.warm:
            return f"warming up ({self.warmup_error or 'the model worker is starting'})"
        if self._parse_pool is not None:
            stalled = self._parse_pool.stalled()
            if stalled:
                return stalled
        if time.monotonic() - self._model_seen > 1.0:
            # asyncio.wait, not a cancelling timeout: a call into a worker that is restarting may
            # not end promptly when cancelled, and the probe must answer either way.
            task = asyncio.ensure_future(self._ping())
            done, _ = await asyncio.wait({task}, timeout=3)
            if not done:
                task.cancel()
                return "the model worker does not answer (no reply to a ping within 3 s)"
            if task.exception() is not None:
                return f"the model worker does not answer ({type(task.exception()).__name__})"
            self._model_seen = time.monotonic()
        return None

    def log_not_ready(self, reason: str) -> None:
        """At most one line every 10 s, so that a 503 from /readyz can be explained."""
        now = time.monotonic()
        if now - self._last_log > 10:
            self._last_log = now
            log.warning("not ready: %s", reason)


class ReadyRoute:
    """GET /readyz answered here, from ``Readiness.not_ready_reason`` with a hard 5 s bound: 200, or
    503 with ``{"error": why}``. (BentoML's own probe also asks the model worker's /readyz and can
    hang for a minute on a worker that is being restarted.)"""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/readyz" or not READINESS:
            await self.app(scope, receive, send)
            return
        if scope.get("method") not in ("GET", "HEAD"):
            await error("use GET /readyz", HTTPStatus.METHOD_NOT_ALLOWED)(scope, receive, send)
            return
        readiness = READINESS[-1]
        task = asyncio.ensure_future(readiness.not_ready_reason())
        done, _ = await asyncio.wait({task}, timeout=5)
        reason: str | None
        if not done:
            task.cancel()
            reason = "the readiness checks did not finish within 5 s"
        else:
            reason = task.exception() and f"readiness check failed ({type(task.exception()).__name__})" or task.result()
        if reason:
            readiness.log_not_ready(reason)
            response = unavailable(f"not ready: {reason}")
        else:
            response = JSONResponse({"ready": True})
        await response(scope, receive, send)

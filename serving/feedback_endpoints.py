"""The feedback endpoints: ``POST /feedback`` (labeled corrections for retraining: checked, charged
to the sender's quota, stored in one transaction) and ``GET /feedback/stats``.

slant.feedback is imported when feedback is first used, not when the service starts.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import anyio
from starlette.responses import JSONResponse

from serving.access import IDENTITY, FeedbackQuota
from serving.error_answers import error

log = logging.getLogger("slant.serving")

MISSING_ITEMS = (
    'missing "items"; send {"items": [{"task": "stance", "text": "...", "target": "...", "label": "favor"}, ...]}'
)

STORE_IN_DOUBT = (
    "the connection to the feedback store was lost while it committed, so the corrections may or may not be "
    "stored; sending them again is safe (retraining counts a repeated correction from one sender once)"
)


class FeedbackIntake:
    """POST /feedback for one API worker: its quota and its connection to the feedback store."""

    def __init__(self) -> None:
        self.quota = FeedbackQuota()
        self._store = None

    def store(self):
        from slant.feedback.store import FeedbackStore

        if self._store is None:
            self._store = FeedbackStore()  # $SLANT_FEEDBACK_URL, else $SLANT_FEEDBACK_DB, else ~/.slant/...
        return self._store

    async def accept(self, items: Any) -> JSONResponse:
        """All items checked first, then stored in one transaction; ``{"ids", "count"}`` after the
        commit. One bad item stores nothing and gets a 4xx naming it."""
        from slant.feedback.models import MAX_ITEMS
        from slant.feedback.store import StoreError, StoreFull
        from slant.feedback.validate import FeedbackError, validate_items

        if items is None:
            return error(MISSING_ITEMS, HTTPStatus.BAD_REQUEST)
        try:
            rows = validate_items(items)
        except FeedbackError as e:
            too_many = isinstance(items, list) and len(items) > MAX_ITEMS
            return error(str(e), HTTPStatus.REQUEST_ENTITY_TOO_LARGE if too_many else HTTPStatus.BAD_REQUEST)
        principal, client = IDENTITY.get()  # set by AccessGuard for this request
        identities = [f"client:{client}"] + ([principal] if principal else [])
        nbytes = sum(len(r.text.encode("utf-8")) + len(r.target.encode("utf-8")) for r in rows)
        wait = self.quota.charge(identities, len(rows), nbytes)
        if wait:
            return self._over_quota(wait)
        feedback = self.store()
        try:
            ids = await anyio.to_thread.run_sync(lambda: feedback.add(rows, principal=principal))
        except StoreFull as e:
            log.error("feedback refused: %s", e)
            return error(str(e), HTTPStatus.INSUFFICIENT_STORAGE)
        except StoreError as e:  # its message names the store, password redacted
            log.error("feedback not stored: %s", e)
            if e.in_doubt:
                return error(STORE_IN_DOUBT, HTTPStatus.SERVICE_UNAVAILABLE)
            return error(
                "the feedback store could not take the corrections (the server log says why); nothing "
                "was stored, try again",
                HTTPStatus.SERVICE_UNAVAILABLE,
            )
        return JSONResponse({"ids": ids, "count": len(ids)})

    def _over_quota(self, wait: float) -> JSONResponse:
        q = self.quota
        return JSONResponse(
            {
                "error": f"feedback quota reached ({q.rows:,} rows or {q.nbytes:,} bytes per {q.window_s:,} s per "
                f"key and per client); nothing was stored, retry after {wait:.0f} s"
            },
            status_code=HTTPStatus.TOO_MANY_REQUESTS,
            headers={"Retry-After": str(int(wait + 0.999))},
        )


class FeedbackStatsRoute:
    """GET /feedback/stats: counts per task and label in the feedback store (a plain ASGI route in
    front of the app, because BentoML API methods answer POST only)."""

    PATH = "/feedback/stats"

    def __init__(self, app) -> None:
        self.app = app
        self._store = None

    def store(self):
        from slant.feedback.store import FeedbackStore

        if self._store is None:
            self._store = FeedbackStore()  # the store POST /feedback writes to
        return self._store

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") != self.PATH:
            await self.app(scope, receive, send)
            return
        if scope.get("method") not in ("GET", "HEAD"):
            response = error(f"use GET {self.PATH}", HTTPStatus.METHOD_NOT_ALLOWED)
        else:
            try:
                stats = await anyio.to_thread.run_sync(lambda: self.store().stats())
                stats.pop("location", None)  # no paths or database hosts in answers
                response = JSONResponse(stats)
            except Exception as e:  # noqa: BLE001
                log.error("feedback stats: %s: %s", type(e).__name__, e)
                response = error(
                    "the feedback store is unavailable (the server log says why)", HTTPStatus.SERVICE_UNAVAILABLE
                )
        await response(scope, receive, send)

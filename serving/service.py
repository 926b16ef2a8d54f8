"""The Slant HTTP service (BentoML >= 1.4 new-style services).

Two services, two kinds of worker process:

- ``SlantModel`` holds the onnxruntime Predictor and has ONE batchable endpoint, ``score``, over
  model passes (a paragraph alone, or a (target, paragraph) pair). Paragraphs and pairs from
  concurrent requests, single articles and bulk batches alike, meet in the same adaptive batches.
  Tokenization happens here, inside ``Predictor.score``, so the API worker never tokenizes.
- ``Slant`` is the HTTP face: ``/classify`` and ``/classify_batch``. It parses articles (text /
  HTML / paragraphs), finds targets (spaCy NER), sends the passes to ``SlantModel.score`` and builds
  the answer with ``slant.answer``, exactly as `slant classify` / `slant score` do.

Served: the reader (a web page that shows an article's slant paragraph by paragraph, files in
``serving/static/``) at ``/``, OpenAPI docs at ``/docs`` and ``/docs.json`` (serving/openapi.py), ``/livez``,
``/readyz`` (serving/health.py: 503 until a real sample article has gone through the whole path, and
whenever the HTML parse pool is stalled or the model worker does not answer), ``/metrics``
(Prometheus). Bad input is a 4xx with a JSON ``{"error": "<what is wrong and how to fix it>"}``;
never a 500 (serving/contract.py). Keys, origins and quotas: serving/access.py; HTML is parsed in
child processes with a time and memory budget: serving/intake.py.

This module never imports torch, transformers or training (tests/serving/test_no_torch.py checks).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import bentoml
from starlette.responses import JSONResponse

from serving.access import IDENTITY, AccessGuard, FeedbackQuota
from serving.contract import RequestGuard, configure_logging
from serving.health import INSTANCES, ReadyRoute, check_artifact
from serving.intake import ParsePool, ParseUnavailable
from serving.openapi import OpenAPIRoute
from serving.schemas import (
    SAMPLE_ARTICLE,
    Answer,
    ArticleIn,
    Options,
    PassIn,
    PassOut,
    finish,
    max_batch_articles,
    prepare,
)
from slant import store
from slant.answer import build_answer, passes_for, passes_for_many
from slant.article import ArticleError, ArticleTooLarge, Limits, PageTooComplex, env_int
from slant.artifact import load
from slant.labels import BIAS_TOKENS
from slant.predictor import Pass, PassScores, Predictor

log = logging.getLogger("slant.serving")


# Adaptive batching of model passes. A typical news paragraph is 60-150 tokens; the Predictor packs
# passes into onnxruntime calls of <= 256 padded tokens on CPU (4096 on CUDA) whatever we send it.
#
# MAX_BATCH_PASSES = 256: the most passes in one model call. PassBatcher (below) merges the passes
#   of concurrent requests into calls of at most this size, one call in flight, and cuts larger
#   requests into chunks of it; BentoML's batcher gets the same limit. Big enough that several
#   concurrent articles (a 20-paragraph article with 5 targets is 120 passes) share a call, small
#   enough that a call stays short (about a second on 2 CPU cores for MiniLM-L6 int8), which bounds
#   how long a new request can wait behind the call that is running.
# MAX_LATENCY_MS = 60000: in BentoML this is not a target but the point where a queued job is
#   *rejected* with 503. It must exceed the time the largest allowed article (500 paragraphs x 10
#   targets, ~5,500 passes) takes on CPU, or valid input would fail; past it, we shed load rather
#   than hang.
MAX_BATCH_PASSES = env_int("SLANT_MAX_BATCH_PASSES", 256)
MAX_LATENCY_MS = env_int("SLANT_MAX_LATENCY_MS", 60_000)
REQUEST_TIMEOUT_S = env_int("SLANT_REQUEST_TIMEOUT_S", 120)
API_WORKERS = env_int("SLANT_API_WORKERS", 1)

configure_logging()  # one line per refused request, no BentoML traceback for a 4xx

# The served artifact, chosen once per process (see slant.store.current_model_dir), and checked
# here, at import: `bentoml serve` imports this module in its own process before it starts any
# worker, so a missing or corrupt artifact stops the server at once, exit status 1, with the
# artifact's own message, instead of a worker that crashes and is restarted forever.
MODEL_DIR = check_artifact()


class PayloadTooLarge(bentoml.exceptions.InvalidArgument):
    error_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class ModelUnavailable(Exception):
    """The model worker could not score (restarting, overloaded, failing): a 503 to retry later."""


def _error(message: str, status: int) -> JSONResponse:
    headers = {"Allow": "GET, HEAD"} if status == HTTPStatus.METHOD_NOT_ALLOWED else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _unavailable(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=HTTPStatus.SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})


def _status_of(error: ArticleError) -> int:
    """422 for pages too complex to parse, 413 for inputs that are too large, 400 for every other
    bad article."""
    if isinstance(error, PageTooComplex):
        return HTTPStatus.UNPROCESSABLE_ENTITY
    if isinstance(error, ArticleTooLarge):
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    return HTTPStatus.BAD_REQUEST


# --------------------------------------------------------------------------------------------
# The model worker
# --------------------------------------------------------------------------------------------


@bentoml.service(
    name="slant_model",
    workers=1,  # one onnxruntime session per machine: it already uses every core (or the GPU)
    threads=1,  # one batch at a time; the next batch forms while this one runs
    traffic={"timeout": REQUEST_TIMEOUT_S},
)
class SlantModel:
    # Resolved at import: $SLANT_MODEL, the BentoML store's promoted `slant`, or models/slant-base.
    model_dir: Path = MODEL_DIR

    def __init__(self) -> None:
        self.artifact = load(self.model_dir)
        self.predictor = Predictor(self.artifact)
        self.loaded_threshold = self.artifact.calibration.thresholds[BIAS_TOKENS]["loaded"]
        # Warm-up: the first onnxruntime runs allocate arenas and pick kernels.
        self.predictor.score([Pass(SAMPLE_ARTICLE["text"]), Pass(SAMPLE_ARTICLE["text"], "council")])
        # What score() uses, as ONE reference: reload() swaps it in a single assignment, so a batch
        # runs entirely on the old model or entirely on the new one.
        self._serving = (self.predictor, self.loaded_threshold)
        self._reload_lock = anyio.Lock()
        log.info(
            "Slant model %s %s from %s on %s",
            self.artifact.name, self.artifact.version, self.model_dir, self.predictor.providers,
        )

    @bentoml.api
    def info(self) -> dict:
        """Which model this worker serves (the API worker builds answers with the same artifact)."""
        return {
            "name": self.artifact.name,
            "version": self.artifact.version,
            "path": str(self.model_dir),
            "providers": self.predictor.providers,
        }

    @bentoml.api
    async def ping(self) -> dict:
        """Liveness of this worker for the API worker's /readyz (async: answered between batches)."""
        return {"version": self.artifact.version}

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_PASSES, max_latency_ms=MAX_LATENCY_MS)
    def score(self, passes: list[PassIn]) -> list[PassOut]:
        """Scores for model passes from any number of requests, in order."""
        predictor, loaded_threshold = self._serving
        results = predictor.score([Pass(p.text, p.target) for p in passes])
        out = []
        for r in results:
            # Only tokens at or above the loaded-word threshold can become spans; dropping the rest
            # here changes no answer and keeps the worker-to-worker payload small.
            tokens = [t for t in r.tokens if t[2] >= loaded_threshold]
            out.append(PassOut(stance=r.stance, frames=r.frames, techniques=r.techniques, bias=r.bias, tokens=tokens))
        return out

    @bentoml.api
    async def reload(self, path: str = "") -> dict:
        """Serve the artifact at ``path`` (default: ``store.current_model_dir()`` now). The new
        Predictor is loaded and warmed up in a thread while batches keep running on the old one,
        then swapped in with one assignment. A folder that fails to load changes nothing."""
        async with self._reload_lock:
            target = Path(path) if path else await anyio.to_thread.run_sync(store.current_model_dir)
            if target.resolve() == Path(self.model_dir).resolve():
                return {**self._describe(), "changed": False}

            def build():
                artifact = load(target)
                predictor = Predictor(artifact)
                predictor.score([Pass(SAMPLE_ARTICLE["text"]), Pass(SAMPLE_ARTICLE["text"], "council")])
                return artifact, predictor

            artifact, predictor = await anyio.to_thread.run_sync(build)
            threshold = artifact.calibration.thresholds[BIAS_TOKENS]["loaded"]
            previous = self.artifact.version
            self._serving = (predictor, threshold)  # the switch
            self.artifact, self.predictor, self.loaded_threshold, self.model_dir = artifact, predictor, threshold, target
            log.info("Slant model switched from %s to %s %s (%s)", previous, artifact.name, artifact.version, target)
            return {**self._describe(), "changed": True, "previous": previous}

    def _describe(self) -> dict:
        # Not self.info(): inside the service, BentoML routes API methods through its client.
        return {"name": self.artifact.name, "version": self.artifact.version, "path": str(self.model_dir),
                "providers": self.predictor.providers}


class PassBatcher:
    """Merges the model passes of concurrent requests into calls of the model worker, with ONE call
    in flight per API worker; a lone request is sent at once, never held back.

    Why not BentoML's adaptive batching alone (bench/serve.py measured both):
    - its cork learns how long to hold a batch open from the queueing delays it saw under load and
      keeps applying that after the load is gone: a lone article right after a burst took 3-10x
      as long as on a fresh server, for minutes. With one call in flight the model worker's queue
      never holds more than one job, BentoML dispatches it at once, and batching happens here:
      whatever queued while a call ran goes into the next call (up to ``max_passes``; bigger
      requests are cut into chunks of that size), so batches still grow with the load.
    - BentoML's worker-to-worker client replaces its connection pool every 100 calls and closes
      the calls in flight on the old one (aiohttp ServerDisconnectedError: 15 of 96 requests got a
      500 at 16 clients). With one call in flight, none is in flight when the pool is replaced; a
      call that still loses its connection (a keep-alive race) is sent again: scoring is idempotent.
    """

    RETRIES = 2

    def __init__(self, call, max_passes: int) -> None:
        self._call = call  # async (list[PassIn]) -> list[PassOut]
        self._max = max_passes
        self._queue: collections.deque = collections.deque()
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
            jobs, batch = [], []
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


# --------------------------------------------------------------------------------------------
# The HTTP face
# --------------------------------------------------------------------------------------------


@bentoml.service(
    name="slant",
    workers=API_WORKERS,
    traffic={"timeout": REQUEST_TIMEOUT_S},
    http={"cors": {"enabled": False}},
)
class Slant:
    model = bentoml.depends(SlantModel)

    def __init__(self) -> None:
        self.limits = Limits.from_env()
        self.max_batch = max_batch_articles()
        self.artifact = load(MODEL_DIR)
        self._ready = False
        self._warmup_error: str | None = None
        self._prep_limiter: anyio.CapacityLimiter | None = None
        self._batcher = PassBatcher(lambda batch: self.model.to_async.score(batch), MAX_BATCH_PASSES)
        self._parse_pool: ParsePool | None = ParsePool()  # HTML is parsed in child processes
        self._parse_limiter = anyio.CapacityLimiter(max(4, 4 * self._parse_pool.size))
        self._quota = FeedbackQuota()
        self._model_seen = 0.0  # monotonic time of the model worker's last answer to ping()
        INSTANCES.append(self)  # for ReadyRoute (one Slant instance per API worker process)

    # ---- readiness ------------------------------------------------------------------------

    @bentoml.on_startup
    async def _start_warmup(self) -> None:
        # In the background: the model worker may still be starting; /readyz says 503 meanwhile.
        self._warmup_task = asyncio.get_running_loop().create_task(self._warmup())

    async def _warmup(self) -> None:
        deadline = time.monotonic() + 600
        while True:
            try:
                info = await self.model.to_async.info()
                if info["version"] != self.artifact.version or Path(info["path"]) != Path(self.artifact.path):
                    log.warning("model worker serves %s; loading the same artifact here", info)
                    self.artifact = load(info["path"])
                # A real sample article through the whole path (parse, NER, model, answer).
                await self._classify_one(ArticleIn(**SAMPLE_ARTICLE), Options())
                await self._classify_one(ArticleIn(text=SAMPLE_ARTICLE["text"]), Options())
                # A few small calls take BentoML's adaptive batcher through its training phase,
                # so the first user requests are not slowed by its conservative initial guesses.
                for _ in range(12):
                    await self.model.to_async.score([PassIn(text="Warm-up.")])
                self._ready = True
                log.info("Slant is ready (model %s %s)", self.artifact.name, self.artifact.version)
                return
            except Exception as e:  # noqa: BLE001 - keep trying until the model worker is up
                self._warmup_error = f"{type(e).__name__}: {e}"
                if time.monotonic() > deadline:
                    log.error("warm-up failed for 10 minutes, last error: %s", self._warmup_error)
                    return
                await asyncio.sleep(0.5)

    async def __is_ready__(self) -> bool:
        """Ready = warmed up, the HTML parse pool not stalled, and the model worker answering.
        Each failing check is logged (at most every 10 s) so a 503 from /readyz can be explained."""
        reason = await self._not_ready_reason()
        if reason:
            now = time.monotonic()
            if now - getattr(self, "_last_not_ready_log", 0.0) > 10:
                self._last_not_ready_log = now
                log.warning("not ready: %s", reason)
        return reason is None

    async def _not_ready_reason(self) -> str | None:
        if not self._ready:
            return f"warming up ({self._warmup_error or 'the model worker is starting'})"
        if self._parse_pool is not None:
            stalled = self._parse_pool.stalled()
            if stalled:
                return stalled
        if time.monotonic() - self._model_seen > 1.0:
            # asyncio.wait, not a cancelling timeout: a call into a worker that is restarting may
            # not end promptly when cancelled, and the probe must answer either way.
            task = asyncio.ensure_future(self.model.to_async.ping())
            done, _ = await asyncio.wait({task}, timeout=3)
            if not done:
                task.cancel()
                return "the model worker does not answer (no reply to a ping within 3 s)"
            if task.exception() is not None:
                return f"the model worker does not answer ({type(task.exception()).__name__})"
            self._model_seen = time.monotonic()
        return None

    # ---- the work -------------------------------------------------------------------------

    def _limiter(self) -> anyio.CapacityLimiter:
        # Parsing and NER hold the GIL; one thread keeps spaCy single-threaded and the loop free.
        if self._prep_limiter is None:
            self._prep_limiter = anyio.CapacityLimiter(1)
        return self._prep_limiter

    async def _score(self, passes: list[Pass]) -> list[PassScores]:
        if not passes:
            return []
        outs = await self._batcher.score([PassIn(text=p.text, target=p.target) for p in passes])
        return [_to_scores(o) for o in outs]

    async def _prepare(self, article_in: ArticleIn, options: Options):
        """(Article, targets): HTML is parsed in the parse pool (a child process with a time and
        memory budget), text and paragraphs here; targets (NER) in the one preparation thread."""
        pool = getattr(self, "_parse_pool", None)
        if article_in.html is None or article_in.text is not None or article_in.paragraphs is not None or pool is None:
            return await anyio.to_thread.run_sync(prepare, article_in, options, self.limits, limiter=self._limiter())
        try:
            article = await anyio.to_thread.run_sync(
                pool.parse, article_in.html, article_in.title, article_in.url, self.limits,
                limiter=self._parse_limiter)
        except ParseUnavailable as e:
            raise ModelUnavailable(str(e)) from None
        targets = await anyio.to_thread.run_sync(
            article_in.resolve_targets, article, self.limits, options.max_auto_targets, limiter=self._limiter())
        return article, targets

    async def _classify_one(self, article_in: ArticleIn, options: Options) -> dict:
        article, targets = await self._prepare(article_in, options)
        scores = await self._score_or_503(passes_for(article, targets))
        return finish(build_answer(self.artifact, article, targets, scores), article, options)

    async def _score_or_503(self, passes: list[Pass]) -> list[PassScores]:
        try:
            return await self._score(passes)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever the worker-to-worker call raised
            log.error("model worker failed on %d passes: %s: %s", len(passes), type(e).__name__, e)
            raise ModelUnavailable(
                "the model worker could not score this request right now (restarting, overloaded or "
                "failing; the server log says which); retry in a few seconds"
            ) from e

    @bentoml.api(route="/classify")
    async def classify(self, article: ArticleIn, options: Options = Options()) -> Answer:
        """Score one article paragraph by paragraph: stance toward targets, frames, persuasion
        techniques, biased wording; plus an article summary."""
        try:
            answer = await self._classify_one(article, options)
        except ArticleError as e:
            return _error(str(e), _status_of(e))
        except ModelUnavailable as e:
            return _unavailable(str(e))
        return JSONResponse(answer)

    @bentoml.api(route="/classify_batch")
    async def classify_batch(self, articles: list[ArticleIn], options: Options = Options()) -> list[Answer]:
        """Score many articles in one request; answers come back in the order sent. One bad article
        fails the request with a 4xx naming its index (fix it and send the batch again)."""
        if not articles:
            return _error("`articles` is empty; send at least one article", HTTPStatus.BAD_REQUEST)
        if len(articles) > self.max_batch:
            return _error(
                f"{len(articles)} articles in one request, over the limit of {self.max_batch}; split "
                "the batch or raise the limit with SLANT_MAX_BATCH_ARTICLES",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        prepared = []
        for i, article_in in enumerate(articles):
            try:
                prepared.append(await self._prepare(article_in, options))
            except ArticleError as e:
                return _error(f"articles[{i}]: {e}", _status_of(e))
            except ModelUnavailable as e:
                return _unavailable(str(e))
        # All articles' passes in one call: BentoML batches them (with other requests' passes).
        all_passes, spans = passes_for_many(prepared)
        try:
            scores = await self._score_or_503(all_passes)
        except ModelUnavailable as e:
            return _unavailable(str(e))
        answers = [
            finish(build_answer(self.artifact, article, targets, scores[a:b]), article, options)
            for (article, targets), (a, b) in zip(prepared, spans)
        ]
        return JSONResponse(answers)


    # ---- feedback and model switching (the retraining loop) --------------------------------

    def _feedback_store(self):
        from slant.feedback import FeedbackStore

        if getattr(self, "_feedback", None) is None:
            self._feedback = FeedbackStore()  # $SLANT_FEEDBACK_DB or ~/.slant/feedback.sqlite3
        return self._feedback

    @bentoml.api(route="/feedback")
    async def feedback(self, items: Any = None) -> dict:
        """Store labeled corrections for retraining: ``{"items": [{"task", "text", "labels" | "label",
        "target"? (stance), "spans"? (bias), "article_id"?, "annotator"?}]}``. All items are checked
        first and stored in one transaction; the answer ``{"ids", "count"}`` comes after the commit.
        One bad item stores nothing and gets a 4xx naming it (``items[2].labels: ...``)."""
        import sqlite3

        from slant.feedback import MAX_ITEMS, FeedbackError, StoreFull, validate_items

        if items is None:
            return _error('missing "items"; send {"items": [{"task": "stance", "text": "...", "target": "...", '
                          '"label": "favor"}, ...]}', HTTPStatus.BAD_REQUEST)
        try:
            rows = validate_items(items)
        except FeedbackError as e:
            too_many = isinstance(items, list) and len(items) > MAX_ITEMS
            return _error(str(e), HTTPStatus.REQUEST_ENTITY_TOO_LARGE if too_many else HTTPStatus.BAD_REQUEST)
        principal, client = IDENTITY.get()  # set by AccessGuard for this request
        identities = [f"client:{client}"] + ([principal] if principal else [])
        nbytes = sum(len(r.text.encode("utf-8")) + len(r.target.encode("utf-8")) for r in rows)
        wait = self._quota.charge(identities, len(rows), nbytes)
        if wait:
            return JSONResponse(
                {"error": f"feedback quota reached ({self._quota.rows:,} rows or {self._quota.nbytes:,} bytes "
                          f"per {self._quota.window_s:,} s per key and per client); nothing was stored, retry "
                          f"after {wait:.0f} s"},
                status_code=HTTPStatus.TOO_MANY_REQUESTS, headers={"Retry-After": str(int(wait + 0.999))})
        feedback = self._feedback_store()
        try:
            ids = await anyio.to_thread.run_sync(lambda: feedback.add(rows, principal=principal))
        except StoreFull as e:
            log.error("feedback refused: %s", e)
            return _error(str(e), HTTPStatus.INSUFFICIENT_STORAGE)
        except (sqlite3.Error, OSError) as e:
            log.error("feedback store %s: %s", feedback.path, e)
            return _error("the feedback store could not take the corrections (the server log says why); nothing "
                          "was stored, try again", HTTPStatus.SERVICE_UNAVAILABLE)
        return JSONResponse({"ids": ids, "count": len(ids)})

    async def _sync_model(self, path: Path | None = None) -> dict:
        """Make the model worker and this worker serve ``path`` (default: what the store names now)."""
        target = path or await anyio.to_thread.run_sync(store.current_model_dir)
        before = {"name": self.artifact.name, "version": self.artifact.version}
        if Path(target).resolve() == Path(self.artifact.path).resolve():
            return {"changed": False, "previous": before, "current": before}
        info = await self.model.to_async.reload(path=str(target))
        artifact = await anyio.to_thread.run_sync(load, info["path"])
        self.artifact = artifact  # answers are built with the model worker's artifact from now on
        now = {"name": artifact.name, "version": artifact.version}
        log.info("serving %s %s from %s (was %s)", artifact.name, artifact.version, artifact.path, before["version"])
        return {"changed": True, "previous": before, "current": now}

    @bentoml.api(route="/admin/reload")
    async def admin_reload(self) -> dict:
        """Switch to the model the store names now (after `slant models promote` / `rollback`)
        without waiting for the periodic check. Requests in flight finish on the old model."""
        try:
            return JSONResponse(await self._sync_model())
        except Exception as e:  # noqa: BLE001 - a bad artifact must not take the service down
            log.error("reload failed, still serving %s: %s: %s", self.artifact.version, type(e).__name__, e)
            return _error(f"reload failed ({type(e).__name__}; the server log has the details), still serving "
                          f"{self.artifact.version}", HTTPStatus.CONFLICT)

    @bentoml.on_startup
    async def _start_model_watch(self) -> None:
        interval = float(os.environ.get("SLANT_RELOAD_INTERVAL_S", "10") or 0)
        if interval <= 0:
            return

        async def watch() -> None:
            while True:
                await asyncio.sleep(interval)
                if not self._ready:
                    continue
                try:
                    await self._sync_model()
                except Exception as e:  # noqa: BLE001 - keep serving the old model, try again later
                    log.warning("model check failed, still serving %s: %s: %s",
                                self.artifact.version, type(e).__name__, e)

        self._watch_task = asyncio.get_running_loop().create_task(watch())


class FeedbackStatsRoute:
    """GET /feedback/stats: counts per task and label in the feedback store (a plain ASGI route in
    front of the app, because BentoML API methods answer POST only)."""

    PATH = "/feedback/stats"

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") != self.PATH:
            await self.app(scope, receive, send)
            return
        from slant.feedback import FeedbackStore

        if scope.get("method") not in ("GET", "HEAD"):
            response = _error(f"use GET {self.PATH}", HTTPStatus.METHOD_NOT_ALLOWED)
            response.headers["Allow"] = "GET, HEAD"
        else:
            try:
                stats = await anyio.to_thread.run_sync(lambda: FeedbackStore().stats())
                stats.pop("path", None)  # no filesystem paths in answers
                response = JSONResponse(stats)
            except Exception as e:  # noqa: BLE001
                log.error("feedback stats: %s: %s", type(e).__name__, e)
                response = _error("the feedback store is unavailable (the server log says why)",
                                  HTTPStatus.SERVICE_UNAVAILABLE)
        await response(scope, receive, send)


STATIC_DIR = Path(__file__).resolve().parent / "static"


class ReaderRoutes:
    """GET ``/``: the reader (``serving/static/index.html``); ``/static/<file>``: its CSS and JS;
    ``/docs``: the OpenAPI docs page that BentoML serves at ``/`` (its assets stay under
    ``/static_content`` and its spec at ``/docs.json``). A plain ASGI route in front of the app, like
    /feedback/stats: BentoML registers its index route at ``/`` after every user route, so the
    middleware answers first. Every other request goes on to BentoML untouched."""

    # The reader fetches nothing from elsewhere; the browser enforces it.
    CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'none'")
    TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
             ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
             ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8"}

    def __init__(self, app, static_dir: Path = STATIC_DIR) -> None:
        self.app = app
        self.static_dir = Path(static_dir).resolve()
        self._docs_html: bytes | None = None

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else None
        if path is None or scope.get("method") not in ("GET", "HEAD") or not (
            path in ("/", "/index.html", "/docs", "/docs/") or path.startswith("/static/")
        ):
            await self.app(scope, receive, send)
            return
        from starlette.responses import FileResponse, RedirectResponse, Response

        if path == "/docs/":  # the docs page loads ./static_content/..., which needs /docs
            response = RedirectResponse("/docs", status_code=HTTPStatus.PERMANENT_REDIRECT)
        elif path == "/docs":
            response = Response(self._docs_page(), media_type="text/html")
        else:
            name = "index.html" if path in ("/", "/index.html") else path[len("/static/"):]
            file = (self.static_dir / name).resolve()
            if (not file.is_relative_to(self.static_dir) or not file.is_file()
                    or file.suffix not in self.TYPES):
                response = _error(f"no such file: {path}", HTTPStatus.NOT_FOUND)
            else:
                response = FileResponse(file, media_type=self.TYPES[file.suffix],
                                        headers={"Cache-Control": "no-cache"})
                if file.suffix == ".html":
                    response.headers["Content-Security-Policy"] = self.CSP
                    response.headers["X-Content-Type-Options"] = "nosniff"
        await response(scope, receive, send)

    def _docs_page(self) -> bytes:
        """BentoML's own OpenAPI page (the one it serves at ``/``) without its Google Tag Manager
        snippet: the docs, like the reader, load nothing from outside this server."""
        if self._docs_html is None:
            import re

            import _bentoml_impl.server as bentoml_server

            html = (Path(bentoml_server.__file__).parent / "main-openapi.html").read_text(encoding="utf-8")
            html = re.sub(r"<!-- Google Tag Manager.*?<!-- End Google Tag Manager[^>]*-->", "", html, flags=re.S)
            html = html.replace("<title>BentoML Prediction Service</title>", "<title>Slant API docs</title>")
            self._docs_html = html.encode("utf-8")
        return self._docs_html


Slant.add_asgi_middleware(AccessGuard)  # outermost: keys, origins; nothing is read for a refused request
Slant.add_asgi_middleware(RequestGuard)  # content type, body size and time, JSON shape, 4xx bodies
Slant.add_asgi_middleware(ReadyRoute)  # /readyz: warmed up, parse pool moving, model worker answering
Slant.add_asgi_middleware(OpenAPIRoute)  # /docs.json: the spec, matching what the service does
Slant.add_asgi_middleware(FeedbackStatsRoute)
Slant.add_asgi_middleware(ReaderRoutes)


def _to_scores(out) -> PassScores:
    if isinstance(out, dict):
        out = PassOut.model_validate(out)
    return PassScores(
        stance=out.stance, frames=out.frames, techniques=out.techniques, bias=out.bias,
        tokens=[tuple(t) for t in out.tokens],
    )

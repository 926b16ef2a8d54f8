"""The Slant HTTP service (BentoML >= 1.4 new-style services): two services, two kinds of worker.

- ``SlantModel`` holds the model (serving/model_reload.py) and has ONE batchable endpoint, ``score``,
  over model passes (a paragraph alone, or a (target, paragraph) pair). Passes from concurrent
  requests, single articles and bulk batches alike, meet in the same batches. Tokenization happens
  here, inside ``Predictor.score``, so the API worker never tokenizes.
- ``Slant`` is the HTTP face: ``/classify`` and ``/classify_batch``. It parses articles (text /
  HTML / paragraphs), finds targets (spaCy NER), sends the passes to ``SlantModel.score`` and builds
  the answer with ``slant.answer``, exactly as `slant classify` / `slant score` do.

The model is checked once, before any worker starts (serving/served_model.py). In front
of the API methods, as ASGI middleware: keys, origins and quotas (serving/access.py), the request
guard (serving/request_guard.py: bad input is a 4xx with ``{"error": "<what is wrong and how to
fix it>"}``, never a 500), ``/readyz`` (serving/health.py), ``/docs.json`` (serving/openapi.py),
``/feedback/stats`` (serving/feedback_endpoints.py), the reader at ``/`` and ``/docs``
(serving/reader_routes.py). HTML is parsed in child processes with a time and memory budget
(serving/intake.py).

This package never imports torch, transformers or training (tests/serving/test_no_torch.py checks).
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from pathlib import Path
from typing import Any, cast

import anyio
import bentoml
from starlette.responses import JSONResponse

from slant.settings import SettingsError, settings

try:  # a bad SLANT_* value stops `bentoml serve` here, with its message, before a module reads one
    SETTINGS = settings()
except SettingsError as e:
    raise SystemExit(f"slant: {e}") from None

from serving.access import AccessGuard  # noqa: E402 - after the settings check, as are the imports below
from serving.error_answers import ModelUnavailable, error, status_of, unavailable
from serving.feedback_endpoints import FeedbackIntake, FeedbackStatsRoute
from serving.health import Readiness, ReadyRoute
from serving.heap import freeze_loaded
from serving.intake import ParsePool, ParseUnavailable
from serving.model_reload import LiveModel, follow_store, keep_following_store, load_if_changed, reload_interval_s
from serving.model_workers import idle_workers_warning, place_model_worker, plan_model_workers
from serving.openapi import OpenAPIRoute
from serving.pass_batcher import PassBatcher
from serving.reader_routes import ReaderRoutes
from serving.request_guard import RequestGuard
from serving.schemas import Answer, PassIn, PassOut, max_batch_articles, pass_scores
from serving.served_model import check_served_model
from serving.server_log import configure_logging
from serving.work_thread import ANSWER, PREPARE, WorkThread
from slant import store
from slant.answer import build_answer, passes_for, passes_for_many
from slant.artifact import Artifact, load
from slant.intake import Article, ArticleError, Limits
from slant.predictor import Pass, PassScores
from slant.requests import SAMPLE_ARTICLE, SAMPLE_TEXT, ArticleIn, Options, finish, prepare

log = logging.getLogger("slant.serving")

# Adaptive batching of model passes. A typical news paragraph is 60-150 tokens; the Predictor runs
# each window as its own onnxruntime call on CPU (batches of <= 16384 padded tokens on CUDA) whatever
# we send it: batching here shares the Python work and keeps the cores busy, never moves a score.
#
# MAX_BATCH_PASSES = 256: the most passes in one model call. PassBatcher sends one request per call
#   while fewer than SLANT_PASS_MERGE_FROM (8) wait and merges the passes of more into calls of at
#   most this size, none over a quarter of a call while others wait, and keeps at most this many
#   passes in flight (in up to SLANT_PASS_CALLS_IN_FLIGHT calls); BentoML's batcher gets the same
#   limit. Big enough that several concurrent articles (a 20-paragraph article with 5 targets is
#   120 passes) share a call, small enough that a call stays short (about 2 s on 2 CPU cores for
#   MiniLM-L6 int8), which bounds how long a new request can wait behind the calls in flight.
# MAX_LATENCY_MS = 60000: in BentoML this is not a target but the point where a queued job is
#   *rejected* with 503. It must exceed the time the largest allowed article (500 paragraphs x 10
#   targets, ~5,500 passes) takes on CPU, or valid input would fail; past it, we shed load rather
#   than hang.
# Read once, above: BentoML takes these at class definition.
MAX_BATCH_PASSES = SETTINGS.max_batch_passes
MAX_LATENCY_MS = SETTINGS.max_latency_ms
REQUEST_TIMEOUT_S = SETTINGS.request_timeout_s
API_WORKERS = SETTINGS.api_workers
try:  # SLANT_MODEL_WORKERS: a number, or per-gpu (serving/model_workers.py); per-gpu without a GPU stops here
    MODEL_WORKERS = plan_model_workers(SETTINGS)
except SettingsError as e:
    raise SystemExit(f"slant: {e}") from None

configure_logging()  # one line per refused request, no BentoML traceback for a 4xx


@bentoml.service(
    name="slant_model",
    # SLANT_MODEL_WORKERS, default 1: one onnxruntime session per machine, which already uses every
    # core (or the GPU); N sessions, each on its share of the cores; or per-gpu, one per GPU.
    **MODEL_WORKERS.service_options(),
    # Two calls at a time: the PassBatcher's next call is read and tokenized while this one's model
    # windows run (they queue behind its windows on the Predictor's onnxruntime workers). BentoML's
    # adaptive batching still runs one batch at a time.
    threads=2,
    traffic={"timeout": REQUEST_TIMEOUT_S},
    # BentoML's client to this worker otherwise replaces its connection pool every 100 calls or
    # 5 minutes and closes the calls in flight on the old pool: each one a 503 for its request
    # (or a failed /readyz ping). The pool talks to local workers only; it never needs renewing.
    runner_connection={"max_requests": 2**31 - 1, "max_age": 1e9},
)
class SlantModel:
    live: LiveModel  # the one reference to the model this worker serves; reload() replaces it whole

    def __init__(self) -> None:
        placed = place_model_worker(MODEL_WORKERS, bentoml.server_context.worker_index, SETTINGS.threads)
        self.live = LiveModel.load(store.current_model_dir())
        self._reload_lock = anyio.Lock()
        log.info(
            "Slant model %s %s from %s on %s (%s)",
            self.live.artifact.name,
            self.live.artifact.version,
            self.live.path,
            self.live.predictor.providers,
            placed,
        )
        freeze_loaded()

    @bentoml.on_startup
    async def _follow_store_here_too(self) -> None:
        # The API worker's reload call reaches ONE model worker: with several, each also looks at
        # the store itself every SLANT_RELOAD_INTERVAL_S (docs/deployment.md).
        interval = reload_interval_s()
        if MODEL_WORKERS.count > 1 and interval > 0:
            self._watch_task = asyncio.get_running_loop().create_task(self._keep_following_store(interval))

    async def _keep_following_store(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self._switch("")
            except Exception as e:  # noqa: BLE001 - keep serving the old model, try again later
                log.warning(
                    "model check failed, still serving %s: %s: %s", self.live.artifact.version, type(e).__name__, e
                )

    @bentoml.api
    def info(self) -> dict:
        """Which model this worker serves (the API worker builds answers with the same artifact)."""
        return self.live.describe()

    @bentoml.api
    async def ping(self) -> dict:
        """Liveness of this worker for the API worker's /readyz (async: answered between batches)."""
        return {"version": self.live.artifact.version}

    @bentoml.api
    def score_call(self, passes: list[PassIn]) -> list[PassOut]:
        """Scores for one PassBatcher call's passes, in order, scored at once: its next call runs
        beside it, so that one call's decoding, tokenizing and merging overlap the other's model
        windows instead of leaving cores idle between calls."""
        live = self.live  # the whole call on one model, whatever a reload does meanwhile
        results = live.predictor.score([Pass(p.text, p.target) for p in passes])
        return [PassOut.of(r, live.loaded_threshold) for r in results]

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_PASSES, max_latency_ms=MAX_LATENCY_MS)
    def score(self, passes: list[PassIn]) -> list[PassOut]:
        """The same through BentoML's adaptive batching (SLANT_PASS_BATCHER=0): passes from any
        number of requests, in order."""
        return self.score_call(passes)

    @bentoml.api
    async def reload(self, path: str = "") -> dict:
        """Serve the artifact at ``path`` (default: ``store.current_model_dir()`` now). The new
        Predictor is loaded and warmed up in a thread while batches keep running on the old one,
        then swapped in with one assignment. A folder that fails to load changes nothing."""
        return await self._switch(path)

    async def _switch(self, path: str) -> dict:
        async with self._reload_lock:
            switched = await load_if_changed(self.live, path)
            if switched is None:
                return {**self.live.describe(), "changed": False}
            previous_version = self.live.artifact.version
            self.live = switched  # the switch
            log.info(
                "Slant model switched from %s to %s %s (%s)",
                previous_version,
                switched.artifact.name,
                switched.artifact.version,
                switched.path,
            )
            freeze_loaded()  # the new model frozen, the one it replaced collected
            return {**switched.describe(), "changed": True, "previous": previous_version}


@bentoml.service(
    name="slant",
    workers=API_WORKERS,
    traffic={"timeout": REQUEST_TIMEOUT_S},
    http={"cors": {"enabled": False}},
)
class Slant:
    model = bentoml.depends(SlantModel)
    artifact: Artifact  # answers are built with it: the model worker's (warm-up and sync_model see to it)

    @bentoml.on_deployment
    def check_model() -> None:
        # In the `bentoml serve` process, before any worker of either service starts: a model that
        # cannot be served stops the server here, at once, instead of crash-looping its workers.
        check_served_model()
        warning = idle_workers_warning(MODEL_WORKERS, API_WORKERS, SETTINGS.pass_calls_in_flight)
        if warning:
            log.warning("%s", warning)

    def __init__(self) -> None:
        self.limits = Limits.from_env()
        self.max_batch = max_batch_articles()
        self.artifact = load(store.current_model_dir())
        self._work = WorkThread()  # parsing text, NER, building answers: one at a time, preparations first
        self._batcher = (
            PassBatcher(
                lambda batch: self.model.to_async.score_call(batch),
                MAX_BATCH_PASSES,
                SETTINGS.pass_merge_from,
                SETTINGS.pass_calls_in_flight,
            )
            if SETTINGS.pass_batcher
            else None
        )
        self._parse_pool: ParsePool | None = ParsePool()  # HTML is parsed in child processes
        self._parse_limiter = anyio.CapacityLimiter(max(4, 4 * self._parse_pool.size))
        self._feedback = FeedbackIntake()
        self.readiness = Readiness(lambda: self.model.to_async.ping(), self._parse_pool)

    # ---- readiness ------------------------------------------------------------------------

    @bentoml.on_startup
    async def _start_background_tasks(self) -> None:
        loop = asyncio.get_running_loop()
        # In the background: the model worker may still be starting; /readyz says 503 meanwhile.
        self._warmup_task = loop.create_task(self.readiness.warm_up(self._warm_up))
        interval = reload_interval_s()
        if interval > 0:
            self._watch_task = loop.create_task(keep_following_store(self, interval))

    async def _warm_up(self) -> None:
        """A real sample article through the whole path (parse, NER, model, answer)."""
        info = await self.model.to_async.info()
        if info["version"] != self.artifact.version or Path(info["path"]) != Path(self.artifact.path):
            log.warning("model worker serves %s; loading the same artifact here", info)
            self.artifact = load(info["path"])
        await self._classify_one(ArticleIn.model_validate(SAMPLE_ARTICLE), Options())
        await self._classify_one(ArticleIn(text=SAMPLE_TEXT), Options())
        # A few small calls take BentoML's adaptive batcher through its training phase,
        # so the first user requests are not slowed by its conservative initial guesses.
        for _ in range(12):
            await self.model.to_async.score([PassIn(text="Warm-up.")])
        freeze_loaded()  # spaCy's pipeline among it, loaded by the first article
        log.info("Slant is ready (model %s %s)", self.artifact.name, self.artifact.version)

    async def __is_ready__(self) -> bool:
        """Ready = warmed up, the HTML parse pool not stalled, and the model worker answering."""
        reason = await self.readiness.not_ready_reason()
        if reason:
            self.readiness.log_not_ready(reason)
        return reason is None

    # ---- the work -------------------------------------------------------------------------

    async def _prepare(self, article_in: ArticleIn, options: Options):
        """(Article, targets): HTML is parsed in the parse pool (a child process with a time and
        memory budget), text and paragraphs here; targets (NER) in the work thread."""
        pool = getattr(self, "_parse_pool", None)
        if article_in.html is None or article_in.text is not None or article_in.paragraphs is not None or pool is None:
            return await self._work.run(PREPARE, prepare, article_in, options, self.limits)
        try:
            article = await anyio.to_thread.run_sync(
                pool.parse, article_in.html, article_in.title, article_in.url, self.limits, limiter=self._parse_limiter
            )
        except ParseUnavailable as e:
            raise ModelUnavailable(str(e)) from None
        targets = await self._work.run(
            PREPARE, article_in.resolve_targets, article, self.limits, options.max_auto_targets
        )
        return article, targets

    async def _score(self, passes: list[Pass]) -> list[PassScores]:
        if not passes:
            return []
        ins = [PassIn.of(p) for p in passes]
        if self._batcher is not None:
            outs = await self._batcher.score(ins)
        else:  # BentoML's batching alone: one job per chunk of at most its batch size
            chunks = [ins[i : i + MAX_BATCH_PASSES] for i in range(0, len(ins), MAX_BATCH_PASSES)]
            outs = [o for chunk in await asyncio.gather(*map(self.model.to_async.score, chunks)) for o in chunk]
        return [pass_scores(o) for o in outs]

    async def _answers(
        self,
        prepared: list[tuple[Article, list[str]]],
        scores: list[PassScores],
        spans: list[tuple[int, int]],
        options: Options,
    ) -> list[dict]:
        """The answers for ``prepared`` articles from their passes' scores (``scores[a:b]`` for each
        article's span), built in the work thread. Building an answer runs spaCy NER (names are
        kept out of loaded-word spans), tens of ms per article; on the event loop that held back
        the model calls of every other request, and the more requests finished together the
        longer: at 16 /classify clients the model worker sat idle a fifth of the time."""
        artifact = self.artifact  # the model that scored them, whatever a reload does meanwhile

        def build() -> list[dict]:
            return [
                finish(build_answer(artifact, article, targets, scores[a:b]), article, options)
                for (article, targets), (a, b) in zip(prepared, spans)
            ]

        return await self._work.run(ANSWER, build)

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

    async def _classify_one(self, article_in: ArticleIn, options: Options) -> dict:
        article, targets = await self._prepare(article_in, options)
        scores = await self._score_or_503(passes_for(article, targets))
        [answer] = await self._answers([(article, targets)], scores, [(0, len(scores))], options)
        return answer

    # ---- the API ---------------------------------------------------------------------------
    # BentoML documents an endpoint's return annotation as its answer and sends a returned
    # Response as it is: the endpoints return JSONResponses (hence the return-value ignores).

    @bentoml.api(route="/classify")
    async def classify(self, article: ArticleIn, options: Options = Options()) -> Answer:
        """Score one article paragraph by paragraph: stance toward targets, frames, persuasion
        techniques, biased wording; plus an article summary."""
        try:
            answer = await self._classify_one(article, options)
        except ArticleError as e:
            return error(str(e), status_of(e))  # type: ignore[return-value]
        except ModelUnavailable as e:
            return unavailable(str(e))  # type: ignore[return-value]
        return JSONResponse(answer)  # type: ignore[return-value]

    @bentoml.api(route="/classify_batch")
    async def classify_batch(self, articles: list[ArticleIn], options: Options = Options()) -> list[Answer]:
        """Score many articles in one request; answers come back in the order sent. One bad article
        fails the request with a 4xx naming its index (fix it and send the batch again)."""
        if not articles:
            return error(  # type: ignore[return-value]
                "`articles` is empty; send at least one article", HTTPStatus.BAD_REQUEST
            )
        if len(articles) > self.max_batch:
            return error(  # type: ignore[return-value]
                f"{len(articles)} articles in one request, over the limit of {self.max_batch}; split "
                "the batch or raise the limit with SLANT_MAX_BATCH_ARTICLES",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        prepared = []
        for i, article_in in enumerate(articles):
            try:
                prepared.append(await self._prepare(article_in, options))
            except ArticleError as e:
                return error(f"articles[{i}]: {e}", status_of(e))  # type: ignore[return-value]
            except ModelUnavailable as e:
                return unavailable(str(e))  # type: ignore[return-value]
        # All articles' passes in one call: they are batched with other requests' passes.
        all_passes, spans = passes_for_many(prepared)
        try:
            scores = await self._score_or_503(all_passes)
        except ModelUnavailable as e:
            return unavailable(str(e))  # type: ignore[return-value]
        return JSONResponse(await self._answers(prepared, scores, spans, options))  # type: ignore[return-value]

    @bentoml.api(route="/feedback")
    async def feedback(self, items: Any = None) -> dict:
        """Store labeled corrections for retraining: ``{"items": [{"task", "text", "labels" | "label",
        "target"? (stance), "spans"? (bias), "article_id"?, "annotator"?}]}``. All items are checked
        first and stored in one transaction; the answer ``{"ids", "count"}`` comes after the commit.
        One bad item stores nothing and gets a 4xx naming it (``items[2].labels: ...``)."""
        return await self._feedback.accept(items)  # type: ignore[return-value]

    @bentoml.api(route="/admin/reload")
    async def admin_reload(self) -> dict:
        """Switch to the model the store names now (after `slant models promote` / `rollback`)
        without waiting for the periodic check. Requests in flight finish on the old model."""
        try:
            return JSONResponse(await self.sync_model())  # type: ignore[return-value]
        except Exception as e:  # noqa: BLE001 - a bad artifact must not take the service down
            log.error("reload failed, still serving %s: %s: %s", self.artifact.version, type(e).__name__, e)
            return error(  # type: ignore[return-value]
                f"reload failed ({type(e).__name__}; the server log has the details), still serving "
                f"{self.artifact.version}",
                HTTPStatus.CONFLICT,
            )

    async def sync_model(self) -> dict:
        """Serve what the store names now, in the model worker and here: ``{"changed", "previous",
        "current"}``."""
        switched, change = await follow_store(self.model, self.artifact)
        if switched is not None:
            self.artifact = switched  # answers are built with the model worker's artifact from now on
        return change


# @bentoml.service made Slant a bentoml Service; mypy keeps a decorated class's own type.
slant_service = cast("bentoml.Service[Slant]", Slant)
slant_service.add_asgi_middleware(AccessGuard)  # outermost: keys, origins; nothing is read for a refused request
slant_service.add_asgi_middleware(RequestGuard)  # content type, body size and time, JSON shape, 4xx bodies
slant_service.add_asgi_middleware(ReadyRoute)  # /readyz: warmed up, parse pool moving, model worker answering
slant_service.add_asgi_middleware(OpenAPIRoute)  # /docs.json: the spec, matching what the service does
slant_service.add_asgi_middleware(FeedbackStatsRoute)
slant_service.add_asgi_middleware(ReaderRoutes)

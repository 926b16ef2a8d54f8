"""Startup and readiness.

- ``check_artifact()`` runs when ``serving.service`` is imported: `bentoml serve` imports it in its
  own process before it starts any worker, so a missing or corrupt artifact stops the server at
  once (exit status 1, the artifact's own message on stderr) instead of a model worker that
  crashes and is restarted by the arbiter forever.
- ``ReadyRoute`` answers ``GET /readyz`` from ``Slant._not_ready_reason()`` with a hard time bound.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from http import HTTPStatus
from pathlib import Path

from starlette.responses import JSONResponse

from slant import store
from slant.artifact import ArtifactError, load

log = logging.getLogger("slant.serving")


def check_artifact() -> Path:
    """The artifact folder to serve, checked; SystemExit(1) with a one-line message otherwise."""
    try:
        model_dir = store.current_model_dir()
        load(model_dir)
    except (store.ModelNotFound, ArtifactError, OSError, ValueError) as e:
        print(f"slant: cannot serve the model: {e}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    # The onnxruntime session too, once, in a child process (a graph can pass the checksum in
    # metrics.json and still not load), but not again in every worker.
    marker = f"{model_dir.resolve()}:{(model_dir / 'model.onnx').stat().st_mtime_ns}"
    if os.environ.get("SLANT_ARTIFACT_CHECKED") != marker:
        import subprocess

        code = ("import sys; from slant.artifact import load; from slant.predictor import Predictor; "
                "Predictor(load(sys.argv[1]), device='cpu')")
        r = subprocess.run([sys.executable, "-c", code, str(model_dir)], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[1], timeout=300)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
            print(f"slant: cannot serve the model in {model_dir}: onnxruntime cannot load it: {last}",
                  file=sys.stderr, flush=True)
            raise SystemExit(1)
        os.environ["SLANT_ARTIFACT_CHECKED"] = marker
    return model_dir


INSTANCES: list = []  # the Slant instance of this API worker process


class ReadyRoute:
    """GET /readyz answered here, from ``Slant._not_ready_reason`` with a hard 5 s bound: 200, or
    503 with ``{"error": why}``. (BentoML's own probe also asks the model worker's /readyz and can
    hang for a minute on a worker that is being restarted.)"""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/readyz" or not INSTANCES:
            await self.app(scope, receive, send)
            return
        if scope.get("method") not in ("GET", "HEAD"):
            await JSONResponse({"error": "use GET /readyz"}, status_code=HTTPStatus.METHOD_NOT_ALLOWED,
                               headers={"Allow": "GET, HEAD"})(scope, receive, send)
            return
        task = asyncio.ensure_future(INSTANCES[-1]._not_ready_reason())
        done, _ = await asyncio.wait({task}, timeout=5)
        if not done:
            task.cancel()
            reason = "the readiness checks did not finish within 5 s"
        else:
            reason = task.exception() and f"readiness check failed ({type(task.exception()).__name__})" or task.result()
        if reason:
            now = time.monotonic()
            if now - ReadyRoute._last_log > 10:
                ReadyRoute._last_log = now
                log.warning("not ready: %s", reason)
            response = JSONResponse({"error": f"not ready: {reason}"}, status_code=HTTPStatus.SERVICE_UNAVAILABLE,
                                    headers={"Retry-After": "5"})
        else:
            response = JSONResponse({"ready": True})
        await response(scope, receive, send)

    _last_log = 0.0



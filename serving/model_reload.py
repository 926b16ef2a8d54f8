"""The live model, its warm-up, and switching it without a restart.

In the model worker, ``LiveModel`` is everything ``SlantModel.score`` uses (the artifact, its
warmed-up Predictor and its loaded-word threshold) as ONE immutable value. The worker holds one
reference to it; a reload loads and warms up the new model in a thread while batches keep running
on the old one, then replaces that reference in one assignment, so a batch runs entirely on the
old model or entirely on the new one.

In the API worker, ``follow_store`` makes the model worker serve what the BentoML store names now
(after `slant models promote` / `rollback`) and hands back the artifact to build answers with;
``keep_following_store`` does that every SLANT_RELOAD_INTERVAL_S seconds (POST /admin/reload does
it at once).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from slant import store
from slant.artifact import Artifact, load
from slant.labels import BIAS_TOKENS
from slant.predictor import Pass, Predictor
from slant.requests import SAMPLE_TEXT
from slant.settings import settings

if TYPE_CHECKING:
    from serving.health import Readiness

log = logging.getLogger("slant.serving")

# The first onnxruntime runs allocate arenas and pick kernels: a paragraph alone and a stance pair.
WARMUP_PASSES = (Pass(SAMPLE_TEXT), Pass(SAMPLE_TEXT, "council"))


@dataclass(frozen=True)
class LiveModel:
    path: Path
    artifact: Artifact
    predictor: Predictor
    loaded_threshold: float  # loaded-word tokens under it can never become spans

    @classmethod
    def load(cls, path: Path) -> LiveModel:
        """The artifact at ``path``, loaded and warmed up."""
        artifact = load(path)
        predictor = Predictor(artifact)
        predictor.score(list(WARMUP_PASSES))
        return cls(Path(path), artifact, predictor, artifact.calibration.thresholds[BIAS_TOKENS]["loaded"])

    def describe(self) -> dict:
        return {
            "name": self.artifact.name,
            "version": self.artifact.version,
            "path": str(self.path),
            "providers": self.predictor.providers,
        }


async def load_if_changed(live: LiveModel, path: str) -> LiveModel | None:
    """The model at ``path`` (default: what the store names now), loaded and warmed up in a thread;
    None when ``live`` already serves it. Raises when the folder does not load."""
    target = Path(path) if path else await anyio.to_thread.run_sync(store.current_model_dir)
    if target.resolve() == live.path.resolve():
        return None
    return await anyio.to_thread.run_sync(LiveModel.load, target)


async def follow_store(model: Any, artifact: Artifact) -> tuple[Artifact | None, dict]:
    """Make the model worker (``model``, its BentoML client) serve what the store names now.
    Returns the artifact to build answers with from now on (None: ``artifact`` stays) and
    ``{"changed", "previous", "current"}``."""
    target = await anyio.to_thread.run_sync(store.current_model_dir)
    before = {"name": artifact.name, "version": artifact.version}
    if Path(target).resolve() == Path(artifact.path).resolve():
        return None, {"changed": False, "previous": before, "current": before}
    info = await model.to_async.reload(path=str(target))
    switched = await anyio.to_thread.run_sync(load, info["path"])
    now = {"name": switched.name, "version": switched.version}
    log.info("serving %s %s from %s (was %s)", switched.name, switched.version, switched.path, before["version"])
    return switched, {"changed": True, "previous": before, "current": now}


def reload_interval_s() -> float:
    """Seconds between two looks at the store ($SLANT_RELOAD_INTERVAL_S, default 10; 0: never)."""
    return settings().reload_interval_s


class FollowsStore(Protocol):
    """What ``keep_following_store`` needs of the API service."""

    artifact: Artifact
    readiness: Readiness

    async def sync_model(self) -> dict: ...


async def keep_following_store(service: FollowsStore, interval_s: float) -> None:
    """Every ``interval_s`` once warmed up: ``service.sync_model()``; a failure keeps the old model
    serving and is tried again at the next look."""
    while True:
        await asyncio.sleep(interval_s)
        if not service.readiness.warm:
            continue
        try:
            await service.sync_model()
        except Exception as e:  # noqa: BLE001 - keep serving the old model, try again later
            log.warning("model check failed, still serving %s: %s: %s", service.artifact.version, type(e).__name__, e)

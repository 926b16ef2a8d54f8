"""serving/service.py: what a live server cannot reach on demand (the model worker failing
mid-request), and a bare import with no model anywhere."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slant.predictor import Pass
from slant.requests import ArticleIn, Options

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def slant(serving_artifact):
    import serving.service as svc
    from serving.work_thread import WorkThread
    from slant.artifact import load
    from slant.intake import Limits

    obj = object.__new__(svc.Slant.inner)  # no BentoML runtime: the API methods' own code only
    obj.limits, obj.artifact, obj._work, obj.max_batch = Limits(), load(serving_artifact), WorkThread(), 4
    return svc.Slant.inner, obj


def test_model_worker_failure_is_503_with_retry_after(slant):
    cls, obj = slant

    async def broken(passes):
        raise ConnectionError("model worker gone")

    obj._score = broken
    article = ArticleIn(text="The mayor spoke.", targets=["the mayor"])
    for response in (
        asyncio.run(cls.classify.func(obj, article, Options())),
        asyncio.run(cls.classify_batch.func(obj, [article], Options())),
    ):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "retry" in json.loads(response.body)["error"]


def test_import_needs_no_model(tmp_path):
    """The model is resolved when `bentoml serve` starts (serving/served_model.py), not at import."""
    env = {
        **os.environ,
        "SLANT_MODEL": str(tmp_path / "no-such-model"),
        "HF_HUB_OFFLINE": "1",
        "BENTOML_DO_NOT_TRACK": "true",
    }
    r = subprocess.run(
        [sys.executable, "-c", "import serving.service; print('ok')"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


def test_the_model_worker_sends_only_tokens_that_can_become_spans(serving_artifact):
    import serving.service as svc
    from serving.model_reload import LiveModel
    from serving.schemas import PassIn

    worker = object.__new__(svc.SlantModel.inner)
    worker.live = LiveModel.load(serving_artifact)
    text = "Critics said the council recklessly squandered taxpayers' money on a vanity project."
    full = worker.live.predictor.score([Pass(text), Pass(text, "the council")])
    outs = svc.SlantModel.inner.score.func(worker, [PassIn(text=text), PassIn(text=text, target="the council")])
    assert sum(len(o.tokens) for o in outs) < sum(len(s.tokens) for s in full)  # some were dropped
    for out, scores in zip(outs, full):
        assert out.stance == scores.stance and out.bias == scores.bias
        assert out.tokens == [t for t in scores.tokens if t[2] >= worker.live.loaded_threshold]

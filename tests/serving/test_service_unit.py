"""Service paths a live server cannot reach on demand: the model worker failing mid-request."""
from __future__ import annotations

import asyncio
import json

import pytest


@pytest.fixture
def slant(serving_artifact, monkeypatch):
    monkeypatch.setenv("SLANT_MODEL", str(serving_artifact))
    import serving.service as svc
    from slant.article import Limits
    from slant.artifact import load

    obj = object.__new__(svc.Slant.inner)  # no BentoML runtime: the API methods' own code only
    obj.limits, obj.artifact, obj._prep_limiter, obj.max_batch = Limits(), load(serving_artifact), None, 4
    return svc.Slant.inner, obj


def test_model_worker_failure_is_503_with_retry_after(slant):
    from serving.schemas import ArticleIn, Options

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

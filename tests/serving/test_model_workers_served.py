"""Two model workers behind one API worker (``SLANT_MODEL_WORKERS=2``; serving/model_workers.py):
a real `bentoml serve` sends calls to both, and every answer is the one a single Predictor gives."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from slant.answer import build_answer, passes_for
from slant.artifact import load
from slant.intake import Limits
from slant.predictor import Predictor
from slant.requests import ArticleIn, Options, finish, prepare


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"SLANT_MODEL_WORKERS": "2", "SLANT_THREADS": "1"}


def in_process(article: dict, predictor: Predictor) -> dict:
    prepared, targets = prepare(ArticleIn(**article), Options(), Limits.from_env())
    scores = predictor.score(passes_for(prepared, targets))
    return finish(build_answer(predictor.artifact, prepared, targets, scores), prepared, Options())


def test_both_model_workers_score_and_answers_match_one_predictor(client, server, serving_artifact):
    articles = [
        {
            "text": f"Report {i}: the council met again and the mayor defended the budget.\n\n"
            + "Critics said the plan was reckless and would ruin the harbour. " * (1 + i % 5),
            "targets": ["the mayor"],
        }
        for i in range(24)
    ]
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda a: client.post("/classify", json={"article": a}), articles))
    assert [r.status_code for r in responses] == [200] * len(articles)

    predictor = Predictor(load(serving_artifact), device="cpu", threads=1)
    for article, response in zip(articles, responses):
        assert response.json() == in_process(article, predictor)

    log = server.log_path.read_text(errors="replace")
    for name in ("slant_model_1", "slant_model_2"):
        calls = re.findall(rf"\[service:{name}:\d+\].*path=/score", log)
        assert calls, f"{name} scored nothing:\n{log[-3000:]}"

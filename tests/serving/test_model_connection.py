"""The API worker's connection to the model worker, on a real `bentoml serve`: no request is lost
when many calls are in flight at once. BentoML's worker-to-worker client used to replace its
connection pool every 100 calls and cut the calls in flight on the old one (serving/service.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

CLIENTS = 8
REQUESTS = 240  # more than twice the 100 calls after which BentoML renewed its pool


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    # Each request's passes straight to the model worker: as many calls in flight as clients.
    return {"SLANT_PASS_BATCHER": "0"}


def test_concurrent_calls_to_the_model_worker_are_never_cut(server):
    texts = [
        f"Senator Vega attacked the budget plan on day {i}.\n\nThe council praised the plan." for i in range(REQUESTS)
    ]

    def post(text: str) -> tuple[int, str]:
        with server.client() as c:
            r = c.post("/classify", json={"article": {"text": text}})
            return r.status_code, r.text[:200]

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(post, texts))
    failed = [r for r in results if r[0] != 200]
    assert not failed, f"{len(failed)} of {REQUESTS} requests failed, e.g. {failed[:2]}"

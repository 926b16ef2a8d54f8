"""POST /feedback, GET /feedback/stats and switching models in a running `bentoml serve` (promote ->
picked up by the periodic check, rollback -> POST /admin/reload), with requests in flight."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from slant.feedback.store import FeedbackStore

REPO = Path(__file__).resolve().parents[2]
ARTICLE = {
    "article": {
        "text": "Maria Lopez did a wonderful, brave job.\n\nThe council met on Tuesday.",
        "targets": ["Maria Lopez"],
    }
}


def _copy_with_version(src: Path, dst: Path, version: str) -> Path:
    shutil.copytree(src, dst)
    (dst / "version").write_text(version + "\n")
    labels = json.loads((dst / "labels.json").read_text())
    labels["version"] = version
    (dst / "labels.json").write_text(json.dumps(labels, indent=2) + "\n")
    return dst


@pytest.fixture(scope="module")
def loop_root(serving_artifact, tmp_path_factory) -> dict:
    """A private BentoML store holding the test artifact (promoted) and a copy under another version."""
    root = tmp_path_factory.mktemp("feedback_http")
    env = {
        "BENTOML_HOME": str(root / "bentoml"),
        "SLANT_FEEDBACK_DB": str(root / "feedback.sqlite3"),
        "SLANT_RELOAD_INTERVAL_S": "1",
        "SLANT_MODEL": "",
    }
    cli_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    a = Path(serving_artifact)
    b = _copy_with_version(a, root / "b", "0.0.2-test")
    for folder, extra in ((a, ["--promote"]), (b, [])):
        r = subprocess.run(
            [sys.executable, "-m", "slant.cli", "models", "add", str(folder), *extra],
            env=cli_env,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert r.returncode == 0, r.stderr
    return {"root": root, "server_env": env, "env": cli_env, "db": root / "feedback.sqlite3"}


@pytest.fixture(scope="module")
def server_env(loop_root):  # overrides tests/serving/conftest.py: serve from the store, not $SLANT_MODEL
    return loop_root["server_env"]


@pytest.fixture(scope="module")
def loop_server(loop_root, server):
    return {**loop_root, "server": server}


@pytest.fixture(scope="module")
def http(client):
    return client


GOOD = [
    {"task": "stance", "text": "Maria Lopez did a fine job.", "target": "Maria Lopez", "label": "against"},
    {"task": "bias", "text": "The radical plan.", "labels": ["biased"], "spans": [[4, 11]], "annotator": "a1"},
    {"task": "frames", "text": "Taxes will rise.", "labels": ["economic"], "article_id": "art-1"},
]


def test_feedback_is_stored_and_acknowledged_with_ids(http, loop_server):
    store = FeedbackStore(loop_server["db"])
    before = store.count() if loop_server["db"].exists() else 0
    r = http.post("/feedback", json={"items": GOOD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 3 and len(set(body["ids"])) == 3
    rows = {x.id: x for x in store.rows()}
    assert store.count() == before + 3 and all(i in rows for i in body["ids"])
    assert rows[body["ids"][1]].spans == ((4, 11),)


@pytest.mark.parametrize(
    "payload, status, words",
    [
        (
            {"items": [GOOD[0], {"task": "stance", "text": "x", "target": "T", "label": "pro"}]},
            400,
            ["items[1].label", "'pro'", "favor, against, neutral"],
        ),
        ({"items": [{"task": "stance", "text": "x", "label": "favor"}]}, 400, ["items[0].target", "missing"]),
        (
            {"items": [{"task": "bias", "text": "abc", "label": "biased", "spans": [[0, 7]]}]},
            400,
            ["items[0].spans[0]"],
        ),
        ({"items": []}, 400, ["empty"]),
        ({"items": "stance"}, 400, ["items", "expected a list"]),
        ({}, 400, ["items"]),
        ({"items": [GOOD[2]] * 1001}, 413, ["at most 1,000"]),
    ],
)
def test_malformed_feedback_gets_a_4xx_that_says_what_is_wrong_and_stores_nothing(
    http, loop_server, payload, status, words
):
    store = FeedbackStore(loop_server["db"])
    before = store.count()
    r = http.post("/feedback", json=payload)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    for w in words:
        assert w in message, (w, message)
    assert store.count() == before


def test_invalid_json_is_a_4xx(http):
    r = http.post("/feedback", content=b"{not json", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500


def test_stats(http, loop_server):
    r = http.get("/feedback/stats")
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["rows"] == FeedbackStore(loop_server["db"]).count()
    assert stats["tasks"]["stance"]["labels"].get("against", 0) >= 1
    assert "path" not in stats and str(loop_server["db"]) not in r.text  # no filesystem paths in answers


def test_concurrent_posts_lose_nothing(loop_server):
    store = FeedbackStore(loop_server["db"])
    before = store.count()
    url = loop_server["server"].url

    def post(i):
        with httpx.Client(base_url=url, timeout=60) as c:
            items = [{"task": "frames", "text": f"concurrent {i} row {j}", "labels": []} for j in range(4)]
            r = c.post("/feedback", json={"items": items})
            assert r.status_code == 200, r.text
            return r.json()["ids"]

    with ThreadPoolExecutor(16) as pool:
        ids = [i for batch in pool.map(post, range(64)) for i in batch]
    assert len(set(ids)) == 256
    assert store.count() == before + 256


def _version(client) -> str:
    r = client.post("/classify", json=ARTICLE)
    assert r.status_code == 200, r.text
    return r.json()["model"]["version"]


def test_a_promoted_model_is_picked_up_with_requests_in_flight_and_rollback_reloads_at_once(http, loop_server):
    env = loop_server["env"]
    assert _version(http) == "0.0.1-test"
    statuses, versions, stop = [], [], threading.Event()

    def hammer():
        with httpx.Client(base_url=loop_server["server"].url, timeout=60) as c:
            while not stop.is_set():
                r = c.post("/classify", json=ARTICLE)
                statuses.append(r.status_code)
                if r.status_code == 200:
                    versions.append(r.json()["model"]["version"])

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        started = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "slant.cli", "models", "promote", "0.0.2-test"],
            env=env,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert r.returncode == 0, r.stderr
        promoted = time.monotonic()
        deadline = promoted + 30
        while time.monotonic() < deadline and _version(http) != "0.0.2-test":
            time.sleep(0.2)
        switch_s = time.monotonic() - promoted
        cli_s = promoted - started
        assert _version(http) == "0.0.2-test", loop_server["server"].log_tail()
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    assert versions[0] == "0.0.1-test" and versions[-1] == "0.0.2-test"
    print(
        f"\n`slant models promote` took {cli_s:.1f} s; the service answered with the new model {switch_s:.1f} s "
        f"after it returned (check every 1 s); {len(statuses)} requests in flight, all 200"
    )

    r = subprocess.run(
        [sys.executable, "-m", "slant.cli", "models", "rollback"], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert r.returncode == 0, r.stderr
    r = http.post("/admin/reload")
    assert r.status_code == 200, r.text
    # Once /admin/reload answers, the rolled-back model serves. The service's own check (every 1 s)
    # may have switched already while the rollback command ran; then there is nothing to change.
    reload = r.json()
    assert reload["current"]["version"] == "0.0.1-test"
    assert reload["changed"] is True or reload["previous"]["version"] == "0.0.1-test"
    assert _version(http) == "0.0.1-test"
    r = http.post("/admin/reload")
    assert r.status_code == 200 and r.json()["changed"] is False

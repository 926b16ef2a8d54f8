"""serving/feedback_endpoints.py: POST /feedback's checks, quota and store, without a server; on the
SQLite store and on a PostgreSQL one (SLANT_FEEDBACK_URL)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from pg_cluster import PASSWORD, postgres  # noqa: F401  (postgres: the fixture)

from serving.access import FeedbackQuota
from serving.feedback_endpoints import MISSING_ITEMS, STORE_IN_DOUBT, FeedbackIntake, FeedbackStatsRoute
from slant.feedback.store import StoreError

ITEM = {"task": "frames", "text": "Taxes will rise next year.", "labels": ["economic"]}


@pytest.fixture(params=["sqlite", "postgresql"])
def intake(request, tmp_path, monkeypatch):
    if request.param == "postgresql":
        monkeypatch.delenv("SLANT_FEEDBACK_DB", raising=False)
        monkeypatch.setenv("SLANT_FEEDBACK_URL", request.getfixturevalue("postgres").new_url())
    else:
        monkeypatch.delenv("SLANT_FEEDBACK_URL", raising=False)
        monkeypatch.setenv("SLANT_FEEDBACK_DB", str(tmp_path / "feedback.sqlite3"))
    return FeedbackIntake()


def accept(intake: FeedbackIntake, items) -> tuple[int, dict, dict]:
    response = asyncio.run(intake.accept(items))
    return response.status_code, json.loads(response.body), dict(response.headers)


def test_items_are_stored_and_counted(intake):
    status, body, _ = accept(intake, [ITEM, {**ITEM, "text": "Jobs will go."}])
    assert status == 200 and body["count"] == 2 and len(body["ids"]) == 2
    assert len(intake.store().rows()) == 2


def test_missing_or_bad_items_store_nothing(intake):
    assert accept(intake, None)[:2] == (400, {"error": MISSING_ITEMS})
    status, body, _ = accept(intake, [ITEM, {**ITEM, "labels": ["no-such-frame"]}])
    assert status == 400 and body["error"].startswith("items[1]")
    assert intake.store().rows() == []


def test_over_the_quota_is_429_with_retry_after(intake):
    intake.quota = FeedbackQuota(rows=2, nbytes=10_000, window_s=60)
    assert accept(intake, [ITEM, ITEM])[0] == 200
    status, body, headers = accept(intake, [ITEM])
    assert status == 429 and "quota" in body["error"] and int(headers["retry-after"]) > 0
    assert len(intake.store().rows()) == 2


def test_the_stats_route_reads_the_same_store_and_shows_no_location(intake):
    assert accept(intake, [ITEM])[0] == 200
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    route = FeedbackStatsRoute(app=None)
    asyncio.run(route({"type": "http", "path": "/feedback/stats", "method": "GET"}, None, send))
    assert sent[0]["status"] == 200
    stats = json.loads(sent[1]["body"])
    assert stats["rows"] == 1 and stats["tasks"]["frames"]["labels"] == {"economic": 1}
    assert "location" not in stats and "path" not in stats


def test_an_unreachable_store_is_503_and_the_password_shows_nowhere(postgres, monkeypatch, caplog):  # noqa: F811
    monkeypatch.delenv("SLANT_FEEDBACK_DB", raising=False)
    monkeypatch.setenv("SLANT_FEEDBACK_URL", postgres.url().replace(f"port={postgres.port}", "port=1"))
    caplog.set_level(logging.ERROR, logger="slant.serving")
    status, body, _ = accept(FeedbackIntake(), [ITEM])
    assert status == 503 and "nothing was stored" in body["error"]
    assert "feedback not stored" in caplog.text and "***" in caplog.text
    assert PASSWORD not in caplog.text + json.dumps(body)


def test_a_commit_in_doubt_is_503_that_says_so(intake, monkeypatch):
    def lost(*args, **kwargs):
        raise StoreError("feedback store x: OperationalError: server closed the connection", in_doubt=True)

    monkeypatch.setattr(intake.store(), "add", lost)
    status, body, _ = accept(intake, [ITEM])
    assert status == 503 and body["error"] == STORE_IN_DOUBT and "may or may not" in body["error"]

"""serving/feedback_endpoints.py: POST /feedback's checks, quota and store, without a server."""

from __future__ import annotations

import asyncio
import json

import pytest

from serving.access import FeedbackQuota
from serving.feedback_endpoints import MISSING_ITEMS, FeedbackIntake

ITEM = {"task": "frames", "text": "Taxes will rise next year.", "labels": ["economic"]}


@pytest.fixture
def intake(tmp_path, monkeypatch):
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

"""`slant retrain` reads the store the settings name: a PostgreSQL one through SLANT_FEEDBACK_URL,
and an unreachable one is a RetrainError that names it without its password (before any training)."""

from __future__ import annotations

import pytest
from pg_cluster import PASSWORD, postgres  # noqa: F401  (postgres: the fixture)

from slant.feedback.store import FeedbackStore
from training.retrain import RetrainError, RetrainOptions, _agreed_corrections


def test_retrain_reads_the_store_slant_feedback_url_names(postgres, monkeypatch):  # noqa: F811
    url = postgres.new_url()
    FeedbackStore(url).add(
        [{"task": "stance", "text": "The mayor did well.", "target": "the mayor", "label": "favor"}], principal="key:a"
    )
    monkeypatch.delenv("SLANT_FEEDBACK_DB", raising=False)
    monkeypatch.setenv("SLANT_FEEDBACK_URL", url)
    said: list[str] = []
    feedback, rows, corrections, conflicts = _agreed_corrections(RetrainOptions(), said.append)
    assert feedback.engine == "postgresql" and [r.text for r in rows] == ["The mayor did well."]
    assert len(corrections["stance"]) == 1 and not conflicts
    assert PASSWORD not in feedback.location


def test_an_unreachable_store_stops_retrain_before_it_starts(postgres, monkeypatch):  # noqa: F811
    monkeypatch.delenv("SLANT_FEEDBACK_DB", raising=False)
    monkeypatch.setenv("SLANT_FEEDBACK_URL", postgres.url().replace(f"port={postgres.port}", "port=1"))
    with pytest.raises(RetrainError, match="nothing was retrained") as caught:
        _agreed_corrections(RetrainOptions(), print)
    assert PASSWORD not in str(caught.value) and "***" in str(caught.value)

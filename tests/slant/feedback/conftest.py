from __future__ import annotations

import pytest

from slant.feedback.store import FeedbackStore


@pytest.fixture
def store(tmp_path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "fb.sqlite3")

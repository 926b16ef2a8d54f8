"""Every store test runs on both engines: ``store`` (and ``new_store``) are a SQLite file under
tmp_path, then an empty schema on the session's throwaway PostgreSQL server (tests/pg_cluster.py;
those cases skip where PostgreSQL is not installed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pg_cluster import postgres  # noqa: F401  (the fixture: the session's PostgreSQL server)

from slant.feedback.store import FeedbackStore

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def new_store(engine, tmp_path, request) -> Callable[..., FeedbackStore]:
    """``new_store(name="fb", **caps)``: a new, empty store of the engine under test."""
    if engine == "postgresql":
        server = request.getfixturevalue("postgres")
        return lambda name="fb", **caps: FeedbackStore(server.new_url(), **caps)
    return lambda name="fb", **caps: FeedbackStore(tmp_path / f"{name}.sqlite3", **caps)


@pytest.fixture
def store(new_store) -> FeedbackStore:
    return new_store()

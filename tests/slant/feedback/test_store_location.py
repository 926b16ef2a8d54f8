"""Which store the settings name (SLANT_FEEDBACK_URL, SLANT_FEEDBACK_DB), the errors for a URL Slant
cannot use, passwords never shown, the schema's version, and a lost PostgreSQL connection."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from feedback_items import GOOD
from feedback_stores import target
from pg_cluster import PASSWORD

from slant.feedback.location import LocationError, parse, redact
from slant.feedback.store import FeedbackStore, SchemaTooNew, StoreError, default_location
from slant.settings import SettingsError, settings


@pytest.mark.parametrize(
    "value, engine, where",
    [
        ("/tmp/x/fb.sqlite3", "sqlite", "/tmp/x/fb.sqlite3"),
        ("sqlite:////tmp/x/fb.sqlite3", "sqlite", "/tmp/x/fb.sqlite3"),
        ("sqlite:///fb.sqlite3", "sqlite", "fb.sqlite3"),
        ("sqlite:///~/fb.sqlite3", "sqlite", str(Path("~/fb.sqlite3").expanduser())),
        ("postgresql://u:pw@db.example:5432/slant", "postgresql", "postgresql://u:***@db.example:5432/slant"),
        (
            "postgres://u@db.example/slant?sslmode=require",
            "postgresql",
            "postgres://u@db.example/slant?sslmode=require",
        ),
        ("postgresql:///slant?host=/run/pg&password=pw", "postgresql", "postgresql:///slant?host=/run/pg&password=***"),
    ],
)
def test_locations_paths_and_urls(value, engine, where):
    found = parse(value)
    assert found.engine == engine and found.shown == where
    assert (found.path is None) == (engine == "postgresql")


@pytest.mark.parametrize(
    "value, words",
    [
        (
            "mysql://root:hunter2@db/slant",
            ["found a 'mysql' URL", "mysql://root:***@db/slant", "postgresql://", "sqlite:///"],
        ),
        ("postgresql+psycopg://u:hunter2@db/slant", ["'postgresql+psycopg'", "without the driver suffix"]),
        ("sqlite://", ["sqlite URL without a file", "sqlite:////absolute/path"]),
    ],
)
def test_an_unknown_or_incomplete_url_says_what_was_found_what_is_accepted_and_the_fix(value, words):
    with pytest.raises(LocationError) as caught:
        parse(value, source="SLANT_FEEDBACK_URL")
    message = str(caught.value)
    assert message.startswith("SLANT_FEEDBACK_URL: ") and "hunter2" not in message
    for w in words:
        assert w in message, (w, message)


def test_the_settings_pick_the_store_and_refuse_a_bad_url_at_once(monkeypatch, tmp_path):
    monkeypatch.delenv("SLANT_FEEDBACK_URL", raising=False)
    monkeypatch.delenv("SLANT_FEEDBACK_DB", raising=False)
    assert default_location().target == str(Path("~/.slant/feedback.sqlite3").expanduser())
    monkeypatch.setenv("SLANT_FEEDBACK_DB", str(tmp_path / "old.sqlite3"))
    assert FeedbackStore().path == tmp_path / "old.sqlite3"
    monkeypatch.setenv("SLANT_FEEDBACK_URL", "postgresql://u:hunter2@db.example/slant")
    with pytest.raises(SettingsError) as caught:  # both set: which one is meant?
        settings()
    assert "only SLANT_FEEDBACK_URL" in str(caught.value) and "hunter2" not in str(caught.value)
    monkeypatch.delenv("SLANT_FEEDBACK_DB")
    store = FeedbackStore()  # no connection until it is used
    assert store.engine == "postgresql" and store.path is None
    assert store.location == "postgresql://u:***@db.example/slant" and "hunter2" not in repr(store)
    monkeypatch.setenv("SLANT_FEEDBACK_URL", "mongodb://u:hunter2@db.example/slant")
    with pytest.raises(SettingsError) as caught:
        settings()
    message = str(caught.value)
    assert "SLANT_FEEDBACK_URL='mongodb://u:***@db.example/slant'" in message and "hunter2" not in message
    assert "found a 'mongodb' URL" in message and "postgresql://" in message


def test_without_psycopg_a_postgresql_url_says_how_to_install_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a))
    with pytest.raises(LocationError, match=r"pip install 'slant\[postgres\]'"):
        parse("postgresql://u:hunter2@db/slant")
    monkeypatch.setattr(importlib.util, "find_spec", real)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # installed, but the import fails
    with pytest.raises(LocationError, match=r"pip install 'slant\[postgres\]'") as caught:
        FeedbackStore("postgresql://u:hunter2@db/slant")
    assert "hunter2" not in str(caught.value)


def test_redact_hides_every_password_form():
    text = "a postgresql://me:s3cret@h/db and postgres://x:y@z and password=abc&sslmode=require"
    assert redact(text) == "a postgresql://me:***@h/db and postgres://x:***@z and password=***&sslmode=require"


def test_an_unreachable_server_is_a_store_error_without_the_password(postgres):
    url = postgres.url().replace(f"port={postgres.port}", "port=1")  # nothing listens there
    store = FeedbackStore(url)
    with pytest.raises(StoreError) as caught:
        store.add(GOOD[:1])
    message = str(caught.value)
    assert PASSWORD not in message and "***" in message and "OperationalError" in message
    assert not caught.value.in_doubt


def test_an_older_schema_is_upgraded_in_place_and_a_newer_one_is_refused(store):
    store.add(GOOD[:1])
    con = store.backend.connect(first=False)
    store.backend.execute(con, "ALTER TABLE feedback DROP COLUMN principal")
    store.backend.set_schema_version(con, 1)
    con.close()
    again = FeedbackStore(target(store))
    again.add([GOOD[1]], principal="key:x")
    assert [r.principal for r in again.rows()] == ["", "key:x"]
    con = store.backend.connect(first=False)
    assert store.backend.schema_version(con) == 2
    store.backend.set_schema_version(con, 99)
    con.close()
    with pytest.raises(SchemaTooNew) as caught:
        FeedbackStore(target(store)).count()
    assert "schema version 99" in str(caught.value) and "upgrade Slant" in str(caught.value)


def test_many_first_users_at_once_create_one_schema(new_store):
    where = target(new_store())
    errors: list[BaseException] = []

    def first_use():
        try:
            FeedbackStore(where).add(GOOD[:1])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and FeedbackStore(where).count() == 6


def _terminate(postgres, pid: int) -> None:
    import psycopg

    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))


def test_a_connection_lost_mid_write_stores_nothing_and_the_next_call_reconnects(postgres):
    store = FeedbackStore(postgres.new_url())
    store.add(GOOD[:1])
    blocker = store.backend.connect(first=False)
    store.backend.begin_write(blocker)  # the waiting writer's connection is cut while it waits
    failed: list[BaseException] = []

    def write():
        try:
            store.add(GOOD[1:3])
        except StoreError as e:
            failed.append(e)

    writer = threading.Thread(target=write)
    writer.start()
    import psycopg

    waiting = None
    deadline = time.monotonic() + 30
    with psycopg.connect(postgres.url(), autocommit=True) as admin:  # a fresh view of the activity each time
        while waiting is None and time.monotonic() < deadline:
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'slant-feedback'"
            ).fetchone()
            waiting = row[0] if row else None
            time.sleep(0.05)
    assert waiting is not None
    _terminate(postgres, waiting)
    writer.join(timeout=30)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert failed and not failed[0].in_doubt and PASSWORD not in str(failed[0])
    assert store.count() == 1  # nothing of the cut batch
    assert len(store.add(GOOD[1:3])) == 2 and store.count() == 3  # a new connection


def test_a_connection_lost_during_commit_is_in_doubt(postgres, monkeypatch):
    store = FeedbackStore(postgres.new_url())
    store.add(GOOD[:1])
    connect = store.backend.connect

    class CutAtCommit:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            if sql == "COMMIT":
                _terminate(postgres, self.con.info.backend_pid)
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(store.backend, "connect", lambda first: CutAtCommit(connect(first)))
    with pytest.raises(StoreError) as caught:
        store.add(GOOD[1:2])
    assert caught.value.in_doubt and PASSWORD not in str(caught.value)
    monkeypatch.undo()
    assert store.count() == 1  # here the server had not committed it; after a real cut it may have

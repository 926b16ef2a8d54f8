"""The feedback store: durable writes, atomic batches, JSONL round trip, and many writer processes
(one killed with SIGKILL mid-run) losing nothing that was acknowledged. Every test that takes
``store`` or ``new_store`` runs on SQLite and on PostgreSQL (conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from feedback_items import GOOD
from feedback_stores import store_env, target, with_options
from pg_cluster import PASSWORD

from slant.feedback.store import FeedbackImportError, FeedbackStore, StoreError, StoreFull, default_path
from slant.feedback.validate import FeedbackError, validate

REPO = Path(__file__).resolve().parents[3]


def test_good_rows_are_stored_and_normalised(store):
    ids = store.add(GOOD)
    assert ids == sorted(ids) and len(set(ids)) == len(GOOD)
    rows = store.rows()
    assert [r.id for r in rows] == ids
    assert rows[1].labels == ("economic", "political")  # schema order, duplicates dropped
    assert rows[4].spans == ((4, 11),)
    assert rows[0].target == "Maria Lopez" and rows[0].annotator == "ann1"
    assert [r.task for r in store.rows("bias")] == ["bias", "bias"]
    stats = store.stats()
    assert stats["rows"] == 6 and stats["tasks"]["frames"]["rows"] == 2
    assert stats["tasks"]["frames"]["labels"] == {"economic": 1, "political": 1, "(none)": 1}
    assert stats["annotators"] == 1


def test_a_batch_with_one_bad_item_stores_nothing(store):
    bad = {"task": "stance", "text": "x", "target": "T", "label": "maybe"}
    with pytest.raises(FeedbackError, match=r"items\[3\]\.label"):
        store.add([*GOOD[:3], bad, *GOOD[3:]])
    assert store.count() == 0
    with pytest.raises(FeedbackError, match="empty list"):
        store.add([])


def test_a_failure_inside_the_transaction_rolls_back_the_whole_batch(store, monkeypatch):
    store.add(GOOD[:1])
    rows = [validate(g) for g in GOOD]
    import dataclasses

    rows[3] = dataclasses.replace(rows[3], task="nonsense")  # passes Python, fails the table's CHECK
    with pytest.raises(StoreError, match="IntegrityError|CheckViolation") as caught:
        store.add(rows)
    assert not caught.value.in_doubt
    assert store.count() == 1


def test_writes_are_durable_and_writers_wait(store):
    """SQLite: WAL and a busy timeout. PostgreSQL: a lock timeout, and synchronous_commit raised to
    on where the server (here: the URL's options) turned it off."""
    store.add(GOOD[:1])
    if store.engine == "sqlite":
        con = sqlite3.connect(store.path)
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        con.close()
        con = store.backend.connect(first=False)
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        con.close()
        return
    lax = FeedbackStore(with_options(target(store), "-csynchronous_commit=off"))
    raw = lax.backend._psycopg.connect(target(lax), autocommit=True)
    assert raw.execute("SHOW synchronous_commit").fetchone()[0] == "off"  # what the store is given
    raw.close()
    con = lax.backend.connect(first=False)
    assert con.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    assert con.execute("SHOW lock_timeout").fetchone()[0] == "30s"
    assert con.execute("SHOW idle_in_transaction_session_timeout").fetchone()[0] == "1min"
    con.close()
    assert lax.add(GOOD[1:2]) and lax.count() == 2


def test_a_writer_waits_for_a_held_lock_instead_of_failing(store):
    store.add(GOOD[:1])
    blocker = store.backend.connect(first=False)
    store.backend.begin_write(blocker)  # what another writer holds during its transaction
    store.backend.execute(
        blocker,
        "INSERT INTO feedback (created_at, task, text, labels, text_hash) VALUES (?, ?, ?, ?, ?)",
        ("t", "bias", "x", '["neutral"]', "h"),
    )
    waited: list[float] = []

    def write():
        started = time.monotonic()
        store.add(GOOD[1:2])
        waited.append(time.monotonic() - started)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(1.0)
    assert not waited  # still waiting for the lock
    blocker.execute("COMMIT")
    blocker.close()
    writer.join(timeout=30)
    assert waited and waited[0] >= 0.8
    assert store.count() == 3


def test_default_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SLANT_FEEDBACK_DB", str(tmp_path / "x.db"))
    assert default_path() == tmp_path / "x.db"
    monkeypatch.delenv("SLANT_FEEDBACK_DB")
    assert default_path() == Path("~/.slant/feedback.sqlite3").expanduser()


def test_export_import_round_trip_and_reimport_adds_nothing(store, new_store, tmp_path):
    store.add(GOOD)
    out = tmp_path / "out.jsonl"
    assert store.export_jsonl(out) == len(GOOD)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0]["task"] == "stance" and lines[0]["labels"] == ["favor"]
    other = new_store("other")
    res = other.import_jsonl(out)
    assert res["imported"] == len(GOOD) and res["duplicates"] == 0

    def key(r):
        return (r.task, r.text, r.target, r.labels, r.spans, r.article_id, r.annotator, r.created_at, r.text_hash)

    assert [key(r) for r in other.rows()] == [key(r) for r in store.rows()]
    assert other.import_jsonl(out)["imported"] == 0  # the same file again: already there
    assert other.count() == len(GOOD)


def test_import_names_bad_lines_and_imports_nothing_unless_skip_bad(store, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(
            [
                json.dumps(GOOD[0]),
                "{not json",
                json.dumps({"task": "bias", "text": "x", "label": "loaded"}),
                "",
                json.dumps(GOOD[1]),
            ]
        )
        + "\n"
    )
    with pytest.raises(FeedbackImportError) as err:
        store.import_jsonl(src)
    message = str(err.value)
    assert "line 2: not valid JSON" in message and "line 3: label:" in message and "'loaded'" in message
    assert "--skip-bad" in message
    assert [n for n, _ in err.value.problems] == [2, 3]
    assert store.count() == 0
    res = store.import_jsonl(src, skip_bad=True)
    assert res["imported"] == 2 and [n for n, _ in res["bad"]] == [2, 3]


def test_cli_export_import_stats(store, tmp_path):
    env = {**os.environ, **store_env(store), "PYTHONPATH": str(REPO)}
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(g) + "\n" for g in GOOD))

    said = []

    def run(*args):
        r = subprocess.run([sys.executable, "-m", "slant.cli", *args], env=env, capture_output=True, text=True)
        said.append(r.stdout + r.stderr)
        return r

    r = run("feedback", "import", str(src))
    assert r.returncode == 0 and f"imported {len(GOOD)}" in r.stdout, r.stderr
    r = run("feedback", "stats")
    assert r.returncode == 0 and "6 correction(s)" in r.stdout and store.location in r.stdout
    r = run("feedback", "export", str(tmp_path / "out.jsonl"))
    assert r.returncode == 0 and len((tmp_path / "out.jsonl").read_text().splitlines()) == len(GOOD)
    src.write_text(json.dumps({"task": "bias", "text": "x"}) + "\n")
    r = run("feedback", "import", str(src))
    assert r.returncode == 1 and "line 1: labels: missing" in r.stderr
    assert store.count() == len(GOOD)
    assert PASSWORD not in "".join(said)


WRITER = textwrap.dedent("""
    import os, sys
    from slant.feedback.store import FeedbackStore
    db, name, batches, ack = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]  # db: a path or URL
    store = FeedbackStore(db)
    with open(ack, "a", buffering=1) as f:
        for b in range(batches):
            items = [{"task": "stance", "text": f"{name} batch {b} row {i}", "target": "T", "label": "favor",
                      "annotator": name} for i in range(5)]
            ids = store.add(items)
            # acknowledged: the ids exist in the store from here on
            f.write(" ".join(map(str, ids)) + "\\n")
            f.flush()
            os.fsync(f.fileno())
""")


def test_many_writer_processes_lose_nothing_acknowledged_even_when_one_is_killed(new_store, tmp_path):
    first = new_store("shared")
    first.add(GOOD[:1])  # create the store (the file and WAL mode, or the schema) up front
    db = target(first)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers, batches = 8, 40
    procs = []
    for w in range(writers):
        ack = tmp_path / f"ack{w}.txt"
        procs.append(
            (
                ack,
                subprocess.Popen(
                    [sys.executable, str(script), str(db), f"w{w}", str(batches), str(ack)],
                    env=env,
                    stderr=subprocess.PIPE,
                ),
            )
        )
    victim_ack, victim = procs[0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it midway: after some acknowledged batches
        if victim_ack.exists() and len(victim_ack.read_text().splitlines()) >= 5:
            break
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    for _, p in procs:
        p.wait(timeout=120)
    assert victim.returncode == -signal.SIGKILL
    for _, p in procs[1:]:
        assert p.returncode == 0, p.stderr.read().decode()

    store = FeedbackStore(db)
    assert store.integrity_check() == "ok"
    assert len({r.id for r in store.rows()}) == store.count()
    stored = {r.id: r for r in store.rows()}
    acknowledged = []
    for ack, _ in procs:
        for line in ack.read_text().splitlines():
            if line.strip():
                acknowledged.extend(int(x) for x in line.split())
    missing = [i for i in acknowledged if i not in stored]
    assert not missing, f"{len(missing)} acknowledged ids missing"
    victim_batches = len(victim_ack.read_text().splitlines())
    assert 5 <= victim_batches < batches
    # Every stored batch is whole (5 rows per batch, all or nothing): the killed writer may have
    # committed one batch it never acknowledged, but never part of one.
    per_batch: dict[tuple[str, str], int] = {}
    for r in stored.values():
        if r.annotator.startswith("w"):
            name, _, rest = r.text.partition(" batch ")
            per_batch[(name, rest.split(" row ")[0])] = per_batch.get((name, rest.split(" row ")[0]), 0) + 1
    assert set(per_batch.values()) == {5}
    total_rows = len(stored) - 1
    assert (
        (writers - 1) * batches * 5 + victim_batches * 5
        <= total_rows
        <= (writers - 1) * batches * 5 + (victim_batches + 1) * 5
    )
    print(
        f"\n{store.engine}: {writers} writers x {batches} batches x 5 rows; killed w0 after {victim_batches} acknowledged batches; "
        f"{len(acknowledged)} acknowledged ids, {total_rows} rows stored, integrity ok"
    )


# ---- issue #15: who sent a row, and a capped store ----------------------------------------------


def test_principal_is_stored_and_survives_export_import(store, new_store, tmp_path):
    store.add(GOOD[:2], principal="key:abc123")
    store.add(GOOD[2:3])
    assert [r.principal for r in store.rows()] == ["key:abc123", "key:abc123", ""]
    store.export_jsonl(tmp_path / "out.jsonl")
    other = new_store("other")
    other.import_jsonl(tmp_path / "out.jsonl")
    assert [r.principal for r in other.rows()] == ["key:abc123", "key:abc123", ""]
    (tmp_path / "plain.jsonl").write_text(json.dumps(GOOD[0]) + "\n")
    other.import_jsonl(tmp_path / "plain.jsonl")
    assert other.rows()[-1].principal == "cli"  # an operator's import without one


def test_store_cap_refuses_and_stores_nothing(new_store):
    capped = new_store("cap", max_rows=3)
    capped.add(GOOD[:2])
    with pytest.raises(StoreFull, match="SLANT_FEEDBACK_MAX_ROWS"):
        capped.add(GOOD[2:4])
    assert capped.count() == 2
    tiny = new_store("mb", max_mb=1)
    # Random text: PostgreSQL compresses long values, and 9,000 x's would take a few bytes there.
    big = [{"task": "frames", "text": f"{i} " + os.urandom(4500).hex(), "labels": []} for i in range(200)]
    with pytest.raises(StoreFull, match="SLANT_FEEDBACK_MAX_MB"):
        for chunk in range(0, 200, 20):
            tiny.add(big[chunk : chunk + 20])
    assert tiny.count() < 200


def test_a_version_1_sqlite_file_gains_the_principal_column(tmp_path):
    path = tmp_path / "v1.sqlite3"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, task TEXT NOT NULL,
            text TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', labels TEXT NOT NULL, spans TEXT NOT NULL DEFAULT '[]',
            article_id TEXT NOT NULL DEFAULT '', annotator TEXT NOT NULL DEFAULT '', text_hash TEXT NOT NULL);
        INSERT INTO feedback (created_at, task, text, labels, text_hash) VALUES ('2026-01-01T00:00:00+00:00', 'frames', 'Old row.', '[]', 'h');
    """)
    con.commit()
    con.close()
    store = FeedbackStore(path)
    store.add([GOOD[1]], principal="key:x")
    assert [(r.text, r.principal) for r in store.rows()] == [("Old row.", ""), ("Taxes will rise.", "key:x")]

"""Two replicas of the service (two real `bentoml serve` processes, on two ports) writing to one
PostgreSQL feedback store at once, as replicas on several machines would; one is killed with
SIGKILL while one of its transactions has inserted rows and not committed them. Afterwards every correction either replica acknowledged
(200 with ids) is stored exactly once, every stored batch is whole, the password of the store's URL
is in neither log, and the surviving replica goes on taking corrections and answering stats."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time

import httpx
import pytest
from pg_cluster import PASSWORD, postgres  # noqa: F401  (postgres: the fixture)

from serving.launcher import ServeProcess
from slant.feedback.store import FeedbackStore

pytestmark = pytest.mark.slow
SERVER_START_TIMEOUT_S = int(os.environ.get("SLANT_TEST_SERVER_TIMEOUT_S", "600"))
ROWS_PER_BATCH = 5


@pytest.fixture(scope="module")
def replicas(serving_artifact, postgres, tmp_path_factory):  # noqa: F811
    """(the store's URL, [replica a, replica b]): both started at once, each with one thread. Both
    name the same database; each its own application_name, so the test can see a's transactions."""
    url = postgres.new_url()
    root = tmp_path_factory.mktemp("replicas")
    env = {  # as tests/serving/conftest.py's start_server, for two servers at once
        **os.environ,
        "SLANT_MODEL": str(serving_artifact),
        "HF_HUB_OFFLINE": "1",
        "BENTOML_DO_NOT_TRACK": "true",
        "SLANT_THREADS": "1",
        "SLANT_FEEDBACK_DB": "",
    }
    servers = [
        ServeProcess({**env, "SLANT_FEEDBACK_URL": f"{url}&application_name=replica-{name}"}, root / f"{name}.log")
        for name in "ab"
    ]
    try:
        for server in servers:
            try:
                server.wait_ready(SERVER_START_TIMEOUT_S)
            except RuntimeError as e:
                pytest.fail(str(e))
        yield url, servers
    finally:
        for server in servers:
            server.stop()


def _when_writing(url: str, application: str, timeout: float = 60) -> bool:
    """Returns as soon as a transaction of ``application`` has inserted rows it has not committed
    (it has a transaction id); False if none was seen within ``timeout``."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # each query is its own snapshot of the activity
            if admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND backend_xid IS NOT NULL",
                (application,),
            ).fetchone():
                return True
    return False


def _gone(url: str, application: str, timeout: float = 30) -> bool:
    """Whether PostgreSQL has ended every session of ``application`` within ``timeout``."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = %s", (application,)
            ).fetchone():
                return True
            time.sleep(0.05)
    return False


def _kill9(server: ServeProcess) -> None:
    """SIGKILL to the server and every worker it started, at once (no chance to finish anything)."""
    import psutil

    workers = psutil.Process(server.pid).children(recursive=True)
    os.killpg(server.pid, signal.SIGKILL)
    for worker in workers:
        try:
            worker.kill()
        except psutil.Error:
            pass


class Clients:
    """Threads that post batches of corrections to one server until stopped (or it dies)."""

    def __init__(self, server: ServeProcess, name: str, n: int = 2) -> None:
        self.server, self.name = server, name
        self.acked: list[tuple[str, list[int], float]] = []  # (batch text prefix, ids, when)
        self.errors: list[str] = []
        self.stop = threading.Event()
        self._batches = itertools.count()
        self.threads = [threading.Thread(target=self._post) for _ in range(n)]
        for t in self.threads:
            t.start()

    def _post(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=60) as client:
            while not self.stop.is_set():
                prefix = f"{self.name} batch {next(self._batches)} "
                items = [{"task": "frames", "text": f"{prefix}row {j}", "labels": []} for j in range(ROWS_PER_BATCH)]
                try:
                    r = client.post("/feedback", json={"items": items})
                except httpx.HTTPError as e:
                    self.errors.append(f"{type(e).__name__}: {e}")
                    time.sleep(0.05)
                    continue
                if r.status_code == 200:
                    self.acked.append((prefix, r.json()["ids"], time.monotonic()))
                else:
                    self.errors.append(f"{r.status_code}: {r.text}")

    def wait_for(self, batches: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < batches and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.acked) >= batches, (self.errors[-3:], self.server.log_tail())

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=90)


def test_two_replicas_share_one_store_and_a_killed_one_loses_nothing_acknowledged(replicas):
    url, (victim, survivor) = replicas
    store = FeedbackStore(url)
    on_victim, on_survivor = Clients(victim, "a"), Clients(survivor, "b")
    try:
        on_victim.wait_for(10)
        on_survivor.wait_for(10)
        mid_write = _when_writing(url, "replica-a")
        _kill9(victim)  # in the middle of a transaction: rows inserted, not committed
        killed = time.monotonic()
        assert mid_write, "replica a was never seen inside a write transaction"
        assert _gone(url, "replica-a"), "PostgreSQL kept the killed replica's session"
        while not on_victim.errors and time.monotonic() < killed + 30:  # its posts in flight fail
            time.sleep(0.05)
        on_victim.finish()
        on_survivor.wait_for(len(on_survivor.acked) + 10)  # the killed replica left no lock behind
    finally:
        on_victim.finish()
        on_survivor.finish()
    assert on_victim.errors, "the killed replica's clients saw no failure"
    assert not on_survivor.errors, on_survivor.errors[:3]

    rows = store.rows()
    stored_ids = [r.id for r in rows]
    assert len(stored_ids) == len(set(stored_ids))
    acked = on_victim.acked + on_survivor.acked
    acked_ids = [i for _, ids, _ in acked for i in ids]
    assert len(acked_ids) == len(set(acked_ids)), "an id was acknowledged twice"
    missing = set(acked_ids) - set(stored_ids)
    assert not missing, f"{len(missing)} acknowledged ids are not in the store"
    texts: dict[str, int] = {}
    for r in rows:
        prefix = r.text.rsplit("row ", 1)[0]
        texts[prefix] = texts.get(prefix, 0) + 1
    assert set(texts.values()) == {ROWS_PER_BATCH}, "a batch was stored in part"
    for prefix, ids, _ in acked:
        assert texts[prefix] == ROWS_PER_BATCH and len(ids) == ROWS_PER_BATCH
    # The killed replica may have committed a batch per client that it never acknowledged (here:
    # its cut transaction was not committed, but another client's might have been, just before).
    assert len(rows) - len(acked_ids) <= 2 * ROWS_PER_BATCH
    assert any(when > killed for _, _, when in on_survivor.acked)

    with survivor.client() as client:
        r = client.post("/feedback", json={"items": [{"task": "bias", "text": "After the kill.", "label": "neutral"}]})
        assert r.status_code == 200, r.text
        stats = client.get("/feedback/stats")
        assert stats.status_code == 200 and stats.json()["rows"] == store.count() == len(rows) + 1
        assert client.get("/readyz").status_code == 200
    for server in (victim, survivor):
        assert PASSWORD not in server.log_path.read_text(errors="replace")
    print(
        f"\nreplica a: {len(on_victim.acked)} batches acknowledged, then SIGKILL ({len(on_victim.errors)} failed "
        f"posts); replica b: {len(on_survivor.acked)} acknowledged; {len(rows)} rows stored, "
        f"{len(rows) - len(acked_ids)} committed but never acknowledged"
    )

"""The two SQL engines behind :class:`slant.feedback.store.FeedbackStore`: only what differs.

The store (store.py) writes one dialect: ``?`` parameters, ``BEGIN``/``COMMIT`` sent by hand on a
connection in autocommit mode, and SQL both engines run. A backend adds what they do differently:
how to connect, the statements that open a write transaction holding the store's write lock, the
table's id column, where the schema version lives, the store's size, and an integrity check.

=================  =================================  =============================================
                   SQLite (``sqlite3``)               PostgreSQL (``psycopg``, extra ``[postgres]``)
=================  =================================  =============================================
write lock         ``BEGIN IMMEDIATE``                ``LOCK TABLE feedback IN SHARE ROW EXCLUSIVE
                                                      MODE`` (writers queue; readers never wait)
waiting            ``busy_timeout`` 30 s              ``lock_timeout`` 30 s
durable on COMMIT  WAL, ``synchronous=FULL``          ``synchronous_commit`` (raised to ``on`` if
                                                      the server's default is ``off``)
schema version     ``PRAGMA user_version``            table ``feedback_schema`` (one row)
size (the cap)     file pages + WAL file              ``pg_total_relation_size('feedback')``
integrity_check    ``PRAGMA integrity_check``         reads every row (the server checks its pages)
=================  =================================  =============================================

psycopg is imported only when a PostgreSQL store is opened.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slant.feedback.location import POSTGRES_EXTRA, Location, LocationError
from slant.labels import TASKS

BUSY_TIMEOUT_MS = 30_000
IDLE_IN_TRANSACTION_S = 60  # a writer that vanished mid-transaction frees the write lock after this
CONNECT_TIMEOUT_S = 10
SCHEMA_LOCK = 0x534C414E54  # "SLANT": one process at a time creates or upgrades a PostgreSQL schema


def table_ddl(id_column: str, text: str) -> list[str]:
    """The latest schema of table ``feedback``; ``text`` is the type of the columns compared as
    strings (ordered by code point on both engines)."""
    tasks = ", ".join(repr(t) for t in TASKS)
    return [
        f"""CREATE TABLE IF NOT EXISTS feedback (
    id          {id_column},
    created_at  {text} NOT NULL,
    task        TEXT NOT NULL CHECK (task IN ({tasks})),
    text        TEXT NOT NULL CHECK (length(text) > 0),
    target      TEXT NOT NULL DEFAULT '',
    labels      TEXT NOT NULL,
    spans       TEXT NOT NULL DEFAULT '[]',
    article_id  TEXT NOT NULL DEFAULT '',
    annotator   TEXT NOT NULL DEFAULT '',
    text_hash   {text} NOT NULL,
    principal   TEXT NOT NULL DEFAULT ''
)""",
        "CREATE INDEX IF NOT EXISTS feedback_task_hash ON feedback (task, text_hash)",
    ]


class Backend:
    """One engine. Connections run in autocommit mode; the store sends BEGIN and COMMIT itself."""

    engine = ""
    Error: type[Exception] = Exception  # the driver's base error (DB-API 2)

    def __init__(self, location: Location) -> None:
        self.location = location

    def connect(self, first: bool) -> Any:
        """A new connection; ``first``: before the schema is known to exist (once per store object)."""
        raise NotImplementedError

    def execute(self, con: Any, sql: str, args: Sequence = ()) -> Any:
        return con.execute(sql, tuple(args))

    def begin_write(self, con: Any) -> None:
        """Open a transaction holding the store's write lock (one writer at a time, readers never wait)."""
        raise NotImplementedError

    def begin_schema(self, con: Any) -> None:
        """Open a transaction in which one process at a time creates or upgrades the schema."""
        raise NotImplementedError

    def create_schema(self, con: Any) -> None:
        raise NotImplementedError

    def schema_version(self, con: Any) -> int | None:
        """The stored schema's version; None when there is no table ``feedback`` yet."""
        raise NotImplementedError

    def set_schema_version(self, con: Any, version: int) -> None:
        raise NotImplementedError

    def columns(self, con: Any) -> set[str]:
        raise NotImplementedError

    def insert_id(self, cursor: Any) -> int:
        """The id of the row an ``INSERT ... {returning}`` just added."""
        raise NotImplementedError

    returning = ""  # appended to the INSERT

    def size_bytes(self, con: Any) -> int:
        raise NotImplementedError

    def integrity(self, con: Any) -> str:
        raise NotImplementedError

    def lost_connection(self, con: Any) -> bool:
        """Whether ``con`` went away (after an error: a COMMIT that failed so is in doubt)."""
        return False


class SqliteBackend(Backend):
    engine = "sqlite"
    Error = sqlite3.Error

    @property
    def path(self) -> Path:
        return Path(self.location.target)

    def connect(self, first: bool) -> sqlite3.Connection:
        if first:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if first:
                self._use_wal(con)
            con.execute("PRAGMA synchronous = FULL")
        except BaseException:
            con.close()
            raise
        return con

    def _use_wal(self, con: sqlite3.Connection) -> None:
        """Switch the file to WAL. When several first users switch at once, SQLite answers some of
        them "database is locked" at once, without waiting in its busy handler (6 threads on a new
        file: 8 runs in 200 failed so): retry until the busy timeout instead."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"{self.path}: could not switch to WAL (journal_mode={mode})")

    def begin_write(self, con: Any) -> None:
        con.execute("BEGIN IMMEDIATE")

    begin_schema = begin_write

    def create_schema(self, con: Any) -> None:
        for statement in table_ddl("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT"):
            con.execute(statement)

    def schema_version(self, con: Any) -> int | None:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'").fetchone():
            return None
        return int(con.execute("PRAGMA user_version").fetchone()[0]) or 1  # version 1 did not set it

    def set_schema_version(self, con: Any, version: int) -> None:
        con.execute(f"PRAGMA user_version = {int(version)}")

    def columns(self, con: Any) -> set[str]:
        return {r[1] for r in con.execute("PRAGMA table_info(feedback)")}

    def insert_id(self, cursor: Any) -> int:
        return int(cursor.lastrowid)

    def size_bytes(self, con: Any) -> int:
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        wal = self.path.with_name(self.path.name + "-wal")
        return int(pages * page_size + (wal.stat().st_size if wal.exists() else 0))

    def integrity(self, con: Any) -> str:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])


class PostgresBackend(Backend):
    engine = "postgresql"
    returning = " RETURNING id"

    def __init__(self, location: Location) -> None:
        super().__init__(location)
        try:
            import psycopg
        except ImportError:
            raise LocationError(
                f"{location.shown} is a PostgreSQL store, and its driver (psycopg) is not installed; "
                f"fix: {POSTGRES_EXTRA}"
            ) from None
        self._psycopg = psycopg
        self.Error = psycopg.Error

    def connect(self, first: bool) -> Any:
        url = self.location.target
        # Defaults the URL may override: a bounded wait for the server, a name in pg_stat_activity,
        # and keepalives, so a vanished server fails a call in about a minute instead of hanging.
        defaults: dict[str, Any] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "slant-feedback",
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }
        options = {k: v for k, v in defaults.items() if k not in url}
        con = self._psycopg.connect(url, autocommit=True, **options)
        try:
            con.execute(
                "SELECT set_config('lock_timeout', %s, false),"
                " set_config('idle_in_transaction_session_timeout', %s, false),"
                " CASE WHEN current_setting('synchronous_commit') = 'off'"
                " THEN set_config('synchronous_commit', 'on', false) END",
                (f"{BUSY_TIMEOUT_MS}ms", f"{IDLE_IN_TRANSACTION_S}s"),
            )
        except BaseException:
            con.close()
            raise
        return con

    def execute(self, con: Any, sql: str, args: Sequence = ()) -> Any:
        if args:
            sql = sql.replace("%", "%%").replace("?", "%s")
            return con.execute(sql, tuple(args))
        return con.execute(sql)

    def begin_write(self, con: Any) -> None:
        con.execute("BEGIN")
        con.execute("LOCK TABLE feedback IN SHARE ROW EXCLUSIVE MODE")

    def begin_schema(self, con: Any) -> None:
        con.execute("BEGIN")
        con.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def create_schema(self, con: Any) -> None:
        for statement in table_ddl("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", 'TEXT COLLATE "C"'):
            con.execute(statement)
        self._version_table(con)

    @staticmethod
    def _version_table(con: Any) -> None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS feedback_schema (only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),"
            " version INTEGER NOT NULL)"
        )

    def schema_version(self, con: Any) -> int | None:
        if con.execute("SELECT to_regclass('feedback')").fetchone()[0] is None:
            return None
        if con.execute("SELECT to_regclass('feedback_schema')").fetchone()[0] is None:
            return 1
        row = con.execute("SELECT version FROM feedback_schema").fetchone()
        return int(row[0]) if row else 1

    def set_schema_version(self, con: Any, version: int) -> None:
        self._version_table(con)
        con.execute(
            "INSERT INTO feedback_schema (version) VALUES (%s)"
            " ON CONFLICT (only_row) DO UPDATE SET version = excluded.version",
            (int(version),),
        )

    def columns(self, con: Any) -> set[str]:
        found = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'feedback'"
            " AND table_schema = current_schema()"
        )
        return {r[0] for r in found}

    def insert_id(self, cursor: Any) -> int:
        return int(cursor.fetchone()[0])

    def size_bytes(self, con: Any) -> int:
        return int(con.execute("SELECT pg_total_relation_size('feedback')").fetchone()[0])

    def integrity(self, con: Any) -> str:
        # Reads every row, text included (PostgreSQL verifies page checksums on read where enabled;
        # the amcheck extension is the deeper check, for the database's administrator).
        con.execute("SELECT count(*), sum(length(text) + length(labels) + length(spans)) FROM feedback").fetchone()
        return "ok"

    def lost_connection(self, con: Any) -> bool:
        return bool(con.broken or con.closed)


def open_backend(location: Location) -> Backend:
    return PostgresBackend(location) if location.engine == "postgresql" else SqliteBackend(location)

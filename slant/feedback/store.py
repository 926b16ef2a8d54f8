"""The feedback store: one SQLite file of corrections, written by serving (``POST /feedback``) and
the CLI (``slant feedback import``), read by retraining (``slant retrain``). Standard library only
(no torch, no bentoml), safe for many writer processes:

- location: ``$SLANT_FEEDBACK_DB``, default ``~/.slant/feedback.sqlite3`` (the folder is created);
- WAL journal, ``busy_timeout`` (writers wait for each other instead of failing), ``synchronous=FULL``
  (a row is on disk when ``add`` returns, so an acknowledged correction survives a crash);
- ``add(items)`` validates every item first and then stores all of them in ONE transaction: all
  or nothing. The ids it returns exist in the file when it returns.

Rows are never updated: a later correction of the same paragraph (same task, text and target) is a
new row, and retraining uses the latest one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from slant.feedback.models import MAX_FIELD_CHARS, Correction, short
from slant.feedback.validate import FeedbackError, check_batch_size, validate
from slant.files import replaced_atomically
from slant.labels import TASKS, get_task
from slant.settings import settings
from slant.text_key import text_hash

ENV_DB = "SLANT_FEEDBACK_DB"
DEFAULT_DB = Path("~/.slant/feedback.sqlite3")
BUSY_TIMEOUT_MS = 30_000
SCHEMA_VERSION = 2
# The whole store is capped ($SLANT_FEEDBACK_MAX_ROWS rows, $SLANT_FEEDBACK_MAX_MB megabytes of
# database file): past either, add() refuses with StoreFull (HTTP 507) and nothing is stored.

# Extra fields an exported line carries; import accepts them (ids are reassigned; principal kept).
EXPORT_ONLY_FIELDS = ("id", "created_at", "text_hash", "principal")


class StoreFull(FeedbackError):
    """The store is at its row or size cap; nothing was stored."""


class FeedbackImportError(FeedbackError):
    """Bad lines in a JSONL import; ``problems`` is [(line number, message)]."""

    def __init__(self, path: str | Path, problems: list[tuple[int, str]]):
        self.problems = problems
        shown = "\n".join(f"  line {n}: {m}" for n, m in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{path}: {len(problems)} bad line(s); nothing was imported (fix them, or pass "
            f"--skip-bad to import the good lines only):\n{shown}{more}"
        )


def default_path() -> Path:
    """``$SLANT_FEEDBACK_DB`` if set, else ``~/.slant/feedback.sqlite3``."""
    raw = settings().feedback_db.strip()
    return Path(raw or DEFAULT_DB).expanduser()


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    task        TEXT NOT NULL CHECK (task IN ({", ".join(repr(t) for t in TASKS)})),
    text        TEXT NOT NULL CHECK (length(text) > 0),
    target      TEXT NOT NULL DEFAULT '',
    labels      TEXT NOT NULL,
    spans       TEXT NOT NULL DEFAULT '[]',
    article_id  TEXT NOT NULL DEFAULT '',
    annotator   TEXT NOT NULL DEFAULT '',
    text_hash   TEXT NOT NULL,
    principal   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_task_hash ON feedback (task, text_hash);
"""

_COLUMNS = (
    "id",
    "created_at",
    "task",
    "text",
    "target",
    "labels",
    "spans",
    "article_id",
    "annotator",
    "text_hash",
    "principal",
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class FeedbackStore:
    """The store at ``path`` (default: ``default_path()``). Every call opens its own connection,
    so one store object is safe to share between threads; many processes may write at once."""

    def __init__(self, path: str | Path | None = None, *, max_rows: int | None = None, max_mb: int | None = None):
        self.path = Path(path).expanduser() if path else default_path()
        self._ready = False
        current = settings()
        self.max_rows = max_rows if max_rows is not None else current.feedback_max_rows
        self.max_mb = max_mb if max_mb is not None else current.feedback_max_mb

    # ---- connections ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self._ready:
                mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise sqlite3.OperationalError(f"{self.path}: could not switch to WAL (journal_mode={mode})")
                con.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            con.execute(statement)
                    columns = {r[1] for r in con.execute("PRAGMA table_info(feedback)")}
                    if "principal" not in columns:  # a version-1 store
                        con.execute("ALTER TABLE feedback ADD COLUMN principal TEXT NOT NULL DEFAULT ''")
                    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                self._ready = True
            con.execute("PRAGMA synchronous = FULL")
        except BaseException:
            con.close()
            raise
        return con

    # ---- writing --------------------------------------------------------------------------

    def add(self, items: Iterable[dict | Correction], *, principal: str | None = None) -> list[int]:
        """Validate, then store all items in one transaction; returns their ids (after COMMIT).
        ``principal`` (who sent them, as authenticated) replaces the items' own.

        Raises FeedbackError (nothing stored) when any item is bad, StoreFull at the store's cap.
        """
        items = list(items)
        check_batch_size(len(items))
        rows = [it if isinstance(it, Correction) else validate(it, f"items[{i}].") for i, it in enumerate(items)]
        if principal is not None:
            rows = [replace(r, principal=principal) for r in rows]
        return self._insert(rows)

    def _check_capacity(self, con: sqlite3.Connection, new_rows: int) -> None:
        n = int(con.execute("SELECT count(*) FROM feedback").fetchone()[0])
        if n + new_rows > self.max_rows:
            raise StoreFull(
                f"the feedback store is full ({n:,} rows, cap {self.max_rows:,}, SLANT_FEEDBACK_MAX_ROWS); "
                "nothing was stored. Its operator can export and prune it, or raise the cap"
            )
        pages, page_size = con.execute("PRAGMA page_count").fetchone()[0], con.execute("PRAGMA page_size").fetchone()[0]
        wal = self.path.with_name(self.path.name + "-wal")
        size = pages * page_size + (wal.stat().st_size if wal.exists() else 0)
        if size > self.max_mb * 1024 * 1024:
            raise StoreFull(
                f"the feedback store is full ({size / 1e6:,.0f} MB, cap {self.max_mb:,} MB, "
                "SLANT_FEEDBACK_MAX_MB); nothing was stored. Its operator can export and prune it, "
                "or raise the cap"
            )

    def _insert(self, rows: list[Correction], created: list[str] | None = None) -> list[int]:
        if not rows:
            return []
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                self._check_capacity(con, len(rows))
                ids = []
                for i, r in enumerate(rows):
                    cur = con.execute(
                        "INSERT INTO feedback (created_at, task, text, target, labels, spans, article_id, annotator,"
                        " text_hash, principal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            (created[i] if created and created[i] else None) or r.created_at or _now(),
                            r.task,
                            r.text,
                            r.target,
                            json.dumps(list(r.labels)),
                            json.dumps([list(s) for s in r.spans]),
                            r.article_id,
                            r.annotator,
                            r.text_hash or text_hash(r.text),
                            r.principal,
                        ),
                    )
                    ids.append(cast(int, cur.lastrowid))  # set by every INSERT
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()
        return ids

    # ---- reading --------------------------------------------------------------------------

    def rows(self, task: str | None = None) -> list[Correction]:
        """Every correction (of one task), oldest first."""
        if task is not None:
            get_task(task)
        con = self._connect()
        try:
            sql = f"SELECT {', '.join(_COLUMNS)} FROM feedback"
            args: tuple = ()
            if task is not None:
                sql += " WHERE task = ?"
                args = (task,)
            found = con.execute(sql + " ORDER BY id", args).fetchall()
        finally:
            con.close()
        return [
            Correction(
                id=r[0],
                created_at=r[1],
                task=r[2],
                text=r[3],
                target=r[4],
                labels=tuple(json.loads(r[5])),
                spans=tuple(tuple(s) for s in json.loads(r[6])),
                article_id=r[7],
                annotator=r[8],
                text_hash=r[9],
                principal=r[10],
            )
            for r in found
        ]

    def count(self) -> int:
        con = self._connect()
        try:
            return int(con.execute("SELECT count(*) FROM feedback").fetchone()[0])
        finally:
            con.close()

    def stats(self) -> dict:
        """Counts per task and label, distinct paragraphs, annotators, first and last correction."""
        con = self._connect()
        try:
            total, first, last = con.execute(
                "SELECT count(*), min(created_at), max(created_at) FROM feedback"
            ).fetchone()
            per_task: dict[str, dict[str, Any]] = {t: {"rows": 0, "paragraphs": 0, "labels": {}} for t in TASKS}
            for task, n, distinct in con.execute(
                "SELECT task, count(*), count(DISTINCT text_hash || char(31) || target) FROM feedback GROUP BY task"
            ):
                per_task[task]["rows"], per_task[task]["paragraphs"] = n, distinct
            for task, labels_json in con.execute("SELECT task, labels FROM feedback"):
                labels = json.loads(labels_json) or ["(none)"]
                for label in labels:
                    per_task[task]["labels"][label] = per_task[task]["labels"].get(label, 0) + 1
            (annotators,) = con.execute(
                "SELECT count(DISTINCT annotator) FROM feedback WHERE annotator != ''"
            ).fetchone()
        finally:
            con.close()
        return {
            "path": str(self.path),
            "rows": int(total),
            "tasks": per_task,
            "annotators": int(annotators),
            "first": first,
            "last": last,
        }

    def integrity_check(self) -> str:
        con = self._connect()
        try:
            return con.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            con.close()

    # ---- files ----------------------------------------------------------------------------

    def export_jsonl(self, path: str | Path) -> int:
        """Every row as one JSON object per line (written to a temp file, then moved into place)."""
        rows = self.rows()
        with replaced_atomically(path) as tmp, tmp.open("w", encoding="utf-8") as f:
            for r in rows:
                d = r.to_json()
                if r.task != "bias":
                    d.pop("spans")
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        return len(rows)

    def import_jsonl(self, path: str | Path, *, skip_bad: bool = False) -> dict:
        """Import an export (or any JSONL of corrections). Every line is checked first; with a bad
        line nothing is imported (FeedbackImportError lists the line numbers) unless ``skip_bad``.
        Lines identical to a stored row (same created_at, task, text, target, labels, spans,
        annotator) are skipped, so importing the same file twice adds nothing.
        Returns {"imported": n, "ids": [...], "duplicates": n, "bad": [(line, message)]}.
        """
        path = Path(path)
        good: list[tuple[int, Correction, str]] = []
        bad: list[tuple[int, str]] = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    good.append((n, *_read_line(line)))
                except FeedbackError as e:
                    bad.append((n, str(e)))
        if bad and not skip_bad:
            raise FeedbackImportError(path, bad)
        existing = {self._identity(r, r.created_at) for r in self.rows()}
        fresh, seen = [], set()
        for _, row, created in good:
            key = self._identity(row, created)
            if created and (key in existing or key in seen):
                continue
            seen.add(key)
            fresh.append((row, created))
        ids = self._insert([r for r, _ in fresh], [c for _, c in fresh])
        return {"imported": len(ids), "ids": ids, "duplicates": len(good) - len(fresh), "bad": bad}

    @staticmethod
    def _identity(r: Correction, created: str) -> tuple:
        return (created, r.task, r.text, r.target, tuple(r.labels), tuple(tuple(s) for s in r.spans), r.annotator)


def _read_line(line: str) -> tuple[Correction, str]:
    """One line of an import: the correction (with its principal) and its created_at ("" if none)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise FeedbackError(f"not valid JSON ({e.msg} at column {e.colno})") from None
    row = validate(obj, allow=EXPORT_ONLY_FIELDS)
    principal = obj.get("principal", "cli")  # an exported row keeps its own
    if not isinstance(principal, str) or len(principal) > MAX_FIELD_CHARS:
        raise FeedbackError(f"principal: found {short(principal)}; expected a short string")
    created = obj.get("created_at")
    if created is not None:
        if not isinstance(created, str):
            raise FeedbackError(f"created_at: found {short(created)}; expected an ISO 8601 time string")
        try:
            datetime.fromisoformat(created)
        except ValueError:
            raise FeedbackError(f"created_at: found {short(created)}; expected an ISO 8601 time string") from None
    return replace(row, principal=principal), created or ""

"""The feedback store: corrections written by serving (``POST /feedback``) and the CLI
(``slant feedback import``), read by retraining (``slant retrain``). One SQLite file, or one
PostgreSQL database that several service replicas on several machines share:

- location: ``$SLANT_FEEDBACK_URL`` (``postgresql://...`` or ``sqlite:///path``), else the SQLite
  file ``$SLANT_FEEDBACK_DB``, default ``~/.slant/feedback.sqlite3`` (slant.feedback.location);
- writers wait for each other instead of failing (30 s), and a row is durable when ``add`` returns,
  so an acknowledged correction survives a crash (how each engine does it: slant.feedback.backends);
- ``add(items)`` validates every item first and then stores all of them in ONE transaction, under
  the store's write lock: all or nothing, and the row and size caps hold with any number of writers.
  The ids it returns exist in the store when it returns;
- the schema is versioned: created on first use, upgraded in place when older, refused when newer.

Rows are never updated: a later correction of the same paragraph (same task, text and target) is a
new row, and retraining uses the latest one. Every database error reaches callers as StoreError,
whose message names the store with its password redacted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from slant.feedback.backends import Backend, open_backend
from slant.feedback.location import DEFAULT_DB, Location, configured, parse, redact
from slant.feedback.models import MAX_FIELD_CHARS, Correction, short
from slant.feedback.validate import FeedbackError, check_batch_size, validate
from slant.files import replaced_atomically
from slant.labels import TASKS, get_task
from slant.settings import settings
from slant.text_key import text_hash

ENV_DB = "SLANT_FEEDBACK_DB"
ENV_URL = "SLANT_FEEDBACK_URL"
SCHEMA_VERSION = 2
# The whole store is capped ($SLANT_FEEDBACK_MAX_ROWS rows, $SLANT_FEEDBACK_MAX_MB megabytes of
# database file, or of the PostgreSQL table with its indexes): past either, add() refuses with
# StoreFull (HTTP 507) and nothing is stored.

# Extra fields an exported line carries; import accepts them (ids are reassigned; principal kept).
EXPORT_ONLY_FIELDS = ("id", "created_at", "text_hash", "principal")

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
_INSERT = (
    "INSERT INTO feedback (created_at, task, text, target, labels, spans, article_id, annotator, text_hash,"
    " principal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class StoreFull(FeedbackError):
    """The store is at its row or size cap; nothing was stored."""


class StoreError(Exception):
    """The database behind the store failed: unreachable, the connection lost, a constraint. The
    message names the store (password redacted) and the driver's words. ``in_doubt``: the connection
    was lost while committing, so the batch may or may not be stored (otherwise nothing was)."""

    def __init__(self, message: str, *, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.in_doubt = in_doubt


class SchemaTooNew(StoreError):
    """The store was written by a newer Slant; this one refuses to touch it."""


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
    """The SQLite file: ``$SLANT_FEEDBACK_DB`` if set, else ``~/.slant/feedback.sqlite3``."""
    raw = settings().feedback_db.strip()
    return Path(raw or DEFAULT_DB).expanduser()


def default_location() -> Location:
    """The store the settings name: ``$SLANT_FEEDBACK_URL``, else the SQLite file ``default_path()``."""
    current = settings()
    return configured(current.feedback_url, current.feedback_db)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class FeedbackStore:
    """The store at ``location``: a SQLite file's path, ``sqlite:///path`` or ``postgresql://...``
    (default: ``default_location()``). Every call opens its own connection, so one store object is
    safe to share between threads, and a lost connection fails one call only; many processes may
    write at once.

    ``path`` is the SQLite file (None for PostgreSQL); ``location`` says where the store is, for
    messages (a URL's password redacted)."""

    def __init__(self, location: str | Path | None = None, *, max_rows: int | None = None, max_mb: int | None = None):
        current = settings()
        self._location = parse(location) if location else configured(current.feedback_url, current.feedback_db)
        self.backend: Backend = open_backend(self._location)
        self.engine = self._location.engine
        self.path = self._location.path
        self.location = self._location.shown
        self.max_rows = max_rows if max_rows is not None else current.feedback_max_rows
        self.max_mb = max_mb if max_mb is not None else current.feedback_max_mb
        self._ready = False

    def __repr__(self) -> str:
        return f"FeedbackStore({self.location!r})"

    # ---- connections and transactions -----------------------------------------------------

    def _error(self, e: BaseException, *, in_doubt: bool = False) -> StoreError:
        words = (str(e).strip().splitlines() or [""])[0]  # the first line: no DETAIL with row data
        words = redact(self._location.scrub(words))
        return StoreError(f"feedback store {self.location}: {type(e).__name__}: {words}", in_doubt=in_doubt)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection (the schema made current on the first); driver errors as StoreError."""
        try:
            con = self.backend.connect(first=not self._ready)
            try:
                if not self._ready:
                    self._ensure_schema(con)
                    self._ready = True
                yield con
            finally:
                con.close()
        except (self.backend.Error, OSError) as e:
            raise self._error(e) from None

    @contextmanager
    def _transaction(self, con: Any, begin) -> Iterator[None]:
        """``begin(con)``, the body, COMMIT; ROLLBACK if the body raises. A connection lost during
        COMMIT is a StoreError with ``in_doubt`` (the server may have committed)."""
        begin(con)
        try:
            yield
        except BaseException:
            with suppress(Exception):
                con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except self.backend.Error as e:
            in_doubt = self.backend.lost_connection(con)
            with suppress(Exception):
                con.execute("ROLLBACK")
            raise self._error(e, in_doubt=in_doubt) from None

    def _ensure_schema(self, con: Any) -> None:
        """Create the schema, upgrade an older one in place, refuse a newer one (one process at a time)."""
        with self._transaction(con, self.backend.begin_schema):
            found = self.backend.schema_version(con)
            if found is not None and found > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"feedback store {self.location} has schema version {found}, written by a newer Slant; this "
                    f"one knows versions up to {SCHEMA_VERSION} and leaves it alone. Fix: upgrade Slant "
                    "(pip install -U slant) wherever it uses this store"
                )
            if found is None:
                self.backend.create_schema(con)
            elif found < 2 and "principal" not in self.backend.columns(con):  # version 1: no principal
                self.backend.execute(con, "ALTER TABLE feedback ADD COLUMN principal TEXT NOT NULL DEFAULT ''")
            if found != SCHEMA_VERSION:
                self.backend.set_schema_version(con, SCHEMA_VERSION)

    # ---- writing --------------------------------------------------------------------------

    def add(self, items: Iterable[dict | Correction], *, principal: str | None = None) -> list[int]:
        """Validate, then store all items in one transaction; returns their ids (after COMMIT).
        ``principal`` (who sent them, as authenticated) replaces the items' own.

        Raises FeedbackError (nothing stored) when any item is bad, StoreFull at the store's cap,
        StoreError when the database fails (nothing stored, unless ``in_doubt``).
        """
        items = list(items)
        check_batch_size(len(items))
        rows = [it if isinstance(it, Correction) else validate(it, f"items[{i}].") for i, it in enumerate(items)]
        if principal is not None:
            rows = [replace(r, principal=principal) for r in rows]
        ids, _ = self._write([(r, "") for r in rows])
        return ids

    def _check_capacity(self, con: Any, new_rows: int) -> None:
        n = int(self.backend.execute(con, "SELECT count(*) FROM feedback").fetchone()[0])
        if n + new_rows > self.max_rows:
            raise StoreFull(
                f"the feedback store is full ({n:,} rows, cap {self.max_rows:,}, SLANT_FEEDBACK_MAX_ROWS); "
                "nothing was stored. Its operator can export and prune it, or raise the cap"
            )
        size = self.backend.size_bytes(con)
        if size > self.max_mb * 1024 * 1024:
            raise StoreFull(
                f"the feedback store is full ({size / 1e6:,.0f} MB, cap {self.max_mb:,} MB, "
                "SLANT_FEEDBACK_MAX_MB); nothing was stored. Its operator can export and prune it, "
                "or raise the cap"
            )

    def _write(self, rows: list[tuple[Correction, str]], *, skip_stored: bool = False) -> tuple[list[int], int]:
        """Insert (correction, created_at or "") pairs in one transaction under the write lock;
        returns (their ids, how many were skipped). ``skip_stored``: leave out pairs with a
        created_at that are already stored (or repeated), checked under the lock, so two imports of
        one file at once add it once."""
        if not rows:
            return [], 0
        with self._connection() as con, self._transaction(con, self.backend.begin_write):
            fresh = self._unstored(con, rows) if skip_stored else rows
            if not fresh:
                return [], len(rows)
            self._check_capacity(con, len(fresh))
            ids = []
            for r, created in fresh:
                cur = self.backend.execute(
                    con,
                    _INSERT + self.backend.returning,
                    (
                        created or r.created_at or _now(),
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
                ids.append(self.backend.insert_id(cur))
        return ids, len(rows) - len(fresh)

    def _unstored(self, con: Any, rows: list[tuple[Correction, str]]) -> list[tuple[Correction, str]]:
        stored = {_identity(r, r.created_at) for r in self._select(con)}
        fresh, seen = [], set()
        for row, created in rows:
            key = _identity(row, created)
            if created and (key in stored or key in seen):
                continue
            seen.add(key)
            fresh.append((row, created))
        return fresh

    # ---- reading --------------------------------------------------------------------------

    def _select(self, con: Any, task: str | None = None) -> list[Correction]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM feedback"
        args: tuple = ()
        if task is not None:
            sql += " WHERE task = ?"
            args = (task,)
        found = self.backend.execute(con, sql + " ORDER BY id", args).fetchall()
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

    def rows(self, task: str | None = None) -> list[Correction]:
        """Every correction (of one task), oldest first."""
        if task is not None:
            get_task(task)
        with self._connection() as con:
            return self._select(con, task)

    def count(self) -> int:
        with self._connection() as con:
            return int(self.backend.execute(con, "SELECT count(*) FROM feedback").fetchone()[0])

    def stats(self) -> dict:
        """Counts per task and label, distinct paragraphs, annotators, first and last correction."""
        per_task: dict[str, dict[str, Any]] = {t: {"rows": 0, "paragraphs": 0, "labels": {}} for t in TASKS}
        with self._connection() as con:
            run = self.backend.execute
            total, first, last = run(con, "SELECT count(*), min(created_at), max(created_at) FROM feedback").fetchone()
            for task, n in run(con, "SELECT task, count(*) FROM feedback GROUP BY task").fetchall():
                per_task[task]["rows"] = int(n)
            paragraphs = "SELECT task, count(*) FROM (SELECT DISTINCT task, text_hash, target FROM feedback) AS p"
            for task, n in run(con, paragraphs + " GROUP BY task").fetchall():
                per_task[task]["paragraphs"] = int(n)
            for task, labels_json in run(con, "SELECT task, labels FROM feedback").fetchall():
                for label in json.loads(labels_json) or ["(none)"]:
                    per_task[task]["labels"][label] = per_task[task]["labels"].get(label, 0) + 1
            (annotators,) = run(con, "SELECT count(DISTINCT annotator) FROM feedback WHERE annotator <> ''").fetchone()
        return {
            "location": self.location,
            "rows": int(total),
            "tasks": per_task,
            "annotators": int(annotators),
            "first": first,
            "last": last,
        }

    def integrity_check(self) -> str:
        """``ok``, or what the engine found wrong."""
        with self._connection() as con:
            return self.backend.integrity(con)

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
        annotator) are skipped, so importing the same file twice adds nothing (the good lines go in
        one transaction, all or nothing).
        Returns {"imported": n, "ids": [...], "duplicates": n, "bad": [(line, message)]}.
        """
        path = Path(path)
        good: list[tuple[Correction, str]] = []
        bad: list[tuple[int, str]] = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    good.append(_read_line(line))
                except FeedbackError as e:
                    bad.append((n, str(e)))
        if bad and not skip_bad:
            raise FeedbackImportError(path, bad)
        ids, duplicates = self._write(good, skip_stored=True)
        return {"imported": len(ids), "ids": ids, "duplicates": duplicates, "bad": bad}


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

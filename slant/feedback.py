"""The feedback store: labeled corrections, written by serving (``POST /feedback``) and the CLI
(``slant feedback import``), read by retraining (``slant retrain``).

One SQLite file, standard library only (no torch, no bentoml), safe for many writer processes:

- location: ``$SLANT_FEEDBACK_DB``, default ``~/.slant/feedback.sqlite3`` (the folder is created);
- WAL journal, ``busy_timeout`` (writers wait for each other instead of failing), ``synchronous=FULL``
  (a row is on disk when ``add`` returns, so an acknowledged correction survives a crash);
- ``add(items)`` validates every item first and then stores all of them in ONE transaction: all
  or nothing. The ids it returns exist in the file when it returns.

A correction (one row of table ``feedback``):

==============  ==============================================================================
``task``        ``stance`` | ``frames`` | ``techniques`` | ``bias``
``text``        the paragraph (non-empty, at most ``MAX_TEXT_CHARS`` characters), stored as sent
``target``      stance only, required there: the entity or proposition (<= ``MAX_TARGET_CHARS``)
``labels``      JSON list; stance: exactly one of favor/against/neutral; bias: exactly one of
                neutral/biased; frames and techniques: zero or more of their labels (an empty list
                says "none of them applies"). Items may send ``label`` (one string) instead.
``spans``       bias only, optional: loaded words as ``[[start, end], ...]`` character offsets into
                ``text`` (0 <= start < end <= len(text)); only with the label ``biased``
``article_id``  optional, groups paragraphs of one article
``annotator``   optional, who says they labeled it (self-declared: not an identity)
``principal``   who sent it, as the service authenticated it: ``key:<12 hex>`` for an API key,
                empty for an unauthenticated (loopback) request; ``cli`` for ``slant feedback
                import`` without one. Retraining counts votes per principal (training/retrain.py)
``text_hash``   SHA-256 of the normalised text (lowercase, punctuation stripped, whitespace
                collapsed): the key for deduplication and the held-out split in retraining
``created_at``  UTC, ISO 8601
==============  ==============================================================================

Rows are never updated: a later correction of the same paragraph (same task, text and target) is a
new row, and retraining uses the latest one.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from slant.labels import TASKS, get_task

ENV_DB = "SLANT_FEEDBACK_DB"
DEFAULT_DB = Path("~/.slant/feedback.sqlite3")
MAX_TEXT_CHARS = 10_000  # one paragraph; longer texts are articles: split them into paragraphs
MAX_TARGET_CHARS = 300
MAX_FIELD_CHARS = 200  # article_id, annotator
MAX_ITEMS = 1000  # per add() / per POST /feedback
BUSY_TIMEOUT_MS = 30_000
SCHEMA_VERSION = 2
# The whole store is capped ($SLANT_FEEDBACK_MAX_ROWS rows, $SLANT_FEEDBACK_MAX_MB megabytes of
# database file): past either, add() refuses with StoreFull (HTTP 507) and nothing is stored.
DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_MAX_MB = 1024

ITEM_FIELDS = ("task", "text", "labels", "label", "target", "spans", "article_id", "annotator")
# Extra fields an exported line carries; import accepts them (ids are reassigned; principal kept).
EXPORT_ONLY_FIELDS = ("id", "created_at", "text_hash", "principal")

_WS = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]|_", re.UNICODE)


class FeedbackError(ValueError):
    """A correction that does not fit the schema; the message names the field, what was found and
    what was expected (``items[3].labels: ...``)."""


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


def normalise(text: str) -> str:
    """The dedup key: NFKC, lowercase, punctuation stripped, whitespace collapsed (the same rule as
    the corpus build's leakage key)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _WS.sub(" ", _NON_WORD.sub(" ", text)).strip()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def default_path() -> Path:
    """``$SLANT_FEEDBACK_DB`` if set, else ``~/.slant/feedback.sqlite3``."""
    raw = os.environ.get(ENV_DB, "").strip()
    return Path(raw or DEFAULT_DB).expanduser()


@dataclass(frozen=True)
class Correction:
    task: str
    text: str
    labels: tuple[str, ...]
    target: str = ""
    spans: tuple[tuple[int, int], ...] = ()
    article_id: str = ""
    annotator: str = ""
    principal: str = ""
    id: int | None = None
    created_at: str = ""
    text_hash: str = field(default="", compare=False)

    def to_json(self) -> dict:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["spans"] = [list(s) for s in self.spans]
        return d


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _string(item: dict, name: str, where: str, *, limit: int, required: bool = False) -> str:
    value = item.get(name)
    if value is None:
        if required:
            raise FeedbackError(f"{where}{name}: missing; expected a non-empty string")
        return ""
    if not isinstance(value, str):
        raise FeedbackError(f"{where}{name}: found {type(value).__name__} {_short(value)}; expected a string")
    if required and not value.strip():
        raise FeedbackError(f"{where}{name}: found an empty string; expected a non-empty string")
    if len(value) > limit:
        raise FeedbackError(f"{where}{name}: found {len(value):,} characters; expected at most {limit:,}")
    return value


def validate(item: Any, where: str = "", *, allow: tuple[str, ...] = ()) -> Correction:
    """One correction, checked against the label schemas (``slant.labels``). ``where`` prefixes the
    field names in messages (``items[3].``); ``allow`` names extra keys to accept and ignore."""
    if not isinstance(item, dict):
        raise FeedbackError(
            f"{where.rstrip('.') or 'item'}: found {type(item).__name__} {_short(item)}; expected an object "
            '{"task", "text", "labels" | "label", "target"?, "spans"?, "article_id"?, "annotator"?}'
        )
    unknown = sorted(set(item) - set(ITEM_FIELDS) - set(allow))
    if unknown:
        raise FeedbackError(
            f"{where}{unknown[0]}: unknown field{'s ' + ', '.join(unknown) if len(unknown) > 1 else ''}; "
            f"expected only {', '.join(f for f in ITEM_FIELDS)}"
        )
    task_name = item.get("task")
    if not isinstance(task_name, str) or task_name not in TASKS:
        raise FeedbackError(f"{where}task: found {_short(task_name)}; expected one of {', '.join(TASKS)}")
    task = get_task(task_name)
    text = _string(item, "text", where, limit=MAX_TEXT_CHARS, required=True)

    if "label" in item and "labels" in item:
        raise FeedbackError(f"{where}label: found both label and labels; send one of them")
    if "label" in item:
        raw = item["label"]
        if not isinstance(raw, str):
            raise FeedbackError(f"{where}label: found {type(raw).__name__} {_short(raw)}; expected a string (or use labels: [...])")
        labels_in: Any = [raw]
        lname = "label"
    elif "labels" in item:
        labels_in = item["labels"]
        lname = "labels"
        if isinstance(labels_in, str):
            labels_in = [labels_in]
        if not isinstance(labels_in, list) or not all(isinstance(x, str) for x in labels_in):
            raise FeedbackError(f"{where}labels: found {_short(labels_in)}; expected a list of label strings")
    else:
        raise FeedbackError(f"{where}labels: missing; expected labels (a list) or label (a string) from: {', '.join(task.labels)}")
    bad = [x for x in labels_in if x not in task.labels]
    if bad:
        raise FeedbackError(
            f"{where}{lname}: found unknown {task.name} label {bad[0]!r}; expected "
            f"{'one' if task.kind != 'multi' else 'any'} of: {', '.join(task.labels)}"
        )
    if task.kind in ("single", "binary"):
        if len(labels_in) != 1:
            raise FeedbackError(
                f"{where}{lname}: found {len(labels_in)} labels {labels_in}; {task.name} takes exactly one of: "
                f"{', '.join(task.labels)}"
            )
        labels = tuple(labels_in)
    else:
        chosen = set(labels_in)
        labels = tuple(x for x in task.labels if x in chosen)  # schema order, no duplicates

    if task.input == "pair":
        target = _string(item, "target", where, limit=MAX_TARGET_CHARS, required=True)
    else:
        target = _string(item, "target", where, limit=MAX_TARGET_CHARS)
        if target.strip():
            raise FeedbackError(f"{where}target: found {_short(target)}; only stance takes a target, {task.name} does not")
        target = ""

    spans: tuple[tuple[int, int], ...] = ()
    raw_spans = item.get("spans")
    if raw_spans not in (None, []):
        if task.name != "bias":
            raise FeedbackError(f"{where}spans: found {_short(raw_spans)}; only bias takes loaded-word spans")
        if not isinstance(raw_spans, list):
            raise FeedbackError(f"{where}spans: found {_short(raw_spans)}; expected a list of [start, end] pairs")
        if labels != ("biased",):
            raise FeedbackError(f"{where}spans: found {len(raw_spans)} loaded-word span(s) on a paragraph labeled "
                                f"{labels[0]!r}; spans go with the label 'biased'")
        out = []
        for j, s in enumerate(raw_spans):
            if (not isinstance(s, (list, tuple)) or len(s) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in s)):
                raise FeedbackError(f"{where}spans[{j}]: found {_short(s)}; expected [start, end] (two integers)")
            start, end = s
            if not 0 <= start < end <= len(text):
                raise FeedbackError(
                    f"{where}spans[{j}]: found [{start}, {end}]; expected 0 <= start < end <= {len(text)} "
                    "(character offsets into text)"
                )
            out.append((start, end))
        spans = tuple(sorted(set(out)))

    return Correction(
        task=task.name,
        text=text,
        labels=labels,
        target=target,
        spans=spans,
        article_id=_string(item, "article_id", where, limit=MAX_FIELD_CHARS),
        annotator=_string(item, "annotator", where, limit=MAX_FIELD_CHARS),
        text_hash=text_hash(text),
    )


def validate_items(items: Any, *, allow: tuple[str, ...] = ()) -> list[Correction]:
    """A batch; raises FeedbackError naming ``items[i].field`` for the first bad item."""
    if not isinstance(items, list):
        raise FeedbackError(f"items: found {type(items).__name__} {_short(items)}; expected a list of corrections")
    if not items:
        raise FeedbackError("items: found an empty list; expected at least one correction")
    if len(items) > MAX_ITEMS:
        raise FeedbackError(f"items: found {len(items):,} corrections; expected at most {MAX_ITEMS:,} per batch (split it)")
    return [validate(item, f"items[{i}].", allow=allow) for i, item in enumerate(items)]


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

_COLUMNS = ("id", "created_at", "task", "text", "target", "labels", "spans", "article_id", "annotator", "text_hash",
            "principal")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class FeedbackStore:
    """The store at ``path`` (default: ``default_path()``). Every call opens its own connection,
    so one store object is safe to share between threads; many processes may write at once."""

    def __init__(self, path: str | Path | None = None, *, max_rows: int | None = None, max_mb: int | None = None):
        from slant.article import env_int

        self.path = Path(path).expanduser() if path else default_path()
        self._ready = False
        self.max_rows = max_rows if max_rows is not None else env_int("SLANT_FEEDBACK_MAX_ROWS", DEFAULT_MAX_ROWS)
        self.max_mb = max_mb if max_mb is not None else env_int("SLANT_FEEDBACK_MAX_MB", DEFAULT_MAX_MB)

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
        if not items:
            raise FeedbackError("items: found an empty list; expected at least one correction")
        if len(items) > MAX_ITEMS:
            raise FeedbackError(f"items: found {len(items):,} corrections; expected at most {MAX_ITEMS:,} per batch (split it)")
        rows = [it if isinstance(it, Correction) else validate(it, f"items[{i}].") for i, it in enumerate(items)]
        if principal is not None:
            from dataclasses import replace

            rows = [replace(r, principal=principal) for r in rows]
        return self._insert(rows)

    def _check_capacity(self, con: sqlite3.Connection, new_rows: int) -> None:
        n = int(con.execute("SELECT count(*) FROM feedback").fetchone()[0])
        if n + new_rows > self.max_rows:
            raise StoreFull(f"the feedback store is full ({n:,} rows, cap {self.max_rows:,}, SLANT_FEEDBACK_MAX_ROWS); "
                            "nothing was stored. Its operator can export and prune it, or raise the cap")
        pages, page_size = con.execute("PRAGMA page_count").fetchone()[0], con.execute("PRAGMA page_size").fetchone()[0]
        wal = self.path.with_name(self.path.name + "-wal")
        size = pages * page_size + (wal.stat().st_size if wal.exists() else 0)
        if size > self.max_mb * 1024 * 1024:
            raise StoreFull(f"the feedback store is full ({size / 1e6:,.0f} MB, cap {self.max_mb:,} MB, "
                            "SLANT_FEEDBACK_MAX_MB); nothing was stored. Its operator can export and prune it, "
                            "or raise the cap")

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
                            r.task, r.text, r.target, json.dumps(list(r.labels)),
                            json.dumps([list(s) for s in r.spans]), r.article_id, r.annotator,
                            r.text_hash or text_hash(r.text), r.principal,
                        ),
                    )
                    ids.append(int(cur.lastrowid))
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
                id=r[0], created_at=r[1], task=r[2], text=r[3], target=r[4],
                labels=tuple(json.loads(r[5])), spans=tuple(tuple(s) for s in json.loads(r[6])),
                article_id=r[7], annotator=r[8], text_hash=r[9], principal=r[10],
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
            total, first, last = con.execute("SELECT count(*), min(created_at), max(created_at) FROM feedback").fetchone()
            per_task = {t: {"rows": 0, "paragraphs": 0, "labels": {}} for t in TASKS}
            for task, n, distinct in con.execute(
                "SELECT task, count(*), count(DISTINCT text_hash || char(31) || target) FROM feedback GROUP BY task"
            ):
                per_task[task]["rows"], per_task[task]["paragraphs"] = n, distinct
            for task, labels_json in con.execute("SELECT task, labels FROM feedback"):
                labels = json.loads(labels_json) or ["(none)"]
                for label in labels:
                    per_task[task]["labels"][label] = per_task[task]["labels"].get(label, 0) + 1
            annotators = con.execute("SELECT count(DISTINCT annotator) FROM feedback WHERE annotator != ''").fetchone()[0]
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
        path = Path(path)
        rows = self.rows()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                for r in rows:
                    d = r.to_json()
                    if r.task != "bias":
                        d.pop("spans")
                    f.write(json.dumps(d, ensure_ascii=False) + "\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
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
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    bad.append((n, f"not valid JSON ({e.msg} at column {e.colno})"))
                    continue
                try:
                    row = validate(obj, allow=EXPORT_ONLY_FIELDS)
                    principal = obj.get("principal", "cli")  # an exported row keeps its own
                    if not isinstance(principal, str) or len(principal) > MAX_FIELD_CHARS:
                        raise FeedbackError(f"principal: found {_short(principal)}; expected a short string")
                    from dataclasses import replace

                    row = replace(row, principal=principal)
                    created = obj.get("created_at") if isinstance(obj, dict) else None
                    if created is not None:
                        if not isinstance(created, str):
                            raise FeedbackError(f"created_at: found {_short(created)}; expected an ISO 8601 time string")
                        try:
                            datetime.fromisoformat(created)
                        except ValueError:
                            raise FeedbackError(f"created_at: found {_short(created)}; expected an ISO 8601 time string") from None
                    good.append((n, row, created or ""))
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


def open_store(path: str | Path | None = None) -> FeedbackStore:
    return FeedbackStore(path)

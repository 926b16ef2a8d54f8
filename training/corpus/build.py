"""`slant data build`: read every raw set, map its labels, split without leaks, write one
`datasets.DatasetDict` per task, the data cards and STATS.md."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from slant.settings import settings

from .errors import CorpusError, SourceMissing
from .records import COLUMNS, SPLITS, TASK_NAMES
from .splits import assign_splits, leaking_texts, resolve_leaks

DEFAULT_OUT = Path("datasets") / "build"
DEFAULT_DATA = Path("..") / "shared" / "data"


class NoDataError(CorpusError):
    """Nothing could be built."""


@dataclass
class BuildResult:
    out: Path
    data_dir: Path
    counts: Counter = field(default_factory=Counter)  # (task, source, split) -> n
    label_counts: Counter = field(default_factory=Counter)  # (task, source, split, label) -> n
    dropped: Counter = field(default_factory=Counter)  # (task, source, split, reason) -> n
    notes: dict = field(default_factory=dict)  # (task, source) -> Counter
    missing: dict = field(default_factory=dict)  # (task, source) -> message
    errors: dict = field(default_factory=dict)  # (task, source) -> message
    built: list = field(default_factory=list)  # task names written
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if not self.built:
            return 2
        return 1 if self.errors else 0


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """--data-dir, else $SLANT_DATA_DIR, else ../shared/data (if it exists)."""
    if data_dir:
        p = Path(data_dir)
        origin = "--data-dir"
    elif env_dir := settings().data_dir:
        p = Path(env_dir)
        origin = "SLANT_DATA_DIR"
    else:
        p = DEFAULT_DATA
        origin = "default"
        if not p.is_dir():
            raise SourceMissing(p.resolve(), "raw data folder", "pass --data-dir or set SLANT_DATA_DIR")
    if not p.is_dir():
        raise SourceMissing(
            p,
            f"raw data folder (from {origin})",
            "expected a folder holding newsmtsc/, babe/, ... as in ../shared/data",
        )
    return p


def _features():
    from datasets import Features, List, Value

    return Features(
        {
            "id": Value("string"),
            "text": Value("string"),
            "target": Value("string"),
            "labels": List(Value("string")),
            "known_labels": List(Value("string")),
            "level": Value("string"),
            "source": Value("string"),
            "subset": Value("string"),
            "article_id": Value("string"),
            "paragraph_index": Value("int64"),
            "split": Value("string"),
            "spans": List(List(Value("int64"))),
        }
    )


def _write_task(task: str, records: list[dict], out: Path) -> None:
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    # mypy resolves `datasets` to the repo's datasets/ folder (a namespace package), not the library
    from datasets import Dataset, DatasetDict  # type: ignore[attr-defined]

    quiet_before = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        _save(task, records, out, Dataset, DatasetDict)
    finally:
        if not quiet_before:
            enable_progress_bars()


def _save(task, records, out, Dataset, DatasetDict) -> None:
    feats = _features()
    splits = {}
    for split in SPLITS:
        rows = [r for r in records if r["split"] == split]
        cols = {c: [r[c] for r in rows] for c in COLUMNS}
        splits[split] = Dataset.from_dict(cols, features=feats)
    dd = DatasetDict(splits)
    target = out / task
    tmp = out / f".{task}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    dd.save_to_disk(str(tmp))
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)


def build_corpus(
    data_dir: str | os.PathLike | None = None,
    out: str | os.PathLike = DEFAULT_OUT,
    cards_dir: str | os.PathLike | None = None,
    tasks: tuple[str, ...] = TASK_NAMES,
    echo: Callable[[str], None] = print,
    sources=None,
) -> BuildResult:
    """Build every task; never raises for a missing or broken source (see BuildResult.exit_code),
    only NoDataError when nothing at all could be built."""
    from .card_writer import write_cards

    t0 = time.perf_counter()
    root = resolve_data_dir(data_dir)
    out = Path(out)
    cards_dir = Path(cards_dir) if cards_dir is not None else out.parent
    res = BuildResult(out=out, data_dir=root)
    by_task = _read_sources(root, tasks, sources, res, echo)
    out.mkdir(parents=True, exist_ok=True)
    for task in tasks:
        recs = by_task.get(task, [])
        if not recs:
            echo(f"warning: task {task!r} not built: none of its sources could be read")
            continue
        _build_task(task, recs, out, res, echo)
    res.seconds = time.perf_counter() - t0
    if res.built:
        write_cards(res, cards_dir)
    echo(summary(res))
    if not res.built:
        raise NoDataError(
            f"nothing could be built from {root}: "
            + "; ".join(f"{t}/{s}: {m}" for (t, s), m in {**res.missing, **res.errors}.items())
        )
    return res


def _read_sources(
    root: Path, tasks: tuple[str, ...], sources, res: BuildResult, echo: Callable[[str], None]
) -> dict[str, list[dict]]:
    """The records of every source of the wanted tasks, by task. A missing or broken source is
    recorded in res (missing / errors) and echoed, and the others are still read."""
    from .sources import SOURCES

    by_task: dict[str, list[dict]] = defaultdict(list)
    for src in sources or SOURCES:
        if src.task not in tasks:
            continue
        key = (src.task, src.name)
        try:
            recs, notes = src.read(root)
        except SourceMissing as e:
            res.missing[key] = str(e)
            echo(f"warning: {src.task}/{src.name} skipped: {e}")
            continue
        except CorpusError as e:
            res.errors[key] = str(e)
            echo(f"error: {src.task}/{src.name} not built: {e}")
            continue
        res.notes[key] = notes
        if not recs:
            res.missing[key] = f"{src.folder}: no records"
            echo(f"warning: {src.task}/{src.name}: no records read from {root / src.folder}")
        by_task[src.task].extend(recs)
    return by_task


def _build_task(task: str, recs: list[dict], out: Path, res: BuildResult, echo: Callable[[str], None]) -> None:
    """Split one task's records without leaks, count them into res and write its table."""
    assign_splits(recs)
    log: Counter[tuple[str, str, str]] = Counter()  # (source, split, reason) -> records dropped
    recs = resolve_leaks(recs, log)
    assert not leaking_texts(recs), f"{task}: texts still on two sides"
    for (source, split, reason), n in log.items():
        res.dropped[(task, source, split, reason)] += n
    empty = [s for s in SPLITS if not any(r["split"] == s for r in recs)]
    if empty:
        echo(f"warning: task {task!r} has empty split(s): {', '.join(empty)}")
    _count_records(task, recs, res)
    _write_task(task, recs, out)
    res.built.append(task)


def _count_records(task: str, recs: list[dict], res: BuildResult) -> None:
    """Records per (source, split) and per label for the summary, the cards and STATS.md."""
    for r in recs:
        res.counts[(task, r["source"], r["split"])] += 1
        for lab in r["labels"]:
            res.label_counts[(task, r["source"], r["split"], lab)] += 1
        if not r["labels"]:
            res.label_counts[(task, r["source"], r["split"], "(none)")] += 1


def summary(res: BuildResult) -> str:
    lines = [f"corpus built from {res.data_dir} into {res.out} in {res.seconds:.1f}s", ""]
    lines.append(f"{'task':<11} {'source':<12} {'train':>7} {'dev':>7} {'test':>7} {'total':>7}")
    for task in TASK_NAMES:
        srcs = sorted({s for (t, s, _) in res.counts if t == task})
        tot: Counter[str] = Counter()  # split -> records
        for s in srcs:
            row = [res.counts[(task, s, sp)] for sp in SPLITS]
            for sp, n in zip(SPLITS, row):
                tot[sp] += n
            lines.append(f"{task:<11} {s:<12} " + " ".join(f"{n:>7}" for n in row) + f" {sum(row):>7}")
        if srcs:
            row = [tot[sp] for sp in SPLITS]
            lines.append(f"{task:<11} {'ALL':<12} " + " ".join(f"{n:>7}" for n in row) + f" {sum(row):>7}")
    if res.dropped:
        lines += ["", "dropped to keep splits apart (task / source / split: reason):"]
        for (t, s, sp, why), n in sorted(res.dropped.items()):
            lines.append(f"  {t}/{s}/{sp}: {why}: {n}")
    for (t, s), msg in res.missing.items():
        lines.append(f"MISSING {t}/{s}: {msg}")
    for (t, s), msg in res.errors.items():
        lines.append(f"ERROR {t}/{s}: {msg}")
    return "\n".join(lines)


def main(argv=None) -> int:  # python -m training.corpus.build [data_dir] [out]
    argv = sys.argv[1:] if argv is None else argv
    res = build_corpus(argv[0] if argv else None, argv[1] if len(argv) > 1 else DEFAULT_OUT)
    return res.exit_code


if __name__ == "__main__":
    sys.exit(main())

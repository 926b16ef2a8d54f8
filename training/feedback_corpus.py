"""Feedback -> corpus: which corrections train (the agreement rule), which are held out, and the
merged build folder `slant retrain` fine-tunes on. Dev and test rows are never changed."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from slant.feedback.models import Correction
from slant.labels import TASKS
from slant.text_key import norm_key as normalise

FEEDBACK_SOURCE = "feedback"


def row_key(task: str, text: str, target: str) -> tuple[str, str, str]:
    """What makes two rows 'the same paragraph' for deduplication."""
    return task, normalise(text), normalise(target) if TASKS[task].input == "pair" else ""


def is_heldout(text: str, holdout: float) -> bool:
    """Deterministic: the same paragraph is held out (or not) in every retrain, whatever its target."""
    from slant.text_key import text_hash

    return int(text_hash(text)[:8], 16) / 0x100000000 < holdout


def latest_corrections(rows: list[Correction]) -> dict[str, list[Correction]]:
    """Per task, one correction per paragraph: the latest (highest id)."""
    latest: dict[tuple, Correction] = {}
    for r in sorted(rows, key=lambda r: r.id or 0):
        latest[row_key(r.task, r.text, r.target)] = r
    out: dict[str, list[Correction]] = defaultdict(list)
    for r in latest.values():
        out[r.task].append(r)
    return out


ANONYMOUS = "anonymous"  # every unauthenticated row, whatever its self-declared annotator


def _voter(r: Correction) -> str:
    return r.principal or ANONYMOUS


def select_corrections(rows: list[Correction]) -> tuple[dict[str, list[Correction]], list[dict]]:
    """The agreement rule. Per paragraph: each principal's latest label is one vote; the
    unauthenticated rows together are one vote (none when they disagree among themselves); the
    label with more than half of the votes trains (its latest row is kept). Returns (kept per task,
    dropped: [{task, text, target, reason, votes}])."""
    groups: dict[tuple, list[Correction]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: r.id or 0):
        groups[row_key(r.task, r.text, r.target)].append(r)
    kept: dict[str, list[Correction]] = defaultdict(list)
    dropped: list[dict] = []
    for key, group in groups.items():
        latest: dict[str, Correction] = {}
        anonymous_labels = set()
        for r in group:
            latest[_voter(r)] = r
            if _voter(r) == ANONYMOUS:
                anonymous_labels.add(r.labels)
        votes: dict[tuple, int] = defaultdict(int)
        for voter, r in latest.items():
            if voter == ANONYMOUS and len(anonymous_labels) > 1:
                continue  # unauthenticated rows that contradict each other: no vote
            votes[r.labels] += 1
        total = sum(votes.values())
        shown = {"|".join(k) or "(none)": v for k, v in votes.items()}
        if total == 0:
            dropped.append(
                {
                    "task": key[0],
                    "text": group[-1].text,
                    "target": group[-1].target,
                    "votes": shown,
                    "reason": f"unauthenticated labels disagree ({len(anonymous_labels)} different labels "
                    f"in {len(group)} rows) and no API-key holder labeled it",
                }
            )
            continue
        label, n = max(votes.items(), key=lambda kv: kv[1])
        if 2 * n <= total:
            dropped.append(
                {
                    "task": key[0],
                    "text": group[-1].text,
                    "target": group[-1].target,
                    "votes": shown,
                    "reason": f"no majority among {total} voters",
                }
            )
            continue
        winner = max((r for v, r in latest.items() if r.labels == label), key=lambda r: r.id or 0)
        kept[key[0]].append(winner)
    return kept, dropped


def feedback_record(r: Correction, split: str, repeat: int = 0) -> dict:
    task = TASKS[r.task]
    return {
        "id": f"{FEEDBACK_SOURCE}:{r.task}:{r.id}" + (f":r{repeat}" if repeat else ""),
        "text": r.text,
        "target": r.target,
        "labels": list(r.labels),
        "known_labels": list(task.labels),  # the annotator judged every label of the task
        "level": "paragraph",
        "source": FEEDBACK_SOURCE,
        "subset": "",
        "article_id": r.article_id or f"{FEEDBACK_SOURCE}:{r.id}",
        "paragraph_index": -1,
        "split": split,
        "spans": [list(s) for s in r.spans],
    }


def merge_corpus(
    base_dir: str | Path, out_dir: str | Path, corrections: dict[str, list[Correction]], weight: int, holdout: float
) -> dict:
    """Write the merged build folder; returns counts per task (``protected``: corrections dropped
    because their text is a dev or test text). Dev and test splits are copied unchanged."""
    # mypy resolves `datasets` to the repo's datasets/ folder (a namespace package), not the library
    from datasets import Dataset, DatasetDict, concatenate_datasets  # type: ignore[attr-defined]
    from training.corpus import load_task

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, dict[str, int | dict[str, int]]] = {}  # task -> counts (base_rows_dropped: per split)
    for task in TASKS:
        base = load_task(task, base_dir)  # raises CorpusNotBuilt with the fix
        rows = corrections.get(task, [])
        if not rows:
            os.symlink(Path(base_dir).resolve() / task, out_dir / task)
            report[task] = {"feedback": 0}
            continue
        fixed_texts = {normalise(text) for split in base if split != "train" for text in base[split]["text"]}
        protected = [r for r in rows if normalise(r.text) in fixed_texts]
        rows = [r for r in rows if normalise(r.text) not in fixed_texts]
        keys = {row_key(task, r.text, r.target) for r in rows}
        splits, dropped = {}, {}
        held = [r for r in rows if is_heldout(r.text, holdout)]
        train_rows = [r for r in rows if not is_heldout(r.text, holdout)]
        for split in base:
            ds = base[split]
            keep = [
                i
                for i, (text, target) in enumerate(zip(ds["text"], ds["target"]))
                if split != "train" or row_key(task, text, target) not in keys
            ]
            dropped[split] = len(ds) - len(keep)
            ds = ds.select(keep) if dropped[split] else ds
            extra = []
            if split == "train":
                extra = [feedback_record(r, "train", k) for r in train_rows for k in range(max(1, weight))]
            elif split == "test":
                extra = [feedback_record(r, "test") for r in held]
            if extra:
                ds = concatenate_datasets([ds, Dataset.from_list(extra, features=ds.features)])
            splits[split] = ds
        from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

        quiet_before = are_progress_bars_disabled()
        disable_progress_bars()  # one bar per shard and split is noise beside the training bar
        try:
            DatasetDict(splits).save_to_disk(str(out_dir / task))
        finally:
            if not quiet_before:
                enable_progress_bars()
        report[task] = {
            "feedback": len(rows) + len(protected),
            "train": len(train_rows),
            "heldout": len(held),
            "base_rows_dropped": dropped,
            "protected": len(protected),
        }
    return report

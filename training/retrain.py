"""`slant retrain`: fine-tune the served model on the feedback store, gate it, store it, promote it.

1. Snapshot the feedback store (``slant.feedback``) and apply the agreement rule
   (:func:`select_corrections`) to every paragraph (task, normalised text, normalised target):
   each *principal* (an API key, or ``cli`` for imports) votes with its latest label, and every
   unauthenticated row (self-declared annotator names included) counts together as ONE voter,
   which abstains when those rows disagree among themselves. A label trains only with a strict
   majority of the votes; otherwise the paragraph is dropped and reported.
2. Split the feedback deterministically by a hash of the normalised text: ``holdout`` of it (default
   20%) goes to the ``test`` split as source ``feedback``; the rest to ``train``, repeated
   ``feedback_weight`` times (default 3) so the sampler sees it that much more often.
3. Merge with the base corpus into a new build folder (same format) in the work folder. Feedback
   never edits or removes dev or test rows: a correction whose normalised text matches a dev or test
   row of its task is dropped (from training and from the held-out set) and reported, so the fixed
   test splits stay whole and the candidate never trains on them. Base *train* rows with the same
   text (+ target) as a kept correction are dropped, so the correction's label wins there.
   Tasks without feedback are linked, not copied.
4. Fine-tune from the current model (``init_checkpoint`` = the current artifact folder: its
   ``training.json`` rebuilds the model, its ``model.onnx`` gives the served weights), with the current model's own config (max
   length, shares, ...) and a fine-tuning learning rate; export (ONNX int8, gates, calibration) under
   a new version ``<base version>.ft<UTC timestamp>``; evaluate.
5. The gate: evaluate a copy of the current model on exactly the same test data (the fixed test
   splits after step 3, plus the held-out feedback) and compare headline scores per task and
   source. Any drop larger than ``tolerance`` refuses the candidate, and so does a fixed test
   source the candidate was not scored on: the fixed test splits are always part of the gate. The comparison table is printed
   either way and stored with the candidate (``retrain.json``).
6. Save the candidate into the BentoML model store as ``slant:<version>`` (always; a refused one can
   still be promoted by hand), and promote it when it passed. The first retrain also copies the
   model that was being served into the store and promotes it, so ``slant models rollback`` can go
   back to it.

Reliability: everything before step 6 happens in a work folder; the current artifact and the store
are only read. The feedback store is only read. Promotion is one atomic rename of the pointer file.
A kill at any point leaves the served model and the feedback store as they were.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from slant import artifact as art
from slant import store
from slant.feedback import Correction, FeedbackStore, normalise
from slant.labels import TASKS

FEEDBACK_SOURCE = "feedback"


class RetrainError(RuntimeError):
    """Retraining cannot start or finish as asked; the message says what to do."""


@dataclass
class RetrainOptions:
    data_dir: str = "datasets/build"  # the base corpus (`slant data build`)
    feedback_db: str | None = None  # default: $SLANT_FEEDBACK_DB or ~/.slant/feedback.sqlite3
    model_dir: str | None = None  # start from this artifact; default: the served one (slant.store)
    feedback_weight: int = 3  # each training correction appears this many times in train
    holdout: float = 0.2  # share of corrections held out for evaluation (by text hash)
    tolerance: float = 0.01  # largest allowed drop of any task/source headline score (absolute)
    steps: int = 400  # fine-tuning steps
    lr: float = 2e-5  # encoder learning rate (the heads get head_lr)
    head_lr: float = 2e-4
    overrides: dict = field(default_factory=dict)  # other TrainConfig keys
    work_dir: str | None = None  # default: a fresh temp folder, removed at the end
    keep_work_dir: bool = False
    promote: bool = True  # promote when the gate passes
    version: str | None = None  # default: <base version>.ft<timestamp>
    min_feedback: int = 1  # refuse to retrain with fewer corrections than this


# ---------------------------------------------------------------------------------------------
# Feedback -> corpus
# ---------------------------------------------------------------------------------------------


def row_key(task: str, text: str, target: str) -> tuple[str, str, str]:
    """What makes two rows 'the same paragraph' for deduplication."""
    return task, normalise(text), normalise(target) if TASKS[task].input == "pair" else ""


def is_heldout(text: str, holdout: float) -> bool:
    """Deterministic: the same paragraph is held out (or not) in every retrain, whatever its target."""
    from slant.feedback import text_hash

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
            dropped.append({"task": key[0], "text": group[-1].text, "target": group[-1].target, "votes": shown,
                            "reason": f"unauthenticated labels disagree ({len(anonymous_labels)} different labels "
                                      f"in {len(group)} rows) and no API-key holder labeled it"})
            continue
        label, n = max(votes.items(), key=lambda kv: kv[1])
        if 2 * n <= total:
            dropped.append({"task": key[0], "text": group[-1].text, "target": group[-1].target, "votes": shown,
                            "reason": f"no majority among {total} voters"})
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


def merge_corpus(base_dir: str | Path, out_dir: str | Path, corrections: dict[str, list[Correction]],
                 weight: int, holdout: float) -> dict:
    """Write the merged build folder; returns counts per task (``protected``: corrections dropped
    because their text is a dev or test text). Dev and test splits are copied unchanged."""
    from datasets import Dataset, DatasetDict, concatenate_datasets

    from training.corpus import load_task

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {}
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
            keep = [i for i, (text, target) in enumerate(zip(ds["text"], ds["target"]))
                    if split != "train" or row_key(task, text, target) not in keys]
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
            "feedback": len(rows) + len(protected), "train": len(train_rows), "heldout": len(held),
            "base_rows_dropped": dropped, "protected": len(protected),
        }
    return report


# ---------------------------------------------------------------------------------------------
# The gate
# ---------------------------------------------------------------------------------------------


def headlines(metrics: dict) -> dict[tuple[str, str], tuple[float, int]]:
    """{(task, source): (headline, n)} from a metrics.json."""
    out = {}
    for task, tm in metrics.get("tasks", {}).items():
        for key, entry in tm.get("sources", {}).items():
            n = entry.get("n")
            if n is None:
                levels = entry.get("levels") or {}
                n = sum(v.get("n", 0) for v in levels.values()) if levels else None
            out[(task, key)] = (float(entry["headline"]), n)
    return out


def compare(current: dict, candidate: dict, tolerance: float) -> tuple[bool, list[dict]]:
    """Per task and source: current vs candidate headline. Passes when no score drops by more than
    ``tolerance``; a source the candidate lacks counts as a regression."""
    cur, cand = headlines(current), headlines(candidate)
    rows = []
    for key in sorted(set(cur) | set(cand)):
        c = cur.get(key)
        n = cand.get(key)
        if c is None:
            rows.append({"task": key[0], "source": key[1], "n": n[1], "current": None, "candidate": n[0],
                         "delta": None, "ok": True})
            continue
        if n is None:
            rows.append({"task": key[0], "source": key[1], "n": c[1], "current": c[0], "candidate": None,
                         "delta": None, "ok": False})
            continue
        delta = n[0] - c[0]
        rows.append({"task": key[0], "source": key[1], "n": n[1], "current": c[0], "candidate": n[0],
                     "delta": delta, "ok": delta >= -tolerance - 1e-12})
    return all(r["ok"] for r in rows), rows


def render_table(rows: list[dict], tolerance: float) -> str:
    def f(v):
        return "—" if v is None else f"{v:.4f}"

    width = max([len(f"{r['task']}/{r['source']}") for r in rows] + [14])
    lines = [f"{'task/source':<{width}}  {'n':>6}  {'current':>8}  {'candidate':>9}  {'delta':>8}  verdict",
             "-" * (width + 52)]
    for r in rows:
        delta = "—" if r["delta"] is None else f"{r['delta']:+.4f}"
        verdict = "ok" if r["ok"] else f"REGRESSION (> {tolerance:g})"
        lines.append(f"{r['task'] + '/' + r['source']:<{width}}  {str(r['n'] if r['n'] is not None else '—'):>6}  "
                     f"{f(r['current']):>8}  {f(r['candidate']):>9}  {delta:>8}  {verdict}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------


def new_version(base_version: str, now: datetime | None = None) -> str:
    """``<base>.ft<UTC timestamp>``; a base that is itself a retrain keeps only its root."""
    now = now or datetime.now(timezone.utc)
    root = re.sub(r"(\.ft\d+)+$", "", base_version)
    return f"{root}.ft{now.strftime('%Y%m%d%H%M%S')}"


def _copy_artifact(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for name in art.FILES:
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)
    return dst


def _ensure_current_in_store(current_dir: Path, current: art.Artifact, echo) -> str:
    """The pointer must name the model being served before a candidate enters the store (else
    ``slant:latest`` would silently become the candidate, and rollback would have nowhere to go)."""
    pointer = store.read_pointer()
    if pointer["current"]:
        return pointer["current"]
    tag = store.model_tag(current.version)
    if store.has_version(current.version):
        if store.model_path(current.version).resolve() != current_dir.resolve():
            echo(f"note: {tag} is already in the store; pointing the store at it")
    else:
        echo(f"copying the current model {current_dir} into the store as {tag} (so it can be rolled back to)")
        store.save_artifact(current_dir, current.version, metadata={"origin": str(current_dir)})
    store.promote(current.version)
    return tag


def retrain(options: RetrainOptions, echo=print) -> dict:
    """Run the loop; returns a report (also written as retrain.json into the candidate)."""
    import torch  # noqa: F401 - fail early, with the message below, on a serving-only install

    from training.config import TrainConfig
    from training.evaluate import evaluate
    from training.export import ExportGateError, export
    from training.train import TRAINING, train

    t0 = time.time()
    current_dir = Path(options.model_dir) if options.model_dir else store.current_model_dir()
    current = art.load(current_dir)
    if not (current_dir / TRAINING).is_file():
        raise RetrainError(
            f"the current model {current_dir} carries no {TRAINING} (what rebuilds its torch model); retraining "
            "needs an artifact exported by this version of `slant export`"
        )
    if os.environ.get(store.ENV_MODEL, "").strip():
        echo(f"note: ${store.ENV_MODEL} is set, so the service serves {os.environ[store.ENV_MODEL]} whatever "
             "is promoted; unset it to serve the store's promoted model")
    feedback = FeedbackStore(options.feedback_db)
    rows = feedback.rows()
    corrections, conflicts = select_corrections(rows)
    n = sum(len(v) for v in corrections.values())
    for d in conflicts[:10]:
        echo(f"  dropped ({d['task']}): {d['text'][:60]!r}: {d['reason']}; votes {d['votes']}")
    if len(conflicts) > 10:
        echo(f"  ... and {len(conflicts) - 10} more paragraph(s) dropped for conflicting labels")
    if n < options.min_feedback:
        raise RetrainError(
            f"{feedback.path} holds {n} correction(s), fewer than {options.min_feedback}; send some with "
            "POST /feedback or `slant feedback import`"
        )
    version = options.version or new_version(current.version)
    if store.has_version(version):
        raise RetrainError(f"{store.model_tag(version)} is already in the store; pass another --version")
    echo(f"current model: {current.name} {current.version} ({current_dir})")
    echo(f"feedback: {len(rows)} row(s) in {feedback.path}, {n} paragraph(s) with an agreed label "
         f"(each API key's latest label is a vote, unauthenticated rows together one vote; a strict majority "
         f"wins), {len(conflicts)} dropped for conflicting labels")

    own_tmp = options.work_dir is None
    work = Path(options.work_dir or tempfile.mkdtemp(prefix="slant-retrain-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        # 1-3: the merged corpus
        corpus_dir = work / "corpus"
        merged = merge_corpus(options.data_dir, corpus_dir, corrections, options.feedback_weight, options.holdout)
        for task, m in merged.items():
            if m["feedback"]:
                echo(f"  {task}: {m['feedback']} correction(s): {m['train']} to train (x{options.feedback_weight}), "
                     f"{m['heldout']} held out; {m['protected']} dropped because their text is a dev/test text "
                     f"(the fixed splits are never changed); base train rows replaced: "
                     f"{m['base_rows_dropped'].get('train', 0)}")

        # 4: fine-tune from the current model with its own config
        from training.train import load_model

        _, state = load_model(current_dir)
        values = dict(state["config"])
        values.update(
            data_dir=str(corpus_dir), out_dir=str(work / "run"), init_checkpoint=str(current_dir),
            steps=options.steps, lr=options.lr, head_lr=options.head_lr,
            eval_every=max(options.steps, 1),
        )
        values.update(options.overrides)
        config = TrainConfig.from_dict(values)
        echo(f"fine-tuning {config.steps} steps (lr {config.lr:g}, heads {config.head_lr:g}) in {work}")
        t_train = time.time()
        checkpoint = train(config)
        train_seconds = time.time() - t_train

        candidate_dir = work / "candidate"
        try:
            export(checkpoint, candidate_dir, current.name, version, str(corpus_dir))
        except ExportGateError as e:
            raise RetrainError(f"the candidate failed an export gate, nothing was stored: {e}") from None
        candidate_metrics = evaluate(candidate_dir, str(corpus_dir), baseline=False, run_dir=work / "run")

        # 5: the gate, both models on the same data
        baseline_dir = _copy_artifact(current_dir, work / "current")
        current_metrics = evaluate(baseline_dir, str(corpus_dir), baseline=False)
        stored = headlines(current.metrics)
        moved = [k for k, (v, _) in headlines(current_metrics).items()
                 if k in stored and abs(stored[k][0] - v) > 1e-6 and k[1] != FEEDBACK_SOURCE]
        if moved:
            echo(f"note: the current model scores differently on {len(moved)} test set(s) than its metrics.json says "
                 f"(the corpus changed since it was evaluated, or corrections replaced test rows): "
                 f"{', '.join('/'.join(k) for k in moved[:5])}; the gate compares both models on today's data")
        passed, table = compare(current_metrics, candidate_metrics, options.tolerance)
        echo("")
        echo(render_table(table, options.tolerance))
        echo("")

        report = {
            "version": version,
            "base": {"name": current.name, "version": current.version, "path": str(current_dir)},
            "feedback": {"db": str(feedback.path), "rows": len(rows), "paragraphs": n,
                         "max_id": max((r.id or 0 for r in rows), default=0), "merge": merged,
                         "dropped": {"conflicting_labels": conflicts[:1000],
                                     "dev_or_test_text": {t: m.get("protected", 0) for t, m in merged.items()}}},
            "options": {k: v for k, v in vars(options).items()},
            "train_seconds": round(train_seconds, 1),
            "comparison": table,
            "passed": passed,
            "tolerance": options.tolerance,
        }
        (candidate_dir / "retrain.json").write_text(json.dumps(report, indent=1) + "\n")

        # 6: into the store; promote when the gate passed
        _ensure_current_in_store(current_dir, current, echo)
        tag = store.save_artifact(candidate_dir, version, metadata={
            "base_version": current.version, "gate_passed": passed, "feedback_rows": len(rows)})
        report["tag"] = tag
        if passed and options.promote:
            store.promote(version)
            report["promoted"] = True
            echo(f"PROMOTED {tag}: no task regressed by more than {options.tolerance:g}. Running services switch "
                 f"within SLANT_RELOAD_INTERVAL_S (or now: POST /admin/reload).")
        else:
            report["promoted"] = False
            why = ("the gate refused it (see REGRESSION above)" if not passed
                   else "--no-promote was given")
            echo(f"NOT promoted: {tag} is stored but {why}; the served model stays "
                 f"{store.read_pointer()['current']}. Promote by hand with `slant models promote {version}`.")
        report["seconds"] = round(time.time() - t0, 1)
        return report
    finally:
        if own_tmp and not options.keep_work_dir:
            shutil.rmtree(work, ignore_errors=True)
        elif options.keep_work_dir:
            echo(f"work folder kept: {work}")

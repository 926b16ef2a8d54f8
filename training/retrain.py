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
   source. Any drop larger than ``tolerance`` (or, on a small test set, its sampling noise:
   training.gate.allowed_drop) refuses the candidate, and so does a fixed test
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
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from slant import artifact as art
from slant import store
from slant.feedback.store import FeedbackStore, StoreError
from slant.settings import settings
from training.feedback_corpus import FEEDBACK_SOURCE, merge_corpus, select_corrections
from training.gate import compare, headlines, render_table


class RetrainError(RuntimeError):
    """Retraining cannot start or finish as asked; the message says what to do."""


@dataclass
class RetrainOptions:
    data_dir: str = "datasets/build"  # the base corpus (`slant data build`)
    feedback_db: str | None = None  # a file or URL; default: $SLANT_FEEDBACK_URL, else $SLANT_FEEDBACK_DB
    model_dir: str | None = None  # start from this artifact; default: the served one (slant.store)
    feedback_weight: int = 3  # each training correction appears this many times in train
    holdout: float = 0.2  # share of corrections held out for evaluation (by text hash)
    tolerance: float = 0.01  # largest allowed drop of any task/source headline score (absolute; more on small sets)
    steps: int = 400  # fine-tuning steps
    lr: float = 2e-5  # encoder learning rate (the heads get head_lr)
    head_lr: float = 2e-4
    overrides: dict = field(default_factory=dict)  # other TrainConfig keys
    work_dir: str | None = None  # default: a fresh temp folder, removed at the end
    keep_work_dir: bool = False
    promote: bool = True  # promote when the gate passes
    version: str | None = None  # default: <base version>.ft<timestamp>
    min_feedback: int = 1  # refuse to retrain with fewer corrections than this


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


def _current_model(options: RetrainOptions, echo) -> tuple[Path, art.Artifact]:
    from training.train import TRAINING

    current_dir = Path(options.model_dir) if options.model_dir else store.current_model_dir()
    current = art.load(current_dir)
    if not (current_dir / TRAINING).is_file():
        raise RetrainError(
            f"the current model {current_dir} carries no {TRAINING} (what rebuilds its torch model); retraining "
            "needs an artifact exported by this version of `slant export`"
        )
    if served := settings().model.strip():
        echo(
            f"note: ${store.ENV_MODEL} is set, so the service serves {served} whatever "
            "is promoted; unset it to serve the store's promoted model"
        )
    return current_dir, current


def _agreed_corrections(options: RetrainOptions, echo) -> tuple[FeedbackStore, list, dict, list[dict]]:
    """(store, its rows, the corrections that train per task, the paragraphs dropped for conflicts)."""
    feedback = FeedbackStore(options.feedback_db)
    try:
        rows = feedback.rows()  # one snapshot, read in one query
    except StoreError as e:
        raise RetrainError(f"{e}; nothing was retrained (check the store, then run slant retrain again)") from None
    corrections, conflicts = select_corrections(rows)
    n = sum(len(v) for v in corrections.values())
    for d in conflicts[:10]:
        echo(f"  dropped ({d['task']}): {d['text'][:60]!r}: {d['reason']}; votes {d['votes']}")
    if len(conflicts) > 10:
        echo(f"  ... and {len(conflicts) - 10} more paragraph(s) dropped for conflicting labels")
    if n < options.min_feedback:
        raise RetrainError(
            f"{feedback.location} holds {n} correction(s), fewer than {options.min_feedback}; send some with "
            "POST /feedback or `slant feedback import`"
        )
    return feedback, rows, corrections, conflicts


def _merge(options: RetrainOptions, corrections: dict, corpus_dir: Path, echo) -> dict:
    """The base corpus with the agreed corrections merged in (training.feedback_corpus), reported per task."""
    merged = merge_corpus(options.data_dir, corpus_dir, corrections, options.feedback_weight, options.holdout)
    for task, m in merged.items():
        if m["feedback"]:
            echo(
                f"  {task}: {m['feedback']} correction(s): {m['train']} to train (x{options.feedback_weight}), "
                f"{m['heldout']} held out; {m['protected']} dropped because their text is a dev/test text "
                f"(the fixed splits are never changed); base train rows replaced: "
                f"{m['base_rows_dropped'].get('train', 0)}"
            )
    return merged


def _fine_tune(current_dir: Path, corpus_dir: Path, work: Path, options: RetrainOptions, echo) -> tuple[Path, float]:
    """Fine-tune from the current model with its own config; (checkpoint, seconds)."""
    from training.config import TrainConfig
    from training.train import load_model, train

    _, state = load_model(current_dir)
    values = dict(state["config"])
    values.update(
        data_dir=str(corpus_dir),
        out_dir=str(work / "run"),
        init_checkpoint=str(current_dir),
        steps=options.steps,
        lr=options.lr,
        head_lr=options.head_lr,
        eval_every=max(options.steps, 1),
        # Corrections and gold labels only: the teacher's labels were for the release's corpus.
        teacher_labels="",
        distill={},
        news_pairs=0,
    )
    values.update(options.overrides)
    config = TrainConfig.from_dict(values)
    echo(f"fine-tuning {config.steps} steps (lr {config.lr:g}, heads {config.head_lr:g}) in {work}")
    started = time.time()
    return train(config), time.time() - started


def _gate(
    current_dir: Path,
    current: art.Artifact,
    candidate_dir: Path,
    corpus_dir: Path,
    work: Path,
    options: RetrainOptions,
    echo,
) -> tuple[bool, list[dict]]:
    """Both models evaluated on the same data; (passed, comparison rows)."""
    from training.evaluate import evaluate

    candidate_metrics = evaluate(candidate_dir, str(corpus_dir), baseline=False, run_dir=work / "run")
    current_metrics = evaluate(_copy_artifact(current_dir, work / "current"), str(corpus_dir), baseline=False)
    stored = headlines(current.metrics)
    moved = [
        k
        for k, (v, _) in headlines(current_metrics).items()
        if k in stored and abs(stored[k][0] - v) > 1e-6 and k[1] != FEEDBACK_SOURCE
    ]
    if moved:
        echo(
            f"note: the current model scores differently on {len(moved)} test set(s) than its metrics.json says "
            f"(the corpus changed since it was evaluated, or corrections replaced test rows): "
            f"{', '.join('/'.join(k) for k in moved[:5])}; the gate compares both models on today's data"
        )
    passed, table = compare(current_metrics, candidate_metrics, options.tolerance)
    echo("")
    echo(render_table(table))
    echo("")
    return passed, table


def _store_and_promote(
    current_dir: Path,
    current: art.Artifact,
    candidate_dir: Path,
    version: str,
    passed: bool,
    rows: int,
    options: RetrainOptions,
    echo,
) -> tuple[str, bool]:
    """The candidate goes into the store always, and becomes the served model when the gate passed."""
    _ensure_current_in_store(current_dir, current, echo)
    tag = store.save_artifact(
        candidate_dir, version, metadata={"base_version": current.version, "gate_passed": passed, "feedback_rows": rows}
    )
    if passed and options.promote:
        store.promote(version)
        echo(
            f"PROMOTED {tag}: no task regressed by more than its allowed drop. Running services switch "
            f"within SLANT_RELOAD_INTERVAL_S (or now: POST /admin/reload)."
        )
        return tag, True
    why = "the gate refused it (see REGRESSION above)" if not passed else "--no-promote was given"
    echo(
        f"NOT promoted: {tag} is stored but {why}; the served model stays "
        f"{store.read_pointer()['current']}. Promote by hand with `slant models promote {version}`."
    )
    return tag, False


def retrain(options: RetrainOptions, echo=print) -> dict:
    """Run the loop; returns a report (also written as retrain.json into the candidate)."""
    import torch  # noqa: F401 - fail early, with the message below, on a serving-only install

    from training.export import ExportGateError, export

    t0 = time.time()
    current_dir, current = _current_model(options, echo)
    feedback, rows, corrections, conflicts = _agreed_corrections(options, echo)
    n = sum(len(v) for v in corrections.values())
    version = options.version or new_version(current.version)
    if store.has_version(version):
        raise RetrainError(f"{store.model_tag(version)} is already in the store; pass another --version")
    echo(f"current model: {current.name} {current.version} ({current_dir})")
    echo(
        f"feedback: {len(rows)} row(s) in {feedback.location}, {n} paragraph(s) with an agreed label "
        f"(each API key's latest label is a vote, unauthenticated rows together one vote; a strict majority "
        f"wins), {len(conflicts)} dropped for conflicting labels"
    )

    own_tmp = options.work_dir is None
    work = Path(options.work_dir or tempfile.mkdtemp(prefix="slant-retrain-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        corpus_dir = work / "corpus"
        merged = _merge(options, corrections, corpus_dir, echo)
        checkpoint, train_seconds = _fine_tune(current_dir, corpus_dir, work, options, echo)
        candidate_dir = work / "candidate"
        try:
            export(checkpoint, candidate_dir, current.name, version, str(corpus_dir))
        except ExportGateError as e:
            raise RetrainError(f"the candidate failed an export gate, nothing was stored: {e}") from None
        passed, table = _gate(current_dir, current, candidate_dir, corpus_dir, work, options, echo)
        report = {
            "version": version,
            "base": {"name": current.name, "version": current.version, "path": str(current_dir)},
            "feedback": {
                "db": feedback.location,  # a URL with its password redacted
                "rows": len(rows),
                "paragraphs": n,
                "max_id": max((r.id or 0 for r in rows), default=0),
                "merge": merged,
                "dropped": {
                    "conflicting_labels": conflicts[:1000],
                    "dev_or_test_text": {t: m.get("protected", 0) for t, m in merged.items()},
                },
            },
            "options": dict(vars(options)),
            "train_seconds": round(train_seconds, 1),
            "comparison": table,
            "passed": passed,
            "tolerance": options.tolerance,
        }
        (candidate_dir / "retrain.json").write_text(json.dumps(report, indent=1) + "\n")
        report["tag"], report["promoted"] = _store_and_promote(
            current_dir, current, candidate_dir, version, passed, len(rows), options, echo
        )
        report["seconds"] = round(time.time() - t0, 1)
        return report
    finally:
        if own_tmp and not options.keep_work_dir:
            shutil.rmtree(work, ignore_errors=True)
        elif options.keep_work_dir:
            echo(f"work folder kept: {work}")

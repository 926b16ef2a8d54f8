"""Teacher -> student: the teacher artifact's probabilities as soft labels for the student's training.

`slant teacher-labels` runs a teacher artifact (slant-large) over the training examples of the
tasks a distillation config weights (``distill``), with the served predictor: the probabilities
are calibrated, stance offsets included, exactly what a user of the teacher gets. It writes one
JSON line per example. `slant train` with ``teacher_labels`` set attaches them to the examples
and mixes, per task, ``distill[task]`` of the teacher's soft loss with the rest from the gold label.

The teacher and the student tokenize differently; the loaded-word token head's soft labels go
through character offsets: a student token takes the highest teacher probability among the
teacher tokens it overlaps.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from slant.encode import NO_OFFSET
from slant.files import replaced_atomically
from slant.labels import TASKS
from slant.predictor import Pass, PassScores
from training.config import TrainConfig
from training.examples import Example


def example_key(text: str, target: str | None) -> str:
    """One (paragraph, target) pass: the exact strings, so a label never lands on a near-duplicate."""
    return hashlib.sha1(f"{text}\x1f{target or ''}".encode()).hexdigest()


def distilled_examples(config: TrainConfig, data: dict) -> dict[str, list[Example]]:
    """Per task with a positive distill weight, the training examples the teacher labels.

    Article-level frames examples are left out: they train as bags of paragraphs under the
    article's gold labels.
    """
    return {
        task: [e for e in data[task]["train"] if e.level != "article"]
        for task, weight in config.distill.items()
        if weight > 0 and task in data
    }


def write_teacher_labels(teacher: str | Path, config: TrainConfig, out: str | Path, chunk: int = 512) -> dict:
    """Label the training examples of ``config``'s distilled tasks with ``teacher``; returns counts."""
    from slant import artifact as art
    from slant.predictor import Predictor
    from training.examples import load_examples, make_encoder

    if not any(w > 0 for w in config.distill.values()):
        raise ValueError('the config distils no task: set distill, e.g. {"stance": 0.8}')
    teacher_artifact = art.load(teacher)
    missing = sorted(set(config.distill) - set(teacher_artifact.tasks))
    if missing:
        raise ValueError(f"teacher {teacher} has no head for {missing}; its heads: {sorted(teacher_artifact.tasks)}")
    predictor = Predictor(teacher_artifact, threads=config.threads or None)
    # Only the distilled tasks' examples: encoding the others would be work for nothing.
    distilled_only = replace(config, task_shares={t: s for t, s in config.task_shares.items() if config.distill.get(t)})
    data = load_examples(distilled_only, make_encoder(config), splits=("train",))
    jobs: list[tuple[str, Pass, dict]] = []  # (task, pass, what its row carries besides the labels)
    for task, examples in distilled_examples(config, data).items():
        paired = TASKS[task].input == "pair"
        jobs += [(task, Pass(e.text, e.target if paired else None), {}) for e in examples]
    if config.news_pairs:
        from training.corpus.build import resolve_data_dir
        from training.news_pairs import held_out_shingles, news_pairs

        pairs = news_pairs(resolve_data_dir(None), held_out_shingles(config.data_dir), config.news_pairs, config.seed)
        jobs += [("stance", Pass(p.text, p.target), {"news": asdict(p)}) for p in pairs]
    counts = Counter("news_pairs" if extra else task for task, _, extra in jobs)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(out) as tmp, open(tmp, "w") as f:
        for start in tqdm(range(0, len(jobs), chunk), desc="teacher labels", unit="chunk"):
            batch = jobs[start : start + chunk]
            for (task, p, extra), scores in zip(batch, predictor.score([p for _, p, _ in batch])):
                f.write(json.dumps(teacher_row(task, p, scores, extra)) + "\n")
    out.with_suffix(".json").write_text(
        json.dumps({"teacher": str(teacher), "teacher_version": teacher_artifact.version, "examples": counts}, indent=2)
    )
    return dict(counts)


def teacher_row(task: str, p: Pass, scores: PassScores, extra: dict) -> dict[str, Any]:
    """One JSON line: the pass's key, the task head's probabilities, and for bias the token ones."""
    row: dict[str, Any] = {"task": task, "key": example_key(p.text, p.target), **extra}
    if task == "bias":
        assert scores.bias is not None  # a single pass always fills bias
        row["probs"] = [round(scores.bias, 5)]
        row["tokens"] = [[start, end, round(x, 5)] for start, end, x in scores.tokens]
    else:
        row["probs"] = [round(x, 5) for x in getattr(scores, task)]
    return row


def soft_token_labels(offsets, teacher_tokens: list[list[float]]) -> np.ndarray:
    """Per student token, the highest teacher probability among overlapping teacher tokens;
    -1 (no loss) for special tokens and for tokens no teacher token covers."""
    labels = np.full(len(offsets), -1.0, dtype=np.float32)
    for t, (start, end) in enumerate(offsets):
        if (start, end) == NO_OFFSET:
            continue
        overlapping = [p for s, e, p in teacher_tokens if s < end and e > start]
        if overlapping:
            labels[t] = max(overlapping)
    return labels


def attach_teacher_labels(data: dict, config: TrainConfig, encoder) -> dict[str, int]:
    """Set ``soft`` (and, for bias, ``soft_tokens``) on the distilled tasks' training examples.

    Every distilled example must find its label: a file made for another corpus or config is
    refused rather than silently distilling a part of the data. Teacher-labelled news pairs, where
    the config asks for them, become ``data["stance"]["news"]``.
    """
    path = Path(config.teacher_labels)
    if not path.exists():
        raise FileNotFoundError(
            f"teacher_labels {path} not found; write it with `slant teacher-labels --teacher <artifact> --config <this config>`"
        )
    labels: dict[tuple[str, str], dict] = {}
    news: list[dict] = []
    with path.open() as f:
        for line in f:
            row = json.loads(line)
            if "news" in row:
                news.append(row)
            else:
                labels[row["task"], row["key"]] = row
    attached = {}
    for task, examples in distilled_examples(config, data).items():
        pair = TASKS[task].input == "pair"
        missing = 0
        for e in examples:
            row = labels.get((task, example_key(e.text, e.target if pair else None)))
            if row is None:
                missing += 1
                continue
            e.soft = np.asarray(row["probs"], dtype=np.float32)
            if task == "bias":
                e.soft_tokens = soft_token_labels(e.offsets, row["tokens"])
        if missing:
            raise ValueError(
                f"{path} has no teacher label for {missing} of {len(examples)} {task} training examples; "
                "it was written for another corpus or config: rerun `slant teacher-labels` with this config"
            )
        attached[task] = len(examples)
    if config.news_pairs:
        if not news:
            raise ValueError(
                f"{path} holds no news pairs but the config asks for {config.news_pairs}: rerun `slant teacher-labels`"
            )
        data["stance"]["news"] = news_examples(news, encoder)
        attached["news_pairs"] = len(news)
    return attached


def news_examples(rows: list[dict], encoder) -> list[Example]:
    """The teacher-labelled news pairs as stance examples; their label is the teacher's argmax, and
    training reads only their soft label."""
    from training.examples import encode_records

    stance = TASKS["stance"]
    records = {
        "text": [r["news"]["text"] for r in rows],
        "target": [r["news"]["target"] for r in rows],
        "labels": [[stance.labels[int(np.argmax(r["probs"]))]] for r in rows],
        "known_labels": [list(stance.labels)] * len(rows),
        "article_id": [r["news"]["article_id"] for r in rows],
        "source": ["allsides"] * len(rows),
        "subset": ["news_pairs"] * len(rows),
        "level": ["paragraph"] * len(rows),
    }
    examples = encode_records(records, stance, encoder)
    for e, r in zip(examples, rows):
        e.soft = np.asarray(r["probs"], dtype=np.float32)
    return examples

"""Scores shared by training (dev), evaluation (test) and the export gates.

Headline per task: stance and bias macro-F1; frames and techniques micro-F1 (the SemEval-2023
measure). Multi-label scores count only the labels a source can express (its ``known`` mask);
article-level frames are scored per article, a frame present when any paragraph has it.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

from slant.activations import sigmoid, softmax
from slant.labels import Task

HEADLINE = {"single": "macro_f1", "binary": "macro_f1", "multi": "micro_f1"}


def probabilities(task: Task, logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    return softmax(z) if task.kind == "single" else sigmoid(z.reshape(len(z), -1))


def decide(task: Task, probs: np.ndarray, thresholds: dict[str, float] | None = None) -> np.ndarray:
    """Class ids (single), 0/1 (binary, shape [n]) or 0/1 per label (multi)."""
    if task.kind == "single":
        return probs.argmax(axis=-1)
    if task.kind == "binary":
        threshold = (thresholds or {}).get(task.labels[1], 0.5)
        return (probs.reshape(-1) >= threshold).astype(int)
    label_thresholds = np.array([(thresholds or {}).get(l, 0.5) for l in task.labels])
    return (probs >= label_thresholds).astype(int)


def pool_articles(examples, probs: np.ndarray):
    """Article-level rows: max over each article's paragraphs; returns (labels, known, probs)."""
    groups = defaultdict(list)
    for i, e in enumerate(examples):
        groups[e.article_id].append(i)
    rows = list(groups.values())
    labels = np.stack([examples[r[0]].label for r in rows])
    known = np.stack([examples[r[0]].known for r in rows])
    pooled = np.stack([probs[r].max(axis=0) for r in rows])
    return labels, known, pooled


def _per_label(task: Task, labels, scores) -> dict:
    """sklearn's (precision, recall, f1, support) arrays as {label: {...}} for the given label ids."""
    p, r, f, s = scores
    return {
        task.labels[i]: {"precision": float(p[k]), "recall": float(r[k]), "f1": float(f[k]), "support": int(s[k])}
        for k, i in enumerate(labels)
    }


def label_report(task: Task, y_true: np.ndarray, y_pred: np.ndarray, known: np.ndarray | None = None) -> dict:
    if task.kind == "single":
        labels = list(range(len(task.labels)))
        present = sorted(set(y_true.tolist()))
        return {
            "n": int(len(y_true)),
            "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
            "micro_f1": float(f1_score(y_true, y_pred, labels=labels, average="micro", zero_division=0)),
            "per_label": _per_label(
                task, labels, precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
            ),
        }
    if task.kind == "binary":
        scores = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1], zero_division=0)
        return {
            "n": int(len(y_true)),
            "macro_f1": float(scores[2].mean()),
            "micro_f1": float((y_true == y_pred).mean()),
            "per_label": _per_label(task, [0, 1], scores),
        }
    known = np.ones_like(y_true) if known is None else known
    cols = [j for j in range(y_true.shape[1]) if known[:, j].any()]
    yt, yp, kn = y_true[:, cols], y_pred[:, cols], known[:, cols]
    tp = float(((yt == 1) & (yp == 1) & (kn == 1)).sum())
    fp = float(((yt == 0) & (yp == 1) & (kn == 1)).sum())
    fn = float(((yt == 1) & (yp == 0) & (kn == 1)).sum())
    micro = 2 * tp / max(2 * tp + fp + fn, 1.0)
    per_label, f1s = {}, []
    for c, j in enumerate(cols):
        k = kn[:, c] == 1
        t_, p_ = yt[k, c], yp[k, c]
        ltp = float(((t_ == 1) & (p_ == 1)).sum())
        lp = ltp / max(float(p_.sum()), 1.0)
        lr = ltp / max(float(t_.sum()), 1.0)
        lf = 2 * lp * lr / max(lp + lr, 1e-9)
        per_label[task.labels[j]] = {"precision": lp, "recall": lr, "f1": lf, "support": int(t_.sum())}
        if t_.sum() > 0:
            f1s.append(lf)
    return {
        "n": int(len(y_true)),
        "micro_f1": micro,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "per_label": per_label,
    }


def task_scores(
    task: Task, examples, logits: np.ndarray, temperature: float = 1.0, thresholds: dict[str, float] | None = None
) -> dict:
    """Report for one task over examples (paragraph- and article-level scored apart)."""
    return report_from_probs(task, examples, probabilities(task, logits, temperature), thresholds)


def report_from_probs(task: Task, examples, probs: np.ndarray, thresholds: dict[str, float] | None = None) -> dict:
    probs = probs if task.kind != "binary" else probs.reshape(len(probs), -1)
    if task.kind != "multi":
        y_true = np.array([int(e.label) for e in examples])
        report = label_report(task, y_true, decide(task, probs, thresholds))
        if task.kind == "binary" and len(set(y_true.tolist())) == 2:
            # Threshold-free: how well the score ranks biased over neutral (comparable across schemes).
            report["roc_auc"] = float(roc_auc_score(y_true, probs[:, 0]))
    else:
        parts: dict[str, dict] = {}  # level -> report
        para = [i for i, e in enumerate(examples) if e.level == "paragraph"]
        arts = [i for i, e in enumerate(examples) if e.level == "article"]
        if para:
            ex = [examples[i] for i in para]
            parts["paragraph"] = label_report(
                task,
                np.stack([e.label for e in ex]).astype(int),
                decide(task, probs[para], thresholds),
                np.stack([e.known for e in ex]),
            )
        if arts:
            labels, known, pooled = pool_articles([examples[i] for i in arts], probs[arts])
            parts["article"] = label_report(task, labels.astype(int), decide(task, pooled, thresholds), known)
        main = parts["paragraph"] if para else parts["article"]
        report = {**main, "levels": parts}
    report["headline"] = report[HEADLINE[task.kind]]
    return report

"""`slant evaluate`: score an artifact's own model.onnx on every test split, through the serving
predictor (windows, calibration, thresholds exactly as served), beside a TF-IDF + logistic
regression baseline trained on the same splits. Writes metrics.json (tied to model.onnx by its
SHA-256), report.md and PNG figures.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from slant import artifact as art
from slant.labels import Task
from slant.predictor import Pass, Predictor
from training.calibrate import calibration_points, expected_calibration_error
from training.config import TrainConfig
from training.examples import Example, encode_records
from training.export import INT8_MAX_DROP, RELEASED_TRAINING, TRAINING_RECORD
from training.gate import compare
from training.metrics import report_from_probs
from training.model_card import derived_tables, targets_table, write_model_card
from training.sampling import capped_indices
from training.target_contrast import CONTRAST_SETS, contrast_scores

# The release targets: (task, set, measure, level, minimum). A set is a test-split key
# (source/subset), or one of the derived evaluations: "target_contrast" (target_contrast.py) and
# "transfer:<trained on>-><tested on>" (transfer.py: bias trained on one scheme, tested on another).
QUALITY_TARGETS = [
    ("stance", "newsmtsc/devtest_rw", "macro_f1", None, 0.80),
    ("stance", "newsmtsc/devtest_mt", "macro_f1", None, 0.80),
    ("stance", "target_contrast", "pairwise_ordering", None, 0.95),
    ("stance", "target_contrast", "per_target_accuracy", None, 0.80),
    ("stance", "persent", "macro_f1", None, 0.50),
    ("stance", "ukp", "macro_f1", None, 0.65),
    ("bias", "babe", "macro_f1", None, 0.80),
    ("bias", "transfer:babe->npov", "roc_auc", None, 0.65),
    ("bias", "transfer:npov->babe", "roc_auc", None, 0.65),
    ("techniques", "semeval2023/official_dev", "micro_f1", "paragraph", 0.40),
    ("frames", "semeval2023", "micro_f1", "article", 0.62),
]
# slant-large, the base-size model users pick for accuracy, has a higher bar where one is set.
TARGET_OVERRIDES = {
    "slant-large": {
        ("stance", "newsmtsc/devtest_rw"): 0.84,
        ("stance", "newsmtsc/devtest_mt"): 0.84,
        ("bias", "babe"): 0.82,
    },
}
# Paragraph-level frames: the sets whose frame labels belong to one short text, scored together.
PARAGRAPH_FRAME_SETS = ("ccf", "gvfc", "issue_framing/tweets", "issue_framing/forum")


def group_key(e: Example) -> str:
    return f"{e.source}/{e.subset}" if e.subset else e.source


def probs_of(task: Task, scores) -> np.ndarray:
    if task.name == "stance":
        return np.array([s.stance for s in scores])
    if task.kind == "binary":
        return np.array([[s.bias] for s in scores])
    return np.array([getattr(s, task.name) for s in scores])


def pick(report: dict, level: str | None, measure: str) -> float:
    return (report["levels"][level] if level else report)[measure]


def baseline_probs(task: Task, train: list[Example], test: list[Example]) -> np.ndarray:
    """TF-IDF (word 1-2 grams) + logistic regression, one-vs-rest for multi-label."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def text(e: Example) -> str:
        return f"{e.target} || {e.text}" if e.target else e.text

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True)
    x_train = vectorizer.fit_transform([text(e) for e in train])
    x_test = vectorizer.transform([text(e) for e in test])
    if task.kind == "single":
        y = np.array([int(e.label) for e in train])
        clf = LogisticRegression(max_iter=1000, C=4.0, class_weight="balanced").fit(x_train, y)
        probs = np.zeros((len(test), len(task.labels)))
        probs[:, clf.classes_] = clf.predict_proba(x_test)
        return probs
    if task.kind == "binary":
        y = np.array([int(e.label) for e in train])
        clf = LogisticRegression(max_iter=1000, C=4.0, class_weight="balanced").fit(x_train, y)
        return clf.predict_proba(x_test)[:, 1:2]
    probs = np.zeros((len(test), len(task.labels)))
    labels = np.stack([e.label for e in train])
    known = np.stack([e.known for e in train])
    for j in range(len(task.labels)):
        rows = known[:, j] == 1
        y = labels[rows, j]
        if y.sum() < 2 or y.sum() == len(y):
            continue
        clf = LogisticRegression(max_iter=1000, C=4.0, class_weight="balanced")
        probs[:, j] = clf.fit(x_train[rows], y).predict_proba(x_test)[:, 1]
    return probs


def plot_confusion(task: Task, report_key: str, y_true, y_pred, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = list(task.labels)
    matrix = confusion_matrix(y_true, y_pred, labels=list(range(len(labels))))
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"{task.name}: {report_key}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(task: Task, points: dict[str, tuple], path: Path, bins: int = 10) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    edges = np.linspace(0, 1, bins + 1)
    for name, (conf, correct) in points.items():
        xs, ys = [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            inside = (conf > lo) & (conf <= hi)
            if inside.sum() >= 5:
                xs.append(conf[inside].mean())
                ys.append(correct[inside].mean())
        ax.plot(xs, ys, "o-", label=f"{name} (ECE {expected_calibration_error(conf, correct):.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"reliability: {task.name} (test)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(
    artifact_dir: str | Path,
    data_dir: str = "datasets/build",
    report_dir: str | Path | None = None,
    baseline: bool = True,
    run_dir: str | Path | None = None,
    transfer: str | Path | None = None,
    previous: str | Path | None = None,
    graph: str = "int8",
) -> dict:
    """Score the artifact on every test split; write metrics.json, the report and the model card.

    ``graph="fp16"`` scores the graph a GPU runs (slant/gpu_graph.py) instead of the served int8
    one: its metrics.json and report go to ``report/fp16/``, beside each test set's served figure
    (``against_served``); the artifact's own metrics.json and card are left as they are."""
    folder = Path(artifact_dir)
    artifact = art.load(folder, require_metrics=False)
    report_dir = Path(report_dir or (folder / "report" if graph == "int8" else folder / "report" / graph))
    report_dir.mkdir(parents=True, exist_ok=True)
    metrics: dict = {
        "model_sha256": art.sha256(folder / art.MODEL),
        "model": {"name": artifact.name, "version": artifact.version},
        "tasks": {},
    }
    t0 = time.time()
    scorer = TestScorer(artifact, data_dir, report_dir, trained_config(folder) if baseline else None, graph)
    for name, task in artifact.tasks.items():
        metrics["tasks"][name] = scorer.score_task(name, task, metrics)
    if transfer:
        metrics["bias_transfer"] = json.loads(Path(transfer).read_text())
    previous_metrics = json.loads(Path(previous).read_text()) if previous else None
    if previous_metrics:
        metrics["previous"] = previous_metrics["model"]
    metrics["targets"] = check_targets(metrics, previous_metrics)
    metrics["evaluate_seconds"] = round(time.time() - t0)
    if graph != "int8":
        metrics["graph"] = graph
        # The export gate's rule (1 point, or a small set's sampling noise) against the served graph.
        _, metrics["against_served"] = compare(json.loads((folder / art.METRICS).read_text()), metrics, INT8_MAX_DROP)
        (report_dir / art.METRICS).write_text(json.dumps(metrics, indent=1) + "\n")
        (report_dir / "report.md").write_text(render_report(metrics))
        return metrics
    if run_dir:
        metrics.update(run_record(Path(run_dir)))
    (folder / art.METRICS).write_text(json.dumps(metrics, indent=1) + "\n")
    (report_dir / "report.md").write_text(render_report(metrics))
    write_model_card(folder, metrics)
    return metrics


def run_record(run_dir: Path) -> dict:
    """What a run folder tells metrics.json: the export report and the training behind the weights,
    from the run's own train log, or, for a re-export of a release, that release's record."""
    record = {}
    for name in ("train_log.json", "export_report.json"):
        if (run_dir / name).exists():
            record[name.removesuffix(".json")] = json.loads((run_dir / name).read_text())
    if "train_log" not in record and (run_dir / RELEASED_TRAINING).exists():
        released = json.loads((run_dir / RELEASED_TRAINING).read_text())
        return {**record, **{key: released[key] for key in TRAINING_RECORD if key in released}}
    record["training_stages"] = training_stages(run_dir)
    labels = record.get("train_log", {}).get("config", {}).get("teacher_labels")
    if labels and Path(labels).with_suffix(".json").exists():  # what `slant teacher-labels` labelled, and with what
        record["teacher_labels"] = json.loads(Path(labels).with_suffix(".json").read_text())
    return record


def trained_config(folder: Path) -> TrainConfig:
    """The config the artifact was trained with: the baseline learns from the same sample (caps, seed)."""
    trained = folder / "training.json"
    return TrainConfig.from_dict(json.loads(trained.read_text())["config"]) if trained.exists() else TrainConfig()


class TestScorer:
    """One task's test split through the serving predictor: per-source reports (beside the TF-IDF
    baseline trained with ``baseline_config``, when given), calibration error and plots."""

    def __init__(
        self,
        artifact: art.Artifact,
        data_dir: str,
        report_dir: Path,
        baseline_config: TrainConfig | None,
        graph: str = "int8",
    ):
        self.artifact, self.data_dir, self.report_dir = artifact, data_dir, report_dir
        self.baseline_config = baseline_config
        self.predictor = Predictor(artifact, device="cpu", graph=graph)
        self.encoder = artifact.encoder()

    def score_task(self, name: str, task: Task, metrics: dict) -> dict:
        from training.corpus import load_task

        corpus = load_task(name, self.data_dir)
        test = encode_records(corpus["test"][:], task, self.encoder)
        # Labels the model never saw in training are never reported (see Calibration.untrained).
        for label in self.artifact.calibration.untrained.get(name, []):
            for e in test:
                e.known[task.label2id[label]] = 0.0
        passes = [Pass(e.text, e.target if task.input == "pair" else None) for e in test]
        started = time.time()
        encoded, logits = self.predictor.logits(passes)
        seconds = time.time() - started
        temperatures = self.artifact.calibration.temperatures
        after = probs_of(task, self.predictor.merge(passes, encoded, logits, temperatures))
        before = probs_of(task, self.predictor.merge(passes, encoded, logits, {head: 1.0 for head in temperatures}))
        base = self.baseline(name, task, corpus, test)
        groups = defaultdict(list)
        for i, e in enumerate(test):
            groups[group_key(e)].append(i)
        task_metrics: dict = {"sources": {}, "test_seconds": round(seconds, 1), "test_passes": len(test)}
        thresholds = self.artifact.calibration.thresholds.get(name)
        for key, idx in sorted(groups.items()):
            ex = [test[i] for i in idx]
            entry = report_from_probs(task, ex, after[idx], thresholds)
            if base is not None:
                entry["baseline"] = report_from_probs(task, ex, base[idx])
            task_metrics["sources"][key] = entry
            self.plot_confusion(name, task, key, ex, after[idx], thresholds)
        task_metrics["ece"] = self.calibration_error(name, task, test, before, after)
        if name == "stance":
            metrics["target_contrast"] = target_contrast(test, after, groups)
        if name == "frames":
            keep = [i for key in PARAGRAPH_FRAME_SETS for i in groups.get(key, [])]
            if keep:
                task_metrics["paragraph_level"] = report_from_probs(
                    task, [test[i] for i in keep], after[keep], thresholds
                )
        print(f"evaluated {name}: {len(test)} test passes in {seconds:.0f}s; ECE {task_metrics['ece']}")
        return task_metrics

    def baseline(self, name: str, task: Task, corpus, test: list[Example]) -> np.ndarray | None:
        if self.baseline_config is None:
            return None
        train_records = corpus["train"][:]
        keep = capped_indices(train_records["source"], name, self.baseline_config)
        train_records = {k: [v[i] for i in keep] for k, v in train_records.items()}
        return baseline_probs(task, encode_records(train_records, task, self.encoder), test)

    def plot_confusion(self, name: str, task: Task, key: str, ex: list[Example], probs: np.ndarray, thresholds) -> None:
        if task.kind == "multi":
            return
        y_true = np.array([int(e.label) for e in ex])
        y_pred = (
            probs.argmax(1) if task.kind == "single" else (probs.reshape(-1) >= thresholds[task.labels[1]]).astype(int)
        )
        plot_confusion(task, key, y_true, y_pred, self.report_dir / f"confusion_{name}_{key.replace('/', '_')}.png")

    def calibration_error(
        self, name: str, task: Task, test: list[Example], before: np.ndarray, after: np.ndarray
    ) -> dict:
        labels = np.array([int(e.label) for e in test]) if task.kind != "multi" else np.stack([e.label for e in test])
        mask = np.stack([e.known for e in test]) if task.kind == "multi" else None
        points = {
            "before": calibration_points(task, before, labels, mask),
            "after": calibration_points(task, after, labels, mask),
        }
        plot_reliability(task, points, self.report_dir / f"reliability_{name}.png")
        return {k: round(expected_calibration_error(*v), 4) for k, v in points.items()}


def target_contrast(test: list[Example], probs: np.ndarray, groups: dict[str, list[int]]) -> dict:
    """Contrast scores per multi-target test set, and over all of them together."""
    out = {}
    for key in CONTRAST_SETS:
        if key in groups:
            out[key] = contrast_scores([test[i] for i in groups[key]], probs[groups[key]])
    every = [i for key in CONTRAST_SETS for i in groups.get(key, [])]
    if every:
        out["all"] = contrast_scores([test[i] for i in every], probs[every])
    return out


def target_value(metrics: dict, task: str, key: str, measure: str, level: str | None) -> tuple:
    """(value, baseline) of one release target; (None, None) where it was not measured."""
    if key == "target_contrast":
        return metrics.get("target_contrast", {}).get("all", {}).get(measure), None
    if key.startswith("transfer:"):
        row = metrics.get("bias_transfer", {}).get(key.removeprefix("transfer:"), {})
        return row.get("model", {}).get(measure), row.get("baseline", {}).get(measure)
    entry = metrics["tasks"].get(task, {}).get("sources", {}).get(key)
    if entry is None:
        return None, None
    base = pick(entry["baseline"], level, measure) if "baseline" in entry else None
    return float(pick(entry, level, measure)), base


def training_stages(run_dir: Path) -> list[dict]:
    """The chain of runs behind a model, earliest first: each run's init_checkpoint names the one before."""
    stages: list[dict] = []
    log_path = run_dir / "train_log.json"
    while log_path.exists() and len(stages) < 20:
        log = json.loads(log_path.read_text())
        stages.insert(
            0,
            {
                "run": str(log_path.parent),
                "steps": log["config"]["steps"],
                "train_seconds": log["train_seconds"],
                "device": log.get("device"),
                "task_shares": log["config"]["task_shares"],
            },
        )
        init = log["config"].get("init_checkpoint")
        if init and Path(init).is_dir():  # started from a released artifact: its card lists the stages before
            released = Path(init) / "metrics.json"
            return (json.loads(released.read_text()).get("training_stages", []) if released.exists() else []) + stages
        log_path = Path(init).with_name("train_log.json") if init and Path(init).is_file() else Path("/nonexistent")
    return stages


def check_targets(metrics: dict, previous: dict | None = None) -> list[dict]:
    """Each release target with this model's value, the baseline's and, if given, the previous release's."""
    rows = []
    overrides = TARGET_OVERRIDES.get(metrics["model"]["name"], {})
    for task, key, measure, level, minimum in QUALITY_TARGETS:
        minimum = overrides.get((task, key), minimum)
        value, base = target_value(metrics, task, key, measure, level)
        before = target_value(previous, task, key, measure, level)[0] if previous else None
        rows.append(
            {
                "task": task,
                "set": key + (f" ({level})" if level else ""),
                "measure": measure,
                "target": minimum,
                "value": None if value is None else round(value, 4),
                "baseline": None if base is None else round(base, 4),
                "previous": None if before is None else round(before, 4),
                "met": bool(value is not None and value >= minimum),
            }
        )
    return rows


def render_report(metrics: dict) -> str:
    lines = [
        f"# Evaluation of {metrics['model']['name']} {metrics['model']['version']}",
        "",
        f"model.onnx SHA-256 `{metrics['model_sha256']}`; every figure is this file through the serving predictor.",
        "",
        "## Release targets",
        "",
        *targets_table(metrics),
        *derived_tables(metrics),
    ]
    lines += [
        "",
        "## Every test set",
        "",
        "| task | source | n | macro-F1 | micro-F1 | baseline macro-F1 | baseline micro-F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, tm in metrics["tasks"].items():
        for key, e in tm["sources"].items():
            levels = e.get("levels") or {"": e}
            for level, r in levels.items():
                b = (e.get("baseline", {}).get("levels") or {"": e.get("baseline", {})}).get(level, {})
                lines.append(
                    f"| {task} | {key}{' ' + level if level else ''} | {r['n']} | {r['macro_f1']:.3f} | {r['micro_f1']:.3f} | "
                    f"{b.get('macro_f1', float('nan')):.3f} | {b.get('micro_f1', float('nan')):.3f} |"
                )
    lines += ["", "## Calibration (test ECE, 15 bins)", "", "| task | before | after |", "|---|---|---|"]
    for task, tm in metrics["tasks"].items():
        lines.append(f"| {task} | {tm['ece']['before']:.4f} | {tm['ece']['after']:.4f} |")
    lines += ["", "## Per-label scores", ""]
    for task, tm in metrics["tasks"].items():
        for key, e in tm["sources"].items():
            r = (e.get("levels") or {}).get("paragraph") or (e.get("levels") or {}).get("article") or e
            lines += [
                f"### {task} · {key}",
                "",
                "| label | precision | recall | F1 | support |",
                "|---|---|---|---|---|",
            ]
            for label, v in r["per_label"].items():
                lines.append(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
            lines.append("")
    return "\n".join(lines) + "\n"

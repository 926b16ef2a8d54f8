"""The model artifact: the folder that carries a model from training to serving.

``model.onnx`` (the served graph) · ``tokenizer.json`` · ``labels.json`` (schemas, heads, input
format) · ``calibration.json`` (temperatures, thresholds) · ``metrics.json`` (evaluation of exactly
this ``model.onnx``, tied to it by its SHA-256) · ``MODEL_CARD.md`` · ``version``.
``load`` refuses a folder whose files disagree with each other. An exported artifact also carries
``training.json`` (the model and training config) and ``weights.safetensors`` (fp16 training
weights; left out of the released model in git, where retraining reads the weights back out of
``model.onnx``); serving ignores both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from slant.encode import Encoder
from slant.labels import BIAS_TOKENS, Task, tasks_from_json

MODEL = "model.onnx"
TOKENIZER = "tokenizer.json"
LABELS = "labels.json"
CALIBRATION = "calibration.json"
METRICS = "metrics.json"
MODEL_CARD = "MODEL_CARD.md"
VERSION = "version"
FILES = (MODEL, TOKENIZER, LABELS, CALIBRATION, METRICS, MODEL_CARD, VERSION)

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class ArtifactError(ValueError):
    """An artifact folder that is incomplete or inconsistent."""


@dataclass(frozen=True)
class Calibration:
    """What turns logits into decisions: one temperature per head, one threshold per label.

    Stance (single-label) decides by argmax of calibrated probabilities; multi-label and binary
    heads decide per label by threshold; loaded words by the ``bias_tokens`` threshold.
    ``untrained`` names labels no training example ever showed (MFC "other"; four techniques
    absent from the English data): their outputs mean nothing, so they are never reported.
    """

    temperatures: dict[str, float]
    thresholds: dict[str, dict[str, float]]
    untrained: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"temperatures": self.temperatures, "thresholds": self.thresholds, "untrained": self.untrained}

    def trained_labels(self, task: Task) -> tuple[str, ...]:
        skip = set(self.untrained.get(task.name, ()))
        return tuple(label for label in task.labels if label not in skip)

    @classmethod
    def from_json(cls, obj: dict) -> Calibration:
        return cls(
            temperatures={k: float(v) for k, v in obj["temperatures"].items()},
            thresholds={
                task: {label: float(t) for label, t in per_label.items()}
                for task, per_label in obj["thresholds"].items()
            },
            untrained={task: list(labels) for task, labels in obj.get("untrained", {}).items()},
        )

    @classmethod
    def neutral(cls, tasks: dict[str, Task]) -> Calibration:
        """Temperature 1 and threshold 0.5 everywhere: the starting point before calibration."""
        return cls(
            temperatures={head: 1.0 for head in (*tasks, BIAS_TOKENS)},
            thresholds={
                **{n: {label: 0.5 for label in t.labels} for n, t in tasks.items() if t.kind == "multi"},
                **{n: {t.labels[1]: 0.5} for n, t in tasks.items() if t.kind == "binary"},
                BIAS_TOKENS: {"loaded": 0.5},
            },
        )

    def check(self, tasks: dict[str, Task]) -> None:
        expected = self.neutral(tasks)
        if set(self.temperatures) != set(expected.temperatures):
            raise ArtifactError(
                f"{CALIBRATION}: temperatures for {sorted(self.temperatures)}, "
                f"expected exactly {sorted(expected.temperatures)}"
            )
        for head, t in self.temperatures.items():
            if not 0.05 <= t <= 20:
                raise ArtifactError(f"{CALIBRATION}: temperature of {head} is {t}, expected 0.05..20")
        for task, labels in expected.thresholds.items():
            found = self.thresholds.get(task, {})
            if set(found) != set(labels):
                raise ArtifactError(
                    f"{CALIBRATION}: thresholds of {task} cover {sorted(found)}, "
                    f"expected exactly {sorted(labels)} (from {LABELS})"
                )
            bad = {label: t for label, t in found.items() if not 0 < t < 1}
            if bad:
                raise ArtifactError(f"{CALIBRATION}: thresholds of {task} outside (0, 1): {bad}")
        for task, untrained in self.untrained.items():
            unknown = set(untrained) - set(tasks[task].labels) if task in tasks else set(untrained)
            if unknown:
                raise ArtifactError(f"{CALIBRATION}: untrained labels {sorted(unknown)} are not {task} labels")


@dataclass(frozen=True)
class Artifact:
    path: Path
    name: str
    version: str
    tasks: dict[str, Task]
    max_length: int
    stride: int
    target_max_tokens: int
    mark_mentions: bool  # stance passes wrap the target's mentions in [ ] (models from 0.2.0 on)
    calibration: Calibration
    metrics: dict

    @property
    def model_path(self) -> Path:
        return self.path / MODEL

    @property
    def heads(self) -> tuple[str, ...]:
        return (*self.tasks, BIAS_TOKENS)

    def head_width(self, head: str) -> int:
        """Width of a head's output: labels for single/multi heads, 1 for binary and token heads."""
        if head == BIAS_TOKENS:
            return 1
        return self.tasks[head].width

    def encoder(self) -> Encoder:
        return Encoder.from_file(
            self.path / TOKENIZER,
            max_length=self.max_length,
            stride=self.stride,
            target_max_tokens=self.target_max_tokens,
            mark_mentions=self.mark_mentions,
        )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ArtifactError(f"{path}: not valid JSON ({e})") from None


def labels_json(
    name: str,
    version: str,
    tasks: dict[str, Task],
    max_length: int,
    stride: int,
    target_max_tokens: int,
    mark_mentions: bool,
) -> dict:
    return {
        "name": name,
        "version": version,
        "tasks": {n: {"kind": t.kind, "input": t.input, "labels": list(t.labels)} for n, t in tasks.items()},
        "heads": [*tasks, BIAS_TOKENS],
        "inputs": list(INPUT_NAMES),
        "pair_order": "target_first",
        "max_length": max_length,
        "stride": stride,
        "target_max_tokens": target_max_tokens,
        "mark_mentions": mark_mentions,
    }


def load(path: str | Path, *, require_metrics: bool = True) -> Artifact:
    """Read and cross-check an artifact folder.

    ``require_metrics=False`` accepts a freshly exported folder whose ``metrics.json`` is not yet
    written (evaluation comes after export); serving always requires it.
    """
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"model artifact folder {path} does not exist")
    needed = [f for f in FILES if not (require_metrics is False and f in (METRICS, MODEL_CARD))]
    missing = [f for f in needed if not (path / f).is_file()]
    if missing:
        raise ArtifactError(
            f"model artifact {path} lacks {', '.join(missing)}; "
            f"an artifact holds {', '.join(FILES)} (made by `slant export` and `slant evaluate`)"
        )
    labels = _read_json(path / LABELS)
    for key in ("name", "version", "tasks", "heads", "max_length", "stride", "target_max_tokens"):
        if key not in labels:
            raise ArtifactError(f"{path / LABELS}: missing key {key!r}")
    version = (path / VERSION).read_text(encoding="utf-8").strip()
    if version != labels["version"]:
        raise ArtifactError(
            f"{path}: {VERSION} says {version!r} but {LABELS} says {labels['version']!r}; "
            "the files come from different exports"
        )
    tasks = tasks_from_json(labels["tasks"])
    if labels["heads"] != [*tasks, BIAS_TOKENS]:
        raise ArtifactError(f"{path / LABELS}: heads {labels['heads']} do not match tasks {list(tasks)}")
    calibration = Calibration.from_json(_read_json(path / CALIBRATION))
    calibration.check(tasks)
    metrics = _read_json(path / METRICS) if (path / METRICS).is_file() else {}
    if metrics or require_metrics:
        found = metrics.get("model_sha256")
        actual = sha256(path / MODEL)
        if found != actual:
            raise ArtifactError(
                f"{path / METRICS} describes a model with SHA-256 {found}, but {MODEL} has {actual}; "
                "run `slant evaluate` on this artifact again"
            )
    return Artifact(
        path=path,
        name=labels["name"],
        version=version,
        tasks=tasks,
        max_length=int(labels["max_length"]),
        stride=int(labels["stride"]),
        target_max_tokens=int(labels["target_max_tokens"]),
        # Absent in artifacts made before mention marking existed: they read unmarked pairs.
        mark_mentions=bool(labels.get("mark_mentions", False)),
        calibration=calibration,
        metrics=metrics,
    )

"""The label schemas: the one place labels are defined.

Every artifact carries a copy of these (``labels.json``); serving reads the copy, never this
module, so a model keeps its own labels when the code moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TaskKind = Literal["single", "multi", "binary"]


@dataclass(frozen=True)
class Task:
    """One task: its labels in a fixed order (the head's output order) and how it decides."""

    name: str
    kind: TaskKind  # single: softmax + argmax; multi: sigmoid + per-label thresholds; binary: sigmoid on labels[1]
    labels: tuple[str, ...]
    input: Literal["pair", "single"]  # pair = (target, paragraph); single = paragraph alone

    @property
    def width(self) -> int:
        """Outputs of the task's head: one logit for a binary task, one per label otherwise."""
        return 1 if self.kind == "binary" else len(self.labels)

    @property
    def label2id(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    def check(self, label: str) -> str:
        if label not in self.labels:
            raise ValueError(f"unknown {self.name} label {label!r}; expected one of: {', '.join(self.labels)}")
        return label


STANCE = Task("stance", "single", ("favor", "against", "neutral"), "pair")

# The 15 Media Frames Corpus frames (Boydstun et al. 2014), in the codebook's order.
FRAMES = Task(
    "frames",
    "multi",
    (
        "economic",
        "capacity_and_resources",
        "morality",
        "fairness_and_equality",
        "legality_constitutionality_jurisprudence",
        "policy_prescription_and_evaluation",
        "crime_and_punishment",
        "security_and_defense",
        "health_and_safety",
        "quality_of_life",
        "cultural_identity",
        "public_opinion",
        "political",
        "external_regulation_and_reputation",
        "other",
    ),
    "single",
)

# The 23 persuasion techniques of SemEval-2023 Task 3, spelled and ordered as in its scorer.
TECHNIQUES = Task(
    "techniques",
    "multi",
    (
        "Appeal_to_Authority",
        "Appeal_to_Popularity",
        "Appeal_to_Values",
        "Appeal_to_Fear-Prejudice",
        "Flag_Waving",
        "Causal_Oversimplification",
        "False_Dilemma-No_Choice",
        "Consequential_Oversimplification",
        "Straw_Man",
        "Red_Herring",
        "Whataboutism",
        "Slogans",
        "Appeal_to_Time",
        "Conversation_Killer",
        "Loaded_Language",
        "Repetition",
        "Exaggeration-Minimisation",
        "Obfuscation-Vagueness-Confusion",
        "Name_Calling-Labeling",
        "Doubt",
        "Guilt_by_Association",
        "Appeal_to_Hypocrisy",
        "Questioning_the_Reputation",
    ),
    "single",
)

BIAS = Task("bias", "binary", ("neutral", "biased"), "single")

TASKS: dict[str, Task] = {t.name: t for t in (STANCE, FRAMES, TECHNIQUES, BIAS)}

# The bias task also marks loaded words: one sigmoid per token, decided by a threshold.
BIAS_TOKENS = "bias_tokens"

# ONNX output names, one per head, in graph order.
HEADS: tuple[str, ...] = ("stance", "frames", "techniques", "bias", BIAS_TOKENS)


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; expected one of: {', '.join(TASKS)}") from None


def schemas_json() -> dict:
    """The JSON form written into every artifact's labels.json."""
    return {name: {"kind": t.kind, "input": t.input, "labels": list(t.labels)} for name, t in TASKS.items()}


def tasks_from_json(obj: dict) -> dict[str, Task]:
    """Read schemas back from an artifact's labels.json (the inverse of schemas_json)."""
    return {name: Task(name, spec["kind"], tuple(spec["labels"]), spec["input"]) for name, spec in obj.items()}

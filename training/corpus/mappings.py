"""The label mappings: loaded from mappings.json (the one place they live) and checked against slant.labels."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from slant.labels import TASKS

from .errors import UnknownLabel

MAPPINGS_FILE = Path(__file__).with_name("mappings.json")


@dataclass(frozen=True)
class Mapping:
    task: str
    source: str
    map: dict[str, tuple[str, ...]]
    reasons: dict[str, str]
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()
    ignore_patterns: tuple[re.Pattern, ...] = ()
    spec: dict = field(default_factory=dict)

    @property
    def known_labels(self) -> list[str]:
        """The image of the mapping, in schema order: the labels this source can express."""
        image = {lab for labs in self.map.values() for lab in labs}
        return [lab for lab in TASKS[self.task].labels if lab in image]

    def is_ignored(self, raw: str) -> bool:
        return raw in self.ignore or any(p.search(raw) for p in self.ignore_patterns)

    def labels(self, raw: str, path: Path | str) -> tuple[str, ...]:
        """Schema labels of one raw label ((), if dropped); UnknownLabel names the file if unmapped."""
        raw = str(raw).strip()
        if raw in self.map:
            return self.map[raw]
        if self.is_ignored(raw):
            return ()
        raise UnknownLabel(path, raw, list(self.map), self.source)

    def convert(self, raws, path: Path | str) -> tuple[list[str], list[str]]:
        """Map a bag of raw labels -> (labels, known_labels for this record).

        Known labels lose the candidates of any ambiguous label the record carries, so the
        trainer masks them instead of learning a false negative."""
        out: list[str] = []
        masked: set[str] = set()
        for raw in raws:
            raw = str(raw).strip()
            if not raw:
                continue
            out.extend(self.labels(raw, path))
            masked.update(self.ambiguous.get(raw, ()))
        order = TASKS[self.task].label2id
        labels = sorted(set(out), key=order.__getitem__)
        known = [lab for lab in self.known_labels if lab not in masked or lab in labels]
        return labels, known


def _check(task: str, source: str, labels) -> tuple[str, ...]:
    schema = TASKS[task]
    for lab in labels:
        if lab not in schema.labels:
            raise ValueError(
                f"{MAPPINGS_FILE}: {task}/{source} maps to {lab!r}, which is not a {task} label; "
                f"expected one of: {', '.join(schema.labels)}"
            )
    return tuple(labels)


@cache
def load_mappings() -> dict[str, dict[str, Mapping]]:
    data = json.loads(MAPPINGS_FILE.read_text(encoding="utf-8"))
    out: dict[str, dict[str, Mapping]] = {}
    for task, sources in data.items():
        if task.startswith("_"):
            continue
        if task not in TASKS:
            raise ValueError(f"{MAPPINGS_FILE}: unknown task {task!r}; expected one of {list(TASKS)}")
        out[task] = {}
        for source, spec in sources.items():
            if "same_as" in spec:
                spec = {**sources[spec["same_as"]], **{k: v for k, v in spec.items() if k != "same_as"}}
            out[task][source] = Mapping(
                task=task,
                source=source,
                map={str(k): _check(task, source, v) for k, v in spec["map"].items()},
                reasons=dict(spec.get("reasons", {})),
                ambiguous={k: _check(task, source, v) for k, v in spec.get("ambiguous", {}).items()},
                ignore=frozenset(spec.get("ignore", ())),
                ignore_patterns=tuple(re.compile(p) for p in spec.get("ignore_patterns", ())),
                spec=spec,
            )
    return out


def get_mapping(task: str, source: str) -> Mapping:
    return load_mappings()[task][source]

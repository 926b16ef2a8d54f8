"""The training corpus: `slant data build` writes one DatasetDict per task; `load_task` reads it.

Columns (every task, every split): id, text, target, labels, known_labels, level, source, subset,
article_id, paragraph_index, split, spans. See datasets/STATS.md and the data cards.
"""

from __future__ import annotations

from pathlib import Path

from .errors import CorpusError, FormatError, SourceMissing, UnknownLabel
from .records import COLUMNS, SPLITS, TASK_NAMES

__all__ = [
    "COLUMNS",
    "SPLITS",
    "TASK_NAMES",
    "CorpusError",
    "CorpusNotBuilt",
    "FormatError",
    "SourceMissing",
    "UnknownLabel",
    "load_task",
]


class CorpusNotBuilt(FileNotFoundError):
    """The built corpus is not there."""


def load_task(task: str, build_dir: str | Path = "datasets/build"):
    """The built `datasets.DatasetDict` (train/dev/test) of one task."""
    if task not in TASK_NAMES:
        raise ValueError(f"unknown task {task!r}; expected one of: {', '.join(TASK_NAMES)}")
    path = Path(build_dir) / task
    if not (path / "dataset_dict.json").is_file():
        raise CorpusNotBuilt(
            f"no built corpus for task {task!r} at {path}: run `slant data build` "
            f"(options: --data-dir <raw data folder>, --out {build_dir})"
        )
    # mypy resolves `datasets` to the repo's datasets/ folder (a namespace package), not the library
    from datasets import load_from_disk  # type: ignore[attr-defined]

    return load_from_disk(str(path))

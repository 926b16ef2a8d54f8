"""The unified record, whitespace clean-up and small reading helpers shared by the source readers.
(The leakage key of a text, `norm_key`, is `slant.text_key`'s: the feedback store keys corrections
with it too.)"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

from .errors import FormatError, SourceMissing

TASK_NAMES = ("stance", "frames", "techniques", "bias")
SPLITS = ("train", "dev", "test")
SPLIT_RANK = {"train": 0, "dev": 1, "test": 2}

# Column order of every built table (the trainer's contract).
COLUMNS = (
    "id",
    "text",
    "target",
    "labels",
    "known_labels",
    "level",
    "source",
    "subset",
    "article_id",
    "paragraph_index",
    "split",
    "spans",
)

_WS = re.compile(r"\s+")


def clean_text(text: object) -> str:
    """Whitespace-normalised text (the `text` column)."""
    if text is None:
        return ""
    if isinstance(text, float) and text != text:  # NaN
        return ""
    return _WS.sub(" ", str(text)).strip()


def record(
    *,
    id: str,
    text: str,
    labels: Iterable[str],
    known_labels: Iterable[str],
    source: str,
    article_id: str,
    split: str | None = None,
    target: str = "",
    level: str = "paragraph",
    subset: str = "",
    paragraph_index: int = -1,
    spans: list[list[int]] | None = None,
    group: str | None = None,
    official: str | None = None,
) -> dict:
    """One unified record. `group` (hashing key for the split) and `official` (the source's own
    split, if it has one) are private build fields, removed before the tables are written."""
    return {
        "id": id,
        "text": text,
        "target": target,
        "labels": list(labels),
        "known_labels": list(known_labels),
        "level": level,
        "source": source,
        "subset": subset,
        "article_id": article_id,
        "paragraph_index": int(paragraph_index),
        "split": split or "",
        "spans": spans or [],
        "_group": group or article_id,
        "_official": official,
    }


def need_dir(path: Path, what: str = "source folder") -> Path:
    if not path.is_dir():
        raise SourceMissing(path, what)
    return path


def need_file(path: Path, what: str = "file") -> Path:
    if not path.is_file():
        raise SourceMissing(path, what)
    return path


def check_columns(path: Path | str, found: Iterable[str], required: Iterable[str]) -> None:
    found = [str(c) for c in found]
    missing = [c for c in required if c not in found]
    if missing:
        raise FormatError(path, found, list(required), what=f"columns (missing {missing})")


def read_excel(path, **kw):
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl: "Unknown extension is not supported"
        return pd.read_excel(path, **kw)


def read_tsv(path: Path, required: Iterable[str]) -> list[dict]:
    need_file(path)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        check_columns(path, reader.fieldnames or [], required)
        return list(reader)

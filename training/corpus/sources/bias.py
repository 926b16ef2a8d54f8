"""Bias readers: BABE (SG2), and SG1 / MBIC only for sentences BABE lacks; spans of BABE's biased words."""
from __future__ import annotations

import ast
import csv
import re
from collections import Counter
from pathlib import Path

from ..errors import FormatError
from ..mappings import get_mapping
from ..records import check_columns, clean_text, need_dir, need_file, norm_key, record

def _read_excel(path, **kw):
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl: "Unknown extension is not supported"
        return pd.read_excel(path, **kw)


TASK = "bias"
BABE_COLUMNS = ["text", "news_link", "label_bias", "biased_words"]
SG2, SG1, MBIC = "final_labels_SG2.csv", "final_labels_SG1.csv", "final_labels_MBIC.xlsx"


def parse_words(raw, path: Path) -> list[str]:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return []
    s = str(raw).strip()
    if not s:
        return []
    try:
        val = ast.literal_eval(s)
    except (ValueError, SyntaxError):
        raise FormatError(path, s[:80], "a Python-style list of words, e.g. ['word', 'other']",
                          what="value in column 'biased_words'") from None
    if isinstance(val, str):
        val = [val]
    if not isinstance(val, (list, tuple)):
        raise FormatError(path, s[:80], "a list of words", what="value in column 'biased_words'")
    return [clean_text(w) for w in val if clean_text(w)]


def locate(text: str, words: list[str]) -> tuple[list[list[int]], int]:
    """Character spans of each word in text: case-insensitive, on word boundaries, every occurrence.

    Returns (sorted, merged spans, number of words not found)."""
    spans, missing = [], 0
    for w in dict.fromkeys(words):
        pat = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(p) for p in w.split()) + r"(?!\w)", re.IGNORECASE)
        hits = [[mt.start(), mt.end()] for mt in pat.finditer(text)]
        if not hits:
            missing += 1
        spans.extend(hits)
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged, missing


def read_table(path: Path) -> list[dict]:
    need_file(path)
    if path.suffix == ".xlsx":

        df = _read_excel(path, dtype=str)
        check_columns(path, df.columns, BABE_COLUMNS)
        return df.where(df.notna(), None).to_dict("records")
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter=";")
        check_columns(path, reader.fieldnames or [], BABE_COLUMNS)
        return list(reader)


def _texts(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {norm_key(clean_text(r["text"])) for r in read_table(path)}


def _read(root: Path, source: str, fname: str, exclude: tuple[str, ...]):
    folder = need_dir(root / "babe")
    path = folder / fname
    m = get_mapping(TASK, source)
    seen: set[str] = set()
    for other in exclude:
        seen |= _texts(folder / other)
    out, notes = [], Counter()
    for i, row in enumerate(read_table(path)):
        text = clean_text(row["text"])
        if not text:
            continue
        key = norm_key(text)
        labels, known = m.convert([row["label_bias"] or ""], path)
        if not labels:
            notes["sentences without annotator agreement (skipped)"] += 1
            continue
        if exclude and key in seen:
            notes[f"sentences already in {' / '.join(exclude)} (skipped)"] += 1
            continue
        words = parse_words(row["biased_words"], path)
        spans, missing = locate(text, words)
        notes["biased words listed"] += len(words)
        notes["biased words not located in the sentence"] += missing
        link = clean_text(row["news_link"]) or f"row{i}"
        out.append(record(id=f"{source}:{i}", text=text, labels=labels, known_labels=known, source=source,
                          article_id=f"{source}:{link}", group=f"babe:{link}", spans=spans))
    return out, notes


def read_babe(root: Path):
    return _read(root, "babe", SG2, ())


def read_babe_sg1(root: Path):
    return _read(root, "babe_sg1", SG1, (SG2,))


def read_mbic(root: Path):
    return _read(root, "mbic", MBIC, (SG2, SG1))

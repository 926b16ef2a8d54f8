"""Bias readers: BABE (SG2), and SG1 / MBIC only for sentences BABE lacks; spans of BABE's biased words;
Wikipedia NPOV statements (npov) and CheckThat! subjectivity (checkthat, an auxiliary signal); neither has spans."""

from __future__ import annotations

import ast
import csv
import re
from collections import Counter
from pathlib import Path

from slant.text_key import norm_key

from ..errors import FormatError
from ..mappings import get_mapping
from ..records import check_columns, clean_text, need_dir, need_file, read_excel, read_tsv, record
from .text_ids import text_id

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
        raise FormatError(
            path, s[:80], "a Python-style list of words, e.g. ['word', 'other']", what="value in column 'biased_words'"
        ) from None
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
        df = read_excel(path, dtype=str)
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
    out: list[dict] = []
    notes: Counter[str] = Counter()
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
        out.append(
            record(
                id=f"{source}:{i}",
                text=text,
                labels=labels,
                known_labels=known,
                source=source,
                article_id=f"{source}:{link}",
                group=f"babe:{link}",
                spans=spans,
            )
        )
    return out, notes


def read_babe(root: Path):
    return _read(root, "babe", SG2, ())


def read_babe_sg1(root: Path):
    return _read(root, "babe_sg1", SG1, (SG2,))


def read_mbic(root: Path):
    return _read(root, "mbic", MBIC, (SG2, SG1))


# ---------------------------------------------------------------- NPOV statements (Hube & Fetahu 2019)
NPOV_DIR = "npov_statements_hube2019"


def read_npov(root: Path):
    """One Wikipedia sentence per line; the label is the file (mappings.json bias/npov). A file mapped to no
    label (featured-article sentences) is read and counted, not used. Repeated lines are read once; a
    sentence in both a biased and a neutral file is dropped. Split by hashing the sentence."""
    folder = need_dir(root / NPOV_DIR)
    m = get_mapping(TASK, "npov")
    found = sorted(p.name for p in folder.glob("statements_*"))
    unknown = [n for n in found if n not in m.map]
    if unknown:
        m.labels(unknown[0], folder / unknown[0])  # UnknownLabel: a statements file the mapping does not name
    if not found:
        raise FormatError(folder, sorted(p.name for p in folder.iterdir()), list(m.map), what="statements_* files")
    notes: Counter[str] = Counter()
    texts: dict[str, dict] = {}
    for name in m.map:
        path = folder / name
        if not path.is_file():
            notes[f"{name} not found"] += 1
            continue
        labels, known = m.convert([name], path)
        raw = path.read_bytes()
        try:
            lines = raw.decode("utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise FormatError(path, str(e), "UTF-8 text, one sentence per line", what="encoding") from None
        for i, line in enumerate(lines):
            text = clean_text(line)
            if not text:
                continue
            if not labels:
                notes[f"{name}: sentences not used ({m.reasons.get(name, 'dropped').split(';')[0]})"] += 1
                continue
            key = norm_key(text)
            if key in texts:
                if texts[key]["labels"] == labels:
                    notes[f"{name}: repeated sentences (read once)"] += 1
                else:
                    texts[key]["conflict"] = True
                continue
            texts[key] = {
                "id": f"npov:{name.removeprefix('statements_')}:{i}",
                "text": text,
                "labels": labels,
                "known": known,
                "conflict": False,
            }
    out = []
    for t in texts.values():
        if t["conflict"]:
            notes["sentences in both a biased and a neutral file (dropped)"] += 1
            continue
        aid = text_id(t["text"])
        out.append(
            record(
                id=t["id"],
                text=t["text"],
                labels=t["labels"],
                known_labels=t["known"],
                source="npov",
                article_id=f"npov:{aid}",
            )
        )
    return out, notes


# ---------------------------------------------------------------- CheckThat! subjectivity (English)
CHECKTHAT_DIR = "checkthat_subjectivity_en"
CHECKTHAT_FILES = {"train_en.tsv": "train", "dev_en.tsv": "dev", "dev_test_en.tsv": "test"}
CHECKTHAT_COLUMNS = ["sentence_id", "sentence", "label"]


def unquote_cell(s: str) -> str:
    """Undo CSV quoting kept by a QUOTE_NONE read: '"He said ""no""."' -> 'He said "no".'"""
    if len(s) >= 2 and s.startswith('"') and s.endswith('"'):
        return s[1:-1].replace('""', '"')
    return s


def read_checkthat(root: Path):
    """Official train / dev / dev_test -> train / dev / test; SUBJ/OBJ as an auxiliary bias signal."""
    folder = need_dir(root / CHECKTHAT_DIR)
    m = get_mapping(TASK, "checkthat")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for name, official in CHECKTHAT_FILES.items():
        path = folder / name
        seen: set[str] = set()
        for row in read_tsv(path, CHECKTHAT_COLUMNS):
            raw = row["sentence"] or ""
            text = clean_text(unquote_cell(raw))
            if text != clean_text(raw):
                notes["sentences with CSV quoting undone"] += 1
            labels, known = m.convert([row["label"] or ""], path)
            if not text or not labels:
                notes["rows without sentence or label (skipped)"] += 1
                continue
            key = norm_key(text)
            if key in seen:
                notes[f"{name}: repeated sentences (read once)"] += 1
                continue
            seen.add(key)
            if str(row.get("solved_conflict") or "").strip() == "True":
                notes["sentences whose annotator conflict was adjudicated (solved_conflict, kept)"] += 1
            sid = row["sentence_id"].strip()
            out.append(
                record(
                    id=f"checkthat:{official}:{sid}",
                    text=text,
                    labels=labels,
                    known_labels=known,
                    source="checkthat",
                    article_id=f"checkthat:{sid}",
                    official=official,
                )
            )
    return out, notes

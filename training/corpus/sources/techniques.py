"""Technique readers: SemEval-2023 Task 3 subtask 3 paragraphs and PTC (SemEval-2020 Task 11) sentence lines."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

from ..errors import FormatError
from ..mappings import get_mapping
from ..records import clean_text, need_dir, need_file, record

TASK = "techniques"
SEMEVAL_DIR = Path("semeval2023_task3_en") / "data" / "en"


def read_tab_rows(path: Path, n_fields: int, what: str) -> list[list[str]]:
    """Tab-separated rows with exactly n_fields fields (a trailing empty field may be absent)."""
    need_file(path)
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        for i, line in enumerate(f):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) == n_fields - 1:
                parts.append("")
            if len(parts) != n_fields:
                raise FormatError(
                    path,
                    f"{len(parts)} fields on line {i + 1}",
                    f"{n_fields} ({what})",
                    what="number of tab-separated fields",
                )
            rows.append(parts)
    return rows


def semeval_group(article: str) -> str:
    """The split key shared by every record of a SemEval-2023 article (PTC articles reuse these ids)."""
    return f"semeval2023:{article}"


def read_semeval2023_techniques(root: Path):
    folder = need_dir(root / SEMEVAL_DIR, "SemEval-2023 data/en folder")
    m = get_mapping(TASK, "semeval2023")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for part, official in (("train", None), ("dev", "test")):
        lab_path = folder / f"{part}-labels-subtask-3.txt"
        tpl_path = folder / f"{part}-labels-subtask-3.template"
        labels_by_key = {}
        for art, line_no, techs in read_tab_rows(lab_path, 3, "article_id, paragraph line, techniques"):
            labels_by_key[(art, line_no)] = [t for t in techs.split(",") if t.strip()]
        rows = read_tab_rows(tpl_path, 3, "article_id, paragraph line, paragraph text")
        by_article = defaultdict(list)
        for art, line_no, text in rows:
            if not line_no.strip().isdigit():
                raise FormatError(tpl_path, line_no, "a paragraph line number", what="value in column 2")
            by_article[art].append((int(line_no), text))
        missing = [k for k in labels_by_key if k[0] not in by_article]
        for art, paras in by_article.items():
            for k, (line_number, text) in enumerate(sorted(paras)):
                key = (art, str(line_number))
                if key not in labels_by_key:
                    notes[f"{part} paragraphs without a label row (skipped)"] += 1
                    continue
                labels, known = m.convert(labels_by_key[key], lab_path)
                text = clean_text(text)
                if not text:
                    notes[f"{part} empty paragraphs (skipped)"] += 1
                    continue
                out.append(
                    record(
                        id=f"semeval2023:{part}:{art}:{line_number}",
                        text=text,
                        labels=labels,
                        known_labels=known,
                        source="semeval2023",
                        article_id=f"semeval2023:{art}",
                        paragraph_index=k,
                        group=semeval_group(art),
                        official=official,
                        subset="" if official is None else "official_dev",
                    )
                )
        if missing:
            notes[f"{part} label rows without a template row (skipped)"] += len(missing)
    return out, notes


# ---------------------------------------------------------------- PTC
PTC_DIR = Path("ptc_semeval2020_task11")
PTC_PARTS = (
    ("train", PTC_DIR / "datasets" / "train-articles", PTC_DIR / "datasets" / "train-task2-TC.labels"),
    ("dev", PTC_DIR / "datasets" / "dev-articles", PTC_DIR / "peerda_dev_gold" / "dev-task-TC.labels"),
)
_ARTICLE_FILE = re.compile(r"^article(\d+)\.txt$")


def line_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, line) for every non-empty line, offsets into the file text (end exclusive)."""
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, pos + len(line), line))
        pos += len(line) + 1
    return out


def read_ptc(root: Path):
    need_dir(root / PTC_DIR)
    m = get_mapping(TASK, "ptc")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for part, art_dir, lab_path in PTC_PARTS:
        need_dir(root / art_dir, "PTC article folder")
        spans = defaultdict(list)
        for art, tech, start, end in read_tab_rows(root / lab_path, 4, "article_id, technique, start, end"):
            if not (start.strip().isdigit() and end.strip().isdigit()):
                raise FormatError(root / lab_path, (start, end), "integer character offsets", what="span offsets")
            spans[art].append((tech, int(start), int(end)))
        for path in sorted((root / art_dir).iterdir()):
            mt = _ARTICLE_FILE.match(path.name)
            if not mt:
                continue
            art = mt.group(1)
            text = path.read_text(encoding="utf-8")
            for k, (s, e, line) in enumerate(line_spans(text)):
                raws = [t for t, a, b in spans.get(art, ()) if a < e and b > s]
                labels, known = m.convert(raws, root / lab_path)
                line = clean_text(line)
                if not line:
                    continue
                out.append(
                    record(
                        id=f"ptc:{part}:{art}:{k}",
                        text=line,
                        labels=labels,
                        known_labels=known,
                        source="ptc",
                        article_id=f"ptc:{art}",
                        paragraph_index=k,
                        group=semeval_group(art),
                    )
                )
            notes[f"{part} articles"] += 1
    return out, notes

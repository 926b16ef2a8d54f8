"""Frame readers: SemEval-2023 subtask 2 (article bags), GVFC headlines, CCF units (English), Frermann articles,
MFC-coded tweets and forum sentences (issue_framing)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from slant.labels import FRAMES
from slant.text_key import norm_key

from ..errors import FormatError
from ..mappings import get_mapping
from ..records import check_columns, clean_text, need_dir, need_file, read_excel, record
from .techniques import SEMEVAL_DIR, read_tab_rows, semeval_group
from .text_ids import text_id

TASK = "frames"
FRAME_ORDER = {lab: i for i, lab in enumerate(FRAMES.labels)}


# ---------------------------------------------------------------- SemEval-2023 subtask 2
def read_semeval2023_frames(root: Path):
    folder = need_dir(root / SEMEVAL_DIR, "SemEval-2023 data/en folder")
    lab_path = folder / "train-labels-subtask-2.txt"
    art_dir = need_dir(folder / "train-articles-subtask-2", "SemEval-2023 subtask-2 article folder")
    m = get_mapping(TASK, "semeval2023")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for art, frames in read_tab_rows(lab_path, 2, "article_id, frames"):
        labels, known = m.convert([f for f in frames.split(",") if f.strip()], lab_path)
        path = art_dir / f"article{art}.txt"
        if not path.is_file():
            notes["labelled articles without a text file (skipped)"] += 1
            continue
        paras = [clean_text(p) for p in path.read_text(encoding="utf-8").split("\n")]
        paras = [p for p in paras if p]
        for k, para in enumerate(paras):
            out.append(
                record(
                    id=f"semeval2023:frames:{art}:{k}",
                    text=para,
                    labels=labels,
                    known_labels=known,
                    level="article",
                    source="semeval2023",
                    article_id=f"semeval2023:{art}",
                    paragraph_index=k,
                    group=semeval_group(art),
                )
            )
        notes["articles"] += 1
    return out, notes


# ---------------------------------------------------------------- GVFC
GVFC_COLUMNS = ["news_title", "Q1 Relevant", "Q3 Theme1", "Q3 Theme2"]


def _code(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    try:
        return str(int(float(v)))
    except (TypeError, ValueError):
        return str(v).strip()


def read_gvfc(root: Path):
    folder = need_dir(root / "gvfc")
    path = need_file(folder / "GVFC_headlines_and_annotations.xlsx")
    df = read_excel(path)
    check_columns(path, df.columns, GVFC_COLUMNS)
    m = get_mapping(TASK, "gvfc")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for i, row in enumerate(df.itertuples(index=False)):
        row = dict(zip(df.columns, row))
        text = clean_text(row["news_title"])
        if not text:
            continue
        rel = _code(row["Q1 Relevant"])
        if rel != "1":
            if rel not in ("2", ""):
                raise FormatError(path, rel, ["1", "2"], what="value in column 'Q1 Relevant'")
            notes["headlines not relevant to gun violence (Q1 != 1, skipped)"] += 1
            continue
        raws = [c for c in (_code(row["Q3 Theme1"]), _code(row["Q3 Theme2"])) if c]
        labels, known = m.convert(raws, path)
        # No article id in the file: the headline is the article's stand-in, keyed by its normalised text.
        aid = text_id(text)
        out.append(
            record(
                id=f"gvfc:{i}", text=text, labels=labels, known_labels=known, source="gvfc", article_id=f"gvfc:{aid}"
            )
        )
    return out, notes


# ---------------------------------------------------------------- CCF
CCF_DIR = Path("ccf_canadian_climate_framing") / "Database" / "Training_data" / "manual_annotations_JSONL"


def ccf_raw(label: str) -> str:
    return label.strip().replace("_Detection", " Detection").replace(":_", ": ")


def _jsonl(path: Path) -> list[dict]:
    need_file(path)
    rows = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise FormatError(path, f"line {i + 1}: {e}", "one JSON object per line", what="JSON") from None
    return rows


def _meta(path: Path, row: dict, keys: tuple[str, ...]):
    meta = row.get("meta")
    if not isinstance(meta, dict):
        raise FormatError(path, sorted(row), ["meta", "label"], what="keys")
    for k in keys:
        if k in meta:
            return meta[k]
    raise FormatError(path, sorted(meta), list(keys), what="meta keys")


def read_ccf(root: Path):
    folder = need_dir(root / CCF_DIR, "CCF manual_annotations_JSONL folder")
    m = get_mapping(TASK, "ccf")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    ann_path = folder / "Annotated_sentences.jsonl"
    for row in _jsonl(ann_path):
        if "label" not in row or "text" not in row:
            raise FormatError(ann_path, sorted(row), ["id", "text", "meta", "label"], what="keys")
        if _meta(ann_path, row, ("language",)) != "EN":
            notes["French units (skipped)"] += 1
            continue
        doc = _meta(ann_path, row, ("doc_ID", "doc_id"))
        sid = _meta(ann_path, row, ("sentence_id",))
        labels, known = m.convert([ccf_raw(x) for x in row["label"]], ann_path)
        text = clean_text(row["text"])
        if text:
            out.append(
                record(
                    id=f"ccf:{row.get('id', f'{doc}-{sid}')}",
                    text=text,
                    labels=labels,
                    known_labels=known,
                    source="ccf",
                    article_id=f"ccf:{doc}",
                )
            )
    gold_path, blind_path = folder / "consensus_gold_standard.jsonl", folder / "blind_verification.jsonl"
    if gold_path.is_file() and blind_path.is_file():
        texts = {}
        for row in _jsonl(blind_path):
            key = (
                str(_meta(blind_path, row, ("doc_id", "doc_ID"))),
                str(_meta(blind_path, row, ("sentence_id",))),
                _meta(blind_path, row, ("language",)),
            )
            texts[key] = row.get("text", "")
        for row in _jsonl(gold_path):
            if "label" not in row:
                raise FormatError(gold_path, sorted(row), ["meta", "label"], what="keys")
            lang = _meta(gold_path, row, ("language",))
            if lang != "EN":
                notes["French gold units (skipped)"] += 1
                continue
            doc = str(_meta(gold_path, row, ("doc_id", "doc_ID")))
            sid = str(_meta(gold_path, row, ("sentence_id",)))
            text = clean_text(texts.get((doc, sid, lang), ""))
            if not text:
                notes["gold units without text in blind_verification.jsonl (skipped)"] += 1
                continue
            labels, known = m.convert([ccf_raw(x) for x in row["label"]], gold_path)
            out.append(
                record(
                    id=f"ccf:gold:{doc}:{sid}",
                    text=text,
                    labels=labels,
                    known_labels=known,
                    source="ccf",
                    subset="gold",
                    article_id=f"ccf:{doc}",
                )
            )
    else:
        notes["consensus gold standard not found (only the single-annotator units built)"] += 1
    return out, notes


# ---------------------------------------------------------------- Frermann et al. 2023
FRERMANN_COLUMNS = ["ID", "text", "RE", "HI", "CO", "MO", "EC"]
# Not slant.intake.sentences: this split also cuts after "Rep." or "Dr." and drops the closing
# quote of a sentence ("...cooling." instead of "...cooling.\""). The frames corpus and the models
# trained on it were built with it; the intake splitter changes the chunks of most Frermann
# articles, so switching is a corpus change that needs a retrain.
_SENT = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
CHUNK_WORDS = 80


def pseudo_paragraphs(text: str, max_words: int = CHUNK_WORDS) -> list[str]:
    """The articles come as one block: cut at sentence ends into chunks of at most ~max_words words."""
    sents = [s.strip() for s in _SENT.split(text) if s.strip()]
    chunks: list[str] = []
    cur: list[str] = []  # the sentences of the chunk being built
    n = 0
    for s in sents:
        w = len(s.split())
        if cur and n + w > max_words:
            chunks.append(" ".join(cur))
            cur, n = [], 0
        cur.append(s)
        n += w
    if cur:
        chunks.append(" ".join(cur))
    return chunks


def _bool(path: Path, col: str, v: str) -> bool | None:
    s = re.sub(r"[^A-Za-z]", "", str(v or "")).lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    if s in ("", "nan", "none"):
        return None
    raise FormatError(path, v, ["True", "False"], what=f"value in column {col!r}")


def read_frermann(root: Path):
    folder = need_dir(root / "narrative_framing_frermann2023")
    path = folder / "articles_metadata.tsv"
    m = get_mapping(TASK, "frermann")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    import csv
    import sys

    csv.field_size_limit(sys.maxsize)
    need_file(path)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        check_columns(path, reader.fieldnames or [], FRERMANN_COLUMNS)
        rows = list(reader)
    for row in rows:
        raws, unknown = [], []
        for col in ("RE", "HI", "CO", "MO", "EC"):
            v = _bool(path, col, row[col])
            if v is None:
                unknown.append(col)
            elif v:
                raws.append(col)
        labels, known = m.convert(raws, path)
        if unknown:
            notes["articles with a missing frame value (that frame masked)"] += 1
            drop = {lab for col in unknown for lab in m.map.get(col, ())}
            known = [k for k in known if k not in drop]
        aid = row["ID"].strip()
        for k, chunk in enumerate(pseudo_paragraphs(clean_text(row["text"]))):
            out.append(
                record(
                    id=f"frermann:{aid}:{k}",
                    text=chunk,
                    labels=labels,
                    known_labels=known,
                    level="article",
                    source="frermann",
                    article_id=f"frermann:{aid}",
                    paragraph_index=k,
                )
            )
        notes["articles"] += 1
    return out, notes


# ---------------------------------------------------------------- issue framing (tweets + forum sentences)
ISSUE_DIR = "issue_framing_tweets_forums"
ISSUE_FILES = {  # subset -> (file, {raw split: official split})
    "tweets": (
        Path("congressional_tweets") / "splits_80_20_notest.json",
        {"train": "train", "dev": "dev", "test": "test"},
    ),
    "forum": (Path("dialogue") / "dev_test.json", {"train": "train", "dev": "dev", "test": "test"}),
}
_RANK = {"train": 0, "dev": 1, "test": 2}


def read_issue_framing(root: Path):
    """MFC-coded congressional tweets (full codebook) and forum sentences (5 frames; the other 10 masked).

    Official splits are kept (tweets: train/dev, the test split is empty; forum: dev/test). Repeated texts
    are read once (labels united), on the most held-out side they occur on."""
    folder = need_dir(root / ISSUE_DIR)
    m = get_mapping(TASK, "issue_framing")
    notes: Counter[str] = Counter()
    items: dict[tuple[str, str], dict] = {}
    for subset, (rel, splits) in ISSUE_FILES.items():
        path = need_file(folder / rel)
        data = _issue_json(path, splits)
        codes = m.spec["known_codes"][subset]
        known = [lab for lab in m.known_labels if any(lab in m.map[c] for c in codes)]
        for raw_split, part in data.items():
            if raw_split not in splits:
                continue  # e.g. the forum file's top-level "labelset"
            _check_issue_split(path, raw_split, part)
            for i, (seq, raws) in enumerate(zip(part["seq"], part["label"])):
                labels = _issue_labels(m, path, codes, raws, f"{subset} frame code in split {raw_split!r}")
                text = clean_text(seq)
                if not text:
                    notes[f"{subset}: empty texts (skipped)"] += 1
                    continue
                item = {
                    "id": f"issue_framing:{subset}:{raw_split}:{i}",
                    "text": text,
                    "labels": labels,
                    "known": known,
                    "subset": subset,
                    "official": splits[raw_split],
                }
                _add_issue_item(items, (subset, norm_key(text)), item, notes)
    return _issue_records(items, notes), notes


def _issue_json(path: Path, splits: dict[str, str]) -> dict:
    """The file's JSON object, which must hold at least one of the splits."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(path, str(e), "a JSON object {split: {seq, label}}", what="JSON") from None
    if not isinstance(data, dict) or not any(s in data for s in splits):
        raise FormatError(
            path, sorted(data) if isinstance(data, dict) else type(data).__name__, list(splits), what="splits"
        )
    return data


def _check_issue_split(path: Path, raw_split: str, part) -> None:
    """A split is {seq: [text, ...], label: [[code, ...], ...]}, one label list per text."""
    if not isinstance(part, dict) or "seq" not in part or "label" not in part:
        raise FormatError(
            path,
            sorted(part) if isinstance(part, dict) else type(part).__name__,
            ["seq", "label"],
            what=f"keys of split {raw_split!r}",
        )
    if len(part["seq"]) != len(part["label"]):
        raise FormatError(
            path,
            f"{len(part['label'])} label lists",
            f"{len(part['seq'])} (one per seq)",
            what=f"length of split {raw_split!r}",
        )


def _issue_labels(m, path: Path, codes: list[str], raws, what: str) -> list[str]:
    """The frames of one text's codes; a code outside the subset's codebook is an error."""
    raws = [str(c).strip() for c in raws]
    bad = [c for c in raws if c and c not in codes]
    if bad:
        m.labels(bad[0], path)  # an unknown code: UnknownLabel
        raise FormatError(path, bad[0], codes, what=what)
    labels, _ = m.convert(raws, path)
    return labels


def _add_issue_item(items: dict[tuple[str, str], dict], key: tuple[str, str], item: dict, notes: Counter) -> None:
    """Add a text, or unite a repeated one with its first reading: labels joined, the more held-out side."""
    if key not in items:
        items[key] = item
        return
    it, subset, official = items[key], item["subset"], item["official"]
    notes[f"{subset}: repeated texts (read once, labels united)"] += 1
    if it["official"] != official:
        notes[f"{subset}: texts in two official splits (kept on the more held-out side)"] += 1
    if _RANK[official] > _RANK[it["official"]]:
        it["official"] = official
    it["labels"] = sorted(set(it["labels"]) | set(item["labels"]), key=FRAME_ORDER.__getitem__)


def _issue_records(items: dict[tuple[str, str], dict], notes: Counter) -> list[dict]:
    """One record per distinct text, grouped by the text itself; texts without a frame are skipped."""
    out = []
    for (subset, nk), it in items.items():
        aid = text_id(nk)  # nk is a norm_key already; norm_key is idempotent
        if not it["labels"]:
            notes[f"{subset}: texts without a frame (skipped)"] += 1
            continue
        out.append(
            record(
                id=it["id"],
                text=it["text"],
                labels=it["labels"],
                known_labels=it["known"],
                source="issue_framing",
                subset=it["subset"],
                article_id=f"issue_framing:{aid}",
                official=it["official"],
            )
        )
    return out

"""Stance toward named entities, read from target-dependent sentiment sets: NewsMTSC, PerSenT,
FinEntity and Park et al. 2021 (evaluation only). The target is a person or organisation as named
in the text."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

from slant.text_key import norm_key

from ..errors import FormatError
from ..mappings import get_mapping
from ..records import check_columns, clean_text, need_dir, need_file, record
from .text_ids import text_id

TASK = "stance"


# ---------------------------------------------------------------- NewsMTSC
NEWSMTSC_FILES = {
    "train.jsonl": ("train", ""),
    "devtest_rw.jsonl": ("test", "devtest_rw"),
    "devtest_mt.jsonl": ("test", "devtest_mt"),
}


def newsmtsc_article(gid: str) -> str:
    """'allsides_1000_401_25_<target>_0_6' -> 'allsides_1000'; 'polusa_v1_113704059_-1_35_...' -> 'polusa_v1_113704059'."""
    parts = gid.split("_")
    return "_".join(parts[:3]) if parts[0] == "polusa" else "_".join(parts[:2])


def read_newsmtsc(root: Path):
    folder = need_dir(root / "newsmtsc")
    m = get_mapping(TASK, "newsmtsc")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for name, (official, subset) in NEWSMTSC_FILES.items():
        path = need_file(folder / name)
        with path.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if not line.strip():
                    continue
                obj = json.loads(line)
                missing = [k for k in ("primary_gid", "sentence_normalized", "targets") if k not in obj]
                if missing:
                    raise FormatError(
                        path,
                        sorted(obj),
                        ["primary_gid", "sentence_normalized", "targets"],
                        what=f"keys on line {i + 1}",
                    )
                text = clean_text(obj["sentence_normalized"])
                art = "newsmtsc:" + newsmtsc_article(obj["primary_gid"])
                for j, t in enumerate(obj["targets"]):
                    if "mention" not in t or "polarity" not in t:
                        raise FormatError(path, sorted(t), ["mention", "polarity"], what=f"target keys on line {i + 1}")
                    labels, known = m.convert([str(float(t["polarity"]))], path)
                    target = clean_text(t["mention"])
                    if not labels or not target:
                        notes["target dropped (no label or empty mention)"] += 1
                        continue
                    out.append(
                        record(
                            id=f"newsmtsc:{name.split('.')[0]}:{i}:{j}",
                            text=text,
                            target=target,
                            labels=labels,
                            known_labels=known,
                            source="newsmtsc",
                            subset=subset,
                            article_id=art,
                            official=official,
                        )
                    )
    return out, notes


# ---------------------------------------------------------------- PerSenT
PERSENT_FILES = ("dev.csv", "fixed_test.csv")
PERSENT_COLUMNS = ["DOCUMENT_INDEX", "TARGET_ENTITY", "DOCUMENT"] + [f"Paragraph{i}" for i in range(16)]


def read_persent(root: Path):
    folder = need_dir(root / "persent")
    m = get_mapping(TASK, "persent")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for name in PERSENT_FILES:
        path = need_file(folder / name)
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            check_columns(path, reader.fieldnames or [], PERSENT_COLUMNS)
            for row in reader:
                labs = [(row.get(f"Paragraph{i}") or "").strip() for i in range(16)]
                n_lab = sum(1 for x in labs if x)
                paras = [clean_text(p) for p in (row["DOCUMENT"] or "").split("\n")]
                paras = [p for p in paras if p]
                if n_lab == 0:
                    notes["articles without paragraph labels (skipped)"] += 1
                    continue
                if n_lab != len(paras) or any(not x for x in labs[:n_lab]):
                    notes["articles whose paragraph count differs from their labels (skipped)"] += 1
                    continue
                doc = row["DOCUMENT_INDEX"].strip()
                target = clean_text(row["TARGET_ENTITY"])
                for k, (para, raw) in enumerate(zip(paras, labs)):
                    labels, known = m.convert([raw], path)
                    out.append(
                        record(
                            id=f"persent:{doc}:{k}",
                            text=para,
                            target=target,
                            labels=labels,
                            known_labels=known,
                            source="persent",
                            article_id=f"persent:{doc}",
                            paragraph_index=k,
                        )
                    )
    return out, notes


# ---------------------------------------------------------------- FinEntity
def locate_mention(text: str, value: str, start: int) -> tuple[int, int] | None:
    """The span of `value` in text: (start, start+len) if it slices there, else the occurrence nearest to start."""
    if text[start : start + len(value)] == value:
        return start, start + len(value)
    hits = [mt.start() for mt in re.finditer(re.escape(value), text)]
    if not hits:
        return None
    s = min(hits, key=lambda h: abs(h - start))
    return s, s + len(value)


def read_finentity(root: Path):
    """One record per (passage, entity): target = the mention as written; duplicated passages are read once;
    an entity named several times with one label gives one record, with conflicting labels none."""
    folder = need_dir(root / "finentity")
    path = need_file(folder / "FinEntity.json")
    m = get_mapping(TASK, "finentity")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FormatError(path, str(e), "a JSON list of {content, annotations}", what="JSON") from None
    if not isinstance(data, list):
        raise FormatError(path, type(data).__name__, "a JSON list of {content, annotations}", what="top-level value")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    seen: set[str] = set()
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "content" not in item or "annotations" not in item:
            raise FormatError(
                path,
                sorted(item) if isinstance(item, dict) else type(item).__name__,
                ["content", "annotations"],
                what=f"keys of item {i}",
            )
        raw_text = str(item["content"])
        key = text_id(raw_text)
        if key in seen:
            notes["duplicated passages (read once)"] += 1
            continue
        seen.add(key)
        by_entity: dict[str, list] = {}
        for a in item["annotations"]:
            missing = [k for k in ("start", "end", "value", "label") if k not in a]
            if missing:
                raise FormatError(
                    path, sorted(a), ["start", "end", "value", "label"], what=f"annotation keys of item {i}"
                )
            value = str(a["value"])
            span = locate_mention(raw_text, value, int(a["start"]))
            if span is None:
                notes["entity values not found in the passage (skipped)"] += 1
                continue
            if span[0] != int(a["start"]):
                notes["entity offsets that did not slice to the value (re-located by string search)"] += 1
            labels, _ = m.convert([a["label"]], path)
            by_entity.setdefault(norm_key(value), []).append((clean_text(value), labels))
        text = clean_text(raw_text)
        for j, mentions in enumerate(by_entity.values()):
            labs = {tuple(l) for _, l in mentions}
            if len(labs) > 1:
                notes["entities named twice in a passage with different labels (skipped)"] += 1
                continue
            if len(mentions) > 1:
                notes["entities named more than once in a passage with one label (one record)"] += len(mentions) - 1
            target, labels = mentions[0]
            if not labels or not target:
                continue
            out.append(
                record(
                    id=f"finentity:{i}:{j}",
                    text=text,
                    target=target,
                    labels=labels,
                    known_labels=m.known_labels,
                    source="finentity",
                    article_id=f"finentity:{key}",
                )
            )
    return out, notes


# ---------------------------------------------------------------- Park et al. 2021 (directed sentiment)
PARK_DIR = "directed_sentiment_news_park2021"
PARK_FILES = ("train.txt", "valid.txt", "test.txt")
PARK_SUBSET = "target_contrast"
_MARK = re.compile(r"\[([^\[\]]*)\]")
# which entity (1 or 2) each label makes the target of the directed sentiment (label 0: neither)
PARK_TARGETS = {"0": (), "1": (2,), "2": (1,), "3": (2,), "4": (1,)}


def park_unmark(sentence: str, path: Path | str, line: int) -> tuple[str, list[str]]:
    """Remove the two [entity] markers: (clean sentence, [mention 1, mention 2]) in reading order.

    A marker cut inside a word ('[Breitbart New]s') is widened to the whole word; possessive 's is
    kept as written. A mention with no letter or digit (e.g. '[’]') comes back empty."""
    marks = list(_MARK.finditer(sentence))
    if len(marks) != 2:
        raise FormatError(path, f"{len(marks)} [bracketed] mentions on line {line}", "exactly 2", what="entity markers")
    plain, spans, pos = [], [], 0
    for mk in marks:
        plain.append(sentence[pos : mk.start()])
        s = sum(len(p) for p in plain)
        plain.append(mk.group(1))
        spans.append([s, s + len(mk.group(1))])
        pos = mk.end()
    plain.append(sentence[pos:])
    text = "".join(plain)
    mentions = []
    for s, e in spans:
        while s > 0 and text[s - 1].isalnum() and s < e:
            s -= 1
        while e < len(text) and text[e].isalnum() and s < e:
            e += 1
        mention = clean_text(text[s:e]).strip(' ,;:"“”()')
        mentions.append(mention if any(ch.isalnum() for ch in mention) else "")
    return clean_text(text), mentions


def read_park2021(root: Path):
    """Evaluation only (see mappings.json stance/park2021 use_reason): the test split's sentences, one record
    per marked entity: favor / against if some pair of the sentence directs that sentiment at it, else
    neutral (it only holds a sentiment, or is in neutral pairs). So one sentence gives its targets different
    labels ('A blamed B': B against, A neutral)."""
    folder = need_dir(root / PARK_DIR)
    m = get_mapping(TASK, "park2021")
    rows = _park_rows(folder, m)
    notes: Counter[str] = Counter()
    per_sentence = _park_test_sentences(rows, m, notes)
    return _park_records(per_sentence, m, notes), notes


def _park_rows(folder: Path, m) -> list[tuple]:
    """(file name, line number, unmarked sentence, [mention 1, mention 2], label, path) of every row of
    the three files, checked for layout, label and markers."""
    rows = []
    for name in PARK_FILES:
        path = need_file(folder / name)
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            cells = line.split("\t")
            if len(cells) != 4:
                raise FormatError(
                    path,
                    f"{len(cells)} tab-separated fields on line {i}",
                    "4 (sentence, Ent1, Ent2, label)",
                    what="row layout",
                )
            label = cells[3].strip()
            m.labels(label, path)  # UnknownLabel names the file and the expected labels
            text, mentions = park_unmark(cells[0], path, i)
            rows.append((name, i, text, mentions, label, path))
    return rows


def _park_test_sentences(rows: list[tuple], m, notes: Counter) -> dict[str, dict]:
    """The sentences of test.txt by norm_key, each with its marked entities: the labels directed at each
    entity and its roles (target, holder, neutral pair) over every row of the sentence in any file. Rows of
    other sentences are dropped (counted in notes)."""
    test_texts = {norm_key(t) for name, _, t, _, _, _ in rows if name == "test.txt"}
    per_sentence: dict[str, dict] = {}
    for name, i, text, mentions, label, path in rows:
        key = norm_key(text)
        if key not in test_texts:
            notes[
                f"{name} rows whose sentence is not in test.txt (attributed sentiment: evaluation only, dropped)"
            ] += 1
            continue
        if name != "test.txt":
            notes[f"{name} rows whose sentence is also in test.txt (moved to test with it)"] += 1
        sent = per_sentence.setdefault(key, {"text": text, "entities": {}, "first": (name, i)})
        for k in (1, 2):
            mention = mentions[k - 1]
            if not mention:
                notes["marked mentions with no word in them, e.g. '[’]' (no record)"] += 1
                continue
            ent = sent["entities"].setdefault(
                norm_key(mention), {"mention": mention, "directed": set(), "roles": set()}
            )
            if k in PARK_TARGETS[label]:
                ent["directed"].update(m.labels(label, path))
                ent["roles"].add("target")
            else:
                ent["roles"].add("holder" if PARK_TARGETS[label] else "neutral pair")
    return per_sentence


def _park_records(per_sentence: dict[str, dict], m, notes: Counter) -> list[dict]:
    """One test record per entity of each sentence: the label directed at it, else neutral; an entity
    favored in one pair and opposed in another is skipped."""
    neutral = m.labels("0", "mappings.json")
    out = []
    for sent in per_sentence.values():
        name, line = sent["first"]
        sid = f"{name.split('.')[0]}:{line}"
        for j, ent in enumerate(sent["entities"].values()):
            if len(ent["directed"]) > 1:
                notes["entities favored in one pair and opposed in another (skipped)"] += 1
                continue
            if ent["directed"]:
                labels, role = sorted(ent["directed"]), "target"
                notes["records: target of a directed sentiment (favor / against)"] += 1
            else:
                labels = list(neutral)
                role = "holder" if "holder" in ent["roles"] else "neutral"
                notes[
                    "records: holder of a sentiment, not its target (neutral)"
                    if role == "holder"
                    else "records: only in neutral pairs (neutral)"
                ] += 1
            out.append(
                record(
                    id=f"park2021:{sid}:{j}:{role}",
                    text=sent["text"],
                    target=ent["mention"],
                    labels=labels,
                    known_labels=m.known_labels,
                    source="park2021",
                    subset=PARK_SUBSET,
                    article_id=f"park2021:{text_id(sent['text'])}",
                    official="test",
                )
            )
    return out

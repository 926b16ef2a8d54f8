"""Stance readers: NewsMTSC, PerSenT, UKP, IBM claim stance, GWStance, SemEval-2016 (TweetEval)."""
from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path

from ..errors import FormatError
from ..mappings import get_mapping
from ..records import check_columns, clean_text, need_dir, need_file, read_tsv, record

TASK = "stance"


def _single(mapping, raw, path):
    labels, known = mapping.convert([raw], path)
    return labels, known


# ---------------------------------------------------------------- NewsMTSC
NEWSMTSC_FILES = {"train.jsonl": ("train", ""), "devtest_rw.jsonl": ("test", "devtest_rw"),
                  "devtest_mt.jsonl": ("test", "devtest_mt")}


def newsmtsc_article(gid: str) -> str:
    """'allsides_1000_401_25_<target>_0_6' -> 'allsides_1000'; 'polusa_v1_113704059_-1_35_...' -> 'polusa_v1_113704059'."""
    parts = gid.split("_")
    return "_".join(parts[:3]) if parts[0] == "polusa" else "_".join(parts[:2])


def read_newsmtsc(root: Path):
    folder = need_dir(root / "newsmtsc")
    m = get_mapping(TASK, "newsmtsc")
    out, notes = [], Counter()
    for name, (official, subset) in NEWSMTSC_FILES.items():
        path = need_file(folder / name)
        with path.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if not line.strip():
                    continue
                obj = json.loads(line)
                missing = [k for k in ("primary_gid", "sentence_normalized", "targets") if k not in obj]
                if missing:
                    raise FormatError(path, sorted(obj), ["primary_gid", "sentence_normalized", "targets"],
                                      what=f"keys on line {i + 1}")
                text = clean_text(obj["sentence_normalized"])
                art = "newsmtsc:" + newsmtsc_article(obj["primary_gid"])
                for j, t in enumerate(obj["targets"]):
                    if "mention" not in t or "polarity" not in t:
                        raise FormatError(path, sorted(t), ["mention", "polarity"], what=f"target keys on line {i + 1}")
                    labels, known = _single(m, str(float(t["polarity"])), path)
                    target = clean_text(t["mention"])
                    if not labels or not target:
                        notes["target dropped (no label or empty mention)"] += 1
                        continue
                    out.append(record(id=f"newsmtsc:{name.split('.')[0]}:{i}:{j}", text=text, target=target,
                                      labels=labels, known_labels=known, source="newsmtsc", subset=subset,
                                      article_id=art, official=official))
    return out, notes


# ---------------------------------------------------------------- PerSenT
PERSENT_FILES = ("dev.csv", "fixed_test.csv")
PERSENT_COLUMNS = ["DOCUMENT_INDEX", "TARGET_ENTITY", "DOCUMENT"] + [f"Paragraph{i}" for i in range(16)]


def read_persent(root: Path):
    folder = need_dir(root / "persent")
    m = get_mapping(TASK, "persent")
    out, notes = [], Counter()
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
                    labels, known = _single(m, raw, path)
                    out.append(record(id=f"persent:{doc}:{k}", text=para, target=target, labels=labels,
                                      known_labels=known, source="persent", article_id=f"persent:{doc}",
                                      paragraph_index=k))
    return out, notes


# ---------------------------------------------------------------- UKP
UKP_COLUMNS = ["topic", "retrievedUrl", "sentenceHash", "sentence", "annotation", "set"]
UKP_SETS = {"train": "train", "val": "dev", "test": "test"}


def read_ukp(root: Path):
    folder = need_dir(root / "ukp_sentential_argmin")
    m = get_mapping(TASK, "ukp")
    files = sorted(folder.glob("*.tsv"))
    if not files:
        raise FormatError(folder, "no *.tsv files", "one <topic>.tsv per topic", what="folder contents")
    out, notes, seen = [], Counter(), Counter()
    for path in files:
        for row in read_tsv(path, UKP_COLUMNS):
            text = clean_text(row["sentence"])
            if row["set"] not in UKP_SETS:
                raise FormatError(path, row["set"], list(UKP_SETS), what="value in column 'set'")
            labels, known = _single(m, row["annotation"], path)
            if not text:
                notes["empty sentences (skipped)"] += 1
                continue
            url = row["retrievedUrl"].strip()
            rid = f"ukp:{path.stem}:{row['sentenceHash']}"
            seen[rid] += 1
            if seen[rid] > 1:  # the same sentence listed twice (e.g. from two pages): keep ids unique
                rid = f"{rid}:{seen[rid]}"
            out.append(record(id=rid, text=text,
                              target=clean_text(row["topic"]), labels=labels, known_labels=known,
                              source="ukp", article_id=f"ukp:{url}", official=UKP_SETS[row["set"]]))
    return out, notes


# ---------------------------------------------------------------- IBM claim stance
IBM_COLUMNS = ["topicId", "split", "topicText", "claims.claimId", "claims.stance",
               "claims.claimCorrectedText", "claims.article.cleanFile"]


def read_ibm_rows(path: Path) -> list[dict]:
    """The copy was saved through a spreadsheet: every physical line is a ';'-separated row of quoted
    cells (the original text was cut at each ';', padded with empty cells). Re-join the cells with
    ';', then read the result as the original comma-separated file (quoted fields may span lines)."""
    need_file(path)
    raw = path.read_text(encoding="utf-8-sig")
    rebuilt = []
    for line in raw.splitlines():
        cells = next(csv.reader([line], delimiter=";"), [])
        while cells and cells[-1] == "":
            cells.pop()
        rebuilt.append(";".join(cells))
    rows = list(csv.reader(io.StringIO("\n".join(rebuilt))))
    if not rows or "claims.stance" not in rows[0]:  # maybe a plain CSV (not wrapped)
        plain = list(csv.reader(io.StringIO(raw)))
        if plain and "claims.stance" in plain[0]:
            rows = plain
    if not rows:
        raise FormatError(path, "empty file", IBM_COLUMNS, what="content")
    header = rows[0]
    check_columns(path, header, IBM_COLUMNS)
    bad = [i for i, r in enumerate(rows[1:], 2) if r and len(r) != len(header)]
    if bad:
        raise FormatError(path, f"{len(bad)} records with a field count other than {len(header)} (first: record {bad[0]})",
                          f"{len(header)} fields per record", what="record layout")
    return [dict(zip(header, r)) for r in rows[1:] if r]


def ibm_target(topic: str) -> str:
    spec = get_mapping(TASK, "ibm").spec
    t = clean_text(topic)
    for pat, repl in spec.get("target_rewrites", []):
        new = re.sub(pat, repl, t)
        if new != t:
            return new
    return t


def read_ibm(root: Path):
    folder = need_dir(root / "ibm_claim_stance")
    path = folder / "claim_stance_dataset_v1.csv"
    m = get_mapping(TASK, "ibm")
    out, notes = [], Counter()
    for row in read_ibm_rows(path):
        if row["split"] not in ("train", "test"):
            raise FormatError(path, row["split"], ["train", "test"], what="value in column 'split'")
        labels, known = _single(m, row["claims.stance"], path)
        text = clean_text(row["claims.claimCorrectedText"])
        if not text or not labels:
            notes["claims without text or label (skipped)"] += 1
            continue
        art = row["claims.article.cleanFile"].strip() or f"topic{row['topicId']}"
        out.append(record(id=f"ibm:{row['claims.claimId']}", text=text, target=ibm_target(row["topicText"]),
                          labels=labels, known_labels=known, source="ibm", article_id=f"ibm:{art}",
                          official="test" if row["split"] == "test" else None))
    return out, notes


# ---------------------------------------------------------------- GWStance
GW_COLUMNS = ["sentence", "disagree", "agree", "neutral", "guid", "in_held_out_test"]


def read_gwstance(root: Path):
    folder = need_dir(root / "gwstance")
    path = folder / "GWSD.tsv"
    m = get_mapping(TASK, "gwstance")
    target = m.spec["target_text"]
    out, notes = [], Counter()
    for row in read_tsv(path, GW_COLUMNS):
        try:
            probs = {k: float(row[k]) for k in ("disagree", "agree", "neutral")}
        except (TypeError, ValueError):
            notes["screening rows without MACE estimates (the 5 screen sentences, repeated in every batch; skipped)"] += 1
            continue
        raw = max(probs, key=probs.get)
        labels, known = _single(m, raw, path)
        text = clean_text(row["sentence"])
        if not text:
            continue
        held = row["in_held_out_test"].strip()
        if held not in ("True", "False"):
            raise FormatError(path, held, ["True", "False"], what="value in column 'in_held_out_test'")
        guid = row["guid"].strip()
        out.append(record(id=f"gwstance:{guid}", text=text, target=target, labels=labels, known_labels=known,
                          source="gwstance", article_id=f"gwstance:{guid}",
                          subset="held_out" if held == "True" else "",
                          official="test" if held == "True" else None))
    return out, notes


# ---------------------------------------------------------------- SemEval-2016 (TweetEval)
SE16_SPLITS = {"train": "train", "val": "dev", "test": "test"}


def read_semeval2016(root: Path):
    folder = need_dir(root / "semeval2016_stance_tweeteval")
    m = get_mapping(TASK, "semeval2016")
    targets = m.spec["targets"]
    out, notes = [], Counter()
    found_any = False
    for topic, target in targets.items():
        sub = folder / topic
        if not sub.is_dir():
            notes[f"target folder missing: {topic}"] += 1
            continue
        found_any = True
        for split, official in SE16_SPLITS.items():
            tpath, lpath = need_file(sub / f"{split}_text.txt"), need_file(sub / f"{split}_labels.txt")
            texts = tpath.read_text(encoding="utf-8").splitlines()
            labs = lpath.read_text(encoding="utf-8").splitlines()
            if len(texts) != len(labs):
                raise FormatError(lpath, f"{len(labs)} labels", f"{len(texts)} (one per line of {tpath.name})",
                                  what="line count")
            for i, (t, lab) in enumerate(zip(texts, labs)):
                labels, known = _single(m, lab.strip(), lpath)
                text = clean_text(t)
                if not text:
                    continue
                out.append(record(id=f"semeval2016:{topic}:{split}:{i}", text=text, target=target, labels=labels,
                                  known_labels=known, source="semeval2016",
                                  article_id=f"semeval2016:{topic}:{split}:{i}", official=official))
    if not found_any:
        raise FormatError(folder, sorted(p.name for p in folder.iterdir()), list(targets), what="target folders")
    return out, notes

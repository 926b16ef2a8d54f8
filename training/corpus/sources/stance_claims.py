"""Stance toward claims and topics: UKP, IBM claim stance, GWStance, SemEval-2016 (TweetEval),
VAST and Emergent. The target is a debate topic, a motion, a proposition or a claim headline."""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from slant.text_key import norm_key

from ..errors import FormatError
from ..mappings import get_mapping
from ..records import check_columns, clean_text, need_dir, need_file, read_tsv, record
from .text_ids import text_id

TASK = "stance"


# ---------------------------------------------------------------- UKP
UKP_COLUMNS = ["topic", "retrievedUrl", "sentenceHash", "sentence", "annotation", "set"]
UKP_SETS = {"train": "train", "val": "dev", "test": "test"}


def read_ukp(root: Path):
    folder = need_dir(root / "ukp_sentential_argmin")
    m = get_mapping(TASK, "ukp")
    files = sorted(folder.glob("*.tsv"))
    if not files:
        raise FormatError(folder, "no *.tsv files", "one <topic>.tsv per topic", what="folder contents")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    seen: Counter[str] = Counter()  # sentence id -> times listed
    for path in files:
        for row in read_tsv(path, UKP_COLUMNS):
            text = clean_text(row["sentence"])
            if row["set"] not in UKP_SETS:
                raise FormatError(path, row["set"], list(UKP_SETS), what="value in column 'set'")
            labels, known = m.convert([row["annotation"]], path)
            if not text:
                notes["empty sentences (skipped)"] += 1
                continue
            url = row["retrievedUrl"].strip()
            rid = f"ukp:{path.stem}:{row['sentenceHash']}"
            seen[rid] += 1
            if seen[rid] > 1:  # the same sentence listed twice (e.g. from two pages): keep ids unique
                rid = f"{rid}:{seen[rid]}"
            out.append(
                record(
                    id=rid,
                    text=text,
                    target=clean_text(row["topic"]),
                    labels=labels,
                    known_labels=known,
                    source="ukp",
                    article_id=f"ukp:{url}",
                    official=UKP_SETS[row["set"]],
                )
            )
    return out, notes


# ---------------------------------------------------------------- IBM claim stance
IBM_COLUMNS = [
    "topicId",
    "split",
    "topicText",
    "claims.claimId",
    "claims.stance",
    "claims.claimCorrectedText",
    "claims.article.cleanFile",
]


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
        raise FormatError(
            path,
            f"{len(bad)} records with a field count other than {len(header)} (first: record {bad[0]})",
            f"{len(header)} fields per record",
            what="record layout",
        )
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
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for row in read_ibm_rows(path):
        if row["split"] not in ("train", "test"):
            raise FormatError(path, row["split"], ["train", "test"], what="value in column 'split'")
        labels, known = m.convert([row["claims.stance"]], path)
        text = clean_text(row["claims.claimCorrectedText"])
        if not text or not labels:
            notes["claims without text or label (skipped)"] += 1
            continue
        art = row["claims.article.cleanFile"].strip() or f"topic{row['topicId']}"
        out.append(
            record(
                id=f"ibm:{row['claims.claimId']}",
                text=text,
                target=ibm_target(row["topicText"]),
                labels=labels,
                known_labels=known,
                source="ibm",
                article_id=f"ibm:{art}",
                official="test" if row["split"] == "test" else None,
            )
        )
    return out, notes


# ---------------------------------------------------------------- GWStance
GW_COLUMNS = ["sentence", "disagree", "agree", "neutral", "guid", "in_held_out_test"]


def read_gwstance(root: Path):
    folder = need_dir(root / "gwstance")
    path = folder / "GWSD.tsv"
    m = get_mapping(TASK, "gwstance")
    target = m.spec["target_text"]
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for row in read_tsv(path, GW_COLUMNS):
        try:
            probs = {k: float(row[k]) for k in ("disagree", "agree", "neutral")}
        except (TypeError, ValueError):
            notes[
                "screening rows without MACE estimates (the 5 screen sentences, repeated in every batch; skipped)"
            ] += 1
            continue
        raw = max(probs, key=probs.__getitem__)
        labels, known = m.convert([raw], path)
        text = clean_text(row["sentence"])
        if not text:
            continue
        held = row["in_held_out_test"].strip()
        if held not in ("True", "False"):
            raise FormatError(path, held, ["True", "False"], what="value in column 'in_held_out_test'")
        guid = row["guid"].strip()
        out.append(
            record(
                id=f"gwstance:{guid}",
                text=text,
                target=target,
                labels=labels,
                known_labels=known,
                source="gwstance",
                article_id=f"gwstance:{guid}",
                subset="held_out" if held == "True" else "",
                official="test" if held == "True" else None,
            )
        )
    return out, notes


# ---------------------------------------------------------------- SemEval-2016 (TweetEval)
SE16_SPLITS = {"train": "train", "val": "dev", "test": "test"}


def read_semeval2016(root: Path):
    folder = need_dir(root / "semeval2016_stance_tweeteval")
    m = get_mapping(TASK, "semeval2016")
    targets = m.spec["targets"]
    out: list[dict] = []
    notes: Counter[str] = Counter()
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
                raise FormatError(
                    lpath, f"{len(labs)} labels", f"{len(texts)} (one per line of {tpath.name})", what="line count"
                )
            for i, (t, lab) in enumerate(zip(texts, labs)):
                labels, known = m.convert([lab.strip()], lpath)
                text = clean_text(t)
                if not text:
                    continue
                out.append(
                    record(
                        id=f"semeval2016:{topic}:{split}:{i}",
                        text=text,
                        target=target,
                        labels=labels,
                        known_labels=known,
                        source="semeval2016",
                        article_id=f"semeval2016:{topic}:{split}:{i}",
                        official=official,
                    )
                )
    if not found_any:
        raise FormatError(folder, sorted(p.name for p in folder.iterdir()), list(targets), what="target folders")
    return out, notes


def _read_csv(path: Path, required, text=None) -> list[dict]:
    """Rows of a comma-separated file (fields may be long and span lines); `text` reads from a string."""
    csv.field_size_limit(sys.maxsize)
    if text is None:
        need_file(path)
        text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    check_columns(path, reader.fieldnames or [], required)
    return list(reader)


# ---------------------------------------------------------------- VAST
VAST_DIR = "vast_zero_shot_stance"
VAST_TRAIN_COLUMNS = ["post", "new_topic", "label", "type_idx", "new_id", "topic_str"]
VAST_DEVTEST_COLUMNS = ["Tweet", "Target 1", "Stance 1"]
VAST_DEVTEST = {"vast_dev.csv": "dev", "vast_test.csv": "test"}


def read_vast(root: Path):
    """Official splits: vast_train.csv (inside vast_train.zip, the authors' columns) is train; the third-party
    4-column reformat of the official dev/test is dev/test. One post's comment-topic pairs share a group.

    Synthetic neutrals (type_idx 4) pair the comment with another comment's topic: that topic is only in
    topic_str (new_topic still holds the comment's own topic), so the target is topic_str, spelled as the
    other rows spell it where possible. A comment-topic pair listed twice in a split is read once, and
    dropped if its labels disagree."""
    folder = need_dir(root / VAST_DIR)
    m = get_mapping(TASK, "vast")
    notes: Counter[str] = Counter()
    zpath, train = _read_vast_train(folder)
    spelled: dict[str, str] = {}
    for row in train:
        if row["type_idx"].strip() != "4":
            spelled.setdefault(row["topic_str"].strip(), clean_text(row["new_topic"]))
    pairs: dict[tuple[str, str, str], dict] = {}

    def add(split, path, rid, text, target, raw_label, subset):
        text, target = clean_text(text), clean_text(target)
        labels, known = m.convert([raw_label], path)
        if not text or not target:
            notes["pairs without comment or topic text (skipped)"] += 1
            return
        key = (split, norm_key(text), norm_key(target))
        if key in pairs:
            notes[f"{split}: comment-topic pairs listed more than once (read once)"] += 1
            pairs[key]["labels"].add(labels[0])
            return
        pairs[key] = {
            "id": f"vast:{split}:{rid}",
            "text": text,
            "target": target,
            "labels": {labels[0]},
            "known": known,
            "subset": subset,
            "split": split,
        }

    for i, row in enumerate(train):
        if row["type_idx"].strip() == "4":
            notes["train: synthetic neutrals (type_idx 4; target = topic_str; subset synthetic_neutral)"] += 1
            topic = spelled.get(row["topic_str"].strip(), row["topic_str"])
            add("train", zpath, row["new_id"] or i, row["post"], topic, row["label"], "synthetic_neutral")
        else:
            add("train", zpath, row["new_id"] or i, row["post"], row["new_topic"], row["label"], "")
    for name, split in VAST_DEVTEST.items():
        path = folder / "devtest_reformatted_pqh" / name
        for i, row in enumerate(_read_csv(path, VAST_DEVTEST_COLUMNS)):
            add(split, path, i, row["Tweet"], row["Target 1"], row["Stance 1"], "")
    return _vast_records(pairs.values(), notes), notes


def _read_vast_train(folder: Path) -> tuple[Path, list[dict]]:
    """vast_train.csv's rows, read out of vast_train.zip; (the csv's path inside the zip, rows)."""
    zpath = need_file(folder / "vast_train.zip")
    try:
        with zipfile.ZipFile(zpath) as z:
            names = [n for n in z.namelist() if n.endswith("vast_train.csv")]
            if not names:
                raise FormatError(zpath, z.namelist(), ["vast_train.csv"], what="zip members")
            raw = z.read(names[0]).decode("utf-8-sig")
    except zipfile.BadZipFile as e:
        raise FormatError(zpath, str(e), "a zip archive holding vast_train.csv", what="file") from None
    return zpath, _read_csv(zpath / "vast_train.csv", VAST_TRAIN_COLUMNS, raw)


def _vast_records(pairs: Iterable[dict], notes: Counter[str]) -> list[dict]:
    """One record per comment-topic pair whose listings agree on the label."""
    out = []
    for p in pairs:
        if len(p["labels"]) > 1:
            notes[f"{p['split']}: comment-topic pairs listed with different labels (dropped)"] += 1
            continue
        out.append(
            record(
                id=p["id"],
                text=p["text"],
                target=p["target"],
                labels=sorted(p["labels"]),
                known_labels=p["known"],
                source="vast",
                subset=p["subset"],
                article_id=f"vast:{text_id(p['text'])}",
                official=p["split"],
            )
        )
    return out


# ---------------------------------------------------------------- Emergent
EMERGENT_COLUMNS = ["id", "claimHeadline", "articleHeadline", "articleHeadlineStance", "articleId", "claimId"]


def read_emergent(root: Path):
    """Headline x claim; no official split, so the hash split groups by claimId (a claim's headlines are
    near-paraphrases and must stay on one side)."""
    folder = need_dir(root / "emergent_headline_stance")
    path = folder / "url-versions-2015-06-14-clean.csv"
    m = get_mapping(TASK, "emergent")
    out: list[dict] = []
    notes: Counter[str] = Counter()
    for row in _read_csv(path, EMERGENT_COLUMNS):
        labels, known = m.convert([row["articleHeadlineStance"]], path)
        text, target = clean_text(row["articleHeadline"]), clean_text(row["claimHeadline"])
        if not text or not target:
            notes["rows without headline or claim (skipped)"] += 1
            continue
        claim = row["claimId"].strip()
        out.append(
            record(
                id=f"emergent:{row['id'].strip()}",
                text=text,
                target=target,
                labels=labels,
                known_labels=known,
                source="emergent",
                article_id=f"emergent:{row['articleId'].strip()}",
                group=f"emergent:claim:{claim}",
            )
        )
    return out, notes

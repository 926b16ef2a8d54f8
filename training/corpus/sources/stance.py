"""Stance readers: NewsMTSC, PerSenT, UKP, IBM claim stance, GWStance, SemEval-2016 (TweetEval), VAST, Emergent,
FinEntity and Park et al. 2021 (evaluation only)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path

from ..errors import FormatError
from ..mappings import get_mapping
from ..records import check_columns, clean_text, need_dir, need_file, norm_key, read_tsv, record

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


def _text_key(text: str) -> str:
    """A short id of a normalised text (the group key of sources without document ids)."""
    return hashlib.sha1(norm_key(text).encode("utf-8")).hexdigest()[:16]


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
    out, notes = [], Counter()
    zpath = need_file(folder / "vast_train.zip")
    try:
        with zipfile.ZipFile(zpath) as z:
            names = [n for n in z.namelist() if n.endswith("vast_train.csv")]
            if not names:
                raise FormatError(zpath, z.namelist(), ["vast_train.csv"], what="zip members")
            raw = z.read(names[0]).decode("utf-8-sig")
    except zipfile.BadZipFile as e:
        raise FormatError(zpath, str(e), "a zip archive holding vast_train.csv", what="file") from None
    train = _read_csv(zpath / "vast_train.csv", VAST_TRAIN_COLUMNS, raw)
    spelled = {}
    for row in train:
        if row["type_idx"].strip() != "4":
            spelled.setdefault(row["topic_str"].strip(), clean_text(row["new_topic"]))
    pairs: dict[tuple[str, str, str], dict] = {}
    def add(split, path, rid, text, target, raw_label, subset):
        text, target = clean_text(text), clean_text(target)
        labels, known = _single(m, raw_label, path)
        if not text or not target:
            notes["pairs without comment or topic text (skipped)"] += 1
            return
        key = (split, norm_key(text), norm_key(target))
        if key in pairs:
            notes[f"{split}: comment-topic pairs listed more than once (read once)"] += 1
            pairs[key]["labels"].add(labels[0])
            return
        pairs[key] = {"id": f"vast:{split}:{rid}", "text": text, "target": target, "labels": {labels[0]},
                      "known": known, "subset": subset, "split": split}
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
    for p in pairs.values():
        if len(p["labels"]) > 1:
            notes[f"{p['split']}: comment-topic pairs listed with different labels (dropped)"] += 1
            continue
        out.append(record(id=p["id"], text=p["text"], target=p["target"], labels=sorted(p["labels"]),
                          known_labels=p["known"], source="vast", subset=p["subset"],
                          article_id=f"vast:{_text_key(p['text'])}", official=p["split"]))
    return out, notes


# ---------------------------------------------------------------- Emergent
EMERGENT_COLUMNS = ["id", "claimHeadline", "articleHeadline", "articleHeadlineStance", "articleId", "claimId"]


def read_emergent(root: Path):
    """Headline x claim; no official split, so the hash split groups by claimId (a claim's headlines are
    near-paraphrases and must stay on one side)."""
    folder = need_dir(root / "emergent_headline_stance")
    path = folder / "url-versions-2015-06-14-clean.csv"
    m = get_mapping(TASK, "emergent")
    out, notes = [], Counter()
    for row in _read_csv(path, EMERGENT_COLUMNS):
        labels, known = _single(m, row["articleHeadlineStance"], path)
        text, target = clean_text(row["articleHeadline"]), clean_text(row["claimHeadline"])
        if not text or not target:
            notes["rows without headline or claim (skipped)"] += 1
            continue
        claim = row["claimId"].strip()
        out.append(record(id=f"emergent:{row['id'].strip()}", text=text, target=target, labels=labels,
                          known_labels=known, source="emergent", article_id=f"emergent:{row['articleId'].strip()}",
                          group=f"emergent:claim:{claim}"))
    return out, notes


# ---------------------------------------------------------------- FinEntity
def locate_mention(text: str, value: str, start: int) -> tuple[int, int] | None:
    """The span of `value` in text: (start, start+len) if it slices there, else the occurrence nearest to start."""
    if text[start:start + len(value)] == value:
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
    out, notes, seen = [], Counter(), set()
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "content" not in item or "annotations" not in item:
            raise FormatError(path, sorted(item) if isinstance(item, dict) else type(item).__name__,
                              ["content", "annotations"], what=f"keys of item {i}")
        raw_text = str(item["content"])
        key = _text_key(raw_text)
        if key in seen:
            notes["duplicated passages (read once)"] += 1
            continue
        seen.add(key)
        by_entity: dict[str, list] = {}
        for a in item["annotations"]:
            missing = [k for k in ("start", "end", "value", "label") if k not in a]
            if missing:
                raise FormatError(path, sorted(a), ["start", "end", "value", "label"], what=f"annotation keys of item {i}")
            value = str(a["value"])
            span = locate_mention(raw_text, value, int(a["start"]))
            if span is None:
                notes["entity values not found in the passage (skipped)"] += 1
                continue
            if span[0] != int(a["start"]):
                notes["entity offsets that did not slice to the value (re-located by string search)"] += 1
            labels, _ = _single(m, a["label"], path)
            by_entity.setdefault(norm_key(value), []).append((clean_text(value), labels))
        text = clean_text(raw_text)
        for j, (ekey, mentions) in enumerate(by_entity.items()):
            labs = {tuple(l) for _, l in mentions}
            if len(labs) > 1:
                notes["entities named twice in a passage with different labels (skipped)"] += 1
                continue
            if len(mentions) > 1:
                notes["entities named more than once in a passage with one label (one record)"] += len(mentions) - 1
            target, labels = mentions[0]
            if not labels or not target:
                continue
            out.append(record(id=f"finentity:{i}:{j}", text=text, target=target, labels=labels,
                              known_labels=m.known_labels, source="finentity", article_id=f"finentity:{key}"))
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
        plain.append(sentence[pos:mk.start()])
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
        mention = clean_text(text[s:e]).strip(" ,;:\"“”()")
        mentions.append(mention if any(ch.isalnum() for ch in mention) else "")
    return clean_text(text), mentions


def read_park2021(root: Path):
    """Evaluation only (see mappings.json stance/park2021 use_reason): the test split's sentences, one record
    per marked entity: favor / against if some pair of the sentence directs that sentiment at it, else
    neutral (it only holds a sentiment, or is in neutral pairs). So one sentence gives its targets different
    labels ('A blamed B': B against, A neutral)."""
    folder = need_dir(root / PARK_DIR)
    m = get_mapping(TASK, "park2021")
    rows = []
    for name in PARK_FILES:
        path = need_file(folder / name)
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            cells = line.split("\t")
            if len(cells) != 4:
                raise FormatError(path, f"{len(cells)} tab-separated fields on line {i}",
                                  "4 (sentence, Ent1, Ent2, label)", what="row layout")
            label = cells[3].strip()
            m.labels(label, path)  # UnknownLabel names the file and the expected labels
            text, mentions = park_unmark(cells[0], path, i)
            rows.append((name, i, text, mentions, label, path))
    test_texts = {norm_key(t) for name, _, t, _, _, _ in rows if name == "test.txt"}
    notes = Counter()
    per_sentence: dict[str, dict] = {}
    neutral = m.labels("0", "mappings.json")
    for name, i, text, mentions, label, path in rows:
        key = norm_key(text)
        if key not in test_texts:
            notes[f"{name} rows whose sentence is not in test.txt (attributed sentiment: evaluation only, dropped)"] += 1
            continue
        if name != "test.txt":
            notes[f"{name} rows whose sentence is also in test.txt (moved to test with it)"] += 1
        sent = per_sentence.setdefault(key, {"text": text, "entities": {}, "first": (name, i)})
        for k in (1, 2):
            mention = mentions[k - 1]
            if not mention:
                notes["marked mentions with no word in them, e.g. '[’]' (no record)"] += 1
                continue
            ent = sent["entities"].setdefault(norm_key(mention), {"mention": mention, "directed": set(), "roles": set()})
            if k in PARK_TARGETS[label]:
                ent["directed"].update(m.labels(label, path))
                ent["roles"].add("target")
            else:
                ent["roles"].add("holder" if PARK_TARGETS[label] else "neutral pair")
    out = []
    for key, sent in per_sentence.items():
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
                notes["records: holder of a sentiment, not its target (neutral)" if role == "holder"
                      else "records: only in neutral pairs (neutral)"] += 1
            out.append(record(id=f"park2021:{sid}:{j}:{role}", text=sent["text"], target=ent["mention"], labels=labels,
                              known_labels=m.known_labels, source="park2021", subset=PARK_SUBSET,
                              article_id=f"park2021:{_text_key(sent['text'])}", official="test"))
    return out, notes

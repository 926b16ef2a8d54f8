"""The training-corpus layer: readers, mappings, splits, leakage, errors and the built tables.

All raw data here is synthetic and written by conftest.py into tmp_path."""
from __future__ import annotations

import json
from collections import defaultdict

import pytest
from click.testing import CliRunner

from slant.labels import BIAS, FRAMES, STANCE, TECHNIQUES
from training.corpus import COLUMNS, CorpusNotBuilt, load_task
from training.corpus.build import NoDataError, build_corpus
from training.corpus.errors import FormatError, SourceMissing, UnknownLabel
from training.corpus.mappings import get_mapping, load_mappings
from training.corpus.records import clean_text, norm_key
from training.corpus.sources import bias, frames, stance_claims, stance_entities, techniques
from training.corpus.splits import bucket, hash_split, leaking_texts, resolve_leaks

SCHEMAS = {"stance": STANCE, "frames": FRAMES, "techniques": TECHNIQUES, "bias": BIAS}


def by_id(records):
    return {r["id"]: r for r in records}


# ------------------------------------------------------------------ mappings
def test_every_mapping_targets_schema_labels():
    maps = load_mappings()
    assert set(maps) == set(SCHEMAS)
    for task, sources in maps.items():
        for source, m in sources.items():
            for raw, labs in m.map.items():
                assert set(labs) <= set(SCHEMAS[task].labels), (task, source, raw)
                assert raw in m.reasons or "*" in m.reasons, f"{task}/{source}: no reason for {raw!r}"
            assert m.known_labels, (task, source)


def test_semeval2023_techniques_are_identity_and_ptc_merged_classes_are_dropped():
    m = get_mapping("techniques", "semeval2023")
    assert m.known_labels == list(TECHNIQUES.labels)
    p = get_mapping("techniques", "ptc")
    assert p.labels("Black-and-White_Fallacy", "f") == ("False_Dilemma-No_Choice",)
    assert p.labels("Thought-terminating_Cliches", "f") == ("Conversation_Killer",)
    assert p.labels("Whataboutism,Straw_Men,Red_Herring", "f") == ()
    assert "Whataboutism" not in p.known_labels and "Appeal_to_Popularity" not in p.known_labels


def test_ambiguous_label_masks_its_candidates():
    m = get_mapping("frames", "gvfc")
    labels, known = m.convert(["6", "3"], "gvfc.xlsx")
    assert labels == ["political"]
    assert "cultural_identity" not in known and "political" in known
    labels, known = m.convert(["8"], "gvfc.xlsx")
    assert labels == ["cultural_identity"] and "cultural_identity" in known


def test_unknown_label_error_names_file_label_and_expected():
    with pytest.raises(UnknownLabel) as e:
        get_mapping("stance", "ukp").labels("Argument_maybe", "/x/gun_control.tsv")
    msg = str(e.value)
    assert "/x/gun_control.tsv" in msg and "Argument_maybe" in msg and "Argument_for" in msg


def test_single_label_known_labels_follow_the_image():
    assert get_mapping("stance", "ibm").known_labels == ["favor", "against"]
    assert get_mapping("stance", "newsmtsc").known_labels == ["favor", "against", "neutral"]


# ------------------------------------------------------------------ readers
def test_newsmtsc_reader(raw):
    recs, _ = stance_entities.read_newsmtsc(raw.root)
    assert len(recs) == 8
    two = [r for r in recs if r["text"] == "Bob Sample criticised Ann Example."]
    assert {(r["target"], r["labels"][0]) for r in two} == {("Bob Sample", "neutral"), ("Ann Example", "against")}
    assert {r["subset"] for r in recs if r["_official"] == "test"} == {"devtest_rw", "devtest_mt"}
    assert all(r["article_id"].startswith("newsmtsc:allsides_") for r in recs)
    assert stance_entities.newsmtsc_article("polusa_v1_113704059_-1_35_Northam_148_155") == "polusa_v1_113704059"


def test_persent_reader_paragraph_level(raw):
    recs, notes = stance_entities.read_persent(raw.root)
    assert len(recs) == 6
    assert {r["target"] for r in recs} == {"Gina Mock"}
    assert [r["labels"] for r in recs[:2]] == [["favor"], ["against"]]
    assert [r["paragraph_index"] for r in recs[:2]] == [0, 1]
    assert notes["articles whose paragraph count differs from their labels (skipped)"] == 2


def test_ukp_ibm_gwstance_semeval2016_readers(raw):
    ukp, _ = stance_claims.read_ukp(raw.root)
    assert by_id(ukp)["ukp:gun_control:h2"]["labels"] == ["against"]
    assert by_id(ukp)["ukp:gun_control:h2"]["_official"] == "dev"
    assert ukp[0]["target"] == "gun control"
    ibm, _ = stance_claims.read_ibm(raw.root)
    assert [r["target"] for r in ibm] == ["we should ban boxing", "we should ban boxing", "cats"]
    assert ibm[2]["text"] == "Cats need less space, and less time"  # multi-line field survives the unwrapping
    assert ibm[0]["text"] == "Boxing causes injuries; some last for life"  # so does a ';' inside a field
    assert ibm[0]["known_labels"] == ["favor", "against"]
    gw, notes = stance_claims.read_gwstance(raw.root)
    assert [r["labels"][0] for r in gw] == ["favor", "against", "neutral"]
    assert gw[2]["_official"] == "test" and gw[0]["target"] == "climate change is a serious concern"
    assert sum(notes.values()) == 1
    se, _ = stance_claims.read_semeval2016(raw.root)
    assert len(se) == 12
    assert {r["target"] for r in se} == {"Hillary Clinton", "Climate Change is a Real Concern"}
    assert {(r["_official"], r["labels"][0]) for r in se if r["id"].endswith(":0")} == {
        ("train", "favor"), ("dev", "against"), ("test", "neutral")}


def test_semeval2023_techniques_reader(raw):
    recs, _ = techniques.read_semeval2023_techniques(raw.root)
    dev = [r for r in recs if r["_official"] == "test"]
    assert len(dev) == 2 and dev[0]["labels"] == ["Loaded_Language", "Doubt"]  # schema order
    train = [r for r in recs if r["_official"] is None]
    assert [r["paragraph_index"] for r in train[:4]] == [0, 1, 2, 3]
    assert train[1]["labels"] == ["Doubt"] and train[0]["labels"] == []


def test_ptc_reader_maps_lines(raw):
    recs, _ = techniques.read_ptc(raw.root)
    lines = [r for r in recs if "traitors" in r["text"]]
    assert {tuple(r["labels"]) for r in lines} == {("Name_Calling-Labeling",), ("Conversation_Killer",)}
    masked = [r for r in lines if r["labels"] == ["Name_Calling-Labeling"]][0]
    assert "Whataboutism" not in masked["known_labels"]
    other = [r for r in recs if "Monday" in r["text"]]
    assert all(r["labels"] == [] for r in other)
    assert all(r["_group"].startswith("semeval2023:") for r in recs)


def test_frames_readers(raw):
    se, _ = frames.read_semeval2023_frames(raw.root)
    assert all(r["level"] == "article" for r in se)
    assert se[0]["labels"] == ["economic", "legality_constitutionality_jurisprudence"]
    assert "other" not in se[0]["known_labels"]
    assert len({r["article_id"] for r in se}) == 3 and len(se) == 9
    gv, notes = frames.read_gvfc(raw.root)
    assert gv[0]["labels"] == ["policy_prescription_and_evaluation", "political"]
    assert len(gv) == 14 and sum(notes.values()) == 1
    ccf, notes = frames.read_ccf(raw.root)
    assert ccf[0]["labels"] == ["economic", "fairness_and_equality"]
    assert "morality" not in ccf[0]["known_labels"]  # masked by the ambiguous Just frame
    gold = [r for r in ccf if r["subset"] == "gold"]
    assert len(gold) == 1 and gold[0]["labels"] == ["political"] and gold[0]["text"].startswith("Parliament")
    fr, _ = frames.read_frermann(raw.root)
    assert {r["level"] for r in fr} == {"article"} and len({r["article_id"] for r in fr}) == 3
    assert all(len(r["text"].split()) <= 90 for r in fr)
    first = [r for r in fr if r["paragraph_index"] == 0]
    assert [r["labels"] for r in first] == [["economic"], ["economic", "morality"], ["morality"]]
    assert first[0]["known_labels"] == ["economic", "morality"]


def test_bias_readers_spans_and_overlap(raw):
    babe, notes = bias.read_babe(raw.root)
    assert len(babe) == 3 and notes["sentences without annotator agreement (skipped)"] == 1
    r0 = babe[0]
    found = [r0["text"][s:e] for s, e in r0["spans"]]
    assert found == ["radical", "pushed", "Radical"]
    third = babe[2]
    assert [third["text"][s:e] for s, e in third["spans"]] == ["slammed"]
    assert notes["biased words not located in the sentence"] == 1  # 'ludicrous'
    sg1, _ = bias.read_babe_sg1(raw.root)
    assert [r["text"] for r in sg1] == ["An extra sentence only SG1 has."]
    mbic, _ = bias.read_mbic(raw.root)
    assert [r["text"] for r in mbic] == ["A sentence only MBIC has, quite plainly."]


def test_locate_word_boundaries_case_insensitive():
    spans, missing = bias.locate("Cartels and the cart; CART!", ["cart", "truck"])
    assert spans == [[16, 20], [22, 26]] and missing == 1


# ------------------------------------------------------------------ readers of the second batch of sets
def test_vast_reader_official_splits_synthetic_neutrals_and_posts(raw):
    recs, notes = stance_claims.read_vast(raw.root)
    pairs = {(r["_official"], r["target"]): r for r in recs}
    assert pairs[("train", "nuclear power")]["labels"] == ["favor"]
    assert pairs[("train", "coal mining")]["labels"] == ["against"]  # same post, opposite stance
    syn = [r for r in recs if r["subset"] == "synthetic_neutral"]
    assert [(r["target"], r["labels"]) for r in syn] == [("School uniforms", ["neutral"])]  # topic_str, as spelled elsewhere
    assert pairs[("dev", "wind farms")]["labels"] == ["favor"] and pairs[("dev", "gas")]["labels"] == ["against"]
    assert pairs[("test", "zoos")]["labels"] == ["neutral"]
    assert not any(r["target"] == "sugar taxes" for r in recs)  # listed with two labels: dropped
    assert notes["train: comment-topic pairs listed with different labels (dropped)"] == 1
    assert notes["train: comment-topic pairs listed more than once (read once)"] == 2
    post_a = {r["_group"] for r in recs if r["text"].startswith("Nuclear plants")}
    assert len(post_a) == 1  # one post, one group


def test_vast_malformed_files(raw):
    raw.write_vast(raw.root, dev_columns=("Tweet", "Target 1", "Label", "seen?"))
    with pytest.raises(FormatError) as e:
        stance_claims.read_vast(raw.root)
    assert "vast_dev.csv" in str(e.value) and "Stance 1" in str(e.value) and "'Label'" in str(e.value)
    raw.write_vast(raw.root, member="other.csv")
    with pytest.raises(FormatError) as e:
        stance_claims.read_vast(raw.root)
    assert "vast_train.zip" in str(e.value) and "other.csv" in str(e.value)


def test_emergent_reader_groups_by_claim(raw, tmp_path):
    recs, _ = stance_claims.read_emergent(raw.root)
    assert len(recs) == 9
    assert {r["labels"][0] for r in recs if "hoax" in r["text"]} == {"against"}
    assert {r["labels"][0] for r in recs if r["text"].startswith("Reports say")} == {"neutral"}
    assert recs[0]["target"] == "A giant squid number 0 washed up on a beach" and recs[0]["labels"] == ["favor"]
    assert all(r["_group"].startswith("emergent:claim:") for r in recs)
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    st = load_task("stance", res.out)
    where = defaultdict(set)
    for split in ("train", "dev", "test"):
        for row in st[split]:
            if row["source"] == "emergent":
                where[row["target"]].add(split)
    assert len(where) == 3 and all(len(v) == 1 for v in where.values())
    assert {next(iter(v)) for v in where.values()} == {"train", "dev", "test"}
    raw.write_emergent(raw.root, stance="maybe")
    with pytest.raises(UnknownLabel) as e:
        stance_claims.read_emergent(raw.root)
    assert "url-versions-2015-06-14-clean.csv" in str(e.value) and "observing" in str(e.value)
    raw.write_emergent(raw.root, columns=[c if c != "claimId" else "claim" for c in raw.write_emergent.__globals__["EMERGENT_COLS"]])
    with pytest.raises(FormatError) as e:
        stance_claims.read_emergent(raw.root)
    assert "claimId" in str(e.value) and "'claim'" in str(e.value)


def test_finentity_reader_entities_offsets_and_duplicates(raw):
    recs, notes = stance_entities.read_finentity(raw.root)
    got = {(r["target"], r["labels"][0]) for r in recs}
    assert got == {("Acme Corp", "favor"), ("Globex", "against"), ("Initech", "neutral")}
    acme = [r for r in recs if r["target"] in ("Acme Corp", "Globex")]
    assert len({r["article_id"] for r in acme}) == 1 and len(acme) == 2  # one passage, read once
    assert notes["duplicated passages (read once)"] == 1
    assert notes["entity offsets that did not slice to the value (re-located by string search)"] >= 1
    assert notes["entities named more than once in a passage with one label (one record)"] == 1
    assert notes["entities named twice in a passage with different labels (skipped)"] == 1
    assert stance_entities.locate_mention("ab Acme cd Acme", "Acme", 12) == (11, 15)
    raw.write_finentity(raw.root, label="Bullish")
    with pytest.raises(UnknownLabel) as e:
        stance_entities.read_finentity(raw.root)
    assert "FinEntity.json" in str(e.value) and "Bullish" in str(e.value)
    (raw.root / "finentity" / "FinEntity.json").write_text('[{"text": "x"}]')
    with pytest.raises(FormatError) as e:
        stance_entities.read_finentity(raw.root)
    assert "FinEntity.json" in str(e.value) and "content" in str(e.value)


def test_park2021_is_a_test_only_target_contrast_set(raw, tmp_path):
    recs, notes = stance_entities.read_park2021(raw.root)
    assert {r["_official"] for r in recs} == {"test"} and {r["subset"] for r in recs} == {"target_contrast"}
    one = {r["target"]: r["labels"][0] for r in recs if r["text"].startswith("Ann Lee")}
    # Bob Ray is blamed (test row), Cy Dow praised (train row of the same sentence, moved to test);
    # Ann Lee only holds the sentiment: neutral
    assert one == {"Bob Ray": "against", "Cy Dow": "favor", "Ann Lee": "neutral"}
    assert {r["id"].rsplit(":", 1)[1] for r in recs if r["text"].startswith("Ann Lee")} == {"target", "holder"}
    assert {r["text"] for r in recs if r["text"].startswith("Ann Lee")} == {
        "Ann Lee blamed Bob Ray for the delay and praised Cy Dow."}  # markers removed
    neutral = {r["target"]: r["labels"][0] for r in recs if r["text"].startswith("Dee Fox")}
    assert neutral == {"Dee Fox": "neutral", "Eli Gu": "neutral"}  # '[Dee Fo]x' widened to the word
    assert not any("Gus Hal" in r["text"] or "Kim Lo" in r["text"] for r in recs)
    assert notes["train.txt rows whose sentence is not in test.txt (attributed sentiment: evaluation only, dropped)"] == 1
    assert notes["valid.txt rows whose sentence is not in test.txt (attributed sentiment: evaluation only, dropped)"] == 1
    assert notes["train.txt rows whose sentence is also in test.txt (moved to test with it)"] == 1
    assert "[" not in "".join(r["text"] for r in recs)
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert res.counts[("stance", "park2021", "train")] == 0 and res.counts[("stance", "park2021", "dev")] == 0
    st = load_task("stance", res.out)["test"]
    assert {s for s, src in zip(st["subset"], st["source"]) if src == "park2021"} == {"target_contrast"}
    card = (tmp_path / "c" / "park2021.md").read_text()
    assert "evaluation only" in card and "attributed sentiment" in card and "| test | 5 |" in card
    raw.write_park2021(raw.root, test_line="[One] marker only here.\tOne\tTwo\t0")
    with pytest.raises(FormatError) as e:
        stance_entities.read_park2021(raw.root)
    assert "test.txt" in str(e.value) and "exactly 2" in str(e.value)
    raw.write_park2021(raw.root, test_line="[A] and [B].\tA\tB\t7")
    with pytest.raises(UnknownLabel):
        stance_entities.read_park2021(raw.root)


def test_issue_framing_reader_codes_masks_and_splits(raw):
    recs, notes = frames.read_issue_framing(raw.root)
    by_text = {r["text"]: r for r in recs}
    vote = by_text["Proud to vote for the bill today ! #vote"]
    assert vote["labels"] == ["public_opinion", "political"] and vote["subset"] == "tweets"
    assert vote["known_labels"] == list(FRAMES.labels) and vote["level"] == "paragraph"
    assert by_text["Join us at the town hall on Friday !"]["labels"] == ["other"]  # Twitter frame 16
    assert by_text["Our troops keep us safe ."]["labels"] == ["security_and_defense", "other"]
    ruling = by_text["The ruling protects our rights under the law ."]  # in train and dev: kept in dev, labels united
    assert ruling["_official"] == "dev" and ruling["labels"] == ["legality_constitutionality_jurisprudence", "crime_and_punishment"]
    assert notes["tweets: repeated texts (read once, labels united)"] == 2
    forum = [r for r in recs if r["subset"] == "forum"]
    assert {r["_official"] for r in forum} == {"dev", "test"} and len(forum) == 3
    assert forum[0]["known_labels"] == ["economic", "legality_constitutionality_jurisprudence",
                                        "policy_prescription_and_evaluation", "crime_and_punishment", "political"]
    assert by_text["The death penalty is legal but the courts keep stalling it ."]["labels"] == [
        "legality_constitutionality_jurisprudence", "policy_prescription_and_evaluation"]
    assert all(set(r["labels"]) <= set(r["known_labels"]) for r in recs)
    raw.write_issue_framing(raw.root, tweet_code="18")
    with pytest.raises(UnknownLabel) as e:
        frames.read_issue_framing(raw.root)
    assert "splits_80_20_notest.json" in str(e.value) and "'18'" in str(e.value)
    raw.write_issue_framing(raw.root)
    p = raw.root / "issue_framing_tweets_forums" / "dialogue" / "dev_test.json"
    p.write_text('{"dev": {"seq": ["a"], "labels": [["1"]]}}')
    with pytest.raises(FormatError) as e:
        frames.read_issue_framing(raw.root)
    assert "dev_test.json" in str(e.value) and "'labels'" in str(e.value) and "label" in str(e.value)


def test_npov_reader_files_duplicates_and_featured(raw):
    recs, notes = bias.read_npov(raw.root)
    got = {r["text"]: r["labels"] for r in recs}
    assert got == {
        "The brilliant senator heroically saved the failing town.": ["biased"],
        "Critics rightly see the so-called reform as a scam.": ["biased"],
        "The senator proposed a reform of the town budget.": ["neutral"],
        "The game sold four million copies in its first year.": ["neutral"],
    }
    assert all(r["spans"] == [] and r["known_labels"] == ["neutral", "biased"] for r in recs)
    assert notes["statements_neutral_cw-hard: repeated sentences (read once)"] == 1
    assert notes["sentences in both a biased and a neutral file (dropped)"] == 1
    assert sum(n for k, n in notes.items() if k.startswith("statements_neutral_featured: sentences not used")) == 1
    raw.write_npov(raw.root, extra_file="statements_neutral_new")
    with pytest.raises(UnknownLabel) as e:
        bias.read_npov(raw.root)
    assert "statements_neutral_new" in str(e.value) and "statements_biased" in str(e.value)


def test_checkthat_reader_official_splits_and_quoting(raw):
    recs, notes = bias.read_checkthat(raw.root)
    by = {r["id"]: r for r in recs}
    assert by["checkthat:train:t1"]["labels"] == ["biased"] and by["checkthat:train:t2"]["labels"] == ["neutral"]
    assert "checkthat:train:t3" not in by and notes["train_en.tsv: repeated sentences (read once)"] == 1
    assert by["checkthat:train:t4"]["text"] == 'He said the plan was "dead on arrival" on Monday.'
    assert {r["_official"] for r in recs} == {"train", "dev", "test"}
    assert by["checkthat:test:e1"]["_official"] == "test" and by["checkthat:dev:d2"]["_official"] == "dev"
    assert notes["sentences whose annotator conflict was adjudicated (solved_conflict, kept)"] == 1
    raw.write_checkthat(raw.root, columns=("sentence_id", "sentence", "class"))
    with pytest.raises(FormatError) as e:
        bias.read_checkthat(raw.root)
    assert "train_en.tsv" in str(e.value) and "'class'" in str(e.value) and "label" in str(e.value)


def test_new_sources_are_registered_and_carded(raw, tmp_path):
    from training.corpus.sources import SOURCES

    names = {(s.task, s.name) for s in SOURCES}
    new = {("stance", "vast"), ("stance", "emergent"), ("stance", "finentity"), ("stance", "park2021"),
           ("frames", "issue_framing"), ("bias", "npov"), ("bias", "checkthat")}
    assert new <= names
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert res.exit_code == 0 and not res.errors and not res.missing
    for task, source in new:
        assert sum(res.counts[(task, source, sp)] for sp in ("train", "dev", "test")) > 0, source
        card = (tmp_path / "c" / f"{source}.md").read_text()
        assert "License and terms" in card and "| total |" in card
    assert {"vast", "checkthat", "issue_framing"} <= set(
        s for (t, s, sp) in res.counts if sp == "dev")
    assert "Proud to vote" not in (tmp_path / "c" / "issue_framing.md").read_text()


# ------------------------------------------------------------------ splits
def test_hash_split_is_deterministic_and_roughly_80_10_10():
    keys = [f"art:{i}" for i in range(5000)]
    first = [hash_split(k) for k in keys]
    assert first == [hash_split(k) for k in keys]
    share = {s: first.count(s) / len(keys) for s in ("train", "dev", "test")}
    assert 0.77 < share["train"] < 0.83 and 0.08 < share["dev"] < 0.12 and 0.08 < share["test"] < 0.12
    assert hash_split("x", True) in ("train", "dev")
    assert bucket("newsmtsc:allsides_1") == bucket("newsmtsc:allsides_1")


def test_splits_stay_stable_when_data_is_added(raw, tmp_path):
    out1 = build_corpus(raw.root, tmp_path / "b1", cards_dir=tmp_path / "c1", echo=lambda s: None)
    before = {t: {r["id"]: r["split"] for s in ("train", "dev", "test") for r in load_task(t, out1.out)[s]}
              for t in ("stance", "frames")}
    # add data: more PerSenT articles and GVFC headlines
    import csv, io
    p = raw.root / "persent" / "dev.csv"
    rows = list(csv.reader(io.StringIO(p.read_text(encoding="utf-8"))))
    extra = list(rows[1])
    extra[0] = "424242"
    extra[3] = "New paragraph one.\nNew paragraph two."
    rows.append(extra)
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    p.write_text(buf.getvalue(), encoding="utf-8")
    out2 = build_corpus(raw.root, tmp_path / "b2", cards_dir=tmp_path / "c2", echo=lambda s: None)
    for t, ids in before.items():
        after = {r["id"]: r["split"] for s in ("train", "dev", "test") for r in load_task(t, out2.out)[s]}
        assert all(after[i] == sp for i, sp in ids.items() if i in after)
        assert set(ids) <= set(after)
    assert out2.counts[("stance", "persent", hash_split("persent:424242"))] > out1.counts[("stance", "persent", hash_split("persent:424242"))]


def test_official_splits_are_kept(raw, tmp_path):
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    st = load_task("stance", res.out)
    test_ids = set(st["test"]["id"])
    assert {"newsmtsc:devtest_rw:0:0", "newsmtsc:devtest_mt:0:0", "ukp:gun_control:h3", "ibm:3", "gwstance:1_0_s3"} <= test_ids
    assert {"semeval2016:hillary:train:0"} <= set(st["train"]["id"])
    assert {"semeval2016:hillary:val:0"} <= set(st["dev"]["id"])
    tech = load_task("techniques", res.out)
    assert set(tech["test"]["source"]) == {"semeval2023"}
    assert set(tech["test"]["subset"]) == {"official_dev"}
    assert "ptc" not in set(tech["test"]["source"])


def test_no_text_on_two_sides_within_and_across_sources(raw, tmp_path):
    # the same sentence is in GWStance's held-out test and in UKP train (fixture), and a
    # SemEval-2023 dev paragraph is also in train
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    for task in ("stance", "frames", "techniques", "bias"):
        dd = load_task(task, res.out)
        sides = defaultdict(set)
        pair_sides = defaultdict(set)
        for split in ("train", "dev", "test"):
            for row in dd[split]:
                sides[norm_key(row["text"])].add(split)
                pair_sides[(norm_key(row["target"]), norm_key(row["text"]))].add(split)
        assert all(len(v) == 1 for v in sides.values()), task
        assert all(len(v) == 1 for v in pair_sides.values()), task
    st = load_task("stance", res.out)
    shared = "Climate change is a serious concern for all of us."
    assert shared in st["test"]["text"] and shared not in st["train"]["text"]
    assert res.dropped[("stance", "ukp", "train", "text also on a more held-out side")] == 1
    tech = load_task("techniques", res.out)
    dup = "A paragraph that is also in the dev set."
    assert dup in tech["test"]["text"]
    assert dup not in tech["train"]["text"] and dup not in tech["dev"]["text"]


def test_whole_articles_stay_on_one_side(raw, tmp_path):
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    for task in ("stance", "frames", "techniques", "bias"):
        dd = load_task(task, res.out)
        where = defaultdict(set)
        for split in ("train", "dev", "test"):
            for a in dd[split]["article_id"]:
                where[a].add(split)
        assert all(len(v) == 1 for v in where.values()), task
    st = load_task("stance", res.out)
    assert "A train sentence from an article that also has a test sentence." not in st["train"]["text"]
    assert res.dropped[("stance", "newsmtsc", "train", "article also on a more held-out side")] == 1


def test_resolve_leaks_prefers_the_most_held_out_side():
    from training.corpus.records import record

    recs = [record(id=f"r{i}", text=t, labels=["favor"], known_labels=["favor"], source="s", article_id=f"a{i}", split=sp)
            for i, (t, sp) in enumerate([("Same text!", "train"), ("same   TEXT", "test"), ("same text", "dev"), ("other", "train"), ("...", "train")])]
    kept = resolve_leaks(recs)
    assert [r["id"] for r in kept] == ["r1", "r3"]
    assert not leaking_texts(kept)


# ------------------------------------------------------------------ the built tables
def test_output_contract(raw, tmp_path):
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert res.exit_code == 0 and set(res.built) == set(SCHEMAS)
    for task, schema in SCHEMAS.items():
        dd = load_task(task, res.out)
        assert list(dd) == ["train", "dev", "test"]
        ids = [i for split in dd for i in dd[split]["id"]]
        assert len(ids) == len(set(ids)), task
        assert dd["dev"].num_rows > 0, task
        for split, ds in dd.items():
            assert tuple(ds.column_names) == COLUMNS
            for row in ds:
                assert row["split"] == split and row["text"] and row["text"] == clean_text(row["text"])
                assert set(row["labels"]) <= set(schema.labels) and set(row["known_labels"]) <= set(schema.labels)
                assert set(row["labels"]) <= set(row["known_labels"])
                assert row["article_id"].startswith(row["source"] + ":")
                assert row["level"] in ("paragraph", "article")
                if task in ("stance", "bias"):
                    assert len(row["labels"]) == 1
                if task == "stance":
                    assert row["target"]
                else:
                    assert row["target"] == ""
                if task != "bias":
                    assert row["spans"] == []
                for s, e in row["spans"]:
                    assert 0 <= s < e <= len(row["text"])
    cards = {p.name for p in (tmp_path / "c").iterdir()}
    assert {"STATS.md", "babe.md", "semeval2023.md", "newsmtsc.md", "ptc.md"} <= cards
    card = (tmp_path / "c" / "gvfc.md").read_text()
    assert "policy_prescription_and_evaluation" in card and "| train |" in card
    assert "Senators weigh" not in card  # cards carry counts, never rows


# ------------------------------------------------------------------ errors
def test_missing_source_builds_the_rest(raw, tmp_path):
    import shutil

    shutil.rmtree(raw.root / "gvfc")
    msgs = []
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=msgs.append)
    assert res.exit_code == 0
    assert ("frames", "gvfc") in res.missing
    assert any("warning" in m and "gvfc" in m for m in msgs)
    assert load_task("frames", res.out)["train"].num_rows > 0


def test_changed_column_names_file_found_and_expected(raw, tmp_path):
    cols = [c if c != "annotation" else "label" for c in raw.write_ukp.__globals__["UKP_COLS"]]
    raw.write_ukp(raw.root, columns=cols)
    with pytest.raises(FormatError) as e:
        stance_claims.read_ukp(raw.root)
    msg = str(e.value)
    assert "gun_control.tsv" in msg and "'label'" in msg and "annotation" in msg
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert ("stance", "ukp") in res.errors and res.exit_code == 1
    assert "ukp" not in set(load_task("stance", res.out)["train"]["source"])


def test_unknown_label_in_a_file(raw):
    raw.write_ibm(raw.root, stance="MAYBE")
    with pytest.raises(UnknownLabel) as e:
        stance_claims.read_ibm(raw.root)
    assert "claim_stance_dataset_v1.csv" in str(e.value) and "MAYBE" in str(e.value) and "PRO" in str(e.value)
    raw.write_ccf(raw.root, extra_label="Brand New Detection")
    with pytest.raises(UnknownLabel) as e:
        frames.read_ccf(raw.root)
    assert "Annotated_sentences.jsonl" in str(e.value) and "Brand New Detection" in str(e.value)
    raw.write_semeval2023(raw.root, train_techniques="Bandwagon")
    with pytest.raises(UnknownLabel):
        techniques.read_semeval2023_techniques(raw.root)


def test_missing_folder_and_nothing_to_build(tmp_path):
    with pytest.raises(SourceMissing) as e:
        build_corpus(tmp_path / "nowhere", tmp_path / "b", echo=lambda s: None)
    assert "nowhere" in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoDataError) as e:
        build_corpus(tmp_path / "empty", tmp_path / "b", echo=lambda s: None)
    assert "newsmtsc" in str(e.value)


def test_cli_data_build(raw, tmp_path, monkeypatch):
    from slant.cli import main

    monkeypatch.setenv("SLANT_DATA_DIR", str(raw.root))
    r = CliRunner().invoke(main, ["data", "build", "--out", str(tmp_path / "datasets" / "build")])
    assert r.exit_code == 0, r.output
    assert "stance" in r.output and "train" in r.output
    assert (tmp_path / "datasets" / "STATS.md").is_file()
    r = CliRunner().invoke(main, ["data", "build", "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "empty" in r.output


def test_load_task_errors(tmp_path):
    with pytest.raises(CorpusNotBuilt) as e:
        load_task("stance", tmp_path)
    assert "slant data build" in str(e.value)
    with pytest.raises(ValueError):
        load_task("sentiment", tmp_path)


def test_mapping_file_is_valid_json_with_reasons():
    from training.corpus.mappings import MAPPINGS_FILE

    data = json.loads(MAPPINGS_FILE.read_text())
    assert {"stance", "frames", "techniques", "bias"} <= set(data)

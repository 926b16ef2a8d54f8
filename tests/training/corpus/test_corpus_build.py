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
from training.corpus.sources import bias, frames, stance, techniques
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
    recs, _ = stance.read_newsmtsc(raw.root)
    assert len(recs) == 8
    two = [r for r in recs if r["text"] == "Bob Sample criticised Ann Example."]
    assert {(r["target"], r["labels"][0]) for r in two} == {("Bob Sample", "neutral"), ("Ann Example", "against")}
    assert {r["subset"] for r in recs if r["_official"] == "test"} == {"devtest_rw", "devtest_mt"}
    assert all(r["article_id"].startswith("newsmtsc:allsides_") for r in recs)
    assert stance.newsmtsc_article("polusa_v1_113704059_-1_35_Northam_148_155") == "polusa_v1_113704059"


def test_persent_reader_paragraph_level(raw):
    recs, notes = stance.read_persent(raw.root)
    assert len(recs) == 6
    assert {r["target"] for r in recs} == {"Gina Mock"}
    assert [r["labels"] for r in recs[:2]] == [["favor"], ["against"]]
    assert [r["paragraph_index"] for r in recs[:2]] == [0, 1]
    assert notes["articles whose paragraph count differs from their labels (skipped)"] == 2


def test_ukp_ibm_gwstance_semeval2016_readers(raw):
    ukp, _ = stance.read_ukp(raw.root)
    assert by_id(ukp)["ukp:gun_control:h2"]["labels"] == ["against"]
    assert by_id(ukp)["ukp:gun_control:h2"]["_official"] == "dev"
    assert ukp[0]["target"] == "gun control"
    ibm, _ = stance.read_ibm(raw.root)
    assert [r["target"] for r in ibm] == ["we should ban boxing", "we should ban boxing", "cats"]
    assert ibm[2]["text"] == "Cats need less space, and less time"  # multi-line field survives the unwrapping
    assert ibm[0]["text"] == "Boxing causes injuries; some last for life"  # so does a ';' inside a field
    assert ibm[0]["known_labels"] == ["favor", "against"]
    gw, notes = stance.read_gwstance(raw.root)
    assert [r["labels"][0] for r in gw] == ["favor", "against", "neutral"]
    assert gw[2]["_official"] == "test" and gw[0]["target"] == "climate change is a serious concern"
    assert sum(notes.values()) == 1
    se, _ = stance.read_semeval2016(raw.root)
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
        stance.read_ukp(raw.root)
    msg = str(e.value)
    assert "gun_control.tsv" in msg and "'label'" in msg and "annotation" in msg
    res = build_corpus(raw.root, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert ("stance", "ukp") in res.errors and res.exit_code == 1
    assert "ukp" not in set(load_task("stance", res.out)["train"]["source"])


def test_unknown_label_in_a_file(raw):
    raw.write_ibm(raw.root, stance="MAYBE")
    with pytest.raises(UnknownLabel) as e:
        stance.read_ibm(raw.root)
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

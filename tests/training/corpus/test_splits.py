"""Split assignment and leakage: hash splits, official splits, one side per article and per text."""

from __future__ import annotations

from collections import defaultdict

from slant.text_key import norm_key
from training.corpus import load_task
from training.corpus.build import build_corpus
from training.corpus.splits import bucket, hash_split, leaking_texts, resolve_leaks


def test_hash_split_is_deterministic_and_roughly_80_10_10():
    keys = [f"art:{i}" for i in range(5000)]
    first = [hash_split(k) for k in keys]
    assert first == [hash_split(k) for k in keys]
    share = {s: first.count(s) / len(keys) for s in ("train", "dev", "test")}
    assert 0.77 < share["train"] < 0.83 and 0.08 < share["dev"] < 0.12 and 0.08 < share["test"] < 0.12
    assert hash_split("x", True) in ("train", "dev")
    assert bucket("newsmtsc:allsides_1") == bucket("newsmtsc:allsides_1")


def test_splits_stay_stable_when_data_is_added(raw, tmp_path):
    out1 = build_corpus(raw, tmp_path / "b1", cards_dir=tmp_path / "c1", echo=lambda s: None)
    before = {
        t: {r["id"]: r["split"] for s in ("train", "dev", "test") for r in load_task(t, out1.out)[s]}
        for t in ("stance", "frames")
    }
    # add data: more PerSenT articles and GVFC headlines
    import csv
    import io

    p = raw / "persent" / "dev.csv"
    rows = list(csv.reader(io.StringIO(p.read_text(encoding="utf-8"))))
    extra = list(rows[1])
    extra[0] = "424242"
    extra[3] = "New paragraph one.\nNew paragraph two."
    rows.append(extra)
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    p.write_text(buf.getvalue(), encoding="utf-8")
    out2 = build_corpus(raw, tmp_path / "b2", cards_dir=tmp_path / "c2", echo=lambda s: None)
    for t, ids in before.items():
        after = {r["id"]: r["split"] for s in ("train", "dev", "test") for r in load_task(t, out2.out)[s]}
        assert all(after[i] == sp for i, sp in ids.items() if i in after)
        assert set(ids) <= set(after)
    assert (
        out2.counts[("stance", "persent", hash_split("persent:424242"))]
        > out1.counts[("stance", "persent", hash_split("persent:424242"))]
    )


def test_official_splits_are_kept(raw, tmp_path):
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    st = load_task("stance", res.out)
    test_ids = set(st["test"]["id"])
    assert {
        "newsmtsc:devtest_rw:0:0",
        "newsmtsc:devtest_mt:0:0",
        "ukp:gun_control:h3",
        "ibm:3",
        "gwstance:1_0_s3",
    } <= test_ids
    assert {"semeval2016:hillary:train:0"} <= set(st["train"]["id"])
    assert {"semeval2016:hillary:val:0"} <= set(st["dev"]["id"])
    tech = load_task("techniques", res.out)
    assert set(tech["test"]["source"]) == {"semeval2023"}
    assert set(tech["test"]["subset"]) == {"official_dev"}
    assert "ptc" not in set(tech["test"]["source"])


def test_no_text_on_two_sides_within_and_across_sources(raw, tmp_path):
    # the same sentence is in GWStance's held-out test and in UKP train (fixture), and a
    # SemEval-2023 dev paragraph is also in train
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
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
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
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

    recs = [
        record(id=f"r{i}", text=t, labels=["favor"], known_labels=["favor"], source="s", article_id=f"a{i}", split=sp)
        for i, (t, sp) in enumerate(
            [
                ("Same text!", "train"),
                ("same   TEXT", "test"),
                ("same text", "dev"),
                ("other", "train"),
                ("...", "train"),
            ]
        )
    ]
    kept = resolve_leaks(recs)
    assert [r["id"] for r in kept] == ["r1", "r3"]
    assert not leaking_texts(kept)

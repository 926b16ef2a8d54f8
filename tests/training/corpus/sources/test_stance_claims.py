"""Readers of the claim and topic stance sets: UKP, IBM, GWStance, SemEval-2016, VAST, Emergent."""

from __future__ import annotations

from collections import defaultdict

import pytest
from fake_stance_claims import EMERGENT_COLS, write_emergent, write_vast

from training.corpus import load_task
from training.corpus.build import build_corpus
from training.corpus.errors import FormatError, UnknownLabel
from training.corpus.sources import stance_claims


def by_id(records):
    return {r["id"]: r for r in records}


def test_ukp_ibm_gwstance_semeval2016_readers(raw):
    ukp, _ = stance_claims.read_ukp(raw)
    assert by_id(ukp)["ukp:gun_control:h2"]["labels"] == ["against"]
    assert by_id(ukp)["ukp:gun_control:h2"]["_official"] == "dev"
    assert ukp[0]["target"] == "gun control"
    ibm, _ = stance_claims.read_ibm(raw)
    assert [r["target"] for r in ibm] == ["we should ban boxing", "we should ban boxing", "cats"]
    assert ibm[2]["text"] == "Cats need less space, and less time"  # multi-line field survives the unwrapping
    assert ibm[0]["text"] == "Boxing causes injuries; some last for life"  # so does a ';' inside a field
    assert ibm[0]["known_labels"] == ["favor", "against"]
    gw, notes = stance_claims.read_gwstance(raw)
    assert [r["labels"][0] for r in gw] == ["favor", "against", "neutral"]
    assert gw[2]["_official"] == "test" and gw[0]["target"] == "climate change is a serious concern"
    assert sum(notes.values()) == 1
    se, _ = stance_claims.read_semeval2016(raw)
    assert len(se) == 12
    assert {r["target"] for r in se} == {"Hillary Clinton", "Climate Change is a Real Concern"}
    assert {(r["_official"], r["labels"][0]) for r in se if r["id"].endswith(":0")} == {
        ("train", "favor"),
        ("dev", "against"),
        ("test", "neutral"),
    }


def test_vast_reader_official_splits_synthetic_neutrals_and_posts(raw):
    recs, notes = stance_claims.read_vast(raw)
    pairs = {(r["_official"], r["target"]): r for r in recs}
    assert pairs[("train", "nuclear power")]["labels"] == ["favor"]
    assert pairs[("train", "coal mining")]["labels"] == ["against"]  # same post, opposite stance
    syn = [r for r in recs if r["subset"] == "synthetic_neutral"]
    assert [(r["target"], r["labels"]) for r in syn] == [
        ("School uniforms", ["neutral"])
    ]  # topic_str, as spelled elsewhere
    assert pairs[("dev", "wind farms")]["labels"] == ["favor"] and pairs[("dev", "gas")]["labels"] == ["against"]
    assert pairs[("test", "zoos")]["labels"] == ["neutral"]
    assert not any(r["target"] == "sugar taxes" for r in recs)  # listed with two labels: dropped
    assert notes["train: comment-topic pairs listed with different labels (dropped)"] == 1
    assert notes["train: comment-topic pairs listed more than once (read once)"] == 2
    post_a = {r["_group"] for r in recs if r["text"].startswith("Nuclear plants")}
    assert len(post_a) == 1  # one post, one group


def test_vast_malformed_files(raw):
    write_vast(raw, dev_columns=("Tweet", "Target 1", "Label", "seen?"))
    with pytest.raises(FormatError) as e:
        stance_claims.read_vast(raw)
    assert "vast_dev.csv" in str(e.value) and "Stance 1" in str(e.value) and "'Label'" in str(e.value)
    write_vast(raw, member="other.csv")
    with pytest.raises(FormatError) as e:
        stance_claims.read_vast(raw)
    assert "vast_train.zip" in str(e.value) and "other.csv" in str(e.value)


def test_emergent_reader_groups_by_claim(raw, tmp_path):
    recs, _ = stance_claims.read_emergent(raw)
    assert len(recs) == 9
    assert {r["labels"][0] for r in recs if "hoax" in r["text"]} == {"against"}
    assert {r["labels"][0] for r in recs if r["text"].startswith("Reports say")} == {"neutral"}
    assert recs[0]["target"] == "A giant squid number 0 washed up on a beach" and recs[0]["labels"] == ["favor"]
    assert all(r["_group"].startswith("emergent:claim:") for r in recs)
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    st = load_task("stance", res.out)
    where = defaultdict(set)
    for split in ("train", "dev", "test"):
        for row in st[split]:
            if row["source"] == "emergent":
                where[row["target"]].add(split)
    assert len(where) == 3 and all(len(v) == 1 for v in where.values())
    assert {next(iter(v)) for v in where.values()} == {"train", "dev", "test"}
    write_emergent(raw, stance="maybe")
    with pytest.raises(UnknownLabel) as e:
        stance_claims.read_emergent(raw)
    assert "url-versions-2015-06-14-clean.csv" in str(e.value) and "observing" in str(e.value)
    write_emergent(raw, columns=[c if c != "claimId" else "claim" for c in EMERGENT_COLS])
    with pytest.raises(FormatError) as e:
        stance_claims.read_emergent(raw)
    assert "claimId" in str(e.value) and "'claim'" in str(e.value)

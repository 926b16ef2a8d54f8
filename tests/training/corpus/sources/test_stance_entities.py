"""Readers of the entity-targeted stance sets: NewsMTSC, PerSenT, FinEntity, Park et al. 2021."""

from __future__ import annotations

import pytest
from fake_stance_entities import write_finentity

from training.corpus import load_task
from training.corpus.build import build_corpus
from training.corpus.errors import FormatError, UnknownLabel
from training.corpus.sources import stance_entities


def test_newsmtsc_reader(raw):
    recs, _ = stance_entities.read_newsmtsc(raw)
    assert len(recs) == 8
    two = [r for r in recs if r["text"] == "Bob Sample criticised Ann Example."]
    assert {(r["target"], r["labels"][0]) for r in two} == {("Bob Sample", "neutral"), ("Ann Example", "against")}
    assert {r["subset"] for r in recs if r["_official"] == "test"} == {"devtest_rw", "devtest_mt"}
    assert all(r["article_id"].startswith("newsmtsc:allsides_") for r in recs)
    assert stance_entities.newsmtsc_article("polusa_v1_113704059_-1_35_Northam_148_155") == "polusa_v1_113704059"


def test_persent_reader_paragraph_level(raw):
    recs, notes = stance_entities.read_persent(raw)
    assert len(recs) == 6
    assert {r["target"] for r in recs} == {"Gina Mock"}
    assert [r["labels"] for r in recs[:2]] == [["favor"], ["against"]]
    assert [r["paragraph_index"] for r in recs[:2]] == [0, 1]
    assert notes["articles whose paragraph count differs from their labels (skipped)"] == 2


def test_finentity_reader_entities_offsets_and_duplicates(raw):
    recs, notes = stance_entities.read_finentity(raw)
    got = {(r["target"], r["labels"][0]) for r in recs}
    assert got == {("Acme Corp", "favor"), ("Globex", "against"), ("Initech", "neutral")}
    acme = [r for r in recs if r["target"] in ("Acme Corp", "Globex")]
    assert len({r["article_id"] for r in acme}) == 1 and len(acme) == 2  # one passage, read once
    assert notes["duplicated passages (read once)"] == 1
    assert notes["entity offsets that did not slice to the value (re-located by string search)"] >= 1
    assert notes["entities named more than once in a passage with one label (one record)"] == 1
    assert notes["entities named twice in a passage with different labels (skipped)"] == 1
    assert stance_entities.locate_mention("ab Acme cd Acme", "Acme", 12) == (11, 15)
    write_finentity(raw, label="Bullish")
    with pytest.raises(UnknownLabel) as e:
        stance_entities.read_finentity(raw)
    assert "FinEntity.json" in str(e.value) and "Bullish" in str(e.value)
    (raw / "finentity" / "FinEntity.json").write_text('[{"text": "x"}]')
    with pytest.raises(FormatError) as e:
        stance_entities.read_finentity(raw)
    assert "FinEntity.json" in str(e.value) and "content" in str(e.value)


def test_park2021_is_a_test_only_target_contrast_set(raw, tmp_path):
    recs, notes = stance_entities.read_park2021(raw)
    assert {r["_official"] for r in recs} == {"test"} and {r["subset"] for r in recs} == {"target_contrast"}
    one = {r["target"]: r["labels"][0] for r in recs if r["text"].startswith("Ann Lee")}
    # Bob Ray is blamed (test row), Cy Dow praised (train row of the same sentence, moved to test);
    # Ann Lee only holds the sentiment: neutral
    assert one == {"Bob Ray": "against", "Cy Dow": "favor", "Ann Lee": "neutral"}
    assert {r["id"].rsplit(":", 1)[1] for r in recs if r["text"].startswith("Ann Lee")} == {"target", "holder"}
    assert {r["text"] for r in recs if r["text"].startswith("Ann Lee")} == {
        "Ann Lee blamed Bob Ray for the delay and praised Cy Dow."
    }  # markers removed
    neutral = {r["target"]: r["labels"][0] for r in recs if r["text"].startswith("Dee Fox")}
    assert neutral == {"Dee Fox": "neutral", "Eli Gu": "neutral"}  # '[Dee Fo]x' widened to the word
    assert not any("Gus Hal" in r["text"] or "Kim Lo" in r["text"] for r in recs)
    assert (
        notes["train.txt rows whose sentence is not in test.txt (attributed sentiment: evaluation only, dropped)"] == 1
    )
    assert (
        notes["valid.txt rows whose sentence is not in test.txt (attributed sentiment: evaluation only, dropped)"] == 1
    )
    assert notes["train.txt rows whose sentence is also in test.txt (moved to test with it)"] == 1
    assert "[" not in "".join(r["text"] for r in recs)
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert res.counts[("stance", "park2021", "train")] == 0 and res.counts[("stance", "park2021", "dev")] == 0
    st = load_task("stance", res.out)["test"]
    assert {s for s, src in zip(st["subset"], st["source"]) if src == "park2021"} == {"target_contrast"}
    card = (tmp_path / "c" / "park2021.md").read_text()
    assert "evaluation only" in card and "attributed sentiment" in card and "| test | 5 |" in card

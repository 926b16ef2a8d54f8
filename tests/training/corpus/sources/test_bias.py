"""Readers of the bias sets: BABE (SG2, SG1, MBIC), NPOV statements, CheckThat! subjectivity."""

from __future__ import annotations

import pytest
from fake_bias import write_checkthat, write_npov

from training.corpus.errors import FormatError, UnknownLabel
from training.corpus.sources import bias


def test_bias_readers_spans_and_overlap(raw):
    babe, notes = bias.read_babe(raw)
    assert len(babe) == 3 and notes["sentences without annotator agreement (skipped)"] == 1
    r0 = babe[0]
    found = [r0["text"][s:e] for s, e in r0["spans"]]
    assert found == ["radical", "pushed", "Radical"]
    third = babe[2]
    assert [third["text"][s:e] for s, e in third["spans"]] == ["slammed"]
    assert notes["biased words not located in the sentence"] == 1  # 'ludicrous'
    sg1, _ = bias.read_babe_sg1(raw)
    assert [r["text"] for r in sg1] == ["An extra sentence only SG1 has."]
    mbic, _ = bias.read_mbic(raw)
    assert [r["text"] for r in mbic] == ["A sentence only MBIC has, quite plainly."]


def test_locate_word_boundaries_case_insensitive():
    spans, missing = bias.locate("Cartels and the cart; CART!", ["cart", "truck"])
    assert spans == [[16, 20], [22, 26]] and missing == 1


def test_npov_reader_files_duplicates_and_featured(raw):
    recs, notes = bias.read_npov(raw)
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
    write_npov(raw, extra_file="statements_neutral_new")
    with pytest.raises(UnknownLabel) as e:
        bias.read_npov(raw)
    assert "statements_neutral_new" in str(e.value) and "statements_biased" in str(e.value)


def test_checkthat_reader_official_splits_and_quoting(raw):
    recs, notes = bias.read_checkthat(raw)
    by = {r["id"]: r for r in recs}
    assert by["checkthat:train:t1"]["labels"] == ["biased"] and by["checkthat:train:t2"]["labels"] == ["neutral"]
    assert "checkthat:train:t3" not in by and notes["train_en.tsv: repeated sentences (read once)"] == 1
    assert by["checkthat:train:t4"]["text"] == 'He said the plan was "dead on arrival" on Monday.'
    assert {r["_official"] for r in recs} == {"train", "dev", "test"}
    assert by["checkthat:test:e1"]["_official"] == "test" and by["checkthat:dev:d2"]["_official"] == "dev"
    assert notes["sentences whose annotator conflict was adjudicated (solved_conflict, kept)"] == 1
    write_checkthat(raw, columns=("sentence_id", "sentence", "class"))
    with pytest.raises(FormatError) as e:
        bias.read_checkthat(raw)
    assert "train_en.tsv" in str(e.value) and "'class'" in str(e.value) and "label" in str(e.value)

"""Readers of the frame sets: SemEval-2023 subtask 2, GVFC, CCF, Frermann, issue framing."""

from __future__ import annotations

import pytest
from fake_frames import write_issue_framing

from slant.labels import FRAMES
from training.corpus.errors import FormatError, UnknownLabel
from training.corpus.sources import frames


def test_frames_readers(raw):
    se, _ = frames.read_semeval2023_frames(raw)
    assert all(r["level"] == "article" for r in se)
    assert se[0]["labels"] == ["economic", "legality_constitutionality_jurisprudence"]
    assert "other" not in se[0]["known_labels"]
    assert len({r["article_id"] for r in se}) == 3 and len(se) == 9
    gv, notes = frames.read_gvfc(raw)
    assert gv[0]["labels"] == ["policy_prescription_and_evaluation", "political"]
    assert len(gv) == 14 and sum(notes.values()) == 1
    ccf, notes = frames.read_ccf(raw)
    assert ccf[0]["labels"] == ["economic", "fairness_and_equality"]
    assert "morality" not in ccf[0]["known_labels"]  # masked by the ambiguous Just frame
    gold = [r for r in ccf if r["subset"] == "gold"]
    assert len(gold) == 1 and gold[0]["labels"] == ["political"] and gold[0]["text"].startswith("Parliament")
    fr, _ = frames.read_frermann(raw)
    assert {r["level"] for r in fr} == {"article"} and len({r["article_id"] for r in fr}) == 3
    assert all(len(r["text"].split()) <= 90 for r in fr)
    first = [r for r in fr if r["paragraph_index"] == 0]
    assert [r["labels"] for r in first] == [["economic"], ["economic", "morality"], ["morality"]]
    assert first[0]["known_labels"] == ["economic", "morality"]


def test_issue_framing_reader_codes_masks_and_splits(raw):
    recs, notes = frames.read_issue_framing(raw)
    by_text = {r["text"]: r for r in recs}
    vote = by_text["Proud to vote for the bill today ! #vote"]
    assert vote["labels"] == ["public_opinion", "political"] and vote["subset"] == "tweets"
    assert vote["known_labels"] == list(FRAMES.labels) and vote["level"] == "paragraph"
    assert by_text["Join us at the town hall on Friday !"]["labels"] == ["other"]  # Twitter frame 16
    assert by_text["Our troops keep us safe ."]["labels"] == ["security_and_defense", "other"]
    ruling = by_text["The ruling protects our rights under the law ."]  # in train and dev: kept in dev, labels united
    assert ruling["_official"] == "dev" and ruling["labels"] == [
        "legality_constitutionality_jurisprudence",
        "crime_and_punishment",
    ]
    assert notes["tweets: repeated texts (read once, labels united)"] == 2
    forum = [r for r in recs if r["subset"] == "forum"]
    assert {r["_official"] for r in forum} == {"dev", "test"} and len(forum) == 3
    assert forum[0]["known_labels"] == [
        "economic",
        "legality_constitutionality_jurisprudence",
        "policy_prescription_and_evaluation",
        "crime_and_punishment",
        "political",
    ]
    assert by_text["The death penalty is legal but the courts keep stalling it ."]["labels"] == [
        "legality_constitutionality_jurisprudence",
        "policy_prescription_and_evaluation",
    ]
    assert all(set(r["labels"]) <= set(r["known_labels"]) for r in recs)
    write_issue_framing(raw, tweet_code="18")
    with pytest.raises(UnknownLabel) as e:
        frames.read_issue_framing(raw)
    assert "splits_80_20_notest.json" in str(e.value) and "'18'" in str(e.value)
    write_issue_framing(raw)
    p = raw / "issue_framing_tweets_forums" / "dialogue" / "dev_test.json"
    p.write_text('{"dev": {"seq": ["a"], "labels": [["1"]]}}')
    with pytest.raises(FormatError) as e:
        frames.read_issue_framing(raw)
    assert "dev_test.json" in str(e.value) and "'labels'" in str(e.value) and "label" in str(e.value)

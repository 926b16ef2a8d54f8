"""Readers of the persuasion technique sets: SemEval-2023 Task 3 and PTC."""

from __future__ import annotations

from training.corpus.sources import techniques


def test_semeval2023_techniques_reader(raw):
    recs, _ = techniques.read_semeval2023_techniques(raw)
    dev = [r for r in recs if r["_official"] == "test"]
    assert len(dev) == 2 and dev[0]["labels"] == ["Loaded_Language", "Doubt"]  # schema order
    train = [r for r in recs if r["_official"] is None]
    assert [r["paragraph_index"] for r in train[:4]] == [0, 1, 2, 3]
    assert train[1]["labels"] == ["Doubt"] and train[0]["labels"] == []


def test_ptc_reader_maps_lines(raw):
    recs, _ = techniques.read_ptc(raw)
    lines = [r for r in recs if "traitors" in r["text"]]
    assert {tuple(r["labels"]) for r in lines} == {("Name_Calling-Labeling",), ("Conversation_Killer",)}
    masked = [r for r in lines if r["labels"] == ["Name_Calling-Labeling"]][0]
    assert "Whataboutism" not in masked["known_labels"]
    other = [r for r in recs if "Monday" in r["text"]]
    assert all(r["labels"] == [] for r in other)
    assert all(r["_group"].startswith("semeval2023:") for r in recs)

"""The data cards and STATS.md the build writes: facts, mappings and counts, never rows."""

from __future__ import annotations

from training.corpus.build import build_corpus


def test_cards_carry_mappings_and_counts_never_rows(raw, tmp_path):
    build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    cards = {p.name for p in (tmp_path / "c").iterdir()}
    assert {"STATS.md", "babe.md", "semeval2023.md", "newsmtsc.md", "ptc.md"} <= cards
    card = (tmp_path / "c" / "gvfc.md").read_text()
    assert "policy_prescription_and_evaluation" in card and "| train |" in card
    assert "Senators weigh" not in card  # cards carry counts, never rows

"""Sentences: over-long paragraphs split at sentence ends, then at whitespace, never losing text."""

from __future__ import annotations

from intake_checks import check_offsets, wall_of_text

from slant.intake import Limits, from_paragraphs, from_text


def test_wall_of_text_split_at_sentences():
    text, sentences = wall_of_text(10_000)
    assert len(text) >= 10_000
    a = from_text(text)
    check_offsets(a)
    assert len(a.paragraphs) >= 5
    assert all(len(p.text) <= 2_000 for p in a.paragraphs)
    joined = " ".join(p.text for p in a.paragraphs)
    assert joined == text  # nothing lost, nothing reordered
    for s in sentences:
        assert any(s in p.text for p in a.paragraphs), s  # no sentence cut in half
    # "Dr. Smith" / "U.S. embassy" are not sentence ends
    for p in a.paragraphs:
        assert not p.text.startswith(("Smith", "S. embassy", "embassy", "Jones"))


def test_long_sentence_split_at_whitespace():
    words = [f"word{i:03d}" for i in range(600)]  # one 4,799-char sentence
    text = " ".join(words) + "."
    a = from_text(text, limits=Limits(max_paragraph_chars=1000))
    check_offsets(a)
    assert len(a.paragraphs) == 5
    assert all(len(p.text) <= 1000 for p in a.paragraphs)
    assert " ".join(p.text for p in a.paragraphs) == text


def test_token_longer_than_limit_is_cut_not_dropped():
    text = "x" * 2500
    a = from_text(text, limits=Limits(max_paragraph_chars=1000))
    check_offsets(a)
    assert "".join(p.text for p in a.paragraphs) == text


def test_from_paragraphs_splits_long_ones():
    text, _ = wall_of_text(5_000)
    a = from_paragraphs(["Short intro.", text])
    check_offsets(a)
    assert a.paragraphs[0].text == "Short intro."
    assert len(a.paragraphs) >= 4
    assert " ".join(p.text for p in a.paragraphs[1:]) == text

"""Lines and blocks: blank lines separate paragraphs; a text without any splits at every line."""

from __future__ import annotations

from intake_checks import check_offsets

from slant.intake import from_text


def test_no_blank_lines_splits_on_single_newlines():
    text = "First paragraph here.\nSecond paragraph here.\r\nThird one.\n"
    a = from_text(text)
    check_offsets(a)
    assert [p.text for p in a.paragraphs] == ["First paragraph here.", "Second paragraph here.", "Third one."]


def test_blank_lines_keep_single_newlines_inside_paragraphs():
    text = "  Line one of the first paragraph\nline two of it.\n\n\n   Second paragraph.  \n"
    a = from_text(text)
    check_offsets(a)
    assert [p.text for p in a.paragraphs] == [
        "Line one of the first paragraph\nline two of it.",
        "Second paragraph.",
    ]

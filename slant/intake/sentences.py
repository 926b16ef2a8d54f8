"""Sentences: where a text's sentences start and end, and an over-long paragraph cut into pieces
that fit a limit (at sentence ends where it can, at whitespace where one sentence is too long).

Every function works on offsets into the caller's text, so what it returns can be sliced from it.
"""

from __future__ import annotations

import re
from itertools import pairwise

# Month abbreviations: no sentence end after "Jan." here, and date words in furniture.py.
MONTH_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec")

# Words whose trailing "." is not a sentence end ("Mr. Smith", "the U.S. embassy").
ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "u.n",
        "no",
        "gov",
        "sen",
        "rep",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "maj",
        *MONTH_ABBREVIATIONS,
        "inc",
        "ltd",
        "co",
        "corp",
        "mt",
        "ft",
        "approx",
        "dept",
        "fig",
        "vol",
        "pres",
        "rev",
        "hon",
        "est",
    }
)
# End punctuation and any closing quotes/brackets, before whitespace and a capital or digit
# (optionally behind an opening quote/bracket).
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE_DOT = re.compile(r"([\w.]+)\.$")


def _is_abbreviation(seg: str, boundary: re.Match) -> bool:
    """Whether the "." that starts ``boundary`` ends an abbreviation or an initial ("J.")."""
    if not boundary.group().startswith("."):
        return False
    word = _WORD_BEFORE_DOT.search(seg[max(0, boundary.start() - 12) : boundary.start() + 1])
    if not word:
        return False
    w = word.group(1).lower()
    return w in ABBREVIATIONS or re.fullmatch(r"[a-z]", w) is not None


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split text[start:end] into stripped sentence spans (absolute offsets)."""
    seg = text[start:end]
    cuts = [0]
    cuts.extend(m.end() for m in _BOUNDARY.finditer(seg) if not _is_abbreviation(seg, m))
    cuts.append(len(seg))
    spans = []
    for a, b in pairwise(cuts):
        piece = seg[a:b]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + a + lead, start + a + len(piece.rstrip())))
    return spans


def _split_words(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Split one over-long sentence at whitespace (hard cut only if a single token is too long)."""
    out = []
    cur = start
    while end - cur > limit:
        window = text[cur : cur + limit + 1]
        ws = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        cut = cur + ws if ws > 0 else cur + limit
        piece_end = cut
        while piece_end > cur and text[piece_end - 1].isspace():
            piece_end -= 1
        out.append((cur, piece_end))
        cur = cut
        while cur < end and text[cur].isspace():
            cur += 1
    if cur < end:
        out.append((cur, end))
    return out


def split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """text[start:end] as spans of at most ``limit`` characters: whole sentences packed together,
    a sentence longer than the limit cut at whitespace."""
    if end - start <= limit:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    for s, e in sentence_spans(text, start, end):
        pieces.extend(_split_words(text, s, e, limit) if e - s > limit else [(s, e)])
    out: list[tuple[int, int]] = []
    cs, ce = pieces[0]
    for s, e in pieces[1:]:
        if e - cs <= limit:
            ce = e
        else:
            out.append((cs, ce))
            cs, ce = s, e
    out.append((cs, ce))
    return out

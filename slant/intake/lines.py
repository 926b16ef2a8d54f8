"""A text as lines: where each line and paragraph block is, and kept lines back into paragraphs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Line:
    start: int  # offsets of the stripped content in the source text
    end: int
    text: str
    block: int  # lines of one block may share a paragraph; other lines never do
    kind: str = "text"  # text | furniture | social | quote
    post: int = 0  # social lines: the quoted post they belong to (numbered from 1)


def read_lines(text: str) -> tuple[list[Line], bool]:
    """The stripped non-empty lines of ``text``, and whether it is in line mode.

    Blank lines separate blocks. A text without a blank line between two lines is in line mode:
    every line is a block (a paragraph) of its own.
    """
    lines: list[Line] = []
    pos = 0
    block = 0
    after_blank = True
    blank_inside = False  # a blank line between two lines of text
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            if after_blank:
                blank_inside = blank_inside or bool(lines)
                block += 1
            start = pos + len(raw) - len(raw.lstrip())
            lines.append(Line(start, start + len(stripped), stripped, block))
            after_blank = False
        else:
            after_blank = True
        pos += len(raw) + 1
    line_mode = not blank_inside
    if line_mode:
        for i, ln in enumerate(lines):
            ln.block = i + 1
    return lines, line_mode


def paragraph_spans(lines: list[Line]) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: a run of consecutive kept lines of one block, one kind and
    one post. Furniture lines are dropped and end the paragraph they interrupt."""
    spans: list[tuple[int, int]] = []
    prev: Line | None = None  # the last line of the paragraph being read
    for ln in lines:
        if ln.kind == "furniture":
            prev = None
        elif prev is not None and (prev.block, prev.kind, prev.post) == (ln.block, ln.kind, ln.post):
            spans[-1] = (spans[-1][0], ln.end)
            prev = ln
        else:
            spans.append((ln.start, ln.end))
            prev = ln
    return spans

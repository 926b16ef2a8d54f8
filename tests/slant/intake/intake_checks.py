"""Helpers the intake tests share: the sample files, the offset invariants, a long test text."""

from __future__ import annotations

from pathlib import Path

from slant.intake import Article

SAMPLES = Path(__file__).parents[1] / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def check_offsets(a: Article) -> None:
    assert a.paragraphs, "no paragraphs"
    prev_end = -1
    for i, p in enumerate(a.paragraphs):
        assert p.index == i
        assert a.text[p.start : p.end] == p.text
        assert p.text == p.text.strip() and p.text
        assert p.start >= prev_end  # in order, not overlapping
        prev_end = p.end


def all_text(a: Article) -> str:
    return "\n".join(p.text for p in a.paragraphs)


SUBJECTS = [
    "The mayor",
    "Dr. Smith",
    "The council",
    "A spokesman for the U.S. embassy",
    "Residents",
    "The regional government",
    "Opposition parties",
    "Mr. Jones",
]
VERBS = ["said", "argued", "warned", "claimed", "insisted", "noted"]
OBJECTS = [
    "the plan was too expensive",
    "the river would flood again",
    "taxes must rise",
    "the bridge was unsafe",
    "talks would resume next week",
    "the vote was unfair",
]


def wall_of_text(n_chars: int) -> tuple[str, list[str]]:
    sentences = []
    i = 0
    while sum(len(s) + 1 for s in sentences) < n_chars:
        s = f"{SUBJECTS[i % 8]} {VERBS[i % 6]} on day {i} that {OBJECTS[i % 6]}"
        s += [".", "!", "?", '."'][i % 4] if i % 4 != 3 else '."'
        if i % 4 == 3:
            s = '"' + s
        sentences.append(s)
        i += 1
    return " ".join(sentences), sentences

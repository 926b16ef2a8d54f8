"""Helpers of the fake raw data sets (fake_<kind>.py): every sentence in them is made up, and no raw
row is ever copied. Article ids are picked so that their hash lands in a wanted split, so a fixture
build has train, dev and test rows where the policy allows them."""

from __future__ import annotations

from pathlib import Path

from training.corpus.splits import hash_split


def pick(key_of, split: str, start: int = 0, has_official_test: bool = False) -> int:
    """The first i >= start whose group key key_of(i) hashes into split."""
    i = start
    while hash_split(key_of(i), has_official_test) != split:
        i += 1
    return i


def write_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

"""Limits from the environment, and articles that cannot be changed."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from slant.intake import DEFAULT_LIMITS, ArticleError, Limits, from_text


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("SLANT_MAX_CHARS", "1000")
    monkeypatch.setenv("SLANT_MAX_PARAGRAPHS", "7")
    monkeypatch.setenv("SLANT_MAX_PARAGRAPH_CHARS", "300")
    monkeypatch.setenv("SLANT_MAX_TARGETS", "3")
    assert Limits.from_env() == Limits(max_chars=1000, max_paragraphs=7, max_paragraph_chars=300, max_targets=3)
    monkeypatch.setenv("SLANT_MAX_TARGETS", "many")
    with pytest.raises(ArticleError, match="SLANT_MAX_TARGETS"):
        Limits.from_env()
    monkeypatch.setenv("SLANT_MAX_TARGETS", "0")
    with pytest.raises(ArticleError, match="SLANT_MAX_TARGETS"):
        Limits.from_env()


def test_limits_from_env_defaults(monkeypatch):
    for var in ("SLANT_MAX_CHARS", "SLANT_MAX_PARAGRAPHS", "SLANT_MAX_PARAGRAPH_CHARS", "SLANT_MAX_TARGETS"):
        monkeypatch.delenv(var, raising=False)
    assert Limits.from_env() == Limits()
    assert Limits() == DEFAULT_LIMITS
    assert (Limits().max_chars, Limits().max_paragraphs, Limits().max_paragraph_chars, Limits().max_targets) == (
        200_000,
        500,
        2_000,
        10,
    )


def test_article_is_frozen():
    a = from_text("Some text.")
    with pytest.raises(FrozenInstanceError):
        a.title = "x"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        a.paragraphs[0].text = "x"  # type: ignore[misc]

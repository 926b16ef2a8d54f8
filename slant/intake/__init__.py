"""Article intake: raw text, HTML or a list of paragraphs -> :class:`Article`.

An :class:`Article` is the unit every other part of Slant works on: a title, the text that
character offsets point into, and the paragraphs (each with ``start``/``end`` offsets such that
``article.text[p.start:p.end] == p.text``).

Real input is messy, so raw text and HTML are cleaned: site furniture is removed
(:mod:`.furniture`) and quoted social posts become paragraphs of their own (:mod:`.posts`);
over-long paragraphs are split at sentence ends (:mod:`.sentences`).

Pure Python plus trafilatura/lxml for HTML; this package must never import torch or transformers.
"""

from __future__ import annotations

from .html import from_html
from .text import INVISIBLE, from_paragraphs, from_text
from .types import (
    DEFAULT_LIMITS,
    Article,
    ArticleError,
    ArticleTooLarge,
    Limits,
    PageTooComplex,
    Paragraph,
)

__all__ = [
    "DEFAULT_LIMITS",
    "INVISIBLE",
    "Article",
    "ArticleError",
    "ArticleTooLarge",
    "Limits",
    "PageTooComplex",
    "Paragraph",
    "from_html",
    "from_paragraphs",
    "from_text",
    "parse",
]


def parse(
    *,
    text: str | None = None,
    html: str | None = None,
    paragraphs: list[str] | None = None,
    title: str | None = None,
    url: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Article:
    """Exactly one of ``text`` / ``html`` / ``paragraphs`` -> Article."""
    given = [name for name, v in (("text", text), ("html", html), ("paragraphs", paragraphs)) if v is not None]
    if len(given) != 1:
        which = "none was given" if not given else f"got {', '.join(given)}"
        raise ArticleError(f"send exactly one of `text`, `html` or `paragraphs` for an article; {which}")
    if text is not None:
        return from_text(text, title, url, limits=limits)
    if html is not None:
        return from_html(html, title, url, limits=limits)
    return from_paragraphs(paragraphs, title, url, limits=limits)  # type: ignore[arg-type]

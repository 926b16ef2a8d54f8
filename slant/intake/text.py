"""Raw text and paragraph lists -> :class:`Article`: the checks every input passes, the cleaning of
raw text (furniture, quoted posts, the repeated headline) and the split of over-long paragraphs."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .furniture import classify, drop_headline
from .lines import paragraph_spans, read_lines
from .sentences import split_long
from .types import DEFAULT_LIMITS, Article, ArticleError, ArticleTooLarge, Limits, Paragraph

# Characters that show nothing: whitespace, control characters, the soft hyphen, zero-width
# spaces/joiners and direction marks, word joiners and invisible operators, the BOM. A text made
# only of these is empty. (The OpenAPI spec uses the same class: serving/openapi.py.)
INVISIBLE = "\\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff\ufff9-\ufffb"
_VISIBLE = re.compile(f"[^{INVISIBLE}]")


def _visible(text: str) -> bool:
    """Whether ``text`` holds a character a reader can see."""
    return _VISIBLE.search(text) is not None


def check_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ArticleError(f"`{name}` must be a string, got {type(value).__name__}")
    return value


def check_optional(title: object, url: object) -> None:
    if title is not None:
        check_str(title, "title")
    if url is not None:
        check_str(url, "url")


def check_size(n: int, limit: int, what: str, var: str, attr: str) -> None:
    if n > limit:
        raise ArticleTooLarge(
            f"{what} is {n:,} characters, over the limit of {limit:,} ({attr}); send a shorter "
            f"article or raise the limit with {var}"
        )


def check_empty(text: str, what: str) -> None:
    if not text.strip() or not _visible(text):
        raise ArticleError(f"{what} is empty or only whitespace (or invisible characters); send the article's text")


def _finish(
    text: str,
    spans: Iterable[tuple[int, int]],
    title: str | None,
    url: str | None,
    limits: Limits,
    source: str,
) -> Article:
    """The article of the paragraph ``spans`` of ``text``: invisible ones dropped, long ones split."""
    final: list[tuple[int, int]] = []
    for s, e in spans:
        if not _visible(text[s:e]):  # e.g. a line of zero-width spaces
            continue
        final.extend(split_long(text, s, e, limits.max_paragraph_chars))
    if not final:
        raise ArticleError(
            f"no article text left after removing site furniture from the {source}; every line "
            "looked like an ID, dateline, byline, share button, widget, advertisement or link "
            "line. Send the article body itself, or pass it as `paragraphs` to skip cleaning"
        )
    if len(final) > limits.max_paragraphs:
        raise ArticleTooLarge(
            f"article has {len(final):,} paragraphs after cleaning and splitting, over the limit "
            f"of {limits.max_paragraphs:,}; send a shorter article or raise the limit with "
            f"SLANT_MAX_PARAGRAPHS"
        )
    paragraphs = tuple(Paragraph(i, text[s:e], s, e) for i, (s, e) in enumerate(final))
    title = title.strip() if isinstance(title, str) and title.strip() else None
    return Article(title=title, text=text, paragraphs=paragraphs, url=url)


def from_text(
    text: str, title: str | None = None, url: str | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> Article:
    """Raw (possibly scraped) text -> Article; offsets point into ``text`` itself."""
    return from_raw_text(text, title, url, limits, source="text")


def from_raw_text(text: str, title: str | None, url: str | None, limits: Limits, source: str) -> Article:
    """The article of raw ``text`` (``source``: "text", or "HTML" for text extracted from a page),
    with site furniture, a repeated headline and quoted posts sorted out."""
    check_str(text, "text")
    check_optional(title, url)
    extracted = source != "text"
    check_empty(text, "text extracted from the HTML" if extracted else "article text")
    check_size(
        len(text),
        limits.max_chars,
        "article text extracted from the HTML" if extracted else "article text",
        "SLANT_MAX_CHARS",
        "max_chars",
    )
    lines, line_mode = read_lines(text)
    classify(lines, line_mode)
    title = drop_headline(lines, title)
    return _finish(text, paragraph_spans(lines), title, url, limits, source)


def from_paragraphs(
    paragraphs: list[str],
    title: str | None = None,
    url: str | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Article:
    """Already-split paragraphs -> Article; ``text`` is them joined with "\\n\\n".

    The caller chose these paragraphs, so no furniture is removed; empty ones are skipped and
    over-long ones are split at sentence boundaries.
    """
    if isinstance(paragraphs, (str, bytes)) or not isinstance(paragraphs, (list, tuple)):
        raise ArticleError(
            f"`paragraphs` must be a list of strings, got {type(paragraphs).__name__}; "
            'send ["first paragraph", "second paragraph", ...] or use `text`'
        )
    for i, p in enumerate(paragraphs):
        if not isinstance(p, str):
            raise ArticleError(f"`paragraphs[{i}]` must be a string, got {type(p).__name__}; send a list of strings")
    if len(paragraphs) > limits.max_paragraphs:  # the list as sent, empty items included
        raise ArticleTooLarge(
            f"`paragraphs` holds {len(paragraphs):,} items, over the limit of {limits.max_paragraphs:,}; "
            "send a shorter article or raise the limit with SLANT_MAX_PARAGRAPHS"
        )
    check_optional(title, url)
    text = "\n\n".join(paragraphs)
    if not text.strip() or not _visible(text):
        raise ArticleError("`paragraphs` is empty or holds only whitespace; send at least one non-empty paragraph")
    check_size(len(text), limits.max_chars, "article text (paragraphs joined)", "SLANT_MAX_CHARS", "max_chars")
    spans = []
    pos = 0
    for p in paragraphs:
        stripped = p.strip()
        if stripped:
            lead = len(p) - len(p.lstrip())
            spans.append((pos + lead, pos + lead + len(stripped)))
        pos += len(p) + 2
    return _finish(text, spans, title, url, limits, "paragraphs")

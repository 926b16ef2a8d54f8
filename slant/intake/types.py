"""What intake produces and refuses: :class:`Article` and :class:`Paragraph`, the size
:class:`Limits` on one article, and the :class:`ArticleError` family."""
from __future__ import annotations

import os
from dataclasses import dataclass


class ArticleError(ValueError):
    """Input that cannot become an article; the message says what is wrong and how to fix it."""


class ArticleTooLarge(ArticleError):
    """An article over a size limit (characters, paragraphs): HTTP answers it with 413."""


class PageTooComplex(ArticleTooLarge):
    """A page whose markup would take too long or too much memory to parse (answered with 422)."""


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------

_ENV = {
    "max_chars": "SLANT_MAX_CHARS",
    "max_paragraphs": "SLANT_MAX_PARAGRAPHS",
    "max_paragraph_chars": "SLANT_MAX_PARAGRAPH_CHARS",
    "max_targets": "SLANT_MAX_TARGETS",
    "max_html_chars": "SLANT_MAX_HTML_CHARS",
    "max_html_tags": "SLANT_MAX_HTML_TAGS",
    "max_html_text_chars": "SLANT_MAX_HTML_TEXT_CHARS",
}


@dataclass(frozen=True)
class Limits:
    """Size limits on one article. Every one can be raised with an environment variable."""

    max_chars: int = 200_000  # whole input (text, joined paragraphs, or text extracted from HTML)
    max_paragraphs: int = 500  # after cleaning and splitting
    max_paragraph_chars: int = 2_000  # longer paragraphs are split at sentence boundaries
    max_targets: int = 10
    # Raw HTML is mostly markup, scripts and styles, so it gets its own, larger bound; the text
    # extracted from it must still fit max_chars.
    max_html_chars: int = 5_000_000
    # Checked on the raw page before it is parsed (a cheap scan, see html._precheck): a page with
    # more tags than this is refused as too complex, and one whose visible text (tags, scripts and
    # styles removed) is over this many characters is refused as too large, before trafilatura and
    # lxml spend minutes and gigabytes on it.
    max_html_tags: int = 100_000
    max_html_text_chars: int = 1_000_000

    def __post_init__(self) -> None:
        for name in _ENV:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ArticleError(f"limit {name} must be a positive integer, got {value!r}")

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, overridden by SLANT_MAX_CHARS, SLANT_MAX_PARAGRAPHS,
        SLANT_MAX_PARAGRAPH_CHARS, SLANT_MAX_TARGETS (and SLANT_MAX_HTML_CHARS)."""
        values: dict[str, int] = {}
        for name, var in _ENV.items():
            if os.environ.get(var, "").strip():
                values[name] = env_int(var, getattr(cls, name), error=ArticleError)
        return cls(**values)


DEFAULT_LIMITS = Limits()


def env_int(var: str, default: int, error: type[Exception] = ValueError) -> int:
    """A positive whole number from the environment variable ``var``; ``default`` when unset."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise error(
            f"environment variable {var}={raw!r} is not an integer; set it to a positive "
            f"whole number or unset it to use the default ({default})"
        ) from None
    if value < 1:
        raise error(
            f"environment variable {var}={raw!r} must be at least 1; set it to a positive "
            f"whole number or unset it to use the default ({default})"
        )
    return value


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    index: int
    text: str
    start: int
    end: int  # text == Article.text[start:end] exactly


@dataclass(frozen=True)
class Article:
    title: str | None
    text: str  # the text offsets point into (raw text / extracted text / paragraphs joined by "\n\n")
    paragraphs: tuple[Paragraph, ...]
    url: str | None = None

    def __post_init__(self) -> None:
        for p in self.paragraphs:
            if self.text[p.start : p.end] != p.text:
                raise ArticleError(
                    f"paragraph {p.index} offsets [{p.start}:{p.end}] do not match its text; "
                    "this is a bug in article intake"
                )

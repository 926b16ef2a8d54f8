"""What intake produces and refuses: :class:`Article` and :class:`Paragraph`, the size
:class:`Limits` on one article, and the :class:`ArticleError` family."""

from __future__ import annotations

from dataclasses import dataclass, fields

from slant.settings import Settings, SettingsError, settings


class ArticleError(ValueError):
    """Input that cannot become an article; the message says what is wrong and how to fix it."""


class ArticleTooLarge(ArticleError):
    """An article over a size limit (characters, paragraphs): HTTP answers it with 413."""


class PageTooComplex(ArticleTooLarge):
    """A page whose markup would take too long or too much memory to parse (answered with 422)."""


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------


def _default(name: str) -> int:
    return Settings.model_fields[name].default  # one place for every default: slant/settings.py


@dataclass(frozen=True)
class Limits:
    """Size limits on one article. Every one can be raised with an environment variable."""

    max_chars: int = _default("max_chars")  # whole input (text, joined paragraphs, or text extracted from HTML)
    max_paragraphs: int = _default("max_paragraphs")  # after cleaning and splitting
    max_paragraph_chars: int = _default("max_paragraph_chars")  # longer paragraphs are split at sentence boundaries
    max_targets: int = _default("max_targets")
    # Raw HTML is mostly markup, scripts and styles, so it gets its own, larger bound; the text
    # extracted from it must still fit max_chars.
    max_html_chars: int = _default("max_html_chars")
    # Checked on the raw page before it is parsed (a cheap scan, see html._precheck): a page with
    # more tags than this is refused as too complex, and one whose visible text (tags, scripts and
    # styles removed) is over this many characters is refused as too large, before trafilatura and
    # lxml spend minutes and gigabytes on it.
    max_html_tags: int = _default("max_html_tags")
    max_html_text_chars: int = _default("max_html_text_chars")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ArticleError(f"limit {f.name} must be a positive integer, got {value!r}")

    @classmethod
    def from_env(cls) -> Limits:
        """Each limit from its SLANT_MAX_* variable (slant.settings), the default where unset."""
        try:
            current = settings()
        except SettingsError as e:
            raise ArticleError(str(e)) from None
        return cls(**{f.name: getattr(current, f.name) for f in fields(cls)})


DEFAULT_LIMITS = Limits()


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

"""Requests to score articles: one article (``ArticleIn``), the answer options (``Options``), and
the two steps around scoring that every face shares: ``prepare`` (article and targets) before,
``finish`` (options applied) after.

Plain pydantic + slant, used by the HTTP service and by `slant score` / `slant classify`, so both
faces validate input with exactly the same models.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict

from slant.intake import Article, Limits, parse
from slant.targets import MAX_TARGET_CHARS, find_targets, normalize_targets

SAMPLE_TEXT = (
    "The city council voted 7-2 on Sunday to approve a 40 million dollar flood barrier along the "
    "Ashby River, ending a two-year dispute over how to protect the low-lying eastern districts.\n\n"
    'Mayor Tom Hadley said the barrier would be finished before the winter storms. "This is the '
    'most important decision this council has made in a generation," he told reporters.\n\n'
    "Critics, including the Green Riverton group, said the council had ignored cheaper options "
    "and recklessly squandered taxpayers' money on a vanity project that will push floodwater "
    "onto farms downstream."
)
SAMPLE_ARTICLE: JsonDict = {
    "title": "Council approves new flood barrier for Riverton",
    "text": SAMPLE_TEXT,
    "targets": ["Tom Hadley", "the flood barrier is a good idea"],
}

MAX_AUTO_TARGETS = 10  # upper bound of options.max_auto_targets (the user-target limit is separate)
AUTO_TARGET_SCAN_CHARS = 20_000  # automatic targets are found in the title and about this much text
MAX_TITLE_CHARS = 1_000
MAX_URL_CHARS = 8_192


class ArticleIn(BaseModel):
    """One article: exactly one of ``text``, ``html`` or ``paragraphs``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": SAMPLE_ARTICLE},  # BentoML's OpenAPI takes `example`, not `examples`
    )

    text: str | None = Field(default=None, description="Plain (possibly scraped) text; paragraphs split at blank lines")
    html: str | None = Field(
        default=None, description="A whole HTML page; the article body is extracted, scripts dropped"
    )
    paragraphs: list[str] | None = Field(default=None, description="Paragraphs as given (no cleaning, no merging)")
    title: str | None = Field(
        default=None, max_length=MAX_TITLE_CHARS, description="Headline (taken from the HTML when not given)"
    )
    url: str | None = Field(
        default=None,
        max_length=MAX_URL_CHARS,
        description="Where the article came from (echoed, helps HTML extraction)",
    )
    targets: list[str] | None = Field(
        default=None,
        description="Stance targets (entities or propositions). Omitted or null: the article's most "
        "mentioned people, organisations and places are found automatically; [] : no stance.",
    )

    def to_article(self, limits: Limits) -> Article:
        """The parsed article; raises ArticleError (message says what to fix)."""
        return parse(
            text=self.text,
            html=self.html,
            paragraphs=self.paragraphs,
            title=self.title,
            url=self.url,
            limits=limits,
        )

    def resolve_targets(self, article: Article, limits: Limits, max_auto_targets: int) -> list[str]:
        """The user's targets (cleaned, limited) or, when none were given, automatic ones."""
        if self.targets is None:
            found = find_targets(
                _head(article, AUTO_TARGET_SCAN_CHARS), max_targets=min(max_auto_targets, limits.max_targets)
            )
            # An automatic target obeys the user-target limit: a "name" longer than that is an
            # NER mistake (a run-on span of scraped text), not a target.
            return [t for t in found if len(t) <= MAX_TARGET_CHARS]
        return normalize_targets(self.targets, limits)


def _head(article: Article, chars: int) -> Article:
    """The article cut after the paragraph that passes ``chars`` characters (at least one paragraph).

    Automatic targets are the most-mentioned entities; the first ~20,000 characters name them as
    well as the whole text does, and NER over a 200,000-character article would take seconds of the
    API worker's time per request."""
    total, keep = 0, 0
    for p in article.paragraphs:
        keep += 1
        total += len(p.text)
        if total >= chars:
            break
    title = article.title[:MAX_TITLE_CHARS] if article.title else article.title  # an HTML <title> can be long
    if keep == len(article.paragraphs) and title == article.title:
        return article
    return Article(title=title, text=article.text, paragraphs=article.paragraphs[:keep], url=article.url)


class Options(BaseModel):
    """How to answer (all optional)."""

    model_config = ConfigDict(extra="forbid")

    max_auto_targets: int = Field(
        default=5,
        ge=0,
        le=MAX_AUTO_TARGETS,
        strict=True,
        description="How many targets to find automatically when the article names none (0: no stance)",
    )
    include_text: bool = Field(
        default=True,
        strict=True,
        description="Include each paragraph's text in the answer (false: offsets only, smaller answers)",
    )


def prepare(article_in: ArticleIn, options: Options, limits: Limits) -> tuple[Article, list[str]]:
    """Request article -> (Article, targets): the step the service and `slant score` share."""
    article = article_in.to_article(limits)
    return article, article_in.resolve_targets(article, limits, options.max_auto_targets)


def finish(answer: dict, article: Article, options: Options) -> dict:
    """Apply answer options and echo the url (cheap, after build_answer)."""
    if article.url is not None:
        answer["url"] = article.url
    if not options.include_text:
        for p in answer["paragraphs"]:
            p.pop("text", None)
    return answer


def validation_message(error: ValidationError) -> str:
    """A pydantic ValidationError as one line: 'field: problem; ...'."""
    parts = []
    for d in error.errors(include_url=False, include_context=False, include_input=False)[:10]:
        loc = ".".join(str(x) for x in d.get("loc", ()))
        parts.append(f"{loc}: {d['msg']}" if loc else d["msg"])
    return "; ".join(parts)

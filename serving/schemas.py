"""Request and response models of the HTTP API (and of `slant score` input lines).

Pure pydantic + slant: no bentoml import, so the CLI validates its JSONL lines with exactly the
models the service uses (one schema for both faces, as DESIGN.md asks).
"""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from slant.article import Article, ArticleError, Limits, env_int, parse
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
SAMPLE_ARTICLE = {
    "title": "Council approves new flood barrier for Riverton",
    "text": SAMPLE_TEXT,
    "targets": ["Tom Hadley", "the flood barrier is a good idea"],
}

MAX_AUTO_TARGETS = 10  # upper bound of options.max_auto_targets (the user-target limit is separate)
AUTO_TARGET_SCAN_CHARS = 20_000  # automatic targets are found in the title and about this much text
MAX_TITLE_CHARS = 1_000
MAX_URL_CHARS = 8_192


def max_batch_articles() -> int:
    """Articles per /classify_batch request ($SLANT_MAX_BATCH_ARTICLES, default 64)."""
    return env_int("SLANT_MAX_BATCH_ARTICLES", 64, error=ArticleError)


class ArticleIn(BaseModel):
    """One article: exactly one of ``text``, ``html`` or ``paragraphs``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": SAMPLE_ARTICLE},  # BentoML's OpenAPI takes `example`, not `examples`
    )

    text: Optional[str] = Field(None, description="Plain (possibly scraped) text; paragraphs split at blank lines")
    html: Optional[str] = Field(None, description="A whole HTML page; the article body is extracted, scripts dropped")
    paragraphs: Optional[list[str]] = Field(None, description="Paragraphs as given (no cleaning, no merging)")
    title: Optional[str] = Field(
        None, max_length=MAX_TITLE_CHARS, description="Headline (taken from the HTML when not given)"
    )
    url: Optional[str] = Field(
        None, max_length=MAX_URL_CHARS, description="Where the article came from (echoed, helps HTML extraction)"
    )
    targets: Optional[list[str]] = Field(
        None,
        description="Stance targets (entities or propositions). Omitted or null: the article's most "
        "mentioned people, organisations and places are found automatically; [] : no stance.",
    )

    def to_article(self, limits: Limits) -> Article:
        """The parsed article; raises ArticleError (message says what to fix)."""
        return parse(
            text=self.text, html=self.html, paragraphs=self.paragraphs, title=self.title, url=self.url,
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
        5, ge=0, le=MAX_AUTO_TARGETS, strict=True,
        description="How many targets to find automatically when the article names none (0: no stance)",
    )
    include_text: bool = Field(
        True, strict=True, description="Include each paragraph's text in the answer (false: offsets only, smaller answers)"
    )


class ClassifyRequest(BaseModel):
    article: ArticleIn
    options: Options = Options()


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


# --------------------------------------------------------------------------------------------
# Answer models: documentation of the response (OpenAPI); answers are built as plain dicts by
# slant.answer.build_answer and sent as they are.
# --------------------------------------------------------------------------------------------


class StanceOut(BaseModel):
    target: str
    label: str = Field(description="favor | against | neutral")
    scores: dict[str, float]


class LabelScores(BaseModel):
    labels: list[str] = Field(description="Labels at or above their calibrated threshold")
    scores: dict[str, float] = Field(description="Calibrated probability per label")


class Span(BaseModel):
    start: int
    end: int
    text: str
    score: float


class BiasOut(BaseModel):
    label: str = Field(description="neutral | biased")
    score: float
    spans: list[Span] = Field(description="Loaded words; offsets into the paragraph text")


class ParagraphOut(BaseModel):
    index: int
    text: Optional[str] = Field(None, description="Omitted when options.include_text is false")
    start: int = Field(description="Offset into the article text (text input: the text you sent)")
    end: int
    stance: list[StanceOut]
    frames: LabelScores
    techniques: LabelScores
    bias: BiasOut


class SummaryStance(StanceOut):
    paragraphs: dict[str, int] = Field(description="Paragraph votes per stance label")


class SummaryBias(BaseModel):
    score: float
    biased_paragraphs: int


class Summary(BaseModel):
    stance: list[SummaryStance]
    frames: dict[str, float] = Field(description="Share of paragraphs using each frame")
    techniques: dict[str, int] = Field(description="Number of paragraphs using each technique")
    bias: SummaryBias


class ModelInfo(BaseModel):
    name: str
    version: str


class Answer(BaseModel):
    model: ModelInfo
    title: Optional[str]
    url: Optional[str] = None
    targets: list[str]
    paragraphs: list[ParagraphOut]
    summary: Summary


class ErrorOut(BaseModel):
    error: str = Field(description="What is wrong and how to fix it")


# --------------------------------------------------------------------------------------------
# The internal batching endpoint's wire format (API worker <-> model worker)
# --------------------------------------------------------------------------------------------


class PassIn(BaseModel):
    text: str
    target: Optional[str] = None


class PassOut(BaseModel):
    stance: Optional[list[float]] = None
    frames: Optional[list[float]] = None
    techniques: Optional[list[float]] = None
    bias: Optional[float] = None
    tokens: list[tuple[int, int, float]] = []

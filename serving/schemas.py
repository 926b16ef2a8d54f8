"""The HTTP service's own models: the answer (documentation for the OpenAPI spec), the model
worker's wire format, and the per-request article limit of /classify_batch. The request models
(``ArticleIn``, ``Options``) are the core's: slant/requests.py.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from slant.intake import ArticleError
from slant.predictor import Pass, PassScores
from slant.settings import SettingsError, settings


def max_batch_articles() -> int:
    """Articles per /classify_batch request ($SLANT_MAX_BATCH_ARTICLES, default 64)."""
    try:
        return settings().max_batch_articles
    except SettingsError as e:
        raise ArticleError(str(e)) from None


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
    text: str | None = Field(default=None, description="Omitted when options.include_text is false")
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
    title: str | None
    url: str | None = None
    targets: list[str]
    paragraphs: list[ParagraphOut]
    summary: Summary


# --------------------------------------------------------------------------------------------
# The internal batching endpoint's wire format (API worker <-> model worker)
# --------------------------------------------------------------------------------------------

# One model pass of the sample article, shown in the model worker's API docs.
SAMPLE_PASS: JsonDict = {
    "text": "Mayor Tom Hadley said the barrier would be finished before the winter storms.",
    "target": "Tom Hadley",
}


class PassIn(BaseModel):
    """One model pass: a paragraph alone, or a (target, paragraph) pair for stance."""

    model_config = ConfigDict(json_schema_extra={"example": SAMPLE_PASS})

    text: str
    target: str | None = None

    @classmethod
    def of(cls, p: Pass) -> PassIn:
        return cls(text=p.text, target=p.target)


class PassOut(BaseModel):
    stance: list[float] | None = None
    frames: list[float] | None = None
    techniques: list[float] | None = None
    bias: float | None = None
    tokens: list[tuple[int, int, float]] = []

    @classmethod
    def of(cls, scores: PassScores, loaded_threshold: float) -> PassOut:
        # Only tokens at or above the loaded-word threshold can become spans; dropping the rest
        # here changes no answer and keeps the worker-to-worker payload small.
        return cls(
            stance=scores.stance,
            frames=scores.frames,
            techniques=scores.techniques,
            bias=scores.bias,
            tokens=scores.loaded_tokens(loaded_threshold),
        )


def pass_scores(out: PassOut | dict) -> PassScores:
    """A model worker's answer for one pass (BentoML's client may hand it over as a plain dict)."""
    if isinstance(out, dict):
        out = PassOut.model_validate(out)
    return PassScores(
        stance=out.stance,
        frames=out.frames,
        techniques=out.techniques,
        bias=out.bias,
        token_spans=tuple((start, end) for start, end, _ in out.tokens),
        token_probs=[p for _, _, p in out.tokens],
    )

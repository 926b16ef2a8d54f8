"""A correction as the service and the CLI take it: one pydantic model per task, told apart by
``task`` (a discriminated union), so that the models validate the input and the OpenAPI spec of
``POST /feedback`` shows each task's fields and labels. The labels come from ``slant.labels``.

The checks JSON Schema cannot say (blank text, a target on a task without one, label or labels,
spans against the label and the text) raise a ``refusal`` whose message is already in the
project's words; ``slant.feedback.validate`` words pydantic's own errors the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    Strict,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from slant.labels import BIAS, FRAMES, STANCE, TASKS, TECHNIQUES, Task
from slant.text_key import text_hash

MAX_TEXT_CHARS = 10_000  # one paragraph; longer texts are articles: split them into paragraphs
MAX_TARGET_CHARS = 300
MAX_FIELD_CHARS = 200  # article_id, annotator
MAX_ITEMS = 1000  # per add() / per POST /feedback

ITEM_FIELDS = ("task", "text", "labels", "label", "target", "spans", "article_id", "annotator")


@dataclass(frozen=True)
class Correction:
    """A validated correction, as the store keeps it (one row)."""

    task: str
    text: str
    labels: tuple[str, ...]
    target: str = ""
    spans: tuple[tuple[int, int], ...] = ()
    article_id: str = ""
    annotator: str = ""
    principal: str = ""
    id: int | None = None
    created_at: str = ""
    text_hash: str = field(default="", compare=False)

    def to_json(self) -> dict:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["spans"] = [list(s) for s in self.spans]
        return d


def short(value: Any, limit: int = 60) -> str:
    """A value as a message quotes it: its repr, cut at ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


REFUSAL = "feedback_refusal"  # the error type of the models' own checks


def refusal(message: str) -> PydanticCustomError:
    """A check of the models failed; ``message`` says what was found and what was expected."""
    return PydanticCustomError(REFUSAL, "{message}", {"message": message})


def _not_blank(value: Any) -> Any:
    # Before the type and length checks, so that a blank string is named blank whatever its length.
    if isinstance(value, str) and not value.strip():
        raise refusal("found an empty string; expected a non-empty string")
    return value


def _no_target(value: str | None, info: ValidationInfo) -> str | None:
    if value is not None and value.strip():
        raise refusal(f"found {short(value)}; only stance takes a target, {info.data['task']} does not")
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value  # "labels": "economic" is one label


def _label_type(task: Task) -> Any:
    return Literal[task.labels]  # type: ignore[valid-type]


def _labels_type(task: Task) -> Any:
    """A list of the task's labels (exactly one for a single-label task), or one label as a string."""
    one = {"type": "string", "enum": list(task.labels)}
    listed: dict[str, Any] = {"type": "array", "items": one}
    labels: Any = list[_label_type(task)]  # type: ignore[misc]
    if task.kind != "multi":

        def exactly_one(chosen: list[str]) -> list[str]:
            if len(chosen) != 1:
                raise refusal(
                    f"found {len(chosen)} labels {chosen}; {task.name} takes exactly one of: {', '.join(task.labels)}"
                )
            return chosen

        # Counted after the labels themselves are checked, so that an unknown label is named first.
        labels = Annotated[labels, AfterValidator(exactly_one)]
        listed.update(minItems=1, maxItems=1)
    return Annotated[labels, BeforeValidator(_as_list), WithJsonSchema({"anyOf": [one, listed]})]


Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS), BeforeValidator(_not_blank)]
Target = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TARGET_CHARS), BeforeValidator(_not_blank)]
NoTarget = Annotated[str, StringConstraints(max_length=MAX_TARGET_CHARS), AfterValidator(_no_target)] | None
NoSpans = Annotated[list[Any], Field(max_length=0)] | None
OptionalField = Annotated[str, StringConstraints(max_length=MAX_FIELD_CHARS)] | None


def _inside_text(span: list[int], info: ValidationInfo) -> list[int]:
    text = info.data.get("text")  # None when the text itself is wrong: that is named first
    if text is not None and not 0 <= span[0] < span[1] <= len(text):
        raise refusal(
            f"found [{span[0]}, {span[1]}]; expected 0 <= start < end <= {len(text)} (character offsets into text)"
        )
    return span


# [start, end]: character offsets into the text (a tuple from Python too).
Span = Annotated[list[StrictInt], Field(min_length=2, max_length=2), Strict(False), AfterValidator(_inside_text)]


def _details(error: ErrorDetails) -> InitErrorDetails:
    """An error as reported, back in the form that raises it."""
    kind = refusal(error["ctx"]["message"]) if error["type"] == REFUSAL else error["type"]
    details: InitErrorDetails = {"type": kind, "loc": error["loc"], "input": error["input"]}
    if "ctx" in error and error["type"] != REFUSAL:
        details["ctx"] = error["ctx"]
    return details


def _label_or_labels_schema(schema: dict[str, Any]) -> None:
    """The spec says what the models check: exactly one of label / labels, neither null."""
    schema["oneOf"] = [
        {"required": ["label"], "not": {"required": ["labels"]}},
        {"required": ["labels"], "not": {"required": ["label"]}},
    ]
    properties = schema["properties"]
    properties["label"].update(description="One label; or send labels")
    properties["labels"].update(description="The labels (one may be sent as a string); or send label")
    for name in ("label", "labels"):
        properties[name].pop("default", None)


class _Item(BaseModel):
    """What every task's correction has; each task's model narrows ``task``, ``label`` and
    ``labels`` (stance ``target``, bias ``spans``). ``label`` and ``labels`` may be left out (not
    both) but not sent as null: their default ``None`` stands for "left out", and pydantic does not
    validate a default, so only an explicit null fails the label type."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_label_or_labels_schema)

    task: str
    text: Text = Field(description="The paragraph, as it was read")
    label: str | None = None
    labels: list[str] | None = None
    target: NoTarget = Field(default=None, description="Stance only; leave it out")
    spans: NoSpans = Field(default=None, description="Bias only; leave it out")
    article_id: OptionalField = Field(default=None, description="Groups the paragraphs of one article")
    annotator: OptionalField = Field(default=None, description="Who labeled it, self-declared (not an identity)")

    @model_validator(mode="wrap")
    @classmethod
    def _label_or_labels(cls, data: Any, handler: ModelWrapValidatorHandler[_Item]) -> _Item:
        """Exactly one of label / labels is sent. A problem here is reported beside the fields' own
        problems, not instead of them, so that the first one in reading order can be named."""
        if not isinstance(data, dict):
            return handler(data)
        sent = {"label", "labels"} & set(data)
        problem: InitErrorDetails | None = None
        if len(sent) == 2:
            problem = {
                "type": refusal("found both label and labels; send one of them"),
                "loc": ("label",),
                "input": data["label"],
            }
        elif not sent:
            known = ", ".join(TASKS[data["task"]].labels)
            problem = {
                "type": refusal(f"missing; expected labels (a list) or label (a string) from: {known}"),
                "loc": ("labels",),
                "input": None,
            }
        try:
            item = handler(data)
        except ValidationError as e:
            if problem is None:
                raise
            raise ValidationError.from_exception_data(e.title, [*map(_details, e.errors()), problem]) from None
        if problem is not None:
            raise ValidationError.from_exception_data(cls.__name__, [problem])
        return item

    def correction(self) -> Correction:
        task = TASKS[self.task]
        chosen = {self.label} if self.label is not None else set(self.labels or ())
        return Correction(
            task=task.name,
            text=self.text,
            labels=tuple(x for x in task.labels if x in chosen),  # schema order, no duplicates
            target=(self.target or "") if task.input == "pair" else "",
            spans=tuple(sorted({(start, end) for start, end in self.spans or ()})),
            article_id=self.article_id or "",
            annotator=self.annotator or "",
            text_hash=text_hash(self.text),
        )


# Each task's label types are built from slant.labels when this module loads, which a type checker
# cannot follow: hence the ignores on the label fields.


class StanceItem(_Item):
    """The stance of the paragraph toward ``target``: exactly one label."""

    task: Literal["stance"]
    label: _label_type(STANCE) = None  # type: ignore[valid-type]
    labels: _labels_type(STANCE) = None  # type: ignore[valid-type]
    target: Target = Field(description="The entity or proposition the stance is toward")


class FramesItem(_Item):
    """The frames of the paragraph: zero or more labels (an empty list: none applies)."""

    task: Literal["frames"]
    label: _label_type(FRAMES) = None  # type: ignore[valid-type]
    labels: _labels_type(FRAMES) = None  # type: ignore[valid-type]


class TechniquesItem(_Item):
    """The persuasion techniques in the paragraph: zero or more labels (an empty list: none)."""

    task: Literal["techniques"]
    label: _label_type(TECHNIQUES) = None  # type: ignore[valid-type]
    labels: _labels_type(TECHNIQUES) = None  # type: ignore[valid-type]


class BiasItem(_Item):
    """Whether the paragraph's wording is biased: exactly one label, and with ``biased`` the
    loaded words as character offsets into ``text``."""

    task: Literal["bias"]
    label: _label_type(BIAS) = None  # type: ignore[valid-type]
    labels: _labels_type(BIAS) = None  # type: ignore[valid-type]
    spans: list[Span] | None = Field(default=None, description="Loaded words: [[start, end], ...], with 'biased'")

    @field_validator("spans", mode="before")
    @classmethod
    def _spans_go_with_biased(cls, spans: Any, info: ValidationInfo) -> Any:
        # Before the spans themselves: on a paragraph that is not biased, any span is one too many.
        labels = [info.data["label"]] if info.data.get("label") else info.data.get("labels")
        if isinstance(spans, list) and spans and labels and labels[0] != "biased":
            raise refusal(
                f"found {len(spans)} loaded-word span(s) on a paragraph labeled {labels[0]!r}; "
                "spans go with the label 'biased'"
            )
        return spans


ITEM_MODELS = (StanceItem, FramesItem, TechniquesItem, BiasItem)
FeedbackItem = Annotated[StanceItem | FramesItem | TechniquesItem | BiasItem, Field(discriminator="task")]


class FeedbackRequest(BaseModel):
    """The body of ``POST /feedback``: all items are stored, or none."""

    model_config = ConfigDict(extra="forbid", strict=True)

    items: list[FeedbackItem] = Field(min_length=1, max_length=MAX_ITEMS)

"""Validating corrections with the models of ``slant.feedback.models``, and saying what is wrong in
the project's words: the first problem, as ``items[3].labels: found ...; expected ...``.

Pydantic reports every problem it finds, in its own words; this module picks the one to report
(unknown fields, then task, text, label, labels, target, spans, article_id, annotator, as a reader
checks an item) and words it: what was found, what was expected and, where there is one, the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from slant.feedback.models import (
    ITEM_FIELDS,
    MAX_ITEMS,
    REFUSAL,
    Correction,
    FeedbackItem,
    FeedbackRequest,
    short,
)
from slant.labels import TASKS, Task

_ITEM = TypeAdapter(FeedbackItem)
_FIELD_ORDER = {
    name: n for n, name in enumerate(("task", "text", "label", "labels", "target", "spans", "article_id", "annotator"))
}
_OBJECT = '{"task", "text", "labels" | "label", "target"?, "spans"?, "article_id"?, "annotator"?}'


class FeedbackError(ValueError):
    """A correction that does not fit the schema; the message names the field, what was found and
    what was expected (``items[3].labels: ...``)."""


def check_batch_size(n: int) -> None:
    if n == 0:
        raise FeedbackError("items: found an empty list; expected at least one correction")
    if n > MAX_ITEMS:
        raise FeedbackError(f"items: found {n:,} corrections; expected at most {MAX_ITEMS:,} per batch (split it)")


def validate(item: Any, where: str = "", *, allow: tuple[str, ...] = ()) -> Correction:
    """One correction, checked against the label schemas (``slant.labels``). ``where`` prefixes the
    field names in messages (``items[3].``); ``allow`` names extra keys to accept and ignore."""
    if isinstance(item, dict) and allow:
        item = {k: v for k, v in item.items() if k not in allow}
    try:
        return _ITEM.validate_python(item).correction()
    except ValidationError as e:
        raise FeedbackError(item_message(e.errors(), item, where)) from None


def validate_items(items: Any) -> list[Correction]:
    """A batch (the ``items`` of ``POST /feedback``); raises FeedbackError naming ``items[i].field``
    for the first bad item."""
    try:
        return [item.correction() for item in FeedbackRequest.model_validate({"items": items}).items]
    except ValidationError as e:
        errors = e.errors()
    if not isinstance(items, list):
        raise FeedbackError(f"items: found {type(items).__name__} {short(items)}; expected a list of corrections")
    check_batch_size(len(items))
    first = min(int(err["loc"][1]) for err in errors)  # the list is fine: every error is an item's
    mine = [{**err, "loc": err["loc"][2:]} for err in errors if err["loc"][1] == first]
    raise FeedbackError(item_message(mine, items[first], f"items[{first}]."))


def item_message(errors: Sequence[Mapping[str, Any]], item: Any, where: str) -> str:
    """The first of one item's problems, in words. ``errors`` are pydantic's, with locations
    relative to the item (``("stance", "labels", 0)``: the task's model, then the field)."""
    if not isinstance(item, dict):
        return (
            f"{where.rstrip('.') or 'item'}: found {type(item).__name__} {short(item)}; expected an object " + _OBJECT
        )
    unknown = sorted(set(item) - set(ITEM_FIELDS))
    if unknown:  # found by the models too, but only once the task is known
        return (
            f"{where}{unknown[0]}: unknown field{'s ' + ', '.join(unknown) if len(unknown) > 1 else ''}; "
            f"expected only {', '.join(ITEM_FIELDS)}"
        )
    if errors[0]["type"] in ("union_tag_not_found", "union_tag_invalid"):
        return f"{where}task: found {short(item.get('task'))}; expected one of {', '.join(TASKS)}"
    located = [{**err, "loc": err["loc"][1:]} for err in errors]  # without the task's model
    first = min(located, key=_rank)
    return where + _words(first, item)


def _rank(err: Mapping[str, Any]) -> tuple:
    name = str(err["loc"][0])
    order = 0
    # Within label and labels: both or neither sent, then a value that is not a string, then an
    # unknown label (after "is it a list of strings?", as a reader checks).
    if name in ("label", "labels"):
        if err["type"] == REFUSAL:
            order = 0 if name == "label" else 3
        else:
            order = 2 if isinstance(err["input"], str) else 1
    return (_FIELD_ORDER.get(name, len(_FIELD_ORDER)), order, err["loc"][1:])


def _words(err: Mapping[str, Any], item: dict) -> str:
    """``field: found ...; expected ...`` for one error."""
    loc, kind, value = err["loc"], err["type"], err["input"]
    if kind == REFUSAL:  # a check of the models: already in words
        return f"{loc[0]}{''.join(f'[{i}]' for i in loc[1:])}: {err['ctx']['message']}"
    name = str(loc[0])
    task = TASKS[item["task"]]
    if name == "label":
        if isinstance(value, str):
            return f"label: {_unknown_label(value, task)}"
        return f"label: found {type(value).__name__} {short(value)}; expected a string (or use labels: [...])"
    if name == "labels":
        if isinstance(value, str):
            return f"labels: {_unknown_label(value, task)}"
        return f"labels: found {short(item['labels'])}; expected a list of label strings"
    if name == "spans":
        return _span_words(loc, item["spans"], task.name)
    if kind == "missing" or value is None:
        return f"{name}: missing; expected a non-empty string"
    if kind == "string_type":
        return f"{name}: found {type(value).__name__} {short(value)}; expected a string"
    if kind == "string_too_long":
        return f"{name}: found {len(value):,} characters; expected at most {err['ctx']['max_length']:,}"
    return f"{name}: found {short(value)}; expected a valid {name} ({kind}; the /feedback schema says what it takes)"


def _unknown_label(value: str, task: Task) -> str:
    one = "any" if task.kind == "multi" else "one"
    return f"found unknown {task.name} label {value!r}; expected {one} of: {', '.join(task.labels)}"


def _span_words(loc: tuple, spans: Any, task: str) -> str:
    if task != "bias":
        return f"spans: found {short(spans)}; only bias takes loaded-word spans"
    if len(loc) == 1:
        return f"spans: found {short(spans)}; expected a list of [start, end] pairs"
    return f"spans[{loc[1]}]: found {short(spans[loc[1]])}; expected [start, end] (two integers)"

"""Validation of incoming corrections: every problem is named in the project's words (the field,
what was found, what was expected), the first one in reading order, and nothing is stored."""

from __future__ import annotations

import pytest
from feedback_items import GOOD

from slant.feedback.models import MAX_ITEMS, MAX_TEXT_CHARS
from slant.feedback.store import EXPORT_ONLY_FIELDS
from slant.feedback.validate import FeedbackError, validate, validate_items
from slant.labels import TECHNIQUES


@pytest.mark.parametrize(
    "item, words",
    [
        ({"task": "stance", "text": "x", "label": "favor"}, ["items[0].target", "missing"]),
        (
            {"task": "stance", "text": "x", "target": "T", "labels": ["favor", "against"]},
            ["items[0].labels", "exactly one"],
        ),
        (
            {"task": "stance", "text": "x", "target": "T", "label": "pro"},
            ["items[0].label", "'pro'", "favor, against, neutral"],
        ),
        ({"task": "stancey", "text": "x", "label": "favor"}, ["items[0].task", "'stancey'", "stance, frames"]),
        ({"text": "x", "label": "favor"}, ["items[0].task", "None"]),
        ({"task": "bias", "text": "x", "labels": []}, ["items[0].labels", "found 0 labels", "neutral, biased"]),
        (
            {"task": "bias", "text": "abc", "label": "biased", "spans": [[1, 9]]},
            ["items[0].spans[0]", "[1, 9]", "<= 3"],
        ),
        ({"task": "bias", "text": "abc", "label": "biased", "spans": [[2, 1]]}, ["items[0].spans[0]", "start < end"]),
        ({"task": "bias", "text": "abc", "label": "neutral", "spans": [[0, 1]]}, ["items[0].spans", "'biased'"]),
        (
            {"task": "bias", "text": "abc", "label": "biased", "spans": "0-1"},
            ["items[0].spans", "list of [start, end]"],
        ),
        ({"task": "frames", "text": "x", "labels": ["economy"]}, ["items[0].labels", "'economy'", "economic"]),
        ({"task": "frames", "text": "x", "labels": "economic", "target": "T"}, ["items[0].target", "only stance"]),
        ({"task": "frames", "text": "x", "labels": [1]}, ["items[0].labels", "list of label strings"]),
        ({"task": "frames", "text": "x"}, ["items[0].labels", "missing"]),
        ({"task": "frames", "text": "", "labels": []}, ["items[0].text", "empty"]),
        ({"task": "frames", "text": 5, "labels": []}, ["items[0].text", "int", "string"]),
        (
            {"task": "frames", "text": "x" * (MAX_TEXT_CHARS + 1), "labels": []},
            ["items[0].text", f"{MAX_TEXT_CHARS:,}"],
        ),
        ({"task": "frames", "text": "x", "labels": [], "lables": []}, ["items[0].lables", "unknown field"]),
        ({"task": "frames", "text": "x", "label": "economic", "labels": []}, ["items[0].label", "both"]),
        ("just text", ["items[0]", "str", "expected an object"]),
    ],
)
def test_bad_items_name_the_field_what_was_found_and_what_was_expected(store, item, words):
    with pytest.raises(FeedbackError) as err:
        store.add([item])
    for w in words:
        assert w in str(err.value), (w, str(err.value))
    assert store.count() == 0


@pytest.mark.parametrize(
    "item, message",
    [
        (
            {"task": "bias", "text": "x", "label": "favor"},
            "items[0].label: found unknown bias label 'favor'; expected one of: neutral, biased",
        ),
        (
            {"task": "stance", "text": "x", "target": "T", "labels": ["biased"]},
            "items[0].labels: found unknown stance label 'biased'; expected one of: favor, against, neutral",
        ),
        (
            {"task": "techniques", "text": "x", "labels": ["Doubt", "economic"]},
            "items[0].labels: found unknown techniques label 'economic'; expected any of: "
            + ", ".join(TECHNIQUES.labels),
        ),
        (
            {"task": "frames", "text": "x", "labels": [], "spans": [[0, 1]]},
            "items[0].spans: found [[0, 1]]; only bias takes loaded-word spans",
        ),
        (
            {"task": "bias", "text": "x", "label": "neutral", "target": "Maria Lopez"},
            "items[0].target: found 'Maria Lopez'; only stance takes a target, bias does not",
        ),
        (
            {"task": "bias", "text": "x", "labels": ["neutral", "biased"]},
            "items[0].labels: found 2 labels ['neutral', 'biased']; bias takes exactly one of: neutral, biased",
        ),
    ],
)
def test_each_task_s_model_checks_the_item_against_that_task(item, message):
    with pytest.raises(FeedbackError) as err:
        validate_items([item])
    assert str(err.value) == message


@pytest.mark.parametrize(
    "item, message",
    [
        # both label and labels, and a bad annotator: the labels come first
        (
            {"task": "frames", "text": "x", "label": "economic", "labels": ["economic"], "annotator": 5},
            "label: found both label and labels; send one of them",
        ),
        # a bad text, and both label and labels: the text comes first
        ({"task": "frames", "text": "", "label": "economic", "labels": []}, "text: found an empty string"),
        # no label at all, and a bad annotator: the missing labels come first
        ({"task": "frames", "text": "x", "annotator": 5}, "labels: missing"),
        # an unknown field, and an unknown task: the unknown field comes first
        ({"task": "stancey", "text": "x", "lables": []}, "lables: unknown field"),
        # a label that is not a string, after an unknown one: "a list of strings?" comes first
        ({"task": "frames", "text": "x", "labels": ["economy", 1]}, "labels: found ['economy', 1]; expected a list"),
        # a span past the end, then a malformed one: the spans in order
        ({"task": "bias", "text": "abc", "label": "biased", "spans": [[0, 9], [0, "x"]]}, "spans[0]: found [0, 9]"),
        # spans on a neutral paragraph, malformed too: the label they contradict comes first
        ({"task": "bias", "text": "abc", "label": "neutral", "spans": [["x"]]}, "spans: found 1 loaded-word span(s)"),
    ],
)
def test_of_several_problems_the_first_in_reading_order_is_named(item, message):
    with pytest.raises(FeedbackError) as err:
        validate(item)
    assert str(err.value).startswith(message), str(err.value)


def test_a_batch_names_what_is_wrong_with_the_list_itself():
    cases = [
        ("stance", "items: found str 'stance'; expected a list of corrections"),
        ([], "items: found an empty list; expected at least one correction"),
        (
            [GOOD[0]] * (MAX_ITEMS + 1),
            f"items: found {MAX_ITEMS + 1:,} corrections; expected at most {MAX_ITEMS:,} per batch (split it)",
        ),
    ]
    for items, message in cases:
        with pytest.raises(FeedbackError) as err:
            validate_items(items)
        assert str(err.value) == message
    bad = {"task": "bias", "text": "x", "label": "loaded"}
    with pytest.raises(FeedbackError, match=r"^items\[2\]\.label: found unknown bias label 'loaded'"):
        validate_items([GOOD[0], GOOD[1], bad, {"task": "nope"}])


def test_an_import_line_may_carry_the_fields_of_an_export():
    line = {**GOOD[0], "id": 7, "created_at": "2026-01-01T00:00:00+00:00", "text_hash": "h", "principal": "cli"}
    assert validate(line, allow=EXPORT_ONLY_FIELDS).text == GOOD[0]["text"]
    with pytest.raises(
        FeedbackError,
        match="^created_at: unknown fields created_at, id, principal, text_hash; expected only task, text, labels",
    ):
        validate(line)


PYDANTIC_WORDS = ("Input should", "should have", "validation error", "For further information", "type=", "[type")


@pytest.mark.parametrize(
    "item",
    [
        {"task": "bias", "text": "x", "label": None},
        {"task": "bias", "text": "x", "labels": None},
        {"task": "bias", "text": None, "label": "neutral"},
        {"task": "stance", "text": "x", "target": None, "label": "favor"},
        {"task": "stance", "text": "x", "target": " " * 400, "label": "favor"},
        {"task": "frames", "text": "x", "labels": [], "article_id": "a" * 201},
        {"task": "frames", "text": "x", "labels": [], "annotator": ["me"]},
        {"task": "frames", "text": "x", "labels": [], "target": 3},
        {"task": "frames", "text": "x", "labels": {"economic": True}},
        {"task": "bias", "text": "abc", "label": "biased", "spans": [[0, True]]},
        {"task": "bias", "text": "abc", "label": "biased", "spans": [[0, 1.0]]},
        {"task": "bias", "text": "abc", "label": "biased", "spans": [[0, 1, 2]]},
        {"task": "bias", "text": "abc", "label": "biased", "spans": {"0": 1}},
        {"task": ["stance"], "text": "x"},
        ["task", "text"],
    ],
)
def test_messages_are_in_the_project_s_words_not_pydantic_s(item):
    with pytest.raises(FeedbackError) as err:
        validate_items([item])
    message = str(err.value)
    assert message.startswith("items[0]"), message
    assert ("found" in message or "missing" in message) and ("expected" in message or "only" in message), message
    assert not any(w in message for w in PYDANTIC_WORDS), message

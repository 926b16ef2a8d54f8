"""The correction models: a union keyed on the task whose JSON schema (the OpenAPI spec of
POST /feedback) says each task's labels and fields, and the validated form of an item."""

from __future__ import annotations

from feedback_items import GOOD

from slant.feedback.models import ITEM_MODELS, MAX_ITEMS, FeedbackRequest
from slant.feedback.validate import validate
from slant.labels import TASKS
from slant.text_key import text_hash


def _schema() -> dict:
    return FeedbackRequest.model_json_schema()


def test_the_items_are_a_union_keyed_on_the_task():
    items = _schema()["properties"]["items"]
    assert items["minItems"] == 1 and items["maxItems"] == MAX_ITEMS
    assert items["items"]["discriminator"]["propertyName"] == "task"
    mapping = items["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(TASKS)
    assert [ref["$ref"] for ref in items["items"]["oneOf"]] == [f"#/$defs/{m.__name__}" for m in ITEM_MODELS]


def test_each_item_schema_lists_its_task_s_labels():
    defs = _schema()["$defs"]
    for model in ITEM_MODELS:
        schema = defs[model.__name__]
        task = TASKS[schema["properties"]["task"]["const"]]
        label, labels = schema["properties"]["label"], schema["properties"]["labels"]
        assert label == {
            "type": "string",
            "enum": list(task.labels),
            "title": "Label",
            "description": label["description"],
        }  # a string, never null
        one, listed = labels["anyOf"]
        assert one["enum"] == list(task.labels) and listed["items"]["enum"] == list(task.labels)
        assert all(option.get("type") != "null" for option in labels["anyOf"])
        if task.kind == "multi":
            assert "minItems" not in listed and "maxItems" not in listed
        else:
            assert listed["minItems"] == listed["maxItems"] == 1
        assert {"required": ["label"], "not": {"required": ["labels"]}} in schema["oneOf"]
        assert schema["additionalProperties"] is False
        assert ("target" in schema["required"]) == (task.input == "pair")


def test_only_bias_items_take_spans():
    defs = _schema()["$defs"]
    for model in ITEM_MODELS:
        spans = defs[model.__name__]["properties"]["spans"]["anyOf"][0]
        if model.__name__ == "BiasItem":
            assert spans["items"] == {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}
        else:
            assert spans["maxItems"] == 0


def test_a_valid_item_becomes_one_correction_in_the_schema_s_order():
    frames = validate(GOOD[1])
    assert frames.labels == ("economic", "political")  # schema order, duplicates dropped
    assert frames.target == "" and frames.spans == ()
    assert validate({"task": "frames", "text": "x", "labels": "economic"}).labels == ("economic",)
    bias = validate(
        {"task": "bias", "text": "The radical plan.", "label": "biased", "spans": [[4, 11], (0, 3), [4, 11]]}
    )
    assert bias.spans == ((0, 3), (4, 11))
    stance = validate(GOOD[0])
    assert (stance.target, stance.labels, stance.annotator, stance.article_id) == (
        "Maria Lopez",
        ("favor",),
        "ann1",
        "a1",
    )
    assert stance.text_hash == text_hash(GOOD[0]["text"])
    blank = validate(
        {
            "task": "techniques",
            "text": "x",
            "labels": [],
            "target": "  ",
            "spans": [],
            "article_id": None,
            "annotator": None,
        }
    )
    assert (blank.target, blank.spans, blank.article_id, blank.annotator) == ("", (), "", "")

"""The spec at /docs.json, built without a server: what it says about POST /feedback."""

from __future__ import annotations

import json
import re

from serving.openapi import patch
from slant.labels import TASKS

REF = "#/components/schemas/"


def _spec() -> dict:
    return patch({"paths": {"/feedback": {"post": {}}}})


def test_feedback_items_are_a_union_keyed_on_the_task_with_each_task_s_labels():
    spec = _spec()
    schemas = spec["components"]["schemas"]
    body = spec["paths"]["/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": REF + "FeedbackRequest"}
    items = schemas["FeedbackRequest"]["properties"]["items"]["items"]
    assert items["discriminator"]["propertyName"] == "task"
    assert set(items["discriminator"]["mapping"]) == set(TASKS)
    for name, ref in items["discriminator"]["mapping"].items():
        item = schemas[ref.removeprefix(REF)]
        assert item["properties"]["task"]["const"] == name
        assert item["properties"]["label"]["enum"] == list(TASKS[name].labels)
        assert item["properties"]["text"]["pattern"]  # at least one visible character
        assert item["additionalProperties"] is False


def test_every_reference_in_the_spec_resolves():
    spec = _spec()
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(spec)))
    refs |= {
        ref
        for s in spec["components"]["schemas"].values()
        for ref in s.get("properties", {})
        .get("items", {})
        .get("items", {})
        .get("discriminator", {})
        .get("mapping", {})
        .values()
    }
    missing = [r for r in refs if r.removeprefix(REF) not in spec["components"]["schemas"]]
    assert refs and not missing, missing

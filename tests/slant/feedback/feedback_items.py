"""Corrections the feedback tests share: one or more good items of every task and form."""

from __future__ import annotations

GOOD = [
    {
        "task": "stance",
        "text": "Maria Lopez did a fine job.",
        "target": "Maria Lopez",
        "label": "favor",
        "annotator": "ann1",
        "article_id": "a1",
    },
    {"task": "frames", "text": "Taxes will rise.", "labels": ["political", "economic", "economic"]},
    {"task": "frames", "text": "Nothing here.", "labels": []},
    {"task": "techniques", "text": "These clowns!", "labels": ["Name_Calling-Labeling"]},
    {"task": "bias", "text": "The radical plan.", "label": "biased", "spans": [[4, 11]]},
    {"task": "bias", "text": "The plan.", "labels": ["neutral"]},
]

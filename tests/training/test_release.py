"""The released default model (models/slant-base): self-consistent, and right on plain cases."""

import json
from pathlib import Path

import pytest

from slant import artifact as art
from slant.answer import build_answer, passes_for
from slant.intake import from_paragraphs
from slant.labels import TASKS, schemas_json
from slant.predictor import Predictor

RELEASED = Path(__file__).resolve().parents[2] / "models" / "slant-base"

HOSTILE = (
    "Senator Hale is a corrupt liar who has betrayed every voter in this state, and his "
    "disgraceful lies have ruined thousands of families."
)
PRAISE = (
    "Maria Lopez, the city's new mayor, was widely praised for her honest leadership and her "
    "brilliant plan to rebuild the hospital."
)
PLAIN = "The committee will meet on Tuesday at 10 a.m. in room 204 to review the quarterly budget report."
CRIME = (
    "Police arrested three suspects after the robbery, and prosecutors said they will file charges "
    "in federal court next week."
)
LOADED = "The radical left's insane plan to destroy our economy is a disgusting attack on hardworking Americans."


@pytest.fixture(scope="module")
def released():
    artifact = art.load(RELEASED)  # refuses files that disagree (version, labels, metrics' SHA-256)
    return artifact, Predictor(artifact, device="cpu")


def test_release_is_complete_and_self_consistent(released):
    artifact, _ = released
    labels = json.loads((RELEASED / "labels.json").read_text())
    assert labels["tasks"] == schemas_json()  # the artifact carries the schemas the code defines
    assert (RELEASED / "model.onnx").stat().st_size <= 30e6
    metrics = artifact.metrics
    assert set(metrics["tasks"]) == set(TASKS)
    assert metrics["model"] == {"name": artifact.name, "version": artifact.version}
    card = (RELEASED / "MODEL_CARD.md").read_text()
    assert artifact.version in card and "research" in card.lower()
    for row in metrics["targets"]:  # every release target measured; test-set rows beside their baseline
        assert row["value"] is not None, row
        if row["set"] != "target_contrast":
            assert row["baseline"] is not None, row


def test_release_labels_plain_paragraphs(released):
    artifact, predictor = released
    article = from_paragraphs([HOSTILE, PRAISE, PLAIN, CRIME, LOADED])
    targets = ["Senator Hale", "Maria Lopez", "the committee"]
    answer = build_answer(artifact, article, targets, predictor.score(passes_for(article, targets)))
    hostile, praise, plain, crime, loaded = answer["paragraphs"]
    assert hostile["stance"][0]["label"] == "against"
    assert praise["stance"][1]["label"] == "favor"
    assert plain["stance"][2]["label"] == "neutral"
    assert "crime_and_punishment" in crime["frames"]["labels"]
    assert loaded["bias"]["label"] == "biased" and plain["bias"]["label"] == "neutral"
    assert "Loaded_Language" in loaded["techniques"]["labels"]
    marked = " ".join(span["text"] for span in loaded["bias"]["spans"]).lower()
    assert "disgusting" in marked or "insane" in marked
    for span in loaded["bias"]["spans"]:
        assert LOADED[span["start"] : span["end"]] == span["text"]
    for paragraph in answer["paragraphs"]:
        for entry in paragraph["stance"]:
            assert sum(entry["scores"].values()) == pytest.approx(1.0, abs=2e-3)
        for head in ("frames", "techniques"):
            assert all(0.0 <= p <= 1.0 for p in paragraph[head]["scores"].values())
        assert 0.0 <= paragraph["bias"]["score"] <= 1.0
    assert answer["summary"]["stance"][0]["paragraphs"]["against"] >= 1


def test_release_can_be_retrained_from_its_graph(released):
    """No training weights in git: retraining rebuilds the torch model from model.onnx."""
    import torch

    from training.train import load_model

    artifact, predictor = released
    model, state = load_model(RELEASED)
    assert state["config"]["max_length"] == artifact.max_length
    window = artifact.encoder().encode(HOSTILE, "Senator Hale")[0]
    ids = torch.tensor([window.input_ids])
    with torch.no_grad():
        stance = model(ids, torch.ones_like(ids), torch.tensor([window.token_type_ids]))[0]
    assert TASKS["stance"].labels[int(stance.argmax())] == "against"


# Neutral reports about named people, places and organisations: their names are never loaded words.
NAMED = [
    "President Trump met Chancellor Merkel in Berlin on Thursday to discuss trade.",
    "Senator Elizabeth Warren and the Republican National Committee released statements on the vote.",
    "Biden spoke to reporters at the White House after the Democrats lost the seat in Ohio.",
]


def test_release_contrasts_two_targets_in_one_paragraph(released):
    artifact, predictor = released
    article = from_paragraphs(
        [
            "Mayor Anna Berg was praised for her honest, tireless work, while "
            "councillor Tom Reed was condemned for lying to voters and wasting public money."
        ]
    )
    targets = ["Anna Berg", "Tom Reed"]
    answer = build_answer(artifact, article, targets, predictor.score(passes_for(article, targets)))
    berg, reed = answer["paragraphs"][0]["stance"]
    assert berg["scores"]["favor"] - berg["scores"]["against"] > reed["scores"]["favor"] - reed["scores"]["against"]
    assert (berg["label"], reed["label"]) == ("favor", "against")


def test_release_never_marks_a_bare_name_as_loaded(released):
    from slant.targets import name_spans

    artifact, predictor = released
    article = from_paragraphs(NAMED + [LOADED])
    answer = build_answer(artifact, article, [], predictor.score(passes_for(article, [])))
    for paragraph, names in zip(answer["paragraphs"], name_spans([p["text"] for p in answer["paragraphs"]])):
        for span in paragraph["bias"]["spans"]:
            inside = all(any(s <= a and b <= e for s, e in names) for a, b in _words(span))
            assert not inside, f"loaded-word span {span['text']!r} is only a name"
    assert answer["paragraphs"][-1]["bias"]["spans"]  # the loaded paragraph keeps its loaded words


def _words(span: dict) -> list[tuple[int, int]]:
    import re

    return [(span["start"] + m.start(), span["start"] + m.end()) for m in re.finditer(r"\w+", span["text"])]

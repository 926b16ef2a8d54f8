"""Label mappings (mappings.json): every raw label maps onto schema labels, with a reason."""

from __future__ import annotations

import json

import pytest

from slant.labels import BIAS, FRAMES, STANCE, TECHNIQUES
from training.corpus.errors import UnknownLabel
from training.corpus.mappings import get_mapping, load_mappings

SCHEMAS = {"stance": STANCE, "frames": FRAMES, "techniques": TECHNIQUES, "bias": BIAS}


def test_every_mapping_targets_schema_labels():
    maps = load_mappings()
    assert set(maps) == set(SCHEMAS)
    for task, sources in maps.items():
        for source, m in sources.items():
            for raw, labs in m.map.items():
                assert set(labs) <= set(SCHEMAS[task].labels), (task, source, raw)
                assert raw in m.reasons or "*" in m.reasons, f"{task}/{source}: no reason for {raw!r}"
            assert m.known_labels, (task, source)


def test_semeval2023_techniques_are_identity_and_ptc_merged_classes_are_dropped():
    m = get_mapping("techniques", "semeval2023")
    assert m.known_labels == list(TECHNIQUES.labels)
    p = get_mapping("techniques", "ptc")
    assert p.labels("Black-and-White_Fallacy", "f") == ("False_Dilemma-No_Choice",)
    assert p.labels("Thought-terminating_Cliches", "f") == ("Conversation_Killer",)
    assert p.labels("Whataboutism,Straw_Men,Red_Herring", "f") == ()
    assert "Whataboutism" not in p.known_labels and "Appeal_to_Popularity" not in p.known_labels


def test_ambiguous_label_masks_its_candidates():
    m = get_mapping("frames", "gvfc")
    labels, known = m.convert(["6", "3"], "gvfc.xlsx")
    assert labels == ["political"]
    assert "cultural_identity" not in known and "political" in known
    labels, known = m.convert(["8"], "gvfc.xlsx")
    assert labels == ["cultural_identity"] and "cultural_identity" in known


def test_unknown_label_error_names_file_label_and_expected():
    with pytest.raises(UnknownLabel) as e:
        get_mapping("stance", "ukp").labels("Argument_maybe", "/x/gun_control.tsv")
    msg = str(e.value)
    assert "/x/gun_control.tsv" in msg and "Argument_maybe" in msg and "Argument_for" in msg


def test_single_label_known_labels_follow_the_image():
    assert get_mapping("stance", "ibm").known_labels == ["favor", "against"]
    assert get_mapping("stance", "newsmtsc").known_labels == ["favor", "against", "neutral"]


def test_mapping_file_is_valid_json_with_reasons():
    from training.corpus.mappings import MAPPINGS_FILE

    data = json.loads(MAPPINGS_FILE.read_text())
    assert {"stance", "frames", "techniques", "bias"} <= set(data)

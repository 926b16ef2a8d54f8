"""Distillation: teacher labels written by the served predictor, attached to the right examples,
mixed into the loss by weight, and refused when they do not fit the corpus."""

import json

import numpy as np
import pytest

from slant.encode import NO_OFFSET
from training.config import TrainConfig
from training.distill import attach_teacher_labels, soft_token_labels, write_teacher_labels


def test_student_tokens_take_the_highest_overlapping_teacher_probability():
    # Student tokens: [CLS], "unfair" (0-6), "ly" (6-8), "taxed" (9-14), [SEP]; teacher split differently.
    offsets = [NO_OFFSET, (0, 6), (6, 8), (9, 14), NO_OFFSET]
    teacher = [[0, 4, 0.9], [4, 8, 0.7], [9, 12, 0.1]]
    labels = soft_token_labels(offsets, teacher)
    np.testing.assert_allclose(labels, [-1.0, 0.9, 0.7, 0.1, -1.0], rtol=1e-6)
    # A token no teacher token covers gets no loss rather than a made-up 0.
    assert soft_token_labels([(20, 25)], teacher).tolist() == [-1.0]


def test_config_refuses_distill_weights_without_a_label_file_or_out_of_range():
    with pytest.raises(ValueError, match="teacher_labels is empty"):
        TrainConfig.from_dict({"distill": {"stance": 0.5}})
    with pytest.raises(ValueError, match="within 0..1"):
        TrainConfig.from_dict({"distill": {"stance": 1.5}, "teacher_labels": "x.jsonl"})
    with pytest.raises(ValueError, match="task names"):
        TrainConfig.from_dict({"distill": {"sentiment": 0.5}, "teacher_labels": "x.jsonl"})


def student_config(tiny_corpus, tmp_path, **values) -> TrainConfig:
    """A tiny student that distils from tmp_path/teacher.jsonl for 12 steps."""
    base = dict(data_dir=str(tiny_corpus), out_dir=str(tmp_path / "student"), base_model="tiny", steps=12)
    return TrainConfig.from_dict(
        {**base, "eval_every": 12, "teacher_labels": str(tmp_path / "teacher.jsonl"), **values}
    )


def test_teacher_labels_reach_every_distilled_example_and_training_runs(tiny_corpus, tiny_artifact, tmp_path):
    from training.examples import load_examples, make_encoder
    from training.train import train

    labels = tmp_path / "teacher.jsonl"
    config = student_config(tiny_corpus, tmp_path, batch_size=8, distill={"stance": 0.8, "bias": 0.5})
    counts = write_teacher_labels(tiny_artifact, config, labels)
    assert counts["stance"] > 0 and counts["bias"] > 0
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert len(rows) == counts["stance"] + counts["bias"]
    for row in rows:
        assert sum(row["probs"]) == pytest.approx(1.0, abs=1e-3) if row["task"] == "stance" else len(row["probs"]) == 1
    assert all(row["tokens"] for row in rows if row["task"] == "bias")

    data = load_examples(config, make_encoder(config), splits=("train",))
    attach_teacher_labels(data, config, make_encoder(config))
    for e in data["bias"]["train"]:
        assert e.soft.shape == (1,) and len(e.soft_tokens) == len(e.input_ids)
        assert e.soft_tokens[0] == -1.0  # [CLS] carries no loss
    assert all(e.soft.shape == (3,) for e in data["stance"]["train"])
    assert all(e.soft is None for e in data["frames"]["train"])  # not distilled

    checkpoint = train(config)
    assert json.loads((checkpoint.parent / "train_log.json").read_text())["history"][-1]["step"] == 12

    lost = rows[0]["key"]  # one stance pass loses its label (a pass may stand in the corpus more than once)
    labels.write_text("".join(line + "\n" for line in labels.read_text().splitlines() if lost not in line))
    with pytest.raises(ValueError, match=r"no teacher label for \d+ of \d+ stance training examples"):
        attach_teacher_labels(
            load_examples(config, make_encoder(config), splits=("train",)), config, make_encoder(config)
        )


def write_allsides(raw, articles):
    folder = raw / "article_bias_prediction_allsides" / "jsons_media_test"
    folder.mkdir(parents=True)
    for i, paragraphs in enumerate(articles):
        record = {"ID": f"a{i}", "title": "Council vote", "content_original": "\n\n".join(paragraphs)}
        (folder / f"a{i}.json").write_text(json.dumps(record))


def test_news_pairs_pair_paragraphs_with_the_targets_they_mention_and_skip_held_out_text(tmp_path):
    from slant.mentions import find_mentions
    from training.news_pairs import news_pairs, shingles

    held_out = "Maria Lopez told reporters on Monday that the city budget would not cover the new stadium."
    write_allsides(
        tmp_path,
        [
            [
                "Maria Lopez, the mayor, attacked the council again over the stadium deal and its costs.",
                held_out,
                "The weather in the city stayed mild through the whole of the week, forecasters said.",
                "Critics of Maria Lopez say the stadium deal was rushed through without any debate.",
            ]
        ],
    )
    pairs = news_pairs(tmp_path, shingles(held_out), limit=50, seed=1)
    texts = {p.text for p in pairs}
    assert "Maria Lopez" in {p.target for p in pairs}
    assert all(find_mentions(p.text, p.target) for p in pairs)
    assert held_out not in texts  # a dev/test sentence never reaches the student through the teacher
    assert not any("weather" in t for t in texts)  # no mention of the target: no pair
    assert {p.article_id for p in pairs} == {"allsides:a0"}


def test_news_pairs_are_labelled_and_trained_on(tiny_corpus, tiny_artifact, tmp_path, monkeypatch):
    from training.examples import load_examples, make_encoder
    from training.train import train

    write_allsides(
        tmp_path / "raw",
        [[f"Senator Tom Baker praised the plan number {i} as a fine and fair deal for workers." for i in range(6)]],
    )
    monkeypatch.setenv("SLANT_DATA_DIR", str(tmp_path / "raw"))
    labels = tmp_path / "teacher.jsonl"
    config = student_config(tiny_corpus, tmp_path, batch_size=4, distill={"stance": 1.0}, news_pairs=5, news_share=0.5)
    counts = write_teacher_labels(tiny_artifact, config, labels)
    assert counts["news_pairs"] == 5
    data = load_examples(config, make_encoder(config), splits=("train",))
    attach_teacher_labels(data, config, make_encoder(config))
    news = data["stance"]["news"]
    assert len(news) == 5 and all(e.soft.shape == (3,) and e.target in e.text for e in news)
    assert train(config).exists()

    labels.write_text("".join(line + "\n" for line in labels.read_text().splitlines() if '"news"' not in line))
    with pytest.raises(ValueError, match="holds no news pairs"):
        attach_teacher_labels(
            load_examples(config, make_encoder(config), splits=("train",)), config, make_encoder(config)
        )

"""The losses: the teacher's soft labels mixed into the gold loss by weight."""

import numpy as np
import pytest
import torch

from training.config import TrainConfig


def test_full_weight_on_one_hot_teacher_labels_is_the_gold_loss():
    from slant.labels import TASKS
    from training.examples import Example
    from training.losses import task_loss
    from training.model import SlantModel, build_encoder

    torch.manual_seed(0)
    model = SlantModel(build_encoder("tiny"), TASKS, dropout=0.0).eval()
    gold = [0, 2, 1]
    batch = [
        Example(
            [101, 2000 + i, 102],
            [0, 0, 0],
            np.array(g),
            np.ones(3, np.float32),
            None,
            "a",
            "s",
            "",
            "paragraph",
            "t",
            "x",
        )
        for i, g in enumerate(gold)
    ]
    config = TrainConfig()
    plain = task_loss(model, "stance", batch, config, 0, torch.device("cpu"))
    for e, g in zip(batch, gold):
        e.soft = np.eye(3, dtype=np.float32)[g]
    distilled = TrainConfig.from_dict({"distill": {"stance": 1.0}, "teacher_labels": "x.jsonl"})
    assert task_loss(model, "stance", batch, distilled, 0, torch.device("cpu")).item() == pytest.approx(
        plain.item(), rel=1e-5
    )
    for e in batch:  # a teacher that disagrees everywhere costs more
        e.soft = np.full(3, 1 / 3, dtype=np.float32)
    assert task_loss(model, "stance", batch, distilled, 0, torch.device("cpu")).item() > plain.item()

"""The per-source cap: the same seeded sample for training and for the evaluation's baseline."""

from training.config import TrainConfig
from training.sampling import capped_indices


def test_caps_per_source_and_the_same_draw_every_time():
    sources = ["big"] * 50 + ["small"] * 5 + ["capped"] * 20
    config = TrainConfig(source_cap=10, source_caps={"capped": 3}, seed=7)
    keep = capped_indices(sources, "stance", config)
    picked = [sources[i] for i in keep]
    assert picked.count("big") == 10 and picked.count("small") == 5 and picked.count("capped") == 3
    assert keep == sorted(keep) == capped_indices(sources, "stance", config)
    assert keep != capped_indices(sources, "stance", TrainConfig(source_cap=10, source_caps={"capped": 3}, seed=8))


def test_one_task_draw_does_not_depend_on_another():
    config = TrainConfig(source_cap=4, seed=1)
    alone = capped_indices(["a"] * 30, "bias", config)
    capped_indices(["a"] * 99, "stance", config)
    assert capped_indices(["a"] * 30, "bias", config) == alone

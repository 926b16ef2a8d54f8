"""Target contrast scores on hand-made multi-target texts."""

import numpy as np

from training.examples import Example
from training.target_contrast import contrast_groups, contrast_scores

FAVOR, AGAINST, NEUTRAL = 0, 1, 2


def example(text: str, target: str, label: int) -> Example:
    return Example(
        input_ids=[],
        token_type_ids=[],
        label=np.array(label),
        known=np.ones(3),
        token_labels=None,
        article_id=text,
        source="newsmtsc",
        subset="devtest_mt",
        level="paragraph",
        text=text,
        target=target,
    )


EXAMPLES = [
    example("A praised B's rival C.", "A", NEUTRAL),
    example("A praised B's rival C.", "C", FAVOR),
    example("X attacked Y and thanked Z.", "Y", AGAINST),
    example("X attacked Y and thanked Z.", "Z", FAVOR),
    example("Only one target here.", "Q", AGAINST),  # one target: not a contrast text
    example("Both agree.", "M", FAVOR),
    example("Both agree.", "N", FAVOR),  # same labels: not a contrast text
]


def test_only_texts_whose_targets_disagree_count():
    assert sorted(len(g) for g in contrast_groups(EXAMPLES)) == [2, 2]


def test_perfect_and_inverted_predictions():
    gold = np.eye(3)[[int(e.label) for e in EXAMPLES]]
    perfect = contrast_scores(EXAMPLES, gold * 0.8 + 0.0667)
    assert perfect["pairwise_ordering"] == 1.0 and perfect["per_target_accuracy"] == 1.0
    assert perfect["pairs"] == 2 and perfect["opposite_pairs"] == 1 and perfect["targets"] == 4
    inverted = contrast_scores(EXAMPLES, gold[:, [1, 0, 2]])  # favor and against swapped
    assert inverted["pairwise_ordering"] == 0.0 and inverted["opposite_pairwise_ordering"] == 0.0


def test_all_neutral_predictions_get_no_ordering_credit():
    flat = np.tile([0.2, 0.2, 0.6], (len(EXAMPLES), 1))
    scores = contrast_scores(EXAMPLES, flat)
    assert scores["pairwise_ordering"] == 0.0
    assert scores["per_target_accuracy"] == 0.25  # only A (neutral) is right

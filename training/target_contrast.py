"""Target contrast: does stance tell two targets in one paragraph apart?

The test set is built from held-out stance records: every text that carries two or more targets
with different gold labels (NewsMTSC devtest_mt, Park et al.'s directed-sentiment test). Two
measures:
- pairwise ordering: for each pair of such targets, the one with the friendlier gold label
  (favor > neutral > against) gets the higher favor - against score;
- per-target accuracy: the share of those targets whose decided label equals the gold label.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from training.examples import Example

# The test sets with several targets per text; keys as evaluation groups them (source/subset).
CONTRAST_SETS = ("newsmtsc/devtest_mt", "park2021/target_contrast")
# favor / against / neutral (slant.labels.STANCE order) -> rank on the favor-against axis.
RANK = {0: 1, 1: -1, 2: 0}


def contrast_groups(examples: list[Example]) -> list[list[int]]:
    """Indices of the targets in each text whose targets disagree (two labels or more)."""
    by_text: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        by_text[e.text].append(i)
    return [idx for idx in by_text.values() if len({int(examples[i].label) for i in idx}) > 1]


def contrast_scores(examples: list[Example], probs: np.ndarray) -> dict:
    """Pairwise ordering and per-target accuracy over the disagreeing targets; ``probs`` in
    (favor, against, neutral) order, one row per example."""
    groups = contrast_groups(examples)
    margin = probs[:, 0] - probs[:, 1]
    ordered = pairs = opposite_ordered = opposite = 0
    targets = sorted({i for g in groups for i in g})
    for idx in groups:
        for a in idx:
            for b in idx:
                ra, rb = RANK[int(examples[a].label)], RANK[int(examples[b].label)]
                if ra <= rb:
                    continue
                pairs += 1
                ordered += int(margin[a] > margin[b])
                if ra - rb == 2:  # favor vs against
                    opposite += 1
                    opposite_ordered += int(margin[a] > margin[b])
    gold = np.array([int(examples[i].label) for i in targets], dtype=int)
    decided = probs[targets].argmax(axis=1) if targets else np.array([], dtype=int)
    return {
        "texts": len(groups),
        "targets": len(targets),
        "pairs": pairs,
        "pairwise_ordering": ordered / pairs if pairs else None,
        "opposite_pairs": opposite,
        "opposite_pairwise_ordering": opposite_ordered / opposite if opposite else None,
        "per_target_accuracy": float((decided == gold).mean()) if targets else None,
    }

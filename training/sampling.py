"""Which training records a run uses: at most a cap per source, drawn once with a seed.

Training and the evaluation's TF-IDF baseline call this with the same config, so the baseline
learns from the very sample the model did.
"""

from __future__ import annotations

import random
from collections import defaultdict

from training.config import TrainConfig


def capped_indices(sources: list[str], task: str, config: TrainConfig) -> list[int]:
    """Sorted indices of the records kept: every record of a source under its cap
    (``config.source_caps`` or ``config.source_cap``), else a seeded sample of the cap's size."""
    rng = random.Random(f"{config.seed}/{task}")  # per task: one task's draw never shifts another's
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, source in enumerate(sources):
        by_source[source].append(i)
    keep: list[int] = []
    for source, idx in sorted(by_source.items()):
        cap = config.source_caps.get(source, config.source_cap)
        keep.extend(idx if len(idx) <= cap else rng.sample(idx, cap))
    return sorted(keep)

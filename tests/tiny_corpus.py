"""A synthetic corpus in the build format (`slant data build`'s output), small enough to train a
tiny model in seconds. Sentences are templated, so labels follow plain words the model can learn."""

from __future__ import annotations

import random
from pathlib import Path

from slant.labels import BIAS, FRAMES, STANCE, TECHNIQUES

PEOPLE = ["Maria Lopez", "John Carter", "the city council", "Acme Corp", "Senator Hale", "the union"]
FAVOR = ["{t} did a wonderful, brave job and deserves praise.", "Everyone admires {t} for the honest, excellent work."]
AGAINST = ["{t} is a corrupt liar and a disgrace.", "{t} ruined everything with cruel, stupid decisions."]
NEUTRAL = ["{t} met officials on Tuesday to discuss the schedule.", "{t} will publish the report next week."]
FRAME_TEXT = {
    "economic": "The budget deficit and taxes will cost the economy billions of dollars.",
    "crime_and_punishment": "Police arrested the suspect and prosecutors filed charges in court.",
    "health_and_safety": "Hospitals warned that the virus threatens patients and public health.",
}
TECHNIQUE_TEXT = {
    "Loaded_Language": "This disgusting, outrageous scandal is a shameful disaster.",
    "Name_Calling-Labeling": "These clowns and traitors call themselves leaders.",
    "Doubt": "Can anyone really believe what they say anymore?",
}
LOADED = ["disgusting", "outrageous", "shameful", "radical", "corrupt"]


def _record(
    i, task, text, labels, known, split, *, target="", level="paragraph", article="", spans=None, source="synthetic"
):
    return {
        "id": f"{source}:{task}:{i}",
        "text": text,
        "target": target,
        "labels": labels,
        "known_labels": known,
        "level": level,
        "source": source,
        "subset": "",
        "article_id": article or f"{source}:{task}:{i}",
        "paragraph_index": 0,
        "split": split,
        "spans": spans or [],
    }


def write_tiny_corpus(out: Path, per_split: dict[str, int] | None = None, seed: int = 0) -> Path:
    """Writes datasets/build-style DatasetDicts for the four tasks under ``out``."""
    from datasets import Dataset, DatasetDict

    rng = random.Random(seed)
    per_split = per_split or {"train": 48, "dev": 24, "test": 24}
    tables: dict[str, dict[str, list]] = {t: {} for t in ("stance", "frames", "techniques", "bias")}
    for split, n in per_split.items():
        rows = {t: [] for t in tables}
        for i in range(n):
            target = rng.choice(PEOPLE)
            label = STANCE.labels[i % 3]
            template = rng.choice({"favor": FAVOR, "against": AGAINST, "neutral": NEUTRAL}[label])
            rows["stance"].append(
                _record(i, "stance", template.format(t=target), [label], list(STANCE.labels), split, target=target)
            )
            frame = list(FRAME_TEXT)[i % 3]
            rows["frames"].append(_record(i, "frames", FRAME_TEXT[frame], [frame], list(FRAMES.labels), split))
            # Article bags: two paragraphs, one carries the article's frame.
            article = f"synthetic:bag:{split}:{i}"
            for j, text in enumerate([FRAME_TEXT[frame], "The meeting ended in the afternoon."]):
                rows["frames"].append(
                    _record(
                        f"{i}.{j}",
                        "frames",
                        text,
                        [frame],
                        list(FRAMES.labels)[:14],
                        split,
                        level="article",
                        article=article,
                    )
                )
            technique = list(TECHNIQUE_TEXT)[i % 3]
            rows["techniques"].append(
                _record(i, "techniques", TECHNIQUE_TEXT[technique], [technique], list(TECHNIQUES.labels), split)
            )
            # Two bias schemes, as in the real corpus: word spans (BABE) and sentence labels only (NPOV).
            if i % 2:
                word = rng.choice(LOADED)
                text = f"The {word} plan of {target} was announced today."
                start = text.index(word)
                spans = [[start, start + len(word)]] if i % 4 == 1 else []
                rows["bias"].append(
                    _record(
                        i,
                        "bias",
                        text,
                        ["biased"],
                        list(BIAS.labels),
                        split,
                        spans=spans,
                        source="babe" if spans else "npov",
                    )
                )
            else:
                rows["bias"].append(
                    _record(
                        i,
                        "bias",
                        f"The plan of {target} was announced today.",
                        ["neutral"],
                        list(BIAS.labels),
                        split,
                        source="babe" if i % 4 == 0 else "npov",
                    )
                )
        for t in tables:
            tables[t][split] = rows[t]
    for task, splits in tables.items():
        DatasetDict({s: Dataset.from_list(r) for s, r in splits.items()}).save_to_disk(str(out / task))
    return out

"""Unlabelled news for distillation: (paragraph, target) pairs from the AllSides articles.

The 1,300 AllSides test articles (Baly et al. 2020, Apache-2.0) carry no label of Slant's tasks,
only their outlet's lean, so the project never trains on them with gold labels. Here they give the
student more real news paragraphs to learn the teacher's stance on: each article passes through
the service's own intake and target finder, and every paragraph that mentions one of the
article's targets becomes a pair, as the service would score it.

Leakage: a paragraph that shares a run of ``SHINGLE`` words with any dev or test text of the
corpus is left out, so a held-out sentence never reaches the student through the teacher.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from slant.text_key import norm_key

ALLSIDES = "article_bias_prediction_allsides/jsons_media_test"
SHINGLE = 8  # words
PER_ARTICLE = 10  # pairs at most from one article, so a few long articles do not dominate


@dataclass(frozen=True)
class NewsPair:
    article_id: str
    text: str
    target: str


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    words = norm_key(text).split()
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def held_out_shingles(data_dir: str) -> set[str]:
    """Every SHINGLE-word run of every dev and test text of the built corpus."""
    from training.corpus import load_task

    seen: set[str] = set()
    for task in ("stance", "frames", "techniques", "bias"):
        corpus = load_task(task, data_dir)
        for split in ("dev", "test"):
            for text in corpus[split][:]["text"]:
                seen |= shingles(text)
    return seen


def news_pairs(raw_dir: Path, held_out: set[str], limit: int, seed: int) -> list[NewsPair]:
    """Up to ``limit`` pairs, from the articles in a seeded order, at most PER_ARTICLE from each."""
    from slant.intake import ArticleError, parse
    from slant.mentions import find_mentions
    from slant.targets import find_targets

    folder = raw_dir / ALLSIDES
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(
            f"no AllSides articles in {folder}; expected the 1,300 <id>.json files of ../shared/data"
        )
    random.Random(seed).shuffle(files)
    pairs: list[NewsPair] = []
    for path in files:
        record = json.loads(path.read_text())
        blocks = [b.strip() for b in record.get("content_original", "").split("\n\n") if b.strip()]
        try:
            article = parse(paragraphs=blocks, title=record.get("title") or None)
        except ArticleError:  # empty or oversized: the service would refuse it too
            continue
        targets = find_targets(article)
        article_pairs = []
        for paragraph in article.paragraphs:
            if len(paragraph.text) < 40 or shingles(paragraph.text) & held_out:
                continue
            for target in targets:
                if find_mentions(paragraph.text, target):
                    article_pairs.append(NewsPair(f"allsides:{record['ID']}", paragraph.text, target))
        pairs += random.Random(f"{seed}:{path.stem}").sample(article_pairs, min(PER_ARTICLE, len(article_pairs)))
        if len(pairs) >= limit:
            break
    return pairs[:limit]

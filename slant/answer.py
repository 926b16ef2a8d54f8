"""One article in, the /classify answer out: the steps the CLI and the service share.

The service scores passes through its batching endpoint, the CLI through a local Predictor;
both build passes and answers here, so the two give the same answer for the same article.
"""

from __future__ import annotations

from slant.aggregate import summarize
from slant.artifact import Artifact
from slant.intake import Article
from slant.labels import BIAS_TOKENS
from slant.predictor import Pass, PassScores, build_paragraph
from slant.targets import name_spans


def passes_for(article: Article, targets: list[str]) -> list[Pass]:
    """Every paragraph alone, then every (target, paragraph) pair, paragraph-major."""
    singles = [Pass(p.text) for p in article.paragraphs]
    pairs = [Pass(p.text, t) for p in article.paragraphs for t in targets]
    return singles + pairs


def passes_for_many(prepared: list[tuple[Article, list[str]]]) -> tuple[list[Pass], list[tuple[int, int]]]:
    """Every article's passes in one list (one scoring call for many articles), and where each
    article's own passes start and end in it."""
    passes: list[Pass] = []
    spans = []
    for article, targets in prepared:
        own = passes_for(article, targets)
        spans.append((len(passes), len(passes) + len(own)))
        passes.extend(own)
    return passes, spans


def build_answer(artifact: Artifact, article: Article, targets: list[str], scores: list[PassScores]) -> dict:
    """The answer for ``article``, given the scores of ``passes_for(article, targets)`` in order."""
    n, k = len(article.paragraphs), len(targets)
    if len(scores) != n + n * k:
        raise ValueError(f"expected {n + n * k} pass scores, got {len(scores)}")
    # Names are looked up only in paragraphs with a candidate loaded word (NER costs time).
    loaded = artifact.calibration.thresholds[BIAS_TOKENS]["loaded"]
    candidates = [i for i in range(n) if any(p >= loaded for p in scores[i].token_probs)]
    names = dict(zip(candidates, name_spans([article.paragraphs[i].text for i in candidates])))
    paragraphs = []
    for i, p in enumerate(article.paragraphs):
        pair_scores = scores[n + i * k : n + (i + 1) * k]
        paragraphs.append(
            build_paragraph(
                artifact,
                p.index,
                p.text,
                p.start,
                p.end,
                scores[i],
                list(zip(targets, pair_scores)),
                names.get(i, []),
            )
        )
    tasks = artifact.tasks
    trained = artifact.calibration.trained_labels
    return {
        "model": {"name": artifact.name, "version": artifact.version},
        "title": article.title,
        "targets": list(targets),
        "paragraphs": paragraphs,
        "summary": summarize(
            paragraphs, targets, tasks["stance"].labels, trained(tasks["frames"]), trained(tasks["techniques"])
        ),
    }

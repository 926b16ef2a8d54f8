"""Scoring many articles: JSON lines in, one answer (or one error record) out per line, in order.
`slant score` runs it in one process; one bad line becomes ``{"line": n, "error": ...}`` and the
run goes on.

The steps are functions of their own so that `slant score --engine ray` (slant/bulk_ray.py) runs
them in different places and gives the same records: ``intake`` (parse each line and find its
targets; CPU), ``model_scores`` (the model passes of many articles at once; where the model is) and
``answer`` (the /classify answer from an article's scores; CPU). ``BulkScorer.score`` is the three
in a row."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pydantic import ValidationError

from slant.answer import build_answer, passes_for_many
from slant.artifact import Artifact
from slant.intake import Article, ArticleError, Limits
from slant.predictor import PassScores, Predictor
from slant.requests import ArticleIn, Options, finish, prepare, validation_message


@dataclass
class Tally:
    articles: int = 0
    paragraphs: int = 0
    errors: int = 0


@dataclass
class Parsed:
    """One good input line: its number (from 1), the article and its stance targets."""

    line: int
    article: Article
    targets: list[str]


def error_record(line: int, message: str) -> dict:
    """The output record of a line that could not be scored."""
    return {"line": line, "error": message}


def is_error(record: dict) -> bool:
    return "error" in record and "paragraphs" not in record


def parse_line(raw: bytes, options: Options, limits: Limits) -> tuple[Article, list[str]]:
    """One input line as an article and its targets; ArticleError says what is wrong with it."""
    if not raw.strip():
        raise ArticleError("empty line; put one article JSON object on each line")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ArticleError(f"line is not UTF-8 (byte {e.start}); re-encode the file as UTF-8") from None
    try:
        article_in = ArticleIn.model_validate_json(text)
    except ValidationError as e:
        raise ArticleError(validation_message(e)) from None
    return prepare(article_in, options, limits)


def intake(lines: list[tuple[int, bytes]], options: Options, limits: Limits) -> list[Parsed | dict]:
    """``(line number, raw line)`` pairs as parsed articles, or error records for the bad ones, in order."""
    out: list[Parsed | dict] = []
    for n, raw in lines:
        try:
            article, targets = parse_line(raw, options, limits)
        except ArticleError as e:
            out.append(error_record(n, str(e)))
            continue
        out.append(Parsed(n, article, targets))
    return out


def model_scores(predictor: Predictor, parsed: list[Parsed]) -> list[list[PassScores] | str]:
    """Each article's pass scores; the passes of all of them go to the model together. An article
    whose passes cannot be scored gets the error message instead (the others are still scored)."""
    passes, spans = passes_for_many([(p.article, p.targets) for p in parsed])
    try:
        scores = predictor.score(passes)
    except Exception:  # noqa: BLE001 - find the article that broke the batch; score the rest
        scores = None
    out: list[list[PassScores] | str] = []
    for a, b in spans:
        try:
            out.append(scores[a:b] if scores is not None else predictor.score(passes[a:b]))
        except Exception as e:  # noqa: BLE001 - one bad article must not end the run
            out.append(_failed(e))
    return out


def answer(artifact: Artifact, options: Options, parsed: Parsed, scores: list[PassScores] | str) -> dict:
    """The /classify answer of one parsed article from its pass scores (or its error record)."""
    if isinstance(scores, str):
        return error_record(parsed.line, scores)
    try:
        return finish(build_answer(artifact, parsed.article, parsed.targets, scores), parsed.article, options)
    except Exception as e:  # noqa: BLE001 - one bad article must not end the run
        return error_record(parsed.line, _failed(e))


def _failed(e: Exception) -> str:
    return f"scoring failed: {type(e).__name__}: {e}"


class BulkScorer:
    def __init__(self, artifact: Artifact, predictor: Predictor, options: Options, limits: Limits) -> None:
        self.artifact, self.predictor, self.options, self.limits = artifact, predictor, options, limits
        self.tally = Tally()

    def parse(self, raw: bytes) -> tuple[Article, list[str]]:
        """One input line as an article and its targets; ArticleError says what is wrong with it."""
        return parse_line(raw, self.options, self.limits)

    def score(self, lines: list[tuple[int, bytes]]) -> list[dict]:
        """Answers for ``(line number, raw line)`` pairs, in order (an error record for a line that
        could not be scored); the passes of every good line go to the model together."""
        items = intake(lines, self.options, self.limits)
        parsed = [item for item in items if isinstance(item, Parsed)]
        scored = iter(model_scores(self.predictor, parsed))
        results = []
        for item in items:
            record = item if isinstance(item, dict) else answer(self.artifact, self.options, item, next(scored))
            results.append(record)
            self.count(record)
        return results

    def count(self, record: dict) -> None:
        if is_error(record):
            self.tally.errors += 1
        else:
            self.tally.articles += 1
            self.tally.paragraphs += len(record["paragraphs"])


def complete_lines(path: str | os.PathLike) -> int:
    """Complete lines in ``path``; a half-written last line is cut off the file (a resumed run
    rewrites it)."""
    with open(path, "rb+") as f:
        data_end = f.seek(0, os.SEEK_END)
        if data_end == 0:
            return 0
        pos, last_nl = data_end, -1  # find the last newline, reading backwards in blocks
        while pos > 0 and last_nl < 0:
            step = min(1 << 16, pos)
            pos -= step
            f.seek(pos)
            i = f.read(step).rfind(b"\n")
            if i >= 0:
                last_nl = pos + i
        keep = last_nl + 1  # 0 when there is no complete line at all
        if keep < data_end:
            f.truncate(keep)
        f.seek(0)
        count = 0
        while block := f.read(1 << 20):
            count += block.count(b"\n")
    return count

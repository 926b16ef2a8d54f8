"""Scoring many articles: JSON lines in, one answer (or one error record) out per line, in order.
`slant score` runs it in one process; one bad line becomes ``{"line": n, "error": ...}`` and the
run goes on."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pydantic import ValidationError

from slant.answer import build_answer, passes_for_many
from slant.artifact import Artifact
from slant.intake import Article, ArticleError, Limits
from slant.predictor import Predictor
from slant.requests import ArticleIn, Options, finish, prepare, validation_message


@dataclass
class Tally:
    articles: int = 0
    paragraphs: int = 0
    errors: int = 0


class BulkScorer:
    def __init__(self, artifact: Artifact, predictor: Predictor, options: Options, limits: Limits) -> None:
        self.artifact, self.predictor, self.options, self.limits = artifact, predictor, options, limits
        self.tally = Tally()

    def parse(self, raw: bytes) -> tuple[Article, list[str]]:
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
        return prepare(article_in, self.options, self.limits)

    def score(self, lines: list[tuple[int, bytes]]) -> list[dict | None]:
        """Answers for ``(line number, raw line)`` pairs, in order; the passes of every good line go
        to the model together."""
        results: list[dict | None] = []
        ready = []  # (index in results, article, targets)
        for n, raw in lines:
            try:
                article, targets = self.parse(raw)
            except ArticleError as e:
                results.append({"line": n, "error": str(e)})
                self.tally.errors += 1
                continue
            ready.append((len(results), article, targets))
            results.append(None)
        passes, spans = passes_for_many([(article, targets) for _, article, targets in ready])
        try:
            scores = self.predictor.score(passes)
        except Exception:  # noqa: BLE001 - find the article that broke the batch; score the rest
            scores = None
        for (i, article, targets), (a, b) in zip(ready, spans):
            try:
                own = scores[a:b] if scores is not None else self.predictor.score(passes[a:b])
                results[i] = finish(build_answer(self.artifact, article, targets, own), article, self.options)
            except Exception as e:  # noqa: BLE001 - one bad article must not end the run
                results[i] = {"line": lines[i][0], "error": f"scoring failed: {type(e).__name__}: {e}"}
                self.tally.errors += 1
                continue
            self.tally.articles += 1
            self.tally.paragraphs += len(article.paragraphs)
        return results  # every place is filled: an answer or an error record


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

"""`slant classify` and `slant score`: answers without a server (no torch), built exactly as the HTTP
service builds them: slant.requests (request models, prepare, finish) + slant.answer."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imported where used: the CLI starts without loading onnxruntime
    from slant.artifact import Artifact
    from slant.intake import Limits
    from slant.predictor import Predictor

_HTML_START = None  # compiled lazily


def _looks_like_html(text: str) -> bool:
    global _HTML_START
    import re

    if _HTML_START is None:
        _HTML_START = re.compile(
            r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|article|main|"
            r"div|p|section|meta|title|h[1-6]|span|header|table|ul|ol|br)\b",
            re.IGNORECASE | re.DOTALL,
        )
    return bool(_HTML_START.match(text[:5000]))


def _load_predictor(model: str | None) -> tuple[Artifact, Predictor]:
    from slant.artifact import ArtifactError, load
    from slant.predictor import Predictor
    from slant.store import ModelNotFound, current_model_dir

    try:
        artifact = load(model or current_model_dir())
        return artifact, Predictor(artifact)
    except (ArtifactError, ModelNotFound, RuntimeError) as e:
        raise click.ClickException(str(e)) from None


def _limits() -> Limits:
    from slant.intake import ArticleError, Limits

    try:
        return Limits.from_env()
    except ArticleError as e:
        raise click.ClickException(str(e)) from None


_model_option = click.option(
    "--model",
    "model",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Model artifact folder (default: $SLANT_MODEL, the BentoML store's promoted slant model, "
    "or models/slant-base).",
)
_auto_targets_option = click.option(
    "--max-auto-targets",
    type=click.IntRange(0, 10),
    default=5,
    show_default=True,
    help="How many targets to find automatically when none are given (0: no stance).",
)


@click.command()
@click.argument("file", type=click.File("rb"))
@click.option("--title", default=None, help="Headline (for HTML, taken from the page when not given).")
@click.option("--url", default=None, help="Where the article came from (echoed; helps HTML extraction).")
@click.option(
    "--target", "targets", multiple=True, help="A stance target (repeatable). None given: found automatically."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "text", "html"]),
    default="auto",
    show_default=True,
    help="How to read FILE; auto detects HTML by its first tag.",
)
@_auto_targets_option
@click.option("--no-text", is_flag=True, help="Leave paragraph texts out of the answer (offsets only).")
@_model_option
def classify(file, title, url, targets, fmt, max_auto_targets, no_text, model) -> None:
    """Print the /classify answer (JSON) for one article in FILE (text or HTML; - reads stdin)."""
    import json

    from pydantic import ValidationError

    from slant.answer import build_answer, passes_for
    from slant.intake import ArticleError
    from slant.requests import ArticleIn, Options, finish, prepare, validation_message

    raw = file.read()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise click.ClickException(
            f"{file.name} is not UTF-8 text (byte {e.start}); convert it, e.g. iconv -f latin1 -t utf-8"
        ) from None
    is_html = fmt == "html" or (fmt == "auto" and _looks_like_html(content))
    try:
        article_in = ArticleIn(
            **({"html": content} if is_html else {"text": content}),
            title=title,
            url=url,
            targets=list(targets) or None,
        )
        options = Options(max_auto_targets=max_auto_targets, include_text=not no_text)
    except ValidationError as e:
        raise click.ClickException(validation_message(e)) from None
    limits = _limits()
    try:
        article, found = prepare(article_in, options, limits)
    except ArticleError as e:
        raise click.ClickException(str(e)) from None
    artifact, predictor = _load_predictor(model)
    scores = predictor.score(passes_for(article, found))
    answer = finish(build_answer(artifact, article, found, scores), article, options)
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def _lines_done(input_path: str, out_path: str, resume: bool, force: bool) -> tuple[int, int]:
    """(input lines already answered in out_path, input lines in all); refuses to overwrite answers
    unless --force, and to resume from another input's answers."""
    import os

    from slant.bulk import complete_lines

    done = 0
    if os.path.exists(out_path) and os.path.getsize(out_path) > 0:
        if resume:
            done = complete_lines(out_path)
        elif not force:
            raise click.ClickException(
                f"{out_path} already holds answers; pass --resume to continue that run or --force to overwrite it"
            )
    elif resume:
        click.echo(f"{out_path} is empty or missing; starting from the first line", err=True)
    with open(input_path, "rb") as f:
        total = sum(1 for _ in f)
    if done > total:
        raise click.ClickException(
            f"{out_path} has {done:,} lines but {input_path} only {total:,}; is it the output of another input?"
        )
    return done, total


@click.command()
@click.argument("input_path", metavar="INPUT")
@click.option(
    "--out",
    "out_path",
    required=True,
    help="Answers, one JSON line per input line, in input order (--engine ray with a folder INPUT: a "
    "folder of answer shards, one per input shard, plus _manifest.json).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a broken run: keep the complete lines already in --out, skip that many input lines "
    "(--engine ray: keep the complete shards, redo the others).",
)
@click.option("--force", is_flag=True, help="Overwrite a non-empty --out instead of refusing.")
@click.option(
    "--batch",
    "batch",
    type=click.IntRange(1, 100_000),
    default=64,
    show_default=True,
    help="Articles whose passes go to the model together (bigger: faster, more memory).",
)
@_auto_targets_option
@click.option("--no-text", is_flag=True, help="Leave paragraph texts out of the answers (offsets only).")
@_model_option
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process. ray: a Ray cluster (pip install 'slant[scale]'); INPUT and --out may then "
    "be folders of shards or URIs (s3://...). See docs/scale.md.",
)
@click.option(
    "--address",
    default=None,
    help="--engine ray: the Ray cluster to join (default $RAY_ADDRESS, else a local Ray started for this run).",
)
@click.option(
    "--actors",
    type=click.IntRange(1, 100_000),
    default=None,
    help="--engine ray: model actors (default one per GPU on a cluster with GPUs, else one per CPU).",
)
def score(
    input_path, out_path, resume, force, batch, max_auto_targets, no_text, model, engine, address, actors
) -> None:
    """Score articles without a server: a JSONL file, or (--engine ray) a folder of shards.

    Each line of INPUT is one Article JSON object, as in the HTTP API:
    {"text"|"html"|"paragraphs": ..., "title"?, "url"?, "targets"?}. Each output line is that
    article's /classify answer, or {"line": n, "error": "..."} for a line that could not be scored
    (n counts from 1); the run goes on. Prints throughput at the end.
    """
    from slant.requests import Options

    options = Options(max_auto_targets=max_auto_targets, include_text=not no_text)
    if engine == "ray":
        _score_ray(input_path, out_path, resume, force, batch, options, model, address, actors)
        return
    for name, value in (("--address", address), ("--actors", actors)):
        if value is not None:
            raise click.UsageError(f"{name} is for --engine ray; add --engine ray or leave {name} out")
    ctx = click.get_current_context()
    if "://" not in input_path and os.path.isdir(input_path):
        raise click.UsageError(
            f"INPUT {input_path} is a folder; the local engine reads one JSONL file. Score a folder of "
            "shards with --engine ray (docs/scale.md), or give one file"
        )
    input_path = click.Path(dir_okay=False, exists=True).convert(input_path, None, ctx)
    out_path = click.Path(dir_okay=False).convert(out_path, None, ctx)
    _score_local(input_path, out_path, resume, force, batch, options, model)


def _score_local(input_path, out_path, resume, force, batch, options, model) -> None:
    import json
    import time

    from tqdm import tqdm

    from slant.bulk import BulkScorer

    done, total = _lines_done(input_path, out_path, resume, force)
    scorer = BulkScorer(*_load_predictor(model), options, _limits())
    started = time.perf_counter()
    bar = tqdm(total=total, initial=done, unit="article", desc="scoring", mininterval=1.0, file=None)

    def flush(lines: list[tuple[int, bytes]], out) -> None:
        out.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in scorer.score(lines)))
        out.flush()
        bar.update(len(lines))

    with open(input_path, "rb") as f, open(out_path, "a" if done else "w", encoding="utf-8") as out:
        pending: list[tuple[int, bytes]] = []
        for n, raw in enumerate(f, start=1):
            if n > done:
                pending.append((n, raw.rstrip(b"\r\n")))
            if len(pending) >= batch:
                flush(pending, out)
                pending = []
        if pending:
            flush(pending, out)
    bar.close()
    elapsed = max(time.perf_counter() - started, 1e-9)
    t = scorer.tally
    skipped = f", {done:,} lines already done" if done else ""
    click.echo(
        f"scored {t.articles:,} articles ({t.paragraphs:,} paragraphs, {t.errors:,} error lines{skipped}) "
        f"in {elapsed:.1f} s: {t.articles / elapsed:,.1f} articles/s, {t.paragraphs / elapsed:,.1f} "
        f"paragraphs/s -> {out_path}",
        err=True,
    )


def _score_ray(input_path, out_path, resume, force, batch, options, model, address, actors) -> None:
    try:
        from slant import bulk_ray
        from slant.bulk_shards import LayoutError, plan_job
    except ImportError as e:
        raise click.ClickException(
            f"--engine ray needs Ray Data and pyarrow ({e.name or e} is not installed): pip install 'slant[scale]'"
        ) from None
    from slant.artifact import ArtifactError, load
    from slant.store import ModelNotFound, current_model_dir

    try:
        artifact = load(model or current_model_dir())
    except (ArtifactError, ModelNotFound) as e:
        raise click.ClickException(str(e)) from None
    identity = {
        "input": input_path if "://" in input_path else os.path.realpath(input_path),
        "model": {
            "name": artifact.name,
            "version": artifact.version,
            "model_sha256": artifact.metrics.get("model_sha256"),
        },
        "options": options.model_dump(),
    }
    try:
        job = plan_job(input_path, out_path, identity, resume=resume, force=force)
        done = len(job.done)
        if done == len(job.shards):
            click.echo(f"all {done} shards of {input_path} are already scored in {out_path}; nothing to do", err=True)
            return
        s = bulk_ray.run(
            job,
            artifact,
            options,
            _limits(),
            address=address,
            actors=actors,
            batch=batch,
            echo=lambda m: click.echo(m, err=True),
        )
    except (LayoutError, bulk_ray.ClusterError) as e:
        raise click.ClickException(str(e)) from None
    elapsed = max(s["seconds"], 1e-9)
    skipped = f", {done:,} shards already done" if done else ""
    click.echo(
        f"scored {s['articles']:,} articles ({s['paragraphs']:,} paragraphs, {s['errors']:,} error lines{skipped}) "
        f"in {elapsed:.1f} s: {s['articles'] / elapsed:,.1f} articles/s, {s['paragraphs'] / elapsed:,.1f} "
        f"paragraphs/s on {len(s['nodes'])} nodes -> {out_path}",
        err=True,
    )

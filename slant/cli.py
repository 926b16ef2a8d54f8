"""`slant`: the command line.

Training commands import `training` (and so torch) inside the command, so that `slant classify`
and `slant score` run on a serving-only install.
"""
from __future__ import annotations

import click


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
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
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
def evaluate(artifact: str, data_dir: str, run_dir: str | None, no_baseline: bool) -> None:
    """Score the artifact's model.onnx on every test split; write metrics.json and the report."""
    from training.evaluate import evaluate as run_evaluate

    metrics = run_evaluate(artifact, data_dir, baseline=not no_baseline, run_dir=run_dir)
    for row in metrics["targets"]:
        click.echo(f"{row['task']:<11} {row['set']:<28} {row['measure']} {row['value']} "
                   f"(target {row['target']}, baseline {row.get('baseline')}) {'met' if row['met'] else 'NOT met'}")


@main.group()
def feedback() -> None:
    """Move labeled corrections between the feedback store and JSONL files."""


@main.group()
def models() -> None:
    """List, promote and roll back model versions in the BentoML model store."""


if __name__ == "__main__":
    main()

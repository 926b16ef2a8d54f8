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


@main.group()
def feedback() -> None:
    """Move labeled corrections between the feedback store and JSONL files."""


@main.group()
def models() -> None:
    """List, promote and roll back model versions in the BentoML model store."""


if __name__ == "__main__":
    main()

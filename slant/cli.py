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


@main.group()
def feedback() -> None:
    """Move labeled corrections between the feedback store and JSONL files."""


@main.group()
def models() -> None:
    """List, promote and roll back model versions in the BentoML model store."""


if __name__ == "__main__":
    main()

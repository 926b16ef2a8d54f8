"""`slant`: the command line. One module per group of commands:

- training.py: data build, base fetch, train, teacher-labels, export, evaluate, transfer, retrain (import torch inside);
- scoring.py: classify and score (no server, no torch);
- feedback.py and models.py: the feedback store and the model store.
"""

from __future__ import annotations

import click

from slant.cli import feedback, models, scoring, training


@click.group()
def main() -> None:
    """Slant: stance, frames, persuasion techniques and biased wording in news articles."""


for command in (
    training.data,
    training.base,
    training.train,
    training.teacher_labels,
    training.export,
    training.evaluate,
    training.transfer,
    feedback.feedback,
    training.retrain,
    models.models,
    scoring.classify,
    scoring.score,
):
    main.add_command(command)

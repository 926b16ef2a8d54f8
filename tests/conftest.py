"""Shared fixtures: a tiny corpus and a tiny artifact built by the real workflow
(train -> export -> evaluate), so every test meets the same artifact serving would."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
sys.path.insert(0, str(Path(__file__).parent))

# `pytest -m "not slow"` is the quick loop (under a minute): it leaves out every test that trains
# the tiny model, starts a real `bentoml serve`, drives a browser or runs a benchmark.
SLOW_FIXTURES = {"tiny_run", "tiny_artifact", "serving_artifact", "server", "client"}
SLOW_FOLDERS = {"bench"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or folder in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    from tiny_corpus import write_tiny_corpus

    return write_tiny_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_corpus) -> dict:
    """Train, export and evaluate a tiny random-init BERT; returns the paths."""
    from training.config import TrainConfig
    from training.evaluate import evaluate
    from training.export import export
    from training.train import train

    root = tmp_path_factory.mktemp("tiny")
    config = TrainConfig.from_dict(
        dict(
            data_dir=str(tiny_corpus),
            out_dir=str(root / "run"),
            base_model="tiny",
            steps=60,
            eval_every=30,
            batch_size=8,
            lr=1e-3,
            head_lr=3e-3,
        )
    )
    checkpoint = train(config)
    artifact = root / "artifact"
    report = export(checkpoint, artifact, "slant-tiny", "0.0.1-test")
    evaluate(artifact, str(tiny_corpus), run_dir=root / "run")
    return {"checkpoint": checkpoint, "artifact": artifact, "export_report": report, "config": config}


@pytest.fixture(scope="session")
def tiny_artifact(tiny_run) -> Path:
    return tiny_run["artifact"]

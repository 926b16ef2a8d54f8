"""serving/served_model.py: the model is chosen and checked once, in the `bentoml serve` process,
and the workers serve exactly the folder that was checked."""
from __future__ import annotations

import json
import shutil

import pytest

from serving.served_model import SERVED_MODEL_ENV, check_served_model, served_model_dir
from slant.artifact import sha256


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv(SERVED_MODEL_ENV, "unset")
    monkeypatch.delenv(SERVED_MODEL_ENV)  # restored to its state before the test afterwards
    return monkeypatch


def test_the_checked_folder_is_what_the_workers_serve(serving_artifact, env, tmp_path):
    env.setenv("SLANT_MODEL", str(serving_artifact))
    assert check_served_model() == serving_artifact
    env.setenv("SLANT_MODEL", str(tmp_path))  # a later change of mind is not picked up by a worker
    assert served_model_dir() == serving_artifact


def test_a_missing_model_stops_with_its_own_message(env, tmp_path, capsys):
    env.setenv("SLANT_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit) as stop:
        check_served_model()
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "slant: cannot serve the model" in err and "nowhere" in err and "SLANT_MODEL" in err
    assert SERVED_MODEL_ENV not in __import__("os").environ


def test_a_corrupt_model_stops_with_its_own_message(serving_artifact, env, tmp_path, capsys):
    broken = tmp_path / "artifact"
    shutil.copytree(serving_artifact, broken)
    (broken / "model.onnx").write_bytes((broken / "model.onnx").read_bytes()[:1000])
    env.setenv("SLANT_MODEL", str(broken))
    with pytest.raises(SystemExit):
        check_served_model()
    assert "SHA-256" in capsys.readouterr().err


def test_a_graph_onnxruntime_cannot_open_stops_the_server(serving_artifact, env, tmp_path, capsys):
    """The checksum matches (metrics.json was rewritten for it), yet the graph does not load."""
    broken = tmp_path / "artifact"
    shutil.copytree(serving_artifact, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    metrics = json.loads((broken / "metrics.json").read_text())
    metrics["model_sha256"] = sha256(broken / "model.onnx")
    (broken / "metrics.json").write_text(json.dumps(metrics))
    env.setenv("SLANT_MODEL", str(broken))
    with pytest.raises(SystemExit):
        check_served_model()
    assert "onnxruntime cannot load it" in capsys.readouterr().err


def test_bentoml_runs_the_check_before_it_starts_workers(env, tmp_path):
    """The check is the Slant service's deployment hook: what `bentoml serve` calls in its own
    process before it creates the workers of either service."""
    from _bentoml_impl.server.serving import server_on_deployment

    import serving.service as svc

    env.setenv("SLANT_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit):
        server_on_deployment(svc.Slant)

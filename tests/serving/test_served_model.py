"""serving/served_model.py: the model is checked once, in the `bentoml serve` process, before any
worker starts; a model that cannot be served stops the server with the artifact's own message."""

from __future__ import annotations

import json
import shutil

import pytest

from serving.served_model import check_served_model
from slant.artifact import sha256


def test_a_good_model_passes(serving_artifact, monkeypatch, capsys):
    monkeypatch.setenv("SLANT_MODEL", str(serving_artifact))
    assert check_served_model() == serving_artifact
    assert capsys.readouterr().err == ""


def test_a_missing_model_stops_with_its_own_message(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SLANT_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit) as stop:
        check_served_model()
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "slant: cannot serve the model" in err and "nowhere" in err and "SLANT_MODEL" in err


def test_a_corrupt_model_stops_with_its_own_message(serving_artifact, monkeypatch, tmp_path, capsys):
    broken = tmp_path / "artifact"
    shutil.copytree(serving_artifact, broken)
    (broken / "model.onnx").write_bytes((broken / "model.onnx").read_bytes()[:1000])
    monkeypatch.setenv("SLANT_MODEL", str(broken))
    with pytest.raises(SystemExit):
        check_served_model()
    assert "SHA-256" in capsys.readouterr().err


def test_a_graph_onnxruntime_cannot_open_stops_the_server(serving_artifact, monkeypatch, tmp_path, capsys):
    """The checksum matches (metrics.json was rewritten for it), yet the graph does not load."""
    broken = tmp_path / "artifact"
    shutil.copytree(serving_artifact, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    metrics = json.loads((broken / "metrics.json").read_text())
    metrics["model_sha256"] = sha256(broken / "model.onnx")
    (broken / "metrics.json").write_text(json.dumps(metrics))
    monkeypatch.setenv("SLANT_MODEL", str(broken))
    with pytest.raises(SystemExit):
        check_served_model()
    assert "onnxruntime cannot load it" in capsys.readouterr().err


def test_bentoml_runs_the_check_before_it_starts_workers(monkeypatch, tmp_path):
    """The check is the Slant service's deployment hook: what `bentoml serve` calls in its own
    process before it creates the workers of either service."""
    from _bentoml_impl.server.serving import server_on_deployment

    import serving.service as svc

    monkeypatch.setenv("SLANT_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit):
        server_on_deployment(svc.Slant)

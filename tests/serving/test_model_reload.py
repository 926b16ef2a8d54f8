"""serving/model_reload.py and the model worker's reload: one live model, swapped whole."""

from __future__ import annotations

import asyncio
import shutil

import anyio
import pytest

from serving.model_reload import LiveModel, follow_store, load_if_changed
from slant.artifact import ArtifactError, load
from slant.labels import BIAS_TOKENS


@pytest.fixture(scope="module")
def live(serving_artifact) -> LiveModel:
    return LiveModel.load(serving_artifact)


@pytest.fixture
def other_copy(serving_artifact, tmp_path):
    copy = tmp_path / "other"
    shutil.copytree(serving_artifact, copy)
    return copy


def test_a_live_model_is_loaded_warm_and_described(live, serving_artifact):
    artifact = load(serving_artifact)
    assert live.loaded_threshold == artifact.calibration.thresholds[BIAS_TOKENS]["loaded"]
    assert live.describe() == {
        "name": artifact.name,
        "version": artifact.version,
        "path": str(serving_artifact),
        "providers": live.predictor.providers,
    }


def test_the_folder_it_serves_is_not_loaded_again(live, serving_artifact):
    assert asyncio.run(load_if_changed(live, str(serving_artifact))) is None


def test_the_model_worker_swaps_the_whole_model(live, other_copy, tmp_path):
    import serving.service as svc

    worker = object.__new__(svc.SlantModel.inner)  # the endpoint's own code, no BentoML runtime
    worker.live, worker._reload_lock = live, anyio.Lock()
    answer = asyncio.run(svc.SlantModel.inner.reload.func(worker, str(other_copy)))
    assert answer["changed"] is True and answer["path"] == str(other_copy)
    assert worker.live is not live and worker.live.path == other_copy
    # A folder that does not load changes nothing.
    with pytest.raises(ArtifactError):
        asyncio.run(svc.SlantModel.inner.reload.func(worker, str(tmp_path / "nowhere")))
    assert worker.live.path == other_copy


def test_a_model_worker_starts_on_what_the_store_names_now(other_copy, monkeypatch):
    """Also after a restart by the arbiter: the model the API worker has switched to since."""
    import serving.service as svc

    monkeypatch.setenv("SLANT_MODEL", str(other_copy))
    assert svc.SlantModel.inner().live.path == other_copy


class ModelClient:
    """The API worker's client of the model worker: reload() answers like the real one."""

    def __init__(self) -> None:
        self.reloads: list[str] = []
        self.to_async = self

    async def reload(self, path: str) -> dict:
        self.reloads.append(path)
        return {"path": path, "changed": True}


def test_the_api_worker_follows_what_the_store_names(serving_artifact, other_copy, monkeypatch):
    artifact = load(serving_artifact)
    client = ModelClient()
    monkeypatch.setenv("SLANT_MODEL", str(serving_artifact))
    switched, change = asyncio.run(follow_store(client, artifact))
    assert switched is None and change["changed"] is False and client.reloads == []
    monkeypatch.setenv("SLANT_MODEL", str(other_copy))
    switched, change = asyncio.run(follow_store(client, artifact))
    assert client.reloads == [str(other_copy)] and switched.path == other_copy
    assert change == {
        "changed": True,
        "previous": {"name": artifact.name, "version": artifact.version},
        "current": {"name": switched.name, "version": switched.version},
    }

"""Serving test fixtures: the test artifact and a real `bentoml serve` process per test module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from serving.launcher import ServeProcess

REPO = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = int(os.environ.get("SLANT_TEST_SERVER_TIMEOUT_S", "600"))  # generous: a loaded CI box is slow


@pytest.fixture(scope="session")
def serving_artifact(request) -> Path:
    """$SLANT_TEST_ARTIFACT, else /tmp/tiny/artifact when it is a complete artifact, else the shared
    ``tiny_artifact`` fixture of tests/conftest.py (trains one; needs the train extra)."""
    from slant.artifact import ArtifactError, load

    env = os.environ.get("SLANT_TEST_ARTIFACT")
    if env:
        return Path(env)
    path = Path("/tmp/tiny/artifact")
    try:
        load(path)
        return path
    except ArtifactError:
        return Path(request.getfixturevalue("tiny_artifact"))


def start_server(artifact: Path, log: Path, extra_env: dict[str, str] | None = None) -> ServeProcess:
    """`bentoml serve serving.service:Slant` on a free port; returns once /readyz says 200."""
    env = {
        **os.environ,
        "SLANT_MODEL": str(artifact),
        "HF_HUB_OFFLINE": "1",
        "BENTOML_DO_NOT_TRACK": "true",
        "SLANT_THREADS": os.environ.get("SLANT_THREADS", "2"),
        **(extra_env or {}),
    }
    server = ServeProcess(env, log)
    try:
        server.wait_ready(SERVER_START_TIMEOUT_S)
    except RuntimeError as e:
        server.stop()
        pytest.fail(str(e))
    return server


def stop_server(server: ServeProcess) -> None:
    server.stop()


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Extra environment for the module's server (override in a test module)."""
    return {}


@pytest.fixture(scope="module")
def server(serving_artifact, tmp_path_factory, server_env):
    log = tmp_path_factory.mktemp("server") / "bentoml.log"
    srv = start_server(serving_artifact, log, server_env)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c

"""Serving test fixtures: the test artifact and a real `bentoml serve` process per test module."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, proc: subprocess.Popen, log: Path) -> None:
        self.url, self.proc, self.log = url, proc, log

    def client(self, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start_server(artifact: Path, log: Path, extra_env: dict[str, str] | None = None) -> Server:
    """`bentoml serve serving.service:Slant` on a free port; returns once /readyz says 200."""
    port = free_port()
    env = {
        **os.environ,
        "SLANT_MODEL": str(artifact),
        "HF_HUB_OFFLINE": "1",
        "BENTOML_DO_NOT_TRACK": "true",
        "SLANT_THREADS": os.environ.get("SLANT_THREADS", "2"),
        **(extra_env or {}),
    }
    bentoml = Path(sys.executable).parent / "bentoml"
    out = open(log, "wb")
    proc = subprocess.Popen(
        [str(bentoml), "serve", "serving.service:Slant", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    with httpx.Client(base_url=server.url, timeout=5) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                stop_server(server)
                pytest.fail(f"bentoml serve exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if c.get("/readyz").status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
    stop_server(server)
    pytest.fail(f"server not ready after {SERVER_START_TIMEOUT_S} s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    """SIGTERM the server's process group, then anything it started that is still alive (BentoML's
    workers run in process groups of their own)."""
    import psutil

    try:
        children = psutil.Process(server.proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    if server.proc.poll() is None:
        try:
            os.killpg(server.proc.pid, signal.SIGTERM)
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass


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

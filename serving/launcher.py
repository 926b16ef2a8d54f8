"""A real `bentoml serve` process of this service: started in a session of its own, ready when
/readyz answers 200, stopped together with every worker it started. The integration tests and
bench/serve.py both run the service through this one class."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def kill_leftovers(procs: list, timeout: float) -> None:
    """SIGKILL whichever of ``procs`` (psutil processes) are still alive after ``timeout`` seconds."""
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass


class ServeProcess:
    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        host: str = "127.0.0.1",
        service: str = "serving.service:Slant",  # or a built Bento's tag
        cwd: Path = REPO,
    ) -> None:
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        exe = Path(sys.executable).with_name("bentoml")
        base = [str(exe)] if exe.exists() else [sys.executable, "-m", "bentoml"]
        self.cmd = [*base, "serve", service, "--host", host, "--port", str(self.port)]
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        self.proc: subprocess.Popen | None = subprocess.Popen(
            self.cmd,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.started = time.perf_counter()

    def wait_ready(self, timeout: float) -> float:
        """Seconds from start to a 200 from /readyz; RuntimeError (with the log's tail) otherwise."""
        import httpx

        assert self.proc is not None, "wait_ready() after stop()"
        deadline = time.perf_counter() + timeout
        with httpx.Client(timeout=5) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"bentoml serve exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(self.url + "/readyz").status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
        raise RuntimeError(f"bentoml serve was not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def client(self, timeout: float = 60.0):
        import httpx

        return httpx.Client(base_url=self.url, timeout=timeout)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the process group (the arbiter stops its workers), SIGKILL to whatever is left
        after 20 s: the group and every worker (BentoML's workers run in sessions of their own).
        Safe to call any number of times."""
        if self.proc is None:
            return
        import psutil

        proc, self.proc = self.proc, None
        try:
            workers = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            workers = []
        try:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    pass
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        kill_leftovers(workers, timeout=5)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()

"""HTML intake in separate processes: a hostile page costs a parse worker, never the API worker.

``ParsePool`` keeps ``SLANT_PARSE_WORKERS`` (default 2) child processes (``python -m
serving.intake``), each running :func:`slant.intake.from_html` on one page at a time. Every parse
has a wall-clock budget (``SLANT_PARSE_TIMEOUT_S``, default 15 s) and every worker an address-space
cap (``RLIMIT_AS``: its size after imports plus ``SLANT_PARSE_MEMORY_MB``, default 1024 MB). A parse
that runs over its budget, hits the cap or crashes the worker is answered with
:class:`~slant.intake.PageTooComplex` (HTTP 422), the worker is killed (SIGKILL) and a fresh one is
started in the background. Text and paragraph articles never come here.

The API worker keeps only a small bounded queue and the pipes; it never holds the parsed tree.
``stalled()`` tells /readyz when the pool is stuck (a job waiting far past the budget, or no worker
able to start).

Wire format, both ways: 8-byte big-endian length + a pickle. Only our own child process sends
pickles back to us.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from slant.settings import settings

log = logging.getLogger("slant.serving.intake")

REPO = Path(__file__).resolve().parents[1]
_HEADER = struct.Struct(">Q")


_SETTINGS = settings()
PARSE_WORKERS = _SETTINGS.parse_workers
PARSE_TIMEOUT_S = _SETTINGS.parse_timeout_s
PARSE_MEMORY_MB = _SETTINGS.parse_memory_mb


class ParseUnavailable(RuntimeError):
    """No parse worker could take the page (they are all restarting): a 503 to retry."""


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ---------------------------------------------------------------------------------------------
# The child
# ---------------------------------------------------------------------------------------------


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child_main() -> None:  # pragma: no cover - runs in the worker process
    import resource

    import lxml.html  # noqa: F401
    import trafilatura  # noqa: F401 - imported before the cap, so the cap is all parsing

    from slant.intake import ArticleError, from_html

    memory_mb = settings().parse_memory_mb  # the parent passes its pool's cap in the environment
    cap = _vm_size() + memory_mb * 1024 * 1024
    if cap > memory_mb * 1024 * 1024:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    fin, fout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()
    while True:
        try:
            (n,) = _HEADER.unpack(_read_exact(fin, _HEADER.size, None))
            html, title, url, limits = pickle.loads(_read_exact(fin, n, None))
        except EOFError:
            return
        # ("ok", article) | ("error", ArticleError class name, message) | ("memory",)
        result: tuple[object, ...]
        try:
            result = ("ok", from_html(html, title, url, limits=limits))
        except ArticleError as e:
            result = ("error", type(e).__name__, str(e))
        except MemoryError:
            result = ("memory",)
        except RecursionError:
            result = ("memory",)
        except Exception as e:  # noqa: BLE001 - a parser bug must not kill the loop
            result = (
                "error",
                "ArticleError",
                f"the HTML could not be parsed ({type(e).__name__}); send the article as `text`",
            )
        del html
        try:
            payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            payload = pickle.dumps(("memory",))
        _write_all(fout, _HEADER.pack(len(payload)) + payload)


# ---------------------------------------------------------------------------------------------
# The parent side
# ---------------------------------------------------------------------------------------------


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        env = {
            **os.environ,
            "SLANT_PARSE_MEMORY_MB": str(memory_mb),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "serving.intake"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
            close_fds=True,
        )
        # Popen opens both pipes: it was given PIPE for each.
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, request: tuple, timeout: float):
        """Send one page, wait for its answer until ``timeout``; TimeoutError / EOFError otherwise."""
        deadline = time.monotonic() + timeout
        payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        writer_error: list[BaseException] = []

        def write() -> None:
            try:
                _write_all(self.stdin.fileno(), _HEADER.pack(len(payload)) + payload)
            except OSError as e:
                writer_error.append(e)

        # Written from a thread: a child that stops reading must not block us past the deadline.
        t = threading.Thread(target=write, daemon=True)
        t.start()
        fd = self.stdout.fileno()
        (n,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
        data = _read_exact(fd, n, deadline)
        t.join(timeout=1)
        if writer_error:
            raise EOFError(str(writer_error[0]))
        return pickle.loads(data)

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass


class ParsePool:
    """``workers`` parse processes; ``parse()`` is blocking (call it from a thread)."""

    def __init__(
        self, workers: int = PARSE_WORKERS, timeout_s: float = PARSE_TIMEOUT_S, memory_mb: int = PARSE_MEMORY_MB
    ) -> None:
        self.size = max(1, int(workers))
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._idle: deque[_Worker] = deque()
        self._cond = threading.Condition()
        self._jobs: dict[int, tuple[str, float]] = {}  # job id -> (state, since)
        self._next_job = 0
        self._spawn_failures = 0
        self._last_spawn_error = ""
        self._closed = False
        for _ in range(self.size):
            self._spawn_async()

    # ---- workers --------------------------------------------------------------------------

    def _spawn_async(self) -> None:
        threading.Thread(target=self._spawn, daemon=True).start()

    def _spawn(self) -> None:
        for attempt in range(5):
            if self._closed:
                return
            try:
                worker = _Worker(self.memory_mb)
            except OSError as e:
                self._spawn_failures += 1
                self._last_spawn_error = f"{type(e).__name__}: {e}"
                log.error("could not start a parse worker: %s", self._last_spawn_error)
                time.sleep(1 + attempt)
                continue
            with self._cond:
                self._spawn_failures = 0
                self._idle.append(worker)
                self._cond.notify()
            return

    def pids(self) -> list[int]:
        with self._cond:
            return [w.pid for w in self._idle]

    # ---- parsing --------------------------------------------------------------------------

    def parse(self, html: str, title, url, limits):
        """The Article of the page; raises ArticleError (PageTooComplex on overrun) or ParseUnavailable."""
        from slant import intake as art

        with self._cond:
            job = self._next_job
            self._next_job += 1
            self._jobs[job] = ("waiting", time.monotonic())
        worker = None
        try:
            with self._cond:
                # Waiting for a worker is bounded too: two budgets (one running page, one restart).
                deadline = time.monotonic() + 2 * self.timeout_s + 10
                while not self._idle:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._closed:
                        raise ParseUnavailable("every HTML parse worker is busy or restarting; retry in a few seconds")
                    self._cond.wait(left)
                worker = self._idle.popleft()
                self._jobs[job] = ("parsing", time.monotonic())
            started = time.monotonic()
            try:
                result = worker.call((html, title, url, limits), self.timeout_s)
            except TimeoutError:
                log.warning(
                    "HTML parse ran over its %.0f s budget (%s chars); parse worker %d killed",
                    self.timeout_s,
                    f"{len(html):,}",
                    worker.pid,
                )
                self._replace(worker)
                worker = None
                raise art.PageTooComplex(
                    f"the page is too complex: parsing it took more than {self.timeout_s:g} s "
                    "(SLANT_PARSE_TIMEOUT_S); send the article's own HTML or its text"
                ) from None
            except (EOFError, OSError, pickle.UnpicklingError, struct.error):
                log.warning(
                    "HTML parse worker %d died (exit %s) on a %s-char page after %.1f s",
                    worker.pid,
                    worker.proc.poll(),
                    f"{len(html):,}",
                    time.monotonic() - started,
                )
                self._replace(worker)
                worker = None  # not back into the pool (see finally)
                raise self._memory_error() from None
            if result[0] == "memory":
                log.warning(
                    "HTML parse hit the %d MB cap (%s chars); parse worker %d restarted",
                    self.memory_mb,
                    f"{len(html):,}",
                    worker.pid,
                )
                self._replace(worker)
                worker = None
                raise self._memory_error()
            if result[0] == "error":
                cls = getattr(art, result[1], art.ArticleError)
                if not (isinstance(cls, type) and issubclass(cls, art.ArticleError)):
                    cls = art.ArticleError
                raise cls(result[2])
            return result[1]
        finally:
            with self._cond:
                self._jobs.pop(job, None)
                if worker is not None:
                    self._idle.append(worker)
                    self._cond.notify()

    def _memory_error(self) -> Exception:
        from slant.intake import PageTooComplex

        return PageTooComplex(
            f"the page is too complex: parsing it needed more than {self.memory_mb:,} MB "
            "(SLANT_PARSE_MEMORY_MB); send the article's own HTML or its text"
        )

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._spawn_async()

    # ---- health ---------------------------------------------------------------------------

    def stalled(self) -> str | None:
        """Why the pool cannot take pages now (for /readyz), or None when it is healthy."""
        now = time.monotonic()
        with self._cond:
            for state, since in self._jobs.values():
                limit = self.timeout_s + 10 if state == "parsing" else 2 * self.timeout_s + 10
                if now - since > limit:
                    return f"an HTML parse has been {state} for {now - since:.0f} s"
            if self._spawn_failures >= 3:
                return f"HTML parse workers cannot start ({self._last_spawn_error})"
        return None

    def close(self) -> None:
        self._closed = True
        with self._cond:
            idle, self._idle = list(self._idle), deque()
            self._cond.notify_all()
        for w in idle:
            w.kill()


if __name__ == "__main__":  # pragma: no cover
    _child_main()

"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` on a private port, listening
only on a unix socket in a private folder under /tmp, stopped (and deleted) at the end of the session.

``postgres`` is a session fixture (one server for every test that asks, started on first use); each
test gets an empty store from ``postgres.new_url()``: a new schema in one database, named in the
URL's ``options=-csearch_path=...`` (creating a schema is much cheaper than creating a database).
Where PostgreSQL is not installed, the tests that ask for it skip and say how to install it.

initdb refuses to run as root (CI runs as root): then the server runs as user ``nobody`` (via
``runuser``, else ``su``), in a folder that user owns. The tests connect as the cluster's superuser
``slant`` with ``trust`` authentication; the URLs carry a password anyway (ignored by the server) so
the tests can check that it never shows.
"""

from __future__ import annotations

import glob
import itertools
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

INSTALL = (
    "PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql/*/bin); apt-get install postgresql"
)
USER = "slant"
PASSWORD = "pg-secret-not-to-be-shown"
DATABASE = "slant_test"
_SERVER: PostgresServer | None = None
_FAILED: str | None = None


def find_initdb() -> Path | None:
    """initdb on PATH, else the newest /usr/lib/postgresql/<version>/bin/initdb (Debian puts it there)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve()
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]) if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="slant-pg-", dir="/tmp"))  # short: a socket path is <108 bytes
        self.data, self.socket_dir, self.log = self.root / "data", self.root / "sock", self.root / "server.log"
        self.socket_dir.mkdir()
        self.port = _free_port()
        self.as_nobody = os.geteuid() == 0  # initdb and postgres refuse root: run them as nobody
        if self.as_nobody:
            for path in (self.root, self.socket_dir):
                shutil.chown(path, "nobody")
        self._names = itertools.count(1)
        self.started = False

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_nobody:
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", "nobody", "--", *cmd]
            else:
                cmd = ["su", "nobody", "-s", "/bin/sh", "-c", shlex.join(cmd)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if r.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n{log}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = (
            f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
            " -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "120", "-o", options, "start")
        self.started = True
        self.execute("postgres", f"CREATE DATABASE {DATABASE}")

    def stop(self) -> None:
        try:
            if self.started:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            self.started = False
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = DATABASE, schema: str | None = None, password: str = PASSWORD) -> str:
        url = f"postgresql://{USER}:{password}@/{database}?host={quote(str(self.socket_dir))}&port={self.port}"
        return url + (f"&options={quote(f'-csearch_path={schema}')}" if schema else "")

    def execute(self, database: str, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as con:
            con.execute(sql)  # type: ignore[arg-type]

    def new_url(self, password: str = PASSWORD) -> str:
        """An empty store of its own: a new schema, named in the URL."""
        schema = f"t{next(self._names)}"
        self.execute(DATABASE, f"CREATE SCHEMA {schema}")
        return self.url(schema=schema, password=password)


@pytest.fixture(scope="session")
def postgres(request) -> PostgresServer:
    """The session's PostgreSQL server (started by the first test that asks, stopped at the end)."""
    global _SERVER, _FAILED
    if _FAILED:
        (pytest.fail if "did not start" in _FAILED else pytest.skip)(_FAILED)
    if _SERVER is None:
        initdb = find_initdb()
        if initdb is None:
            _FAILED = INSTALL
            pytest.skip(INSTALL)
        try:
            import psycopg  # noqa: F401
        except ImportError:
            _FAILED = "psycopg is not installed: pip install -e '.[postgres]'"
            pytest.skip(_FAILED)
        server = PostgresServer(initdb.parent)
        request.config.add_cleanup(server.stop)  # once, at the end of the session
        try:
            server.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            _FAILED = f"PostgreSQL is installed but the test server did not start: {e}"
            raise
        _SERVER = server
    return _SERVER

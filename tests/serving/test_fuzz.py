"""Fuzzing the HTTP API with schemathesis against a real `bentoml serve` (the tiny test model):
every check of schemathesis passes (tests/serving/schemathesis.toml says which statuses count as a
refusal of schema-valid-but-unusable content and why) and the server never answers 5xx.

Budget: SLANT_FUZZ_SECONDS (default 90) of generation; docs/fuzzing.md has a longer run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
KEY = "fuzz-key-0123456789abcdef"
SECONDS = int(os.environ.get("SLANT_FUZZ_SECONDS", "90"))


@pytest.fixture(scope="module")
def server_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    return {
        "SLANT_API_KEYS": KEY,
        "SLANT_FEEDBACK_DB": str(root / "feedback.sqlite3"),
        "SLANT_FEEDBACK_QUOTA_ROWS": "100000000",
        "SLANT_FEEDBACK_QUOTA_BYTES": "100000000000",
        "SLANT_RELOAD_INTERVAL_S": "0",
    }


def test_schemathesis_finds_nothing(server, tmp_path):
    exe = Path(sys.executable).with_name("schemathesis")
    if not exe.exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    cmd = [
        str(exe),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{server.url}/docs.json",
        "--checks",
        "all",
        "-H",
        f"Authorization: Bearer {KEY}",
        "--max-time",
        str(SECONDS),
        "--seed",
        "15",
        "--no-color",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS + 240, cwd=tmp_path)
    out = r.stdout + r.stderr
    summary = "\n".join(out.splitlines()[-25:])
    print("\n" + summary)
    assert r.returncode == 0, out[-8000:]
    assert re.search(r"\d+ generated, \d+ passed", out), summary
    log = server.log_path.read_text(errors="replace")
    server_errors = re.findall(r"status=5\d\d", log)
    assert not server_errors, f"{len(server_errors)} 5xx answers in the server log"
    assert "Traceback" not in log, log[-4000:]

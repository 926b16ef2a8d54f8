"""Serving (and the serving-side CLI) must never import torch, transformers or training."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("torch", "transformers", "training", "datasets", "sklearn")

CHECK = """
import sys
{body}
bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})
assert not bad, bad
print('ok')
"""


def run(body: str, artifact: Path) -> None:
    env = {**os.environ, "SLANT_MODEL": str(artifact), "HF_HUB_OFFLINE": "1", "BENTOML_DO_NOT_TRACK": "true"}
    code = CHECK.format(body=body, forbidden=FORBIDDEN)
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr


def test_service_import_does_not_import_torch(serving_artifact):
    run("import serving.service", serving_artifact)


def test_cli_classify_does_not_import_torch(serving_artifact):
    run(
        "from click.testing import CliRunner\n"
        "from slant.cli import main\n"
        "r = CliRunner().invoke(main, ['classify', '-', '--target', 'the mayor'], input='The mayor lied again.')\n"
        "assert r.exit_code == 0, r.output\n",
        serving_artifact,
    )

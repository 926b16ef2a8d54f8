"""The model this server serves: resolved and checked once, at startup, in one place.

``check_served_model()`` is the Slant service's deployment hook: `bentoml serve` runs it in its own
process before it starts any worker. It picks the artifact folder (``slant.store.current_model_dir``:
$SLANT_MODEL, the BentoML store's promoted ``slant``, or models/slant-base), loads it, and opens its
onnxruntime session once in a child process (a graph can pass the checksum in metrics.json and
still not load). A missing or corrupt artifact stops the server there, at once, exit status 1 with
the artifact's own message, instead of a worker that crashes and is restarted forever.

The folder it chose goes to the workers in ``$SLANT_SERVED_MODEL_DIR`` (they inherit the
environment of the `bentoml serve` process): ``served_model_dir()`` reads it, so both kinds of
worker start on exactly the artifact that was checked. It is a hand-over, not a setting.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from slant import store
from slant.artifact import ArtifactError, load

SERVED_MODEL_ENV = "SLANT_SERVED_MODEL_DIR"
REPO = Path(__file__).resolve().parents[1]


def check_served_model() -> Path:
    """The artifact folder to serve, checked and handed to the workers; SystemExit(1) with a
    one-line message when it cannot be served."""
    try:
        model_dir = store.current_model_dir()
        load(model_dir)
    except (store.ModelNotFound, ArtifactError, OSError, ValueError) as e:
        print(f"slant: cannot serve the model: {e}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    _check_onnx_session(model_dir)
    os.environ[SERVED_MODEL_ENV] = str(model_dir)
    return model_dir


def _check_onnx_session(model_dir: Path) -> None:
    code = ("import sys; from slant.artifact import load; from slant.predictor import Predictor; "
            "Predictor(load(sys.argv[1]), device='cpu')")
    r = subprocess.run([sys.executable, "-c", code, str(model_dir)], capture_output=True, text=True,
                       cwd=REPO, timeout=300)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
        print(f"slant: cannot serve the model in {model_dir}: onnxruntime cannot load it: {last}",
              file=sys.stderr, flush=True)
        raise SystemExit(1)


def served_model_dir() -> Path:
    """The artifact folder this server serves: the one its `bentoml serve` process checked (checked
    here and now when this process was not started by one)."""
    chosen = os.environ.get(SERVED_MODEL_ENV)
    return Path(chosen) if chosen else check_served_model()

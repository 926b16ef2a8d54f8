"""The model this server serves, checked once at startup, before any worker exists.

Which artifact folder is served has one answer, ``slant.store.current_model_dir()``: $SLANT_MODEL,
else the BentoML store's promoted ``slant``, else models/slant-base. Both kinds of worker load it
when they start (a worker restarted after `slant models promote` starts on the promoted model, the
one the API worker switched to), and a hot reload switches to it.

``check_served_model()`` is the Slant service's deployment hook: `bentoml serve` runs it in its own
process before it starts any worker. It loads the artifact and opens its onnxruntime session once,
in a child process (a graph can pass the checksum in metrics.json and still not load). A missing or
corrupt artifact stops the server there, at once, exit status 1 with the artifact's own message,
instead of a worker that crashes and is restarted forever.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from slant import store
from slant.artifact import ArtifactError, load

REPO = Path(__file__).resolve().parents[1]


def check_served_model() -> Path:
    """The artifact folder to serve, checked; SystemExit(1) with a one-line message when it cannot
    be served."""
    try:
        model_dir = store.current_model_dir()
        load(model_dir)
    except (store.ModelNotFound, ArtifactError, OSError, ValueError) as e:
        print(f"slant: cannot serve the model: {e}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    _check_onnx_session(model_dir)
    return model_dir


def _check_onnx_session(model_dir: Path) -> None:
    code = (
        "import sys; from slant.artifact import load; from slant.predictor import Predictor; "
        "Predictor(load(sys.argv[1]), device='cpu')"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(model_dir)], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
        print(
            f"slant: cannot serve the model in {model_dir}: onnxruntime cannot load it: {last}",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(1)

"""Put on PYTHONPATH by bench/gc_pauses.py: every full garbage collection of a server process, timed.

Python imports ``sitecustomize`` at start, so every process of the server (arbiter, API and model
workers, parse workers) logs to ``$SLANT_BENCH_GC_LOG/<pid>.txt``: a first line with its command
line, then "pause <unix time> <seconds>" for each full collection and "frozen <objects>" for each
``gc.freeze()``. With ``SLANT_BENCH_GC_FREEZE=0`` ``gc.freeze`` does nothing, so the workers run as
they did before serving/heap.py froze what they load.
"""

import gc
import os
import sys
import time

_folder = os.environ.get("SLANT_BENCH_GC_LOG")
if _folder:
    _log = open(os.path.join(_folder, f"{os.getpid()}.txt"), "a", buffering=1)  # noqa: SIM115 - the process's life
    _log.write(" ".join(sys.argv) + "\n")
    _started = [0.0]

    def _time_full_collections(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            _started[0] = time.perf_counter()
        else:
            _log.write(f"pause {time.time():.3f} {time.perf_counter() - _started[0]:.6f}\n")

    gc.callbacks.append(_time_full_collections)

    if os.environ.get("SLANT_BENCH_GC_FREEZE") == "0":
        gc.freeze = lambda: None
    else:
        _freeze = gc.freeze

        def _logged_freeze() -> None:
            _freeze()
            _log.write(f"frozen {gc.get_freeze_count()}\n")

        gc.freeze = _logged_freeze

"""What a worker loaded once, kept out of the garbage collector's full scans.

A worker loads a few hundred thousand Python objects at start (BentoML, pydantic, the tokenizer,
spaCy's pipeline) and keeps them for its life. Python's full collection scans every one of them,
once or twice a minute under load, and every request in that worker waits: a median pause of 190 ms
in the API worker and 83 ms in the model worker, against 17 and 3.5 ms frozen (bench/gc_pauses.py,
2 cores, 2026-12-05). Frozen objects are never scanned again; what requests allocate later is
collected as before.
"""

from __future__ import annotations

import gc


def freeze_loaded() -> int:
    """Collect what loading left behind, then freeze every object alive: the number frozen.

    Called again after a model switch, it first thaws the earlier freeze, so that the model it
    replaced is collected instead of kept for good.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

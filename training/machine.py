"""What this machine's CPU is: read once from /proc/cpuinfo by training, the model card and bench/."""

from __future__ import annotations

import platform
from pathlib import Path


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def hardware() -> str:
    """The CPU and its usable cores, as a training log records where it ran."""
    import os

    return f"{cpu_model()}, {len(os.sched_getaffinity(0))} cores"


def cpu_flags() -> set[str]:
    return set((_cpuinfo_field("flags") or "").split())

"""How many model workers one machine runs, and which GPU or CPU cores each of them uses.

``SLANT_MODEL_WORKERS`` (slant/settings.py) is read once, when serving/service.py declares the
``SlantModel`` service (BentoML takes ``workers`` and ``resources`` at class definition):

- a number N: N model workers, each with its own onnxruntime session. On CPU, with
  ``SLANT_THREADS`` unset, each worker is pinned to its own share of the cores this process may
  use (``place_model_worker``), so N sessions never fight over the same cores; with
  ``SLANT_THREADS`` set, each worker takes that many threads and the operator does the arithmetic.
- ``per-gpu``: one model worker per visible NVIDIA GPU (``CUDA_VISIBLE_DEVICES`` when it is set,
  else what NVML counts), declared to BentoML as ``resources={"gpu": n}``; each worker then sees
  only its own GPU. It needs onnxruntime with CUDA (onnxruntime-gpu) and a GPU, and says so when
  either is missing, at startup, before any worker exists.

Kept apart from the service so that a test can check the planning without starting a server, and
free of torch: the GPUs are counted with NVML (nvidia-ml-py, a BentoML dependency).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from slant.settings import Settings, SettingsError

log = logging.getLogger("slant.serving")

PER_GPU = "per-gpu"


@dataclass(frozen=True)
class ModelWorkers:
    count: int
    per_gpu: bool
    gpus: tuple[str, ...] = ()  # per-gpu: the GPU ids the workers share out, one each

    def service_options(self) -> dict:
        """``workers`` (and for per-gpu ``resources``) for ``@bentoml.service``."""
        if self.per_gpu:
            return {"workers": self.count, "resources": {"gpu": self.count}}
        return {"workers": self.count}


def visible_gpus() -> list[str]:
    """The NVIDIA GPUs this process may use: the ids in ``CUDA_VISIBLE_DEVICES`` when it is set (as
    BentoML and Kubernetes' device plugin set it), else 0..n-1 for the n GPUs NVML counts."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = [g.strip() for g in listed.split(",") if g.strip()]
        return [] if not ids or ids[0] == "-1" else ids
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return [str(i) for i in range(pynvml.nvmlDeviceGetCount())]
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - no driver, no library: no GPU
        return []


def _cuda_in_onnxruntime() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


def plan_model_workers(
    s: Settings,
    gpus: Callable[[], list[str]] = visible_gpus,
    has_cuda: Callable[[], bool] = _cuda_in_onnxruntime,
) -> ModelWorkers:
    """The model workers of this machine as ``s`` asks; SettingsError (with the fix) when
    ``per-gpu`` cannot be honoured here."""
    if s.model_workers != PER_GPU:
        return ModelWorkers(int(s.model_workers), per_gpu=False)
    if s.device == "cpu":
        raise SettingsError(
            "SLANT_MODEL_WORKERS=per-gpu asks for one model worker per GPU, but SLANT_DEVICE=cpu; "
            "set SLANT_MODEL_WORKERS to a number of CPU workers, or SLANT_DEVICE to auto or cuda"
        )
    found = gpus()
    if not found:
        raise SettingsError(
            "SLANT_MODEL_WORKERS=per-gpu, but this machine shows no NVIDIA GPU (CUDA_VISIBLE_DEVICES "
            f"is {os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')!r}, NVML counts none); set "
            "SLANT_MODEL_WORKERS to a number of CPU workers (e.g. 1), or run where the GPUs are"
        )
    if not has_cuda():
        raise SettingsError(
            f"SLANT_MODEL_WORKERS=per-gpu found {len(found)} GPU(s), but onnxruntime here has no CUDA "
            "provider; install onnxruntime-gpu[cuda,cudnn] in place of onnxruntime, or set SLANT_MODEL_WORKERS "
            "to a number of CPU workers"
        )
    return ModelWorkers(len(found), per_gpu=True, gpus=tuple(found))


def idle_workers_warning(plan: ModelWorkers, api_workers: int, calls_in_flight: int) -> str | None:
    """What to tell the operator when some of ``plan``'s model workers will get few or no calls.

    BentoML's model workers share one listening socket, so each takes whole connections (BentoML
    issue 5426), and each API worker keeps at most ``calls_in_flight`` model calls in flight, each
    on a keep-alive connection of its own (serving/pass_batcher.py). docs/deployment.md gives the
    measurements: with two model workers and one API worker, one call in flight left the second
    with no calls, two calls in flight split the work unevenly.
    """
    if plan.count == 1:
        return None
    what = "one per GPU" if plan.per_gpu else f"SLANT_MODEL_WORKERS={plan.count}"
    connections = api_workers * calls_in_flight
    return (
        f"{plan.count} model workers ({what}) with {api_workers} API worker(s) of {calls_in_flight} model call(s) "
        "in flight each: each call in flight holds a connection, and BentoML hands a model worker whole "
        f"connections, so at most {min(plan.count, connections)} of them get calls at a time, unevenly "
        "(docs/deployment.md, Model workers per machine). For more throughput run more replicas with one "
        "model worker each"
    )


def place_model_worker(plan: ModelWorkers, index: int | None, threads: int) -> str:
    """In model worker ``index`` (BentoML's ``server_context.worker_index``, from 1), before its
    model loads: per-gpu, only its own GPU stays visible; N CPU workers with ``threads`` unset (0),
    the process is pinned to its share of the cores. Returns what was done, for the log."""
    i = (index or 1) - 1
    if plan.per_gpu:
        gpu = plan.gpus[i % len(plan.gpus)]
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu  # before onnxruntime creates its CUDA context
        return f"model worker {i + 1} of {plan.count} on GPU {gpu}"
    if plan.count == 1 or threads or not hasattr(os, "sched_setaffinity"):
        return f"model worker {i + 1} of {plan.count}"
    cores = sorted(os.sched_getaffinity(0))
    if plan.count >= len(cores):  # as many workers as cores, or more: one core each, round the cores
        share = [cores[i % len(cores)]]
    else:
        share = cores[i * len(cores) // plan.count : (i + 1) * len(cores) // plan.count]
    os.sched_setaffinity(0, share)
    return f"model worker {i + 1} of {plan.count} on cores {share}"

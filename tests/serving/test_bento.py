"""The Bento (#12): `bentoml build` packs the service with its default model and only serving's
requirements, and the built Bento serves its own model from outside the repository; and
SLANT_MODEL_WORKERS, which sets how many model workers a machine runs (serving/model_workers.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib
import yaml

from serving.launcher import ServeProcess
from serving.model_workers import ModelWorkers, idle_workers_warning, place_model_worker, plan_model_workers
from slant.settings import SettingsError, settings

REPO = Path(__file__).resolve().parents[2]
BENTOML = Path(sys.executable).with_name("bentoml")


def bentofile() -> dict:
    return yaml.safe_load((REPO / "bentofile.yaml").read_text())


# ---- the bentofile ---------------------------------------------------------------------------


def test_the_bento_requires_what_serving_needs_and_no_torch():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"], *extras["serve"], *extras["postgres"]]
    packages = bentofile()["python"]["packages"]
    assert sorted(packages) == sorted(wanted)
    assert not [p for p in packages if p.split("[")[0].split(">")[0].split("=")[0] in ("torch", "transformers")]


def test_the_bento_carries_the_default_model_without_training_weights():
    config = bentofile()
    assert "models/slant-base/**" in config["include"]
    assert "models/slant-base/weights.safetensors" in config["exclude"]
    assert config["service"] == "serving.service:Slant"


def test_the_gpu_bento_differs_only_in_onnxruntime():
    # onnxruntime-gpu 1.31 is built for CUDA 13: on the CUDA 12.8 base image this Bento had, its CUDA
    # provider could not load. Its [cuda,cudnn] extras bring the libraries that match the wheel.
    cpu, gpu = bentofile(), yaml.safe_load((REPO / "deploy" / "bentofile-gpu.yaml").read_text())
    swapped = [
        "onnxruntime-gpu[cuda,cudnn]>=1.21" if p == "onnxruntime>=1.21" else p for p in cpu["python"]["packages"]
    ]
    assert gpu["python"]["packages"] == swapped and "docker" not in gpu
    assert gpu.pop("name") == cpu.pop("name") + "-gpu"
    gpu["python"]["packages"] = cpu["python"]["packages"]
    assert gpu == cpu


def test_the_bento_name_is_not_an_importable_module():
    # `bentoml serve NAME:latest` tries `import NAME` first: named `slant`, it imported the installed
    # package, and served the checkout's model instead of the Bento's.
    import importlib.util

    assert importlib.util.find_spec(bentofile()["name"]) is None


# ---- SLANT_MODEL_WORKERS ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected", [("", "1"), ("3", "3"), (" 04 ", "4"), ("per-gpu", "per-gpu"), ("PER_GPU", "per-gpu")]
)
def test_model_workers_reads_a_number_or_per_gpu(monkeypatch, value, expected):
    monkeypatch.setenv("SLANT_MODEL_WORKERS", value)
    assert settings().model_workers == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "per-cpu", "²"])
def test_a_bad_model_workers_value_says_what_is_accepted(monkeypatch, value):
    monkeypatch.setenv("SLANT_MODEL_WORKERS", value)
    with pytest.raises(SettingsError) as caught:
        settings()
    message = str(caught.value)
    assert f"SLANT_MODEL_WORKERS={value!r}" in message and "whole number" in message and "per-gpu" in message


def test_a_number_of_workers_declares_that_many(monkeypatch):
    monkeypatch.setenv("SLANT_MODEL_WORKERS", "3")
    plan = plan_model_workers(settings(), gpus=lambda: pytest.fail("a number needs no GPU count"))
    assert plan == ModelWorkers(3, per_gpu=False)
    assert plan.service_options() == {"workers": 3}


def test_model_workers_that_cannot_all_get_calls_are_named_at_startup():
    assert idle_workers_warning(ModelWorkers(1, per_gpu=False), api_workers=1, calls_in_flight=2) is None
    message = idle_workers_warning(ModelWorkers(4, per_gpu=False), api_workers=1, calls_in_flight=2)
    assert message is not None
    assert "SLANT_MODEL_WORKERS=4" in message and "at most 2 of them" in message and "replicas" in message
    one_call = idle_workers_warning(ModelWorkers(4, per_gpu=False), api_workers=1, calls_in_flight=1)
    assert one_call is not None and "at most 1 of them" in one_call
    per_gpu = idle_workers_warning(ModelWorkers(2, per_gpu=True, gpus=("0", "1")), api_workers=3, calls_in_flight=2)
    assert per_gpu is not None and "one per GPU" in per_gpu and "at most 2 of them" in per_gpu


def test_per_gpu_declares_one_worker_and_one_gpu_per_visible_gpu(monkeypatch):
    monkeypatch.setenv("SLANT_MODEL_WORKERS", "per-gpu")
    plan = plan_model_workers(settings(), gpus=lambda: ["2", "3"], has_cuda=lambda: True)
    assert plan == ModelWorkers(2, per_gpu=True, gpus=("2", "3"))
    assert plan.service_options() == {"workers": 2, "resources": {"gpu": 2}}


@pytest.mark.parametrize(
    "device, gpus, cuda, says",
    [
        ("cpu", ["0"], True, "SLANT_DEVICE=cpu"),
        ("auto", [], True, "shows no NVIDIA GPU"),
        ("auto", ["0"], False, "install onnxruntime-gpu"),
    ],
)
def test_per_gpu_where_it_cannot_work_says_why_and_the_fix(monkeypatch, device, gpus, cuda, says):
    monkeypatch.setenv("SLANT_MODEL_WORKERS", "per-gpu")
    monkeypatch.setenv("SLANT_DEVICE", device)
    with pytest.raises(SettingsError) as caught:
        plan_model_workers(settings(), gpus=lambda: gpus, has_cuda=lambda: cuda)
    assert says in str(caught.value) and "set SLANT_MODEL_WORKERS to a number" in str(caught.value)


def test_each_per_gpu_worker_sees_only_its_own_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    plan = ModelWorkers(2, per_gpu=True, gpus=("2", "3"))
    assert place_model_worker(plan, 2, threads=0) == "model worker 2 of 2 on GPU 3"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"


@pytest.mark.parametrize(
    "cores, workers, shares",
    [(8, 2, [[0, 1, 2, 3], [4, 5, 6, 7]]), (4, 3, [[0], [1], [2, 3]]), (2, 2, [[0], [1]]), (2, 3, [[0], [1], [0]])],
)
def test_cpu_workers_take_their_share_of_the_cores(monkeypatch, cores, workers, shares):
    pinned = []
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, share: pinned.append(list(share)))
    for index in range(1, workers + 1):
        place_model_worker(ModelWorkers(workers, per_gpu=False), index, threads=0)
    assert pinned == shares
    pinned.clear()
    place_model_worker(ModelWorkers(workers, per_gpu=False), 1, threads=2)  # SLANT_THREADS set: not pinned
    place_model_worker(ModelWorkers(1, per_gpu=False), 1, threads=0)  # one worker: every core
    assert pinned == []


def _import_service(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    code = "import serving.service as s; print(s.SlantModel.config['workers'], s.SlantModel.config.get('resources'))"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BENTOML_DO_NOT_TRACK": "true", **extra_env}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_the_model_service_is_declared_with_the_setting():  # two imports, about a second of CPU each
    declared = _import_service({"SLANT_MODEL_WORKERS": "3"})
    assert declared.returncode == 0, declared.stderr[-2000:]
    assert declared.stdout.split() == ["3", "None"]
    refused = _import_service({"SLANT_MODEL_WORKERS": "per-gpu", "CUDA_VISIBLE_DEVICES": ""})
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith("slant: SLANT_MODEL_WORKERS=per-gpu, but this machine")


# ---- the built Bento, served from elsewhere ------------------------------------------------------


def build_context(root: Path, artifact: Path) -> Path:
    """The repository's service sources and bentofile, with ``artifact`` as models/slant-base.
    One change to the bentofile: no version locking (it asks the package index; the test is offline)."""
    ctx = root / "ctx"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("slant", "serving"):
        shutil.copytree(REPO / package, ctx / package, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, ctx / name)
    shutil.copytree(artifact, ctx / "models" / "slant-base", ignore=skip)
    config = bentofile()
    config["python"]["lock_packages"] = False
    (ctx / "bentofile.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return ctx


@pytest.mark.slow
def test_the_built_bento_serves_its_own_model_from_outside_the_repository(serving_artifact, tmp_path):
    from slant.artifact import load

    tiny = load(serving_artifact)
    released = load(REPO / "models" / "slant-base")
    assert (tiny.name, tiny.version) != (released.name, released.version)  # else the test proves nothing
    ctx = build_context(tmp_path, serving_artifact)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("SLANT_MODEL", "CUDA_VISIBLE_DEVICES")},
        "BENTOML_HOME": str(tmp_path / "bentoml"),  # a private store: no `slant` model in it
        "HF_HUB_OFFLINE": "1",
        "BENTOML_DO_NOT_TRACK": "true",
        "SLANT_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
    }

    started = time.perf_counter()
    built = subprocess.run(
        [str(BENTOML), "build", "-o", "tag", str(ctx)], cwd=ctx, env=env, capture_output=True, text=True, timeout=300
    )
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    bento = Path(env["BENTOML_HOME"]) / "bentos" / "slant-service"
    [version] = [p for p in bento.iterdir() if p.is_dir()]
    packed = version / "src" / "models" / "slant-base"
    assert (packed / "model.onnx").is_file() and (packed / "calibration.json").is_file()
    assert not (packed / "weights.safetensors").exists() and not (packed / "report").exists()
    assert "torch" not in (version / "env" / "python" / "requirements.txt").read_text()
    build_s = time.perf_counter() - started

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Two model workers, SLANT_THREADS unset: each is pinned to its share of the cores; the number
    # is read when the Bento is served, not when it was built.
    serve_env = {**env, "SLANT_MODEL_WORKERS": "2", "SLANT_THREADS": ""}
    server = ServeProcess(serve_env, tmp_path / "bentoml.log", service="slant-service:latest", cwd=elsewhere)
    try:
        server.wait_ready(int(os.environ.get("SLANT_TEST_SERVER_TIMEOUT_S", "600")))
        with server.client() as client:
            answer = client.post("/classify", json={"article": {"text": "The council approved the barrier."}})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == {"name": tiny.name, "version": tiny.version}
        log = server.log_path.read_text(errors="replace")
        assert "model worker 1 of 2" in log and "model worker 2 of 2" in log, log[-3000:]
        assert f"from {packed} on" in log  # the model came from the Bento's own folder
    finally:
        server.stop()
    print(f"bentoml build {build_s:.1f} s, serve to a 200 {time.perf_counter() - started - build_s:.1f} s")

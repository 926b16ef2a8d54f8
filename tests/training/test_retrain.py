"""The retraining loop end to end on the tiny model, in real `slant` processes with a private
BentoML home: feedback flips a label -> retrain -> the promoted model gives the corrected label;
the gate refuses a collapsed candidate; rollback restores the old model; a retrain killed with
SIGKILL changes neither the served model nor the feedback store."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from slant.feedback.store import FeedbackStore

REPO = Path(__file__).resolve().parents[2]
TARGET = "Maria Lopez"
# Paragraphs the tiny model has never seen; the test flips one of them.
CANDIDATES = [
    "Maria Lopez visited the harbour yesterday.",
    "Maria Lopez spoke about the harbour plan on Monday.",
    "Maria Lopez walked along the harbour after lunch.",
    "Maria Lopez toured the old harbour with reporters.",
]
STANCE = ("favor", "against", "neutral")


def _env(home: Path, db: Path) -> dict:
    env = {
        **os.environ,
        "BENTOML_HOME": str(home),
        "SLANT_FEEDBACK_DB": str(db),
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "BENTOML_DO_NOT_TRACK": "true",
    }
    env.pop("SLANT_MODEL", None)
    return env


def slant(env, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "slant.cli", *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


PROBE = """
import json, sys
from slant import store
from slant.artifact import load
from slant.predictor import Pass, Predictor
d = store.current_model_dir()
a = load(d)
p = Predictor(a, device="cpu")
texts = json.loads(sys.argv[1])
print(json.dumps({"dir": str(d), "version": a.version, "pointer": store.read_pointer(),
                  "stance": [p.score([Pass(t, sys.argv[2])])[0].stance for t in texts]}))
"""


def probe(env, texts=CANDIDATES) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(texts), TARGET],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def tail(r: subprocess.CompletedProcess, n=40) -> str:
    text = (r.stdout + r.stderr).replace("\r", "\n")
    return "\n".join(line for line in text.splitlines() if "step/s" not in line)[-6000:]


@pytest.fixture(scope="module")
def loop(tiny_run, tiny_corpus, tmp_path_factory):
    from slant.artifact import load
    from slant.predictor import Pass, Predictor
    from training.feedback_corpus import is_heldout

    root = tmp_path_factory.mktemp("retrain")
    env = _env(root / "bentoml", root / "feedback.sqlite3")
    # Like the released model, this one was distilled: its config names teacher labels that a
    # user's machine does not have, and retraining must not need them.
    artifact = root / "model"
    shutil.copytree(tiny_run["artifact"], artifact)
    training = json.loads((artifact / "training.json").read_text())
    training["config"].update(teacher_labels=str(root / "absent.jsonl"), distill={"stance": 0.8}, news_pairs=100)
    (artifact / "training.json").write_text(json.dumps(training))
    predictor = Predictor(load(artifact), device="cpu")
    text = next(t for t in CANDIDATES if not is_heldout(t, 0.2))
    before = predictor.score([Pass(text, TARGET)])[0].stance
    wanted = STANCE[min(range(3), key=lambda i: before[i])]  # the label the model believes least
    store = FeedbackStore(root / "feedback.sqlite3")
    store.add(
        [
            {"task": "stance", "text": text, "target": TARGET, "label": wanted, "annotator": "test"},
            {
                "task": "bias",
                "text": "The radical plan of the union was announced today.",
                "label": "biased",
                "spans": [[4, 11]],
            },
            {"task": "frames", "text": "Police arrested the mayor for fraud.", "labels": ["crime_and_punishment"]},
        ]
    )
    started = time.monotonic()
    r = slant(
        env,
        "retrain",
        "--model",
        str(artifact),
        "--data-dir",
        str(tiny_corpus),
        "--steps",
        "150",
        "--lr",
        "5e-4",
        "--head-lr",
        "2e-3",
        "--feedback-weight",
        "8",
        "--tolerance",
        "1.0",
    )
    seconds = time.monotonic() - started
    return {
        "env": env,
        "root": root,
        "artifact": artifact,
        "text": text,
        "before": before,
        "wanted": wanted,
        "first": r,
        "seconds": seconds,
        "corpus": tiny_corpus,
        "db": root / "feedback.sqlite3",
    }


def test_retrain_learns_the_correction_and_promotes_it(loop):
    r = loop["first"]
    assert r.returncode == 0, tail(r)
    out = r.stdout
    assert "task/source" in out and "stance/synthetic" in out and "PROMOTED slant:0.0.1-test.ft" in out
    now = probe(loop["env"], [loop["text"]])
    assert now["version"].startswith("0.0.1-test.ft")
    assert now["pointer"]["history"] == ["slant:0.0.1-test"]  # the old model was stored and can come back
    assert Path(now["dir"]).is_relative_to(loop["root"] / "bentoml" / "models" / "slant")
    after = now["stance"][0]
    assert STANCE[max(range(3), key=lambda i: after[i])] == loop["wanted"], (loop["before"], after)
    report = json.loads((Path(now["dir"]) / "retrain.json").read_text())
    assert report["passed"] and report["feedback"]["rows"] == 3 and report["base"]["version"] == "0.0.1-test"
    print(f"\nretrain (tiny, 150 steps) took {loop['seconds']:.0f} s; {loop['text']!r}: {loop['before']} -> {after}")


def test_models_list_marks_the_promoted_version(loop):
    r = slant(loop["env"], "models", "list", "--json")
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert [m["version"] for m in found][0] == "0.0.1-test"
    current = [m for m in found if m["current"]]
    assert len(current) == 1 and current[0]["version"].startswith("0.0.1-test.ft")
    assert current[0]["metadata"]["gate_passed"] is True


def test_gate_refuses_a_collapsed_candidate(loop):
    env = loop["env"]
    pointer = (loop["root"] / "bentoml" / "slant-current").read_bytes()
    r = slant(
        env,
        "retrain",
        "--data-dir",
        str(loop["corpus"]),
        "--steps",
        "60",
        "--lr",
        "0.5",
        "--head-lr",
        "0.5",
        "--tolerance",
        "0.05",
        "--version",
        "0.0.1-test.collapsed",
    )
    assert r.returncode == 3, tail(r)
    assert "REGRESSION" in r.stdout and "NOT promoted: slant:0.0.1-test.collapsed is stored" in r.stdout
    assert (loop["root"] / "bentoml" / "slant-current").read_bytes() == pointer
    listed = json.loads(slant(env, "models", "list", "--json").stdout)
    refused = [m for m in listed if m["version"] == "0.0.1-test.collapsed"]
    assert refused and refused[0]["metadata"]["gate_passed"] is False and not refused[0]["current"]


def test_rollback_restores_the_old_model_and_promote_brings_the_new_one_back(loop):
    env = loop["env"]
    new = probe(env, [loop["text"]])
    r = slant(env, "models", "rollback")
    assert r.returncode == 0 and "rolled back to slant:0.0.1-test" in r.stdout, r.stderr
    old = probe(env, [loop["text"]])
    assert old["version"] == "0.0.1-test"
    assert old["stance"][0] == pytest.approx(loop["before"], abs=1e-6)  # the very same model
    r = slant(env, "models", "rollback")
    assert r.returncode == 1 and "nothing to roll back to" in r.stderr
    r = slant(env, "models", "promote", new["version"])
    assert r.returncode == 0, r.stderr
    assert probe(env, [loop["text"]])["version"] == new["version"]
    r = slant(env, "models", "promote", "9.9.9")
    assert r.returncode == 1 and "not in the BentoML model store" in r.stderr


def _snapshot(loop) -> dict:
    home = loop["root"] / "bentoml"
    files = {}
    for p in sorted((home / "models").rglob("*")):
        if p.is_file():
            files[str(p.relative_to(home))] = hashlib.sha256(p.read_bytes()).hexdigest()
    for p in sorted(Path(loop["artifact"]).iterdir()):
        if p.is_file():
            files[f"artifact/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    store = FeedbackStore(loop["db"])
    return {
        "pointer": (home / "slant-current").read_bytes(),
        "files": files,
        "feedback": [r.to_json() for r in store.rows()],
        "integrity": store.integrity_check(),
    }


def test_a_retrain_killed_midway_changes_nothing(loop, tmp_path):
    before = _snapshot(loop)
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slant.cli",
            "retrain",
            "--data-dir",
            str(loop["corpus"]),
            "--steps",
            "5000",
            "--work-dir",
            str(work),
        ],
        env=loop["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    seen = []

    def read():
        for chunk in iter(lambda: proc.stdout.read1(4096), b""):
            seen.append(chunk.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and "step/s" not in "".join(seen)[-2000:]:
        assert proc.poll() is None, "".join(seen)[-3000:]
        time.sleep(0.2)
    time.sleep(2)  # well inside the training loop
    assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after = _snapshot(loop)
    assert after == before
    assert after["integrity"] == "ok"
    # The service would still find and load the same model.
    assert probe(loop["env"], [loop["text"]])["pointer"] == json.loads(before["pointer"])


# ---- the pieces, in-process ---------------------------------------------------------------------


def test_new_versions_keep_the_root_and_stamp_the_time():
    from datetime import datetime, timezone

    from training.retrain import new_version

    t = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert new_version("0.1.0", t) == "0.1.0.ft20250102030405"
    assert new_version("0.1.0.ft20240101000000", t) == "0.1.0.ft20250102030405"

"""Smoke test of the benchmarks: the scripts run in quick mode on the tiny artifact and write their
outputs. Speed is not asserted (CI machines vary); only that the scripts work end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


def _run(
    script: str, artifact: Path, out: Path, timeout: int, *extra: str, reads_data: bool = True
) -> subprocess.CompletedProcess:
    """``script --quick`` on ``artifact``; scripts that read articles get the shared data (or --synthetic)."""
    data = (
        ["--data-dir", str(DATA)]
        if (DATA / "persent").is_dir() and (DATA / "semeval2023_task3_en").is_dir()
        else ["--synthetic"]
    )
    data = data if reads_data else []
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "BENTOML_DO_NOT_TRACK": "true",
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
    }
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / script),
            "--quick",
            "--model",
            str(artifact),
            "--out",
            str(out),
            *data,
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def test_throughput_quick(tiny_artifact, tmp_path):
    _run("throughput.py", tiny_artifact, tmp_path, timeout=600)
    report = json.loads((tmp_path / "throughput.json").read_text())
    paths = [r["kind"] for r in report["rows"]]
    assert paths[:3] == ["torch", "onnx-fp32", "onnx-int8"]
    assert all(r["paragraphs_per_s"] > 0 for r in report["rows"])
    assert report["workload"]["paragraphs"] == 40
    assert report["sgemm"]["peak_gflops"] > 0
    for a in report["agreement"].values():
        assert 0 <= a["single_window"]["all"] <= 1
    # Each window is its own onnxruntime call on CPU: a paragraph scores the same alone as in a chunk.
    assert report["batch_independence"]["max_abs_dp"] == 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- BEGIN throughput -->" in text and "int8 in-process ÷ transformers path" in text


def test_profile_ops_quick(tiny_artifact, tmp_path):
    _run("profile_ops.py", tiny_artifact, tmp_path, timeout=300)
    report = json.loads((tmp_path / "profile_ops.json").read_text())
    assert report["workload"]["windows"] >= 20
    assert set(report["graphs"]) == {"served", "exported"} and report["exported_over_served"] > 0
    for graph in report["graphs"].values():
        # The shares are of the session's run time: each in (0, 1], all of them with the rest at most 1.
        shares = graph["shares"]
        assert shares and all(0 < s <= 1 for s in shares.values())
        assert sum(shares.values()) + graph["outside_kernels_share"] == pytest.approx(1.0)
        assert "MatMulInteger" in " ".join(shares) or "DynamicQuantizeMatMul" in shares
    assert "MultiHeadAttention" in report["graphs"]["exported"]["shares"]
    assert "<!-- BEGIN profile_ops -->" in (tmp_path / "RESULTS.md").read_text()


def test_quantization_quick(tiny_artifact, tmp_path):
    _run("quantization.py", tiny_artifact, tmp_path, 600, "--alphas", "0.5")
    report = json.loads((tmp_path / "quantization.json").read_text())
    graphs = report["graphs"]
    assert list(graphs) == ["fp32", "dynamic int8 (served)", "static int8", "static int8, smoothed α=0.5"]
    assert report["workload"]["measured_pairs"] > 0 and report["workload"]["calibration_windows"] > 0
    # Smoothing is exact algebra before quantizing: the fp32 function stays as it was.
    assert report["smoothed_fp32_max_abs_logit_change"]["0.5"] < 1e-3
    heads = {"stance", "frames", "techniques", "bias", "bias_tokens"}
    for row in graphs.values():
        assert set(row["agreement_with_fp32"]) == heads and row["windows_per_s"] > 0
        assert all(0 <= a["agreement"] <= 1 for a in row["agreement_with_fp32"].values())
    assert all(a["agreement"] == 1 and a["differ"] == 0 for a in graphs["fp32"]["agreement_with_fp32"].values())
    assert "<!-- BEGIN quantization -->" in (tmp_path / "RESULTS.md").read_text()


def test_serve_quick(tiny_artifact, tmp_path):
    _run("serve.py", tiny_artifact, tmp_path, 900, "--runs", "2")
    report = json.loads((tmp_path / "serve.json").read_text())
    for mode in ("classify", "classify_batch"):
        assert [lv["clients"] for lv in report["levels"][mode]] == [1, 4]
        for lv in report["levels"][mode]:
            assert lv["requests"] > 0 and lv["served_vs_run_reference"] > 0
            # Each level against the in-process bulk runs just before and after it.
            assert set(lv["reference_s"]) == {"bulk", "per_article"} and lv["served_vs_inprocess"] > 0
            assert all(len(times) == 2 for times in lv["reference_s"].values())
    # The runs between the levels count in the reference: one of each before the first, after each.
    levels = sum(len(mode) for mode in report["levels"].values())
    assert len(report["in_process"]["per_article"]["runs_s"]) == 2 + 1 + levels
    assert report["targets"]["errors"]["value"] == 0
    # Every article went to the server once before the levels (its names read, as in process).
    assert report["primed"]["requests"] == report["workload"]["articles"] and report["primed"]["errors"] == 0
    # What a first read of the names cost, timed from an empty cache in each run's reference.
    assert report["in_process"]["names_first_read_s"] > 0
    assert report["half_peak"]["requests"] > 0 and report["half_peak_one_size"]["requests"] > 0
    assert report["half_peak_one_size_ideal"]["p99"] >= report["half_peak_one_size_ideal"]["p50"] > 0
    # The ideal server's no-load times: every article timed alone around the half-peak runs.
    assert report["half_peak_ideal"]["articles_timed_alone"] == 1.0
    behind_long = report["short_behind_long"]
    assert len(behind_long["short_s"]) == 3 and behind_long["bound_s"] > 0 and behind_long["long_passes"] > 100
    assert (tmp_path / "serve_throughput.png").stat().st_size > 1000
    # Two runs back to back: each one's targets in the report and in a table of their own.
    runs = report["consecutive_runs"]
    assert len(runs) == 2 and all(set(run["targets"]) == set(report["targets"]) for run in runs)
    assert runs[-1]["targets"] == report["targets"] and runs[0]["when"] <= runs[1]["when"]
    text = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- BEGIN serve -->" in text and "serve_throughput.png" in text
    assert "### 2 consecutive runs" in text and "| run 1 | run 2 | met in every run |" in text


def test_batching_quick(tiny_artifact, tmp_path):
    _run("batching.py", tiny_artifact, tmp_path, 600, "--rounds", "1", "--clients", "4")
    report = json.loads((tmp_path / "batching.json").read_text())
    assert [r["mode"] for r in report["runs"]] == ["PassBatcher", "BentoML alone"]
    for run in report["runs"]:  # both modes answer every request of the load
        assert run["errors"] == 0 and run["classify_articles_per_s"] > 0 and run["batch_articles_per_s"] > 0
    assert "<!-- BEGIN batching -->" in (tmp_path / "RESULTS.md").read_text()


def test_gc_pauses_quick(tiny_artifact, tmp_path):
    _run("gc_pauses.py", tiny_artifact, tmp_path, 600, "--rounds", "1", "--clients", "4")
    report = json.loads((tmp_path / "gc_pauses.json").read_text())
    assert [r["mode"] for r in report["runs"]] == ["frozen", "not frozen"]
    frozen, not_frozen = report["runs"]
    for worker in ("API worker", "model worker"):  # the served workers froze what they loaded, once warm
        assert frozen[f"{worker} objects frozen"] > 10_000 and not_frozen[f"{worker} objects frozen"] == 0
    for run in report["runs"]:
        assert run["errors"] == 0 and run["classify_articles_per_s"] > 0 and run["half_peak_p99_s"] > 0
    assert "<!-- BEGIN gc_pauses -->" in (tmp_path / "RESULTS.md").read_text()


def test_call_policy_quick(tiny_artifact, tmp_path):
    _run("call_policy.py", tiny_artifact, tmp_path, 600, "--clients", "4", "--fewer-clients", "2")
    report = json.loads((tmp_path / "call_policy.json").read_text())
    ways = report["ways"]
    default = "merge from 8, 2 calls in flight (default)"
    assert list(ways) == [default, "merge from 4", "1 call in flight", "one at a time (FIFO)"]
    for way in ways.values():  # each way answers every arrival of the round
        assert way["requests"] > 0 and way["errors"] == 0 and way["p99"] >= way["p50"] > 0
    assert ways["one at a time (FIFO)"]["p99_over_fifo"] == 1.0
    for way in list(ways)[:3]:  # each server's peak, measured twice
        assert len(ways[way]["peak_articles_per_s"]) == 2 and all(x > 0 for x in ways[way]["peak_articles_per_s"])
    assert ways[default]["peak_over_default"] == 1.0
    for way in list(ways)[:3]:  # and at 2 clients
        assert len(ways[way]["fewer_clients"]["2"]["articles_per_s"]) == 2
    assert ways[default]["fewer_clients"]["2"]["over_default"] == 1.0
    assert "<!-- BEGIN call_policy -->" in (tmp_path / "RESULTS.md").read_text()


def test_ner_quick(tiny_artifact, tmp_path):
    _run("ner.py", tiny_artifact, tmp_path, 600)  # exits 1 when the two modes' answers differ
    report = json.loads((tmp_path / "ner.json").read_text())
    assert report["identical_answers"] == report["workload"]["articles"] > 0
    assert "<!-- BEGIN ner -->" in (tmp_path / "RESULTS.md").read_text()


def test_models_quick(tiny_artifact, tmp_path):
    # The same artifact twice: both rows timed, a ratio near 1 (not asserted: quick mode is noise).
    _run("models.py", tiny_artifact, tmp_path, 600, "--baseline-model", str(tiny_artifact))
    text = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- BEGIN models: slant-tiny 0.0.1-test vs slant-tiny 0.0.1-test -->" in text
    assert "| slant-tiny 0.0.1-test (baseline) |" in text and "sgemm peak" in text


def test_results_sections_are_replaced_not_appended(tmp_path):
    sys.path.insert(0, str(REPO))
    from bench.common import update_results

    update_results(tmp_path, "a", "first A")
    update_results(tmp_path, "b", "first B")
    update_results(tmp_path, "a", "second A")
    text = (tmp_path / "RESULTS.md").read_text()
    assert "second A" in text and "first A" not in text and "first B" in text
    assert text.index("second A") < text.index("first B")


def test_flop_formula_matches_the_documented_minilm_figure():
    sys.path.insert(0, str(REPO))
    from bench.common import encoder_flops

    gflop = encoder_flops(128, layers=6, hidden=384, intermediate=1536, head_width=42) / 1e9
    assert gflop == pytest.approx(2.87, abs=0.01)


def test_the_ideal_server_replay_queues_first_come_first_served():
    sys.path.insert(0, str(REPO))
    from bench.serve import fifo_replay

    # Arrivals at 0, 0.5 and 3 s, 1 s of work each: the second waits 0.5 s, the third finds it idle.
    replay = fifo_replay([(0.5, 1.0), (0.0, 1.0), (3.0, 1.0)])
    assert replay["p50"] == pytest.approx(1.0) and replay["p99"] == pytest.approx(1.49, abs=0.01)
    assert replay["busy_share"] == pytest.approx(3 / 4)


def test_a_level_is_compared_with_the_in_process_runs_around_it():
    from bench.serve import bracketed

    # Served at 0.8 of the run's reference (10 s for all the articles); around the level in process
    # took 11 s in bulk and 11.5 s per article: against the better of those, the server kept 0.88.
    level = {"served_vs_run_reference": 0.8, "reference_s": {"bulk": [10.5, 11.5], "per_article": [11.0, 12.0]}}
    assert bracketed(level, 10.0) == pytest.approx(0.88)


def test_served_vs_in_process_weighs_each_article_by_its_in_process_cost():
    sys.path.insert(0, str(REPO))
    from bench.serve import Request, served_vs_inprocess

    # Articles costing 1 s and 3 s in process. Both served in 4 s: the in-process rate. The cheap
    # one twice in 4 s: half of it, though as many articles were served.
    cheap, dear = Request(b"", 1, 1, 1, workload=(0,)), Request(b"", 1, 1, 1, workload=(1,))
    cost = [1.0, 3.0]
    assert served_vs_inprocess({"_served": [cheap, dear], "total_s": 4.0}, cost) == pytest.approx(1.0)
    assert served_vs_inprocess({"_served": [cheap, cheap], "total_s": 4.0}, cost) == pytest.approx(0.5)
    both = Request(b"", 2, 2, 2, workload=(0, 1))  # a /classify_batch request of both
    assert served_vs_inprocess({"_served": [both, both], "total_s": 5.0}, cost) == pytest.approx(1.6)


def test_article_costs_are_fitted_over_all_articles():
    sys.path.insert(0, str(REPO))
    from bench.serve import cost_features, fit_costs

    # 0.1 s per article + 0.01 s per window + 1e-4 s per token; one article timed 50 % slow.
    windows = [[[n] * k] for n in (20, 60, 120) for k in (1, 2, 4, 8)]
    features = [cost_features(w) for w in windows]
    true = [0.1 + 0.01 * f[2] + 1e-4 * f[3] for f in features]
    timed = [t * (1.5 if i == 5 else 1.0) for i, t in enumerate(true)]
    fitted = fit_costs(features, timed)
    assert all(c >= 0 for c in fitted)
    assert fitted[5] / true[5] < 1.15  # the slow timing moves its own cost by its share of the fit only
    assert sum(abs(a - b) for a, b in zip(fitted, true)) / sum(true) < 0.05


def test_soak_quick(tiny_artifact, tmp_path):
    _run("soak.py", tiny_artifact, tmp_path, 600, reads_data=False)
    report = json.loads((tmp_path / "soak.json").read_text())
    assert report["errors"] == 0 and report["requests"] > 0 and report["server_log_tracebacks"] == 0
    roles = {m["role"] for m in report["memory"].values()}
    assert {"arbiter", "API worker", "model worker", "parse worker"} <= roles
    assert "<!-- BEGIN soak -->" in (tmp_path / "RESULTS.md").read_text()


def test_gpu_quick_on_the_cpu(tiny_artifact, tmp_path):
    # Where there is no GPU the script still runs end to end on the CPU provider; there both sides of
    # its agreement check are the same int8 graph, one window per call, so they must agree exactly.
    _run("gpu.py", tiny_artifact, tmp_path, 300, "--device", "cpu", "--batch-tokens", "512", "--chunks", "16,64")
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert [(r["batch_tokens"], r["chunk"]) for r in report["rows"]] == [(512, 16), (512, 64)]
    assert all(r["paragraphs_per_s"] > 0 and r["step_seconds"]["run_windows"] > 0 for r in report["rows"])
    assert report["against_cpu_int8"]["max_abs_dp"] == 0 and report["against_cpu_int8"]["decisions_agree"] == 1
    assert report["tokenizer_floor"]["encode_batch_s"] > 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "<!-- BEGIN gpu -->" in text and "| batch_tokens | chunk |" in text

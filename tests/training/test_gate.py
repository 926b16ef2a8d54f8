"""The regression gate: every task and source compared, a vanished source is a regression, and a
small test set's drop is judged against its sampling noise."""

import pytest

from training.gate import allowed_drop, compare, render_table


def test_gate_compares_every_task_and_source():
    def metrics(**scores):
        tasks = {}
        for key, value in scores.items():
            task, source = key.split("__")
            tasks.setdefault(task, {"sources": {}})["sources"][source] = {"headline": value, "n": 10_000}
        return {"tasks": tasks}

    current = metrics(stance__a=0.80, stance__feedback=0.5, bias__b=0.70)
    ok, rows = compare(current, metrics(stance__a=0.795, stance__feedback=0.9, bias__b=0.70), 0.01)
    assert ok and all(r["ok"] for r in rows)
    ok, rows = compare(current, metrics(stance__a=0.85, stance__feedback=0.9, bias__b=0.68), 0.01)
    assert not ok and [r["source"] for r in rows if not r["ok"]] == ["b"]
    assert "REGRESSION" in render_table(rows)
    ok, _ = compare(current, metrics(stance__a=0.85, stance__feedback=0.9), 0.01)  # a source vanished
    assert not ok


def test_small_test_sets_allow_their_sampling_noise_and_large_ones_the_tolerance():
    assert allowed_drop(0.01, 10_000) == 0.01  # 0.5 / 100 = 0.005 is below the tolerance
    assert allowed_drop(0.01, 37) == pytest.approx(0.0822, abs=1e-4)  # SemEval-2023 articles
    assert allowed_drop(0.01, None) == 0.01  # no count: the tolerance alone

    def metrics(score, n):
        return {"tasks": {"frames": {"sources": {"semeval2023": {"headline": score, "n": n}}}}}

    ok, rows = compare(metrics(0.639, 37), metrics(0.615, 37), 0.01)  # one article's worth of change
    assert ok and rows[0]["allowed"] == pytest.approx(0.0822, abs=1e-4)
    assert not compare(metrics(0.639, 37), metrics(0.50, 37), 0.01)[0]  # far beyond the noise
    assert not compare(metrics(0.639, 5_000), metrics(0.615, 5_000), 0.01)[0]  # the same drop on a large set

"""The regression gate: every task and source compared, a vanished source is a regression."""

from training.gate import compare, render_table


def test_gate_compares_every_task_and_source():
    def metrics(**scores):
        tasks = {}
        for key, value in scores.items():
            task, source = key.split("__")
            tasks.setdefault(task, {"sources": {}})["sources"][source] = {"headline": value, "n": 10}
        return {"tasks": tasks}

    current = metrics(stance__a=0.80, stance__feedback=0.5, bias__b=0.70)
    ok, rows = compare(current, metrics(stance__a=0.795, stance__feedback=0.9, bias__b=0.70), 0.01)
    assert ok and all(r["ok"] for r in rows)
    ok, rows = compare(current, metrics(stance__a=0.85, stance__feedback=0.9, bias__b=0.68), 0.01)
    assert not ok and [r["source"] for r in rows if not r["ok"]] == ["b"]
    assert "REGRESSION" in render_table(rows, 0.01)
    ok, _ = compare(current, metrics(stance__a=0.85, stance__feedback=0.9), 0.01)  # a source vanished
    assert not ok

"""Where the served model's time goes: onnxruntime's profiler over real paragraphs, share of kernel
time per op type, so that the next speed step is chosen from data.

    python bench/profile_ops.py                       # 600 real paragraphs, writes bench/RESULTS.md
    python bench/profile_ops.py --quick --synthetic --model <artifact> --out /tmp/x   # smoke test

The artifact's int8 ``model.onnx`` runs as the Predictor runs it on CPU: a one-thread session with
the Predictor's session options, one window per call, longest first; beside it, the same weights
as this version's `slant export` writes them (training/fuse.py's graph, then int8), timed
interleaved without the profiler and profiled. Profiling adds a little time to
every op alike; the shares, not the absolute times, are the result. "Outside kernels" is the wall
time of the ``session.run`` calls that no op kernel accounts for (input binding, allocation, the
executor's own work between ops).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402


def parse_args(argv=None):
    ap = common.benchmark_parser(
        __doc__,
        model_help="artifact folder",
        synthetic_help="made-up paragraphs",
        outputs="RESULTS.md and profile_ops.json",
    )
    ap.add_argument("--n", type=int, default=None, help="paragraphs (default 600; --quick 20)")
    args = ap.parse_args(argv)
    args.n = args.n or (20 if args.quick else 600)
    return args


def kernel_times(trace: list[dict]) -> tuple[dict[str, float], float]:
    """Per op type, the summed kernel time (µs) of a profiler trace; and the summed model_run time."""
    per_op: dict[str, float] = defaultdict(float)
    runs = 0.0
    for event in trace:
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            per_op[event["args"]["op_name"]] += event["dur"]
        elif event.get("cat") == "Session" and event.get("name") == "model_run":
            runs += event["dur"]
    return dict(per_op), runs


def one_thread_options():
    """The Predictor's session options on one thread, as its CPU workers run."""
    from slant.predictor import session_options

    options = session_options()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return options


def one_thread_session(path: Path, options=None):
    """A CPU session as the Predictor's workers run one (its options and fusions), on one thread."""
    from slant.predictor import new_session

    return new_session(str(path), options or one_thread_options(), ["CPUExecutionProvider"])


def profile(path: Path, windows, encoder, outputs: list[str], tmp: Path) -> dict:
    """One window per call on a one-thread session, profiled: shares of run time per op type."""
    options = one_thread_options()
    options.enable_profiling = True
    options.profile_file_prefix = str(tmp / path.stem)
    session = one_thread_session(path, options)
    for w in windows[:8]:  # warm-up, in the trace too: a small share
        session.run(outputs, encoder.pad([w]))
    for w in windows:
        session.run(outputs, encoder.pad([w]))
    trace = json.loads(Path(session.end_profiling()).read_text())
    per_op, runs = kernel_times(trace)
    kernels = sum(per_op.values())
    return {
        "model_run_s": runs / 1e6,
        "kernels_s": kernels / 1e6,
        "outside_kernels_share": 1 - kernels / runs,
        "nodes_per_run": sum(1 for e in trace if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"))
        / (len(windows) + 8),
        "shares": dict(sorted(((op, us / runs) for op, us in per_op.items()), key=lambda x: -x[1])),
    }


def timed(paths: dict[str, Path], windows, encoder, outputs: list[str], rounds: int) -> dict[str, list[float]]:
    """Wall seconds of every window through each graph without the profiler, graphs interleaved."""
    sessions = {name: one_thread_session(p) for name, p in paths.items()}
    feeds = [encoder.pad([w]) for w in windows]
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, session in sessions.items():
            for f in feeds[:8]:
                session.run(outputs, f)
            started = time.perf_counter()
            for f in feeds:
                session.run(outputs, f)
            times[name].append(time.perf_counter() - started)
    return times


def main(argv=None) -> int:
    args = parse_args(argv)
    from slant import artifact as art
    from training.export import export_onnx, quantize
    from training.train import load_model

    artifact = art.load(Path(args.model))
    busy_at_start = [] if args.quick else common.wait_quiet(args.wait_quiet_s)
    by_source, where = common.load_articles(args.data_dir, synthetic=args.synthetic)
    texts = [t for _, t in common.sample_paragraphs(by_source, args.n, args.seed)]
    encoder = artifact.encoder()
    windows = sorted((w for ws in encoder.encode_batch(texts, [None] * len(texts)) for w in ws), key=len, reverse=True)
    outputs = list(artifact.heads)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # The same weights through this version's export (fused attention, LayerNorm, GELU; int8
        # as the export makes it): what the next export of this model will serve.
        model, _ = load_model(artifact.path)
        fused_nodes = export_onnx(model, tmp / "fp32.onnx")
        quantize(tmp / "fp32.onnx", tmp / "exported.onnx")
        graphs = {"served": artifact.model_path, "exported": tmp / "exported.onnx"}
        times = timed(graphs, windows, encoder, outputs, 1 if args.quick else 3)
        profiles = {name: profile(path, windows, encoder, outputs, tmp) for name, path in graphs.items()}
    report = {
        **common.report_head(args, artifact, busy_at_start),
        "workload": {
            "where": where,
            "paragraphs": len(texts),
            "windows": len(windows),
            "tokens": sum(map(len, windows)),
        },
        "exported_fused_nodes": fused_nodes,
        "wall_s": times,
        "exported_over_served": statistics.median(times["exported"]) / statistics.median(times["served"]),
        "graphs": profiles,
    }
    common.write_report(Path(args.out), "profile_ops", report, render(report))
    return 0


def render(r: dict) -> str:
    w, g = r["workload"], r["graphs"]
    served, exported = g["served"], g["exported"]
    fused = ", ".join(f"{n} {op}" for op, n in r["exported_fused_nodes"].items())
    wall = {k: ", ".join(f"{t:.2f}" for t in v) for k, v in r["wall_s"].items()}
    lines = [
        "## Where the model's time goes (`bench/profile_ops.py`)",
        "",
        common.measured_line(r) + f". Model `{r['model']['name']}` {r['model']['version']}; {r['machine']['cpu']}.",
        "",
        f"{w['paragraphs']:,} paragraphs ({w['where']}), {w['windows']:,} windows, {w['tokens']:,} tokens, one "
        "window per call on a one-thread session as the Predictor runs them, through two graphs of the same "
        "weights: the artifact's served `model.onnx`, and the graph this version's `slant export` makes of them "
        f"(`training.export.export_onnx`, fused: {fused}; then int8 as the export quantizes).",
        "",
        f"Wall time of all windows without the profiler, graphs interleaved: served {wall['served']} s, "
        f"exported {wall['exported']} s; **exported ÷ served {r['exported_over_served']:.3f}** (medians).",
        "",
        f"Profiled: served {served['model_run_s']:.1f} s in `session.run` ({served['nodes_per_run']:.0f} kernels "
        f"per call, {served['outside_kernels_share']:.1%} outside any kernel); exported "
        f"{exported['model_run_s']:.1f} s ({exported['nodes_per_run']:.0f} kernels per call, "
        f"{exported['outside_kernels_share']:.1%} outside any kernel).",
        "",
        "| op type | served: share of run time | exported: share of run time |",
        "|---|---:|---:|",
    ]
    ops = sorted(
        {op for p in g.values() for op, share in p["shares"].items() if share >= 0.001},
        key=lambda op: -max(p["shares"].get(op, 0.0) for p in g.values()),
    )
    share = lambda p, op: f"{p['shares'][op]:.1%}" if op in p["shares"] else "–"  # noqa: E731
    lines += [f"| {op} | {share(served, op)} | {share(exported, op)} |" for op in ops]
    lines += [
        f"| (outside kernels) | {served['outside_kernels_share']:.1%} | {exported['outside_kernels_share']:.1%} |",
        "",
        "Shares are of each graph's own run time; profiling adds a little to every op alike.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

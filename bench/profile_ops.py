"""Where the served model's time goes: onnxruntime's profiler over real paragraphs, share of kernel
time per op type, so that the next speed step is chosen from data.

    python bench/profile_ops.py                       # 600 real paragraphs, writes bench/RESULTS.md
    python bench/profile_ops.py --quick --synthetic --model <artifact> --out /tmp/x   # smoke test

The artifact's int8 ``model.onnx`` runs as the Predictor runs it on CPU: a one-thread session with
the Predictor's session options, one window per call, longest first. Profiling adds a little time to
every op alike; the shares, not the absolute times, are the result. "Outside kernels" is the wall
time of the ``session.run`` calls that no op kernel accounts for (input binding, allocation, the
executor's own work between ops).
"""

from __future__ import annotations

import json
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


def main(argv=None) -> int:
    args = parse_args(argv)
    import onnxruntime as ort

    from slant import artifact as art
    from slant.predictor import session_options

    artifact = art.load(Path(args.model))
    busy_at_start = [] if args.quick else common.wait_quiet(args.wait_quiet_s)
    by_source, where = common.load_articles(args.data_dir, synthetic=args.synthetic)
    texts = [t for _, t in common.sample_paragraphs(by_source, args.n, args.seed)]
    encoder = artifact.encoder()
    windows = sorted((w for ws in encoder.encode_batch(texts, [None] * len(texts)) for w in ws), key=len, reverse=True)

    with tempfile.TemporaryDirectory() as tmp:
        options = session_options()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "slant")
        session = ort.InferenceSession(
            str(artifact.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        outputs = list(artifact.heads)
        for w in windows[:8]:  # warm-up, in the trace too: a small share
            session.run(outputs, encoder.pad([w]))
        started = time.perf_counter()
        for w in windows:
            session.run(outputs, encoder.pad([w]))
        wall = time.perf_counter() - started
        trace = json.loads(Path(session.end_profiling()).read_text())
    per_op, runs = kernel_times(trace)
    kernels = sum(per_op.values())
    shares = sorted(((op, us / runs) for op, us in per_op.items()), key=lambda x: -x[1])
    report = {
        "when": common.now_utc(),
        "command": common.command_line(),
        "quick": args.quick,
        "model": {"path": str(Path(args.model).resolve()), "name": artifact.name, "version": artifact.version},
        "machine": common.machine(),
        "busy_at_start": busy_at_start,
        "workload": {
            "where": where,
            "paragraphs": len(texts),
            "windows": len(windows),
            "tokens": sum(map(len, windows)),
        },
        "wall_s": wall,
        "model_run_s": runs / 1e6,
        "kernels_s": kernels / 1e6,
        "outside_kernels_share": 1 - kernels / runs,
        "nodes_per_run": sum(1 for e in trace if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"))
        / (len(windows) + 8),
        "shares": dict(shares),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile_ops.json").write_text(json.dumps(report, indent=2) + "\n")
    path = common.update_results(out, "profile_ops", render(report))
    print("\n".join(f"{op:32s} {share:6.1%}" for op, share in shares[:12]))
    print(f"outside kernels {report['outside_kernels_share']:.1%}; wrote {path}")
    return 0


def render(r: dict) -> str:
    w = r["workload"]
    lines = [
        "## Where the model's time goes (`bench/profile_ops.py`)",
        "",
        f"Measured {r['when']} with `{r['command']}`"
        + (" (**quick mode: a smoke test, not a measurement**)" if r["quick"] else "")
        + f". Model `{r['model']['name']}` {r['model']['version']}; {r['machine']['cpu']}.",
        "",
        f"{w['paragraphs']:,} paragraphs ({w['where']}), {w['windows']:,} windows, {w['tokens']:,} tokens, one "
        f"window per call on a one-thread session as the Predictor runs them: {r['model_run_s']:.1f} s in "
        f"`session.run` ({r['nodes_per_run']:.0f} kernels per call), of which {r['outside_kernels_share']:.1%} "
        "outside any kernel.",
        "",
        "| op type | share of run time |",
        "|---|---:|",
    ]
    lines += [f"| {op} | {share:.1%} |" for op, share in r["shares"].items() if share >= 0.001]
    lines += ["| (outside kernels) | " + f"{r['outside_kernels_share']:.1%} |"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

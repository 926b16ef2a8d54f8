"""Full garbage collections in the server's workers: with what they loaded frozen, and without.

    python bench/gc_pauses.py                   # released model, PerSenT articles, writes bench/RESULTS.md
    python bench/gc_pauses.py --quick --synthetic --model <artifact> --out /tmp/x    # smoke test

Each worker freezes what it loaded once it is warm (serving/heap.py), so that Python's full
collections no longer scan it. Every server process here logs the pause of each full collection
(bench/gc_pause_log/sitecustomize.py, put on its PYTHONPATH); in the "not frozen" servers
``gc.freeze`` does nothing, which is how the workers ran before. Each mode gets a fresh ``bentoml
serve``, in the order frozen, not, not, frozen (``--rounds 2``), so that the drift of a shared
machine hits both alike. On each server, after every article was sent once:

1. closed loop, ``--clients`` clients posting single articles to /classify for ``--duration`` s;
2. Poisson arrivals at half the first server's /classify rate for ``--duration`` s (the same
   arrivals on every server): p50 and p99 latency.

Pauses are those of full collections that started in the two measured phases.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import common
from serve import Server, closed_loop, make_requests, open_loop, send_each_once, start_served_benchmark

MODES = {"frozen": "1", "not frozen": "0"}  # SLANT_BENCH_GC_FREEZE
HOOK = Path(__file__).resolve().parent / "gc_pause_log"
ROLES = (("--service-name slant_model", "model worker"), ("--service-name slant ", "API worker"))


def parse_args(argv=None):
    ap = common.served_parser(__doc__, outputs="RESULTS.md and gc_pauses.json", articles=160)
    ap.add_argument("--clients", type=int, default=16, help="clients of the closed loop (default 16)")
    ap.add_argument("--duration", type=float, default=None, help="seconds per phase (default 60; --quick 2)")
    ap.add_argument(
        "--rounds", type=int, default=2, help="servers per mode, in frozen/not/not/frozen order (default 2)"
    )
    args = common.parse_served(ap, argv)
    args.duration = args.duration or (2.0 if args.quick else 60.0)
    return args


def read_logs(log_dir: Path, since: float) -> dict[str, dict]:
    """Per worker kind: the pauses (s) of the full collections started at or after ``since`` (unix
    time), and the objects its last ``gc.freeze()`` left frozen (0 when it froze none)."""
    out: dict[str, dict] = {role: {"pauses": [], "frozen": 0} for _, role in ROLES}
    for path in log_dir.glob("*.txt"):
        command, *lines = path.read_text().splitlines()
        role = next((r for marker, r in ROLES if marker in command + " "), None)
        if role is None:
            continue
        for line in lines:
            kind, *values = line.split()
            if kind == "frozen":
                out[role]["frozen"] = int(values[0])
            elif float(values[0]) >= since:
                out[role]["pauses"].append(float(values[1]))
    return out


def one_server(mode: str, model_dir: Path, args, single, rate: float | None) -> dict:
    log_dir = Path(tempfile.mkdtemp(prefix="slant-bench-gc-"))
    hooked = {  # Server passes this process's environment on
        "SLANT_BENCH_GC_LOG": str(log_dir),
        "SLANT_BENCH_GC_FREEZE": MODES[mode],
        "PYTHONPATH": os.pathsep.join(p for p in (str(HOOK), os.environ.get("PYTHONPATH", "")) if p),
    }
    with mock.patch.dict(os.environ, hooked):
        server = Server(model_dir, args.threads, Path(tempfile.gettempdir()) / f"slant-bench-gc-{os.getpid()}.log")
    try:
        server.wait_ready(args.startup_timeout)
        # Every article once, unmeasured: spaCy's entity cache filled as in the measured phases.
        asyncio.run(send_each_once(server.url + "/classify", single, 4))
        since = time.time()
        warmup = min(2.0, args.duration / 4)
        classify = asyncio.run(closed_loop(server.url + "/classify", single, args.clients, warmup, args.duration))
        rate = rate or classify["articles_per_s"] / 2
        half = asyncio.run(open_loop(server.url + "/classify", single, rate, args.duration, args.seed))
        measured_s = time.time() - since
    finally:
        server.stop()
    logs = read_logs(log_dir, since)
    shutil.rmtree(log_dir)
    result: dict = {
        "mode": mode,
        "measured_s": measured_s,
        "classify_articles_per_s": classify["articles_per_s"],
        "half_peak_rate_per_s": rate,
        "half_peak_p50_s": half["latency_s"]["p50"],
        "half_peak_p99_s": half["latency_s"]["p99"],
        "errors": classify["errors"] + half["errors"],
    }
    for role, log in logs.items():
        values = log["pauses"]
        result[f"{role} objects frozen"] = log["frozen"]
        result[f"{role} full collections per minute"] = 60 * len(values) / measured_s
        result[f"{role} longest pause s"] = max(values, default=0.0)
        result[f"{role} median pause s"] = statistics.median(values) if values else 0.0
    print(json.dumps(result), flush=True)
    return result


MEASURES = (  # key, what it is, digits
    ("API worker objects frozen", "API worker: objects frozen", 0),
    ("API worker full collections per minute", "API worker: full collections per minute", 2),
    ("API worker median pause s", "API worker: median pause, s", 4),
    ("API worker longest pause s", "API worker: longest pause, s", 4),
    ("model worker objects frozen", "model worker: objects frozen", 0),
    ("model worker full collections per minute", "model worker: full collections per minute", 2),
    ("model worker median pause s", "model worker: median pause, s", 4),
    ("model worker longest pause s", "model worker: longest pause, s", 4),
    ("classify_articles_per_s", "/classify throughput, articles/s", 2),
    ("half_peak_p50_s", "half peak: p50 latency, s", 3),
    ("half_peak_p99_s", "half peak: p99 latency, s", 3),
    ("errors", "errors", 0),
)


def render(args, summary: dict, where: str, rate: float) -> str:
    lines = [
        f"{common.now_utc()}, `{common.command_line()}`; {args.articles} articles ({where}), "
        f"{args.clients} clients on /classify for {args.duration:.0f} s, then Poisson arrivals at {rate:.2f} "
        f"articles/s (half the first server's rate) for {args.duration:.0f} s; {args.rounds} server(s) per mode "
        "in frozen/not/not/frozen order. A pause is one full collection's, in the process that ran it: every "
        "request that process holds waits for it.",
        "",
        common.machine_table(common.machine()),
        "",
        "| measure (median over servers) | frozen | not frozen | not frozen ÷ frozen |",
        "| --- | --- | --- | --- |",
    ]
    for key, what, digits in MEASURES:
        on, off = summary["frozen"][key], summary["not frozen"][key]
        ratio = off / on if on else float("nan")
        lines.append(f"| {what} | {common.fmt(on, digits)} | {common.fmt(off, digits)} | {common.fmt(ratio)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    out_dir, model_dir, articles, where, shapes = start_served_benchmark(args)
    single, _ = make_requests(articles, shapes, 4)
    order = common.paired_order(MODES, args.rounds)
    runs = [one_server(order[0], model_dir, args, single, None)]
    rate = runs[0]["half_peak_rate_per_s"]  # the same arrivals for every server
    runs += [one_server(mode, model_dir, args, single, rate) for mode in order[1:]]
    summary = common.medians_by_mode(runs, MODES, [key for key, _, _ in MEASURES])
    (out_dir / "gc_pauses.json").write_text(json.dumps({"runs": runs, "summary": summary}, indent=1) + "\n")
    path = common.update_results(out_dir, "gc_pauses", render(args, summary, where, rate))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""PassBatcher or BentoML's adaptive batching alone? The same model and load on two servers, one run.

    python bench/batching.py                    # released model, PerSenT articles, writes bench/RESULTS.md
    python bench/batching.py --quick --synthetic --model <artifact> --out /tmp/x    # smoke test

The API worker's ``PassBatcher`` (serving/pass_batcher.py) merges concurrent requests' passes and
keeps up to two calls in flight to the model worker's ``score_call``; with ``SLANT_PASS_BATCHER=0`` each request's passes
go straight to BentoML's batchable ``score`` endpoint. Each mode gets a fresh ``bentoml serve``, in
the order on, off, off, on (``--rounds 2``), so that the drift of a shared machine hits both alike.
On each server:

1. a lone article (the median one by passes), 5 times, 0.5 s apart: latency on a fresh server;
2. closed loop, ``--clients`` clients posting single articles to /classify: throughput, p50/p99, errors;
3. closed loop, ``--clients`` // 4 clients posting batches of 4 articles to /classify_batch;
4. at once, the same lone article 5 times: latency right after a burst.

The table gives each mode's median over its servers, and BentoML-alone / PassBatcher ratios.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common
from serve import Server, closed_loop, lone, make_requests, start_served_benchmark

MODES = {"PassBatcher": "1", "BentoML alone": "0"}  # SLANT_PASS_BATCHER


def parse_args(argv=None):
    ap = common.served_parser(__doc__, outputs="RESULTS.md and batching.json", articles=120)
    ap.add_argument("--clients", type=int, default=16, help="clients of the /classify level (default 16)")
    ap.add_argument("--duration", type=float, default=None, help="seconds per load level (default 20; --quick 2)")
    ap.add_argument("--rounds", type=int, default=2, help="servers per mode, in on/off/off/on order (default 2)")
    args = common.parse_served(ap, argv)
    args.duration = args.duration or (2.0 if args.quick else 20.0)
    return args


def one_server(mode: str, model_dir: Path, args, single, bulk, probe) -> dict:
    os.environ["SLANT_PASS_BATCHER"] = MODES[mode]  # Server passes this process's environment on
    server = Server(model_dir, args.threads, Path(tempfile.gettempdir()) / f"slant-bench-batching-{os.getpid()}.log")
    try:
        server.wait_ready(args.startup_timeout)
        time.sleep(1.0)
        fresh = asyncio.run(lone(server.url + "/classify", probe, 5, 0.5))
        warmup = min(2.0, args.duration / 4)
        classify = asyncio.run(closed_loop(server.url + "/classify", single, args.clients, warmup, args.duration))
        batch_clients = max(1, args.clients // 4)
        batched = asyncio.run(closed_loop(server.url + "/classify_batch", bulk, batch_clients, warmup, args.duration))
        after = asyncio.run(lone(server.url + "/classify", probe, 5, 0.5))
    finally:
        server.stop()
    result = {
        "mode": mode,
        "lone_fresh_s": statistics.median(fresh),
        "lone_after_burst_s": statistics.median(after),
        "classify_articles_per_s": classify["articles_per_s"],
        "classify_p50_s": classify["latency_s"]["p50"],
        "classify_p99_s": classify["latency_s"]["p99"],
        "batch_articles_per_s": batched["articles_per_s"],
        "errors": classify["errors"] + batched["errors"],
        "error_examples": classify["error_examples"] + batched["error_examples"],
    }
    print(json.dumps(result), flush=True)
    return result


MEASURES = (  # key, what it is
    ("classify_articles_per_s", "/classify throughput, articles/s"),
    ("classify_p50_s", "/classify p50 latency, s"),
    ("classify_p99_s", "/classify p99 latency, s"),
    ("batch_articles_per_s", "/classify_batch throughput, articles/s"),
    ("lone_fresh_s", "lone article on a fresh server, s"),
    ("lone_after_burst_s", "lone article right after the load, s"),
    ("errors", "errors"),
)


def render(args, runs: list[dict], summary: dict, where: str, peak: dict) -> str:
    lines = [
        f"{common.now_utc()}, `{common.command_line()}`; {args.articles} articles ({where}), "
        f"{args.clients} clients on /classify, {max(1, args.clients // 4)} on /classify_batch (4 articles each), "
        f"{args.duration:.0f} s per level, {args.rounds} server(s) per mode in on/off/off/on order",
        "",
        common.machine_table(common.machine()),
        "",
        f"fp32 sgemm peak measured in this run: {peak['peak_gflops']:.0f} GFLOP/s (n={peak['n']}, best of 5).",
        "",
        "| measure (median over servers) | PassBatcher | BentoML alone | BentoML alone / PassBatcher |",
        "| --- | --- | --- | --- |",
    ]
    for key, what in MEASURES:
        on, off = summary["PassBatcher"][key], summary["BentoML alone"][key]
        ratio = off / on if on else float("nan")
        lines.append(f"| {what} | {common.fmt(on, 3)} | {common.fmt(off, 3)} | {common.fmt(ratio)} |")
    errors = sorted({e for r in runs for e in r["error_examples"]})
    if errors:
        lines += ["", "Error examples: " + "; ".join(f"`{e}`" for e in errors[:4])]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    out_dir, model_dir, articles, where, shapes = start_served_benchmark(args)
    single, bulk = make_requests(articles, shapes, 4)
    probe = single[sorted(range(len(articles)), key=lambda i: shapes[i][1])[len(articles) // 2]]
    peak = common.sgemm_peak(args.threads, args.quick)
    order = common.paired_order(MODES, args.rounds)
    runs = [one_server(mode, model_dir, args, single, bulk, probe) for mode in order]
    summary = common.medians_by_mode(runs, MODES, [key for key, _ in MEASURES])
    (out_dir / "batching.json").write_text(json.dumps({"runs": runs, "summary": summary}, indent=1) + "\n")
    path = common.update_results(out_dir, "batching", render(args, runs, summary, where, peak))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

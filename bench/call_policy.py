"""Which PassBatcher call policy gives the lower tail latency at half the peak load? Paired rounds, one run.

    python bench/call_policy.py                 # released model, PerSenT articles, writes bench/RESULTS.md
    python bench/call_policy.py --quick --synthetic --model <artifact> --out /tmp/x    # smoke test

Two servers run side by side, idle but for the round being measured: one with the default
``SLANT_PASS_MERGE_FROM`` (one request per model call while fewer than that many wait, merged
calls from there on) and one with ``SLANT_PASS_MERGE_FROM=1`` (every waiting request merged into
the next call, the policy before #13). The peak is a closed loop of ``--clients`` clients on
/classify of the first server. Then each round draws Poisson arrivals at ``--load`` of that peak
for ``--segment-s`` seconds and sends the same arrivals three ways, in an order that rotates from
round to round so that a slow spell of a shared machine hits each alike:

1. to the default server, each request as it arrives;
2. to the merge-always server, the same;
3. to the default server one at a time, first come first served, from a queue in this process: a
   real one-at-a-time FIFO server on the same machine at the same moment (its latency counts from
   the arrival, so the queue's wait is in it), the baseline.

The table gives each way's latency percentiles over all rounds, p99 ÷ the FIFO's p99, and per
round, which policy's p99 was lower.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
from pathlib import Path

import common
from serve import (
    Request,
    Server,
    _post,
    closed_loop,
    make_requests,
    send_each_once,
    start_served_benchmark,
)

from slant.settings import Settings  # after serve, which puts the repository on sys.path

DEFAULT = f"merge from {Settings.model_fields['pass_merge_from'].default} (default)"
MERGE_ALWAYS, FIFO = "merge always", "one at a time (FIFO)"
WAYS = (DEFAULT, MERGE_ALWAYS, FIFO)
MERGE_FROM = {DEFAULT: "", MERGE_ALWAYS: "1"}  # SLANT_PASS_MERGE_FROM; empty: the default


def parse_args(argv=None):
    ap = common.served_parser(__doc__, outputs="RESULTS.md and call_policy.json", articles=160)
    ap.add_argument("--clients", type=int, default=16, help="clients of the closed loop that finds the peak")
    ap.add_argument("--load", type=float, default=0.5, help="arrival rate as a share of the peak (default 0.5)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds of the three ways (default 6; --quick 1)")
    ap.add_argument("--segment-s", type=float, default=None, help="seconds of arrivals per way and round (default 40)")
    args = common.parse_served(ap, argv)
    args.rounds = args.rounds or (1 if args.quick else 6)
    args.segment_s = args.segment_s or (2.0 if args.quick else 40.0)
    return args


def poisson_arrivals(requests: list[Request], rate: float, seconds: float, seed: int) -> list[tuple[float, Request]]:
    """(seconds from the start, request): Poisson arrivals at ``rate``, cycling through ``requests``."""
    rng = random.Random(seed)
    arrivals, t = [], 0.0
    while t < seconds:
        arrivals.append((t, requests[len(arrivals) % len(requests)]))
        t += rng.expovariate(rate)
    return arrivals


async def replay(url: str, arrivals: list[tuple[float, Request]], one_at_a_time: bool) -> list[tuple[float, bool]]:
    """(latency from the arrival, ok) per request, each sent at its arrival or, ``one_at_a_time``,
    when the one before it is answered."""
    import httpx

    loop = asyncio.get_running_loop()
    out: list[tuple[float, bool]] = []
    limits = httpx.Limits(max_connections=1 if one_at_a_time else 512, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(600.0)) as client:
        start = loop.time()

        async def send(at: float, req: Request) -> None:
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            _, _, ok, _ = await _post(client, url, req)
            out.append((loop.time() - (start + at), ok))

        if one_at_a_time:
            for at, req in arrivals:
                await send(at, req)
        else:
            await asyncio.gather(*(send(at, req) for at, req in arrivals))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    out_dir, model_dir, articles, where, shapes = start_served_benchmark(args)
    single, _ = make_requests(articles, shapes, 4)
    servers = {}
    try:
        for way, merge_from in MERGE_FROM.items():
            os.environ["SLANT_PASS_MERGE_FROM"] = merge_from  # Server passes this process's environment on
            log = Path(tempfile.gettempdir()) / f"slant-bench-call-policy-{os.getpid()}-{len(servers)}.log"
            servers[way] = Server(model_dir, args.threads, log)
        os.environ.pop("SLANT_PASS_MERGE_FROM")
        for server in servers.values():
            server.wait_ready(args.startup_timeout)
        urls = {way: servers[DEFAULT if way == FIFO else way].url + "/classify" for way in WAYS}
        for url in {urls[DEFAULT], urls[MERGE_ALWAYS]}:  # every article once: names read, as in the rounds
            asyncio.run(send_each_once(url, single, 4))
        level = asyncio.run(closed_loop(urls[DEFAULT], single, args.clients, 1.0, 2.0 if args.quick else 15.0))
        peak = level["articles_per_s"]
        rate = args.load * peak
        print(f"peak {peak:.2f} articles/s ({args.clients} clients); arrivals at {rate:.2f}/s")
        rounds = []
        for r in range(args.rounds):
            arrivals = poisson_arrivals(single, rate, args.segment_s, args.seed + r)
            order = WAYS[r % 3 :] + WAYS[: r % 3]
            measured = {way: asyncio.run(replay(urls[way], arrivals, way == FIFO)) for way in order}
            rounds.append({"order": list(order), "arrivals": len(arrivals), "latency_s": measured})
            print(f"round {r + 1}: " + ", ".join(f"{w} p99 {p99(measured[w]) * 1000:.0f} ms" for w in WAYS), flush=True)
    finally:
        for server in servers.values():
            server.stop()
    report = summarize(args, where, peak, rate, rounds)
    common.write_report(out_dir, "call_policy", report, render(report))
    return 0


def p99(records: list[tuple[float, bool]]) -> float:
    return common.percentiles([t for t, ok in records if ok])["p99"]


def summarize(args, where: str, peak: float, rate: float, rounds: list[dict]) -> dict:
    ways = {}
    for way in WAYS:
        records = [rec for rnd in rounds for rec in rnd["latency_s"][way]]
        ways[way] = {
            **common.percentiles([t for t, ok in records if ok]),
            "requests": len(records),
            "errors": sum(1 for _, ok in records if not ok),
            "p99_per_round": [p99(rnd["latency_s"][way]) for rnd in rounds],
        }
    for way in WAYS:
        ways[way]["p99_over_fifo"] = ways[way]["p99"] / ways[FIFO]["p99"]
    return {
        "when": common.now_utc(),
        "command": common.command_line(),
        "quick": args.quick,
        "machine": common.machine(),
        "workload": {"articles": args.articles, "where": where},
        "peak_articles_per_s": peak,
        "clients_for_peak": args.clients,
        "load": args.load,
        "rate_per_s": rate,
        "rounds": len(rounds),
        "segment_s": args.segment_s,
        "orders": [rnd["order"] for rnd in rounds],
        "ways": ways,
        "default_lower_p99_rounds": sum(
            d < m for d, m in zip(ways[DEFAULT]["p99_per_round"], ways[MERGE_ALWAYS]["p99_per_round"])
        ),
    }


def render(r: dict) -> str:
    w = r["ways"]
    lines = [
        "## PassBatcher's call policy at half the peak load (`bench/call_policy.py`)",
        "",
        common.measured_line(r) + ".",
        "",
        common.machine_table(r["machine"]),
        "",
        f"{r['workload']['articles']} articles ({r['workload']['where']}). Peak: {r['peak_articles_per_s']:.2f} "
        f"articles/s on /classify with {r['clients_for_peak']} clients (default server). Poisson arrivals at "
        f"{r['load']:.0%} of it, {r['rate_per_s']:.2f} articles/s, {r['rounds']} rounds of {r['segment_s']:.0f} s, "
        "each round's arrivals sent three ways in a rotating order: to the default server as they arrive, to a "
        "server with `SLANT_PASS_MERGE_FROM=1` (every waiting request merged into the next call) as they "
        "arrive, and to the default server one at a time, first come first served, from a queue in the load "
        "generator (a real one-at-a-time FIFO server, its latency counted from the arrival).",
        "",
        "| way | requests | errors | p50 ms | p95 ms | p99 ms | p99 ÷ FIFO's | p99 per round, ms |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for way in WAYS:
        v = w[way]
        lines.append(
            f"| {way} | {v['requests']:,} | {v['errors']} | {v['p50'] * 1000:.0f} | {v['p95'] * 1000:.0f} | "
            f"{v['p99'] * 1000:.0f} | {v['p99_over_fifo']:.2f} | "
            + ", ".join(f"{x * 1000:.0f}" for x in v["p99_per_round"])
            + " |"
        )
    lines += [
        "",
        f"The default policy's p99 was lower than merge-always's in {r['default_lower_p99_rounds']} of "
        f"{r['rounds']} rounds. p99 over all rounds: default ÷ merge always "
        f"{w[DEFAULT]['p99'] / w[MERGE_ALWAYS]['p99']:.2f}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

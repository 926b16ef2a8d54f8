"""Which PassBatcher call policy gives the lower tail latency at half the peak load, and what does
it cost at the peak? Paired rounds, one run.

    python bench/call_policy.py                 # released model, PerSenT articles, writes bench/RESULTS.md
    python bench/call_policy.py --quick --synthetic --model <artifact> --out /tmp/x    # smoke test

One server per policy runs side by side, each idle but for the round being measured: the default
``SLANT_PASS_MERGE_FROM`` (one request per model call while fewer than that many wait, merged
calls from there on) and each value of ``--merge-from`` (1: every waiting request merged into the
next call, the policy before #13; 4: the default before 2026-12-05).

1. The peak: a closed loop of ``--clients`` clients on /classify of each server, twice, in an
   order reversed the second time; its articles/s per server, ÷ the default's. The default's is
   the peak the arrivals below are drawn at.
2. Each round draws Poisson arrivals at ``--load`` of that peak for ``--segment-s`` seconds and
   sends the same arrivals to every server as they arrive, and to the default server one at a
   time, first come first served, from a queue in this process: a real one-at-a-time FIFO server
   on the same machine at the same moment (its latency counts from the arrival, so the queue's wait
   is in it), the baseline. The order rotates from round to round so that a slow spell of a shared
   machine hits each way alike.

The table gives each way's latency percentiles over all rounds, p99 ÷ the FIFO's p99, per round,
and the peak.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
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

DEFAULT_MERGE_FROM = Settings.model_fields["pass_merge_from"].default
FIFO = "one at a time (FIFO)"


def policy_name(merge_from: int) -> str:
    """A server's way in the tables: its SLANT_PASS_MERGE_FROM."""
    if merge_from == DEFAULT_MERGE_FROM:
        return f"merge from {merge_from} (default)"
    return "merge always" if merge_from == 1 else f"merge from {merge_from}"


DEFAULT = policy_name(DEFAULT_MERGE_FROM)


def parse_args(argv=None):
    ap = common.served_parser(__doc__, outputs="RESULTS.md and call_policy.json", articles=160)
    ap.add_argument("--clients", type=int, default=16, help="clients of the closed loop that finds the peak")
    ap.add_argument("--load", type=float, default=0.5, help="arrival rate as a share of the peak (default 0.5)")
    ap.add_argument(
        "--merge-from",
        default="1,4",
        help=f"SLANT_PASS_MERGE_FROM values compared with the default ({DEFAULT_MERGE_FROM}), comma-separated "
        "(default 1,4)",
    )
    ap.add_argument("--rounds", type=int, default=None, help="rounds of all the ways (default 4; --quick 1)")
    ap.add_argument("--segment-s", type=float, default=None, help="seconds of arrivals per way and round (default 40)")
    ap.add_argument(
        "--peak-s", type=float, default=None, help="seconds of each closed loop at the peak (default 20; --quick 2)"
    )
    args = common.parse_served(ap, argv)
    try:
        compared = [int(v) for v in args.merge_from.split(",") if v]
    except ValueError:
        ap.error(f"--merge-from is {args.merge_from!r}; give whole numbers, e.g. 1,4")
    if any(v < 1 for v in compared) or DEFAULT_MERGE_FROM in compared:
        ap.error(
            f"--merge-from is {args.merge_from!r}; give values of 1 or more other than the default {DEFAULT_MERGE_FROM}"
        )
    args.merge_from = [DEFAULT_MERGE_FROM, *dict.fromkeys(compared)]
    args.rounds = args.rounds or (1 if args.quick else 4)
    args.segment_s = args.segment_s or (2.0 if args.quick else 40.0)
    args.peak_s = args.peak_s or (2.0 if args.quick else 20.0)
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
    servers: dict[str, Server] = {}
    try:
        for merge_from in args.merge_from:
            os.environ["SLANT_PASS_MERGE_FROM"] = str(merge_from)  # Server passes this process's environment on
            log = Path(tempfile.gettempdir()) / f"slant-bench-call-policy-{os.getpid()}-{merge_from}.log"
            servers[policy_name(merge_from)] = Server(model_dir, args.threads, log)
        os.environ.pop("SLANT_PASS_MERGE_FROM")
        for server in servers.values():
            server.wait_ready(args.startup_timeout)
        urls = {way: server.url + "/classify" for way, server in servers.items()}
        urls[FIFO] = urls[DEFAULT]
        for way in servers:  # every article once: names read, as in the rounds
            asyncio.run(send_each_once(urls[way], single, 4))
        at_peak: dict[str, list[float]] = {way: [] for way in servers}
        for order in (list(servers), list(servers)[::-1]):
            for way in order:
                level = asyncio.run(closed_loop(urls[way], single, args.clients, 1.0, args.peak_s))
                at_peak[way].append(level["articles_per_s"])
                print(f"{way}: {level['articles_per_s']:.2f} articles/s at {args.clients} clients", flush=True)
        peak = statistics.fmean(at_peak[DEFAULT])
        rate = args.load * peak
        print(f"peak {peak:.2f} articles/s ({args.clients} clients, default); arrivals at {rate:.2f}/s")
        ways = [*servers, FIFO]
        rounds = []
        for r in range(args.rounds):
            arrivals = poisson_arrivals(single, rate, args.segment_s, args.seed + r)
            order = ways[r % len(ways) :] + ways[: r % len(ways)]
            measured = {way: asyncio.run(replay(urls[way], arrivals, way == FIFO)) for way in order}
            rounds.append({"order": order, "arrivals": len(arrivals), "latency_s": measured})
            print(f"round {r + 1}: " + ", ".join(f"{w} p99 {p99(measured[w]) * 1000:.0f} ms" for w in ways), flush=True)
    finally:
        for server in servers.values():
            server.stop()
    report = summarize(args, where, at_peak, rate, rounds)
    common.write_report(out_dir, "call_policy", report, render(report))
    return 0


def p99(records: list[tuple[float, bool]]) -> float:
    return common.percentiles([t for t, ok in records if ok])["p99"]


def summarize(args, where: str, at_peak: dict[str, list[float]], rate: float, rounds: list[dict]) -> dict:
    ways = {}
    for way in [*at_peak, FIFO]:
        records = [rec for rnd in rounds for rec in rnd["latency_s"][way]]
        ways[way] = {
            **common.percentiles([t for t, ok in records if ok]),
            "requests": len(records),
            "errors": sum(1 for _, ok in records if not ok),
            "p99_per_round": [p99(rnd["latency_s"][way]) for rnd in rounds],
        }
    for way, row in ways.items():
        row["p99_over_fifo"] = row["p99"] / ways[FIFO]["p99"]
        if way in at_peak:
            row["peak_articles_per_s"] = at_peak[way]
            row["peak_over_default"] = statistics.fmean(at_peak[way]) / statistics.fmean(at_peak[DEFAULT])
        if way not in (DEFAULT, FIFO):
            row["default_lower_p99_rounds"] = sum(
                d < o for d, o in zip(ways[DEFAULT]["p99_per_round"], row["p99_per_round"])
            )
    return {
        "when": common.now_utc(),
        "command": common.command_line(),
        "quick": args.quick,
        "machine": common.machine(),
        "workload": {"articles": args.articles, "where": where},
        "peak_articles_per_s": statistics.fmean(at_peak[DEFAULT]),
        "clients_for_peak": args.clients,
        "peak_s": args.peak_s,
        "load": args.load,
        "rate_per_s": rate,
        "rounds": len(rounds),
        "segment_s": args.segment_s,
        "orders": [rnd["order"] for rnd in rounds],
        "ways": ways,
    }


def render(r: dict) -> str:
    w = r["ways"]
    others = [way for way in w if way not in (DEFAULT, FIFO)]
    lines = [
        "## PassBatcher's call policy at half the peak load (`bench/call_policy.py`)",
        "",
        common.measured_line(r) + ".",
        "",
        common.machine_table(r["machine"]),
        "",
        f"{r['workload']['articles']} articles ({r['workload']['where']}). One server per policy "
        "(`SLANT_PASS_MERGE_FROM`: from how many waiting requests the PassBatcher merges their passes into one "
        f"model call; 1: always). Peak: a closed loop of {r['clients_for_peak']} clients on /classify, "
        f"{r['peak_s']:.0f} s per server, twice, the order reversed the second time; the default's, "
        f"{r['peak_articles_per_s']:.2f} articles/s, sets the load. Poisson arrivals at {r['load']:.0%} of it, "
        f"{r['rate_per_s']:.2f} articles/s, {r['rounds']} rounds of {r['segment_s']:.0f} s, each round's "
        "arrivals sent to every server as they arrive and to the default server one at a time, first come "
        "first served, from a queue in the load generator (a real one-at-a-time FIFO server, its latency "
        "counted from the arrival), in an order that rotates from round to round.",
        "",
        "| way | requests | errors | p50 ms | p95 ms | p99 ms | p99 ÷ FIFO's | p99 per round, ms "
        "| peak articles/s | peak ÷ default's |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for way, v in w.items():
        peak = ", ".join(f"{x:.2f}" for x in v["peak_articles_per_s"]) if "peak_articles_per_s" in v else "–"
        lines.append(
            f"| {way} | {v['requests']:,} | {v['errors']} | {v['p50'] * 1000:.0f} | {v['p95'] * 1000:.0f} | "
            f"{v['p99'] * 1000:.0f} | {v['p99_over_fifo']:.2f} | "
            + ", ".join(f"{x * 1000:.0f}" for x in v["p99_per_round"])
            + f" | {peak} | "
            + (f"{v['peak_over_default']:.2f}" if "peak_over_default" in v else "–")
            + " |"
        )
    lines += [
        "",
        " ".join(
            f"The default's p99 was lower than {way}'s in {w[way]['default_lower_p99_rounds']} of {r['rounds']} "
            f"rounds; over all rounds, default ÷ {way} {w[DEFAULT]['p99'] / w[way]['p99']:.2f}."
            for way in others
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

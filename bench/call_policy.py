"""Which PassBatcher call policy gives the lower tail latency at half the peak load, and what does
it cost at the peak? Paired rounds, one run.

    python bench/call_policy.py                 # released model, PerSenT articles, writes bench/RESULTS.md
    python bench/call_policy.py --merge-from 1,4 --calls-in-flight 1,3   # more ways, more rounds' time
    python bench/call_policy.py --quick --synthetic --model <artifact> --out /tmp/x    # smoke test

One server per policy runs side by side, each idle but for the round being measured: the default
PassBatcher (``SLANT_PASS_MERGE_FROM``: one request per model call while fewer than that many
wait, merged calls from there on; ``SLANT_PASS_CALLS_IN_FLIGHT``: how many calls it keeps in
flight) and, for each value of ``--merge-from`` and of ``--calls-in-flight``, a server with that
one setting changed (merge from 1: every waiting request merged into the next call, the policy
before #13; 4: the default before 2026-12-05; one call in flight: the policy before ``SLANT_PASS_CALLS_IN_FLIGHT``).

1. The peak: a closed loop of ``--clients`` clients on /classify of each server,
   ``--peak-rounds`` times (2), in an order reversed every round; its articles/s per server, ÷ the
   default's. The default's is the peak the arrivals below are drawn at. The same at each of
   ``--fewer-clients`` (4), where fewer requests wait for each call.
2. Each round draws Poisson arrivals at ``--load`` of that peak for ``--segment-s`` seconds and
   sends the same arrivals to every server as they arrive, and to the default server one at a
   time, first come first served, from a queue in this process: a real one-at-a-time FIFO server
   on the same machine at the same moment (its latency counts from the arrival, so the queue's wait
   is in it), the baseline. The order rotates from round to round so that a slow spell of a shared
   machine hits each way alike.

The tables give each way's latency percentiles over all rounds, p99 ÷ the FIFO's p99, per round,
and its closed loops' articles/s.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path
from unittest import mock

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

MERGE_FROM = "SLANT_PASS_MERGE_FROM"
CALLS_IN_FLIGHT = "SLANT_PASS_CALLS_IN_FLIGHT"
DEFAULTS = {
    MERGE_FROM: Settings.model_fields["pass_merge_from"].default,
    CALLS_IN_FLIGHT: Settings.model_fields["pass_calls_in_flight"].default,
}
DEFAULT = f"merge from {DEFAULTS[MERGE_FROM]}, {DEFAULTS[CALLS_IN_FLIGHT]} calls in flight (default)"
FIFO = "one at a time (FIFO)"


def way_name(variable: str, value: int) -> str:
    """A server's way in the tables: the one setting it changes from the default."""
    if variable == MERGE_FROM:
        return "merge always" if value == 1 else f"merge from {value}"
    return f"{value} call{'s' if value > 1 else ''} in flight"


def _whole_numbers(ap, flag: str, text: str) -> list[int]:
    """The comma-separated whole numbers of ``flag``, each once, in order; an argparse error otherwise."""
    try:
        return list(dict.fromkeys(int(v) for v in text.split(",") if v))
    except ValueError:
        ap.error(f"{flag} is {text!r}; give whole numbers, e.g. 1,4")


def _values(ap, flag: str, text: str, variable: str) -> list[int]:
    values = _whole_numbers(ap, flag, text)
    if any(v < 1 for v in values) or DEFAULTS[variable] in values:
        ap.error(f"{flag} is {text!r}; give values of 1 or more other than the default {DEFAULTS[variable]}")
    return values


def parse_args(argv=None):
    ap = common.served_parser(__doc__, outputs="RESULTS.md and call_policy.json", articles=160)
    ap.add_argument("--clients", type=int, default=16, help="clients of the closed loop that finds the peak")
    ap.add_argument(
        "--fewer-clients",
        default="4",
        help="client counts below --clients whose closed loops are timed too, comma-separated (default 4; '' none)",
    )
    ap.add_argument("--load", type=float, default=0.5, help="arrival rate as a share of the peak (default 0.5)")
    ap.add_argument(
        "--merge-from",
        default="4",
        help=f"{MERGE_FROM} values compared with the default ({DEFAULTS[MERGE_FROM]}), comma-separated (default 4)",
    )
    ap.add_argument(
        "--calls-in-flight",
        default="1",
        help=f"{CALLS_IN_FLIGHT} values compared with the default ({DEFAULTS[CALLS_IN_FLIGHT]}), comma-separated "
        "(default 1)",
    )
    ap.add_argument("--rounds", type=int, default=None, help="rounds of all the ways (default 4; --quick 1)")
    ap.add_argument("--segment-s", type=float, default=None, help="seconds of arrivals per way and round (default 40)")
    ap.add_argument(
        "--peak-s", type=float, default=None, help="seconds of each closed loop at the peak (default 20; --quick 2)"
    )
    ap.add_argument(
        "--peak-rounds",
        type=int,
        default=2,
        help="closed loops per server and client count, the order of the servers reversed every round (default 2)",
    )
    args = common.parse_served(ap, argv)
    # way: its server's settings, set in full so that a value in this shell's environment changes no way
    defaults = {variable: str(value) for variable, value in DEFAULTS.items()}
    args.ways = {DEFAULT: defaults}
    for flag, text, variable in (
        ("--merge-from", args.merge_from, MERGE_FROM),
        ("--calls-in-flight", args.calls_in_flight, CALLS_IN_FLIGHT),
    ):
        for value in _values(ap, flag, text, variable):
            args.ways[way_name(variable, value)] = {**defaults, variable: str(value)}
    args.fewer_clients = sorted(_whole_numbers(ap, "--fewer-clients", args.fewer_clients))
    if args.peak_rounds < 1:
        ap.error(f"--peak-rounds is {args.peak_rounds}; give 1 or more")
    if any(not 0 < c < args.clients for c in args.fewer_clients):
        ap.error(f"--fewer-clients is {args.fewer_clients!r}; give counts from 1 to --clients ({args.clients}) less 1")
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
        for i, (way, changed) in enumerate(args.ways.items()):
            log = Path(tempfile.gettempdir()) / f"slant-bench-call-policy-{os.getpid()}-{i}.log"
            with mock.patch.dict(os.environ, changed):  # Server passes this process's environment on
                servers[way] = Server(model_dir, args.threads, log)
        for server in servers.values():
            server.wait_ready(args.startup_timeout)
        urls = {way: server.url + "/classify" for way, server in servers.items()}
        urls[FIFO] = urls[DEFAULT]
        for way in servers:  # every article once: names read, as in the rounds
            asyncio.run(send_each_once(urls[way], single, 4))
        closed: dict[str, dict[int, list[float]]] = {way: {} for way in servers}  # way: clients: articles/s
        for clients in [*args.fewer_clients, args.clients]:
            for k in range(args.peak_rounds):
                for way in list(servers)[:: -1 if k % 2 else 1]:
                    level = asyncio.run(closed_loop(urls[way], single, clients, 1.0, args.peak_s))
                    closed[way].setdefault(clients, []).append(level["articles_per_s"])
                    print(f"{way}: {level['articles_per_s']:.2f} articles/s at {clients} clients", flush=True)
        peak = statistics.fmean(closed[DEFAULT][args.clients])
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
    report = summarize(args, where, closed, rate, rounds)
    common.write_report(out_dir, "call_policy", report, render(report))
    return 0


def p99(records: list[tuple[float, bool]]) -> float:
    return common.percentiles([t for t, ok in records if ok])["p99"]


def summarize(args, where: str, closed: dict[str, dict[int, list[float]]], rate: float, rounds: list[dict]) -> dict:
    at_peak = {way: by_clients[args.clients] for way, by_clients in closed.items()}
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
            row["fewer_clients"] = {
                str(c): {
                    "articles_per_s": closed[way][c],
                    "over_default": statistics.fmean(closed[way][c]) / statistics.fmean(closed[DEFAULT][c]),
                }
                for c in args.fewer_clients
            }
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
        "fewer_clients": args.fewer_clients,
        "peak_s": args.peak_s,
        "peak_rounds": args.peak_rounds,
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
        f"{r['workload']['articles']} articles ({r['workload']['where']}). One server per way: the default "
        "and the default with one setting changed (`SLANT_PASS_MERGE_FROM`: from how many waiting requests the "
        "PassBatcher merges their passes into one model call, 1: always; `SLANT_PASS_CALLS_IN_FLIGHT`: how many "
        f"model calls it keeps in flight). Peak: a closed loop of {r['clients_for_peak']} clients on /classify, "
        f"{r['peak_s']:.0f} s per server, {r['peak_rounds']} times, the order reversed every time (and the same at "
        f"{', '.join(map(str, r['fewer_clients'])) or 'no other'} clients, below); the default's, "
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
    if r["fewer_clients"]:
        lines += [
            "",
            "Closed loops below the peak (as at the peak):",
            "",
            "| way | " + " | ".join(f"articles/s at {c} clients | ÷ default's" for c in r["fewer_clients"]) + " |",
            "|---|" + "---|---:|" * len(r["fewer_clients"]),
        ]
        for way, v in w.items():
            if "fewer_clients" in v:
                cells = [
                    f"{', '.join(f'{x:.2f}' for x in v['fewer_clients'][str(c)]['articles_per_s'])} | "
                    f"{v['fewer_clients'][str(c)]['over_default']:.3f}"
                    for c in r["fewer_clients"]
                ]
                lines.append(f"| {way} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

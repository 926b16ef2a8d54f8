"""Bulk scoring on Ray (#12): `slant score --engine ray` against the local `slant score` on the same
articles, and two Ray nodes on this machine against one; then the paper estimate for 100 nodes.

    python bench/ray_score.py                                  # 2,000 articles, prints the figures
    python bench/ray_score.py --articles 40 --repeats 1 --model <artifact>   # a smoke test

Runs, each a `slant score` subprocess as a user runs it (best of ``--repeats``):

1. local: ``slant score articles.jsonl`` in one process on all cores: the baseline;
2. Ray, one node: ``ray start --head --num-cpus=C`` (C: this machine's usable cores), then
   ``slant score shards/ --engine ray --address ...`` on the same articles cut into ``--shards``;
3. Ray, two nodes: a head and a worker node on this machine with C/2 CPUs each.

The rate of a run is what its CLI prints (articles/s; the local one after its model is loaded, the
Ray one after it joins the cluster, so planning, actor start-up and model loads count against Ray);
the wall clock of the whole command (start-up included) is shown beside it. The figures are ratios
within the run: (2) / (1) (target >= 0.85) and (3) / (2): the same cores in two nodes instead of one.
Each node gets its share of the cores as Ray CPUs (C/2 each), so the model actors and the intake
and answer tasks have as many cores as in (2); the difference is Ray's per-node scheduling and the
objects that now cross between the two nodes' object stores (about 1 is expected; on a real cluster
every node brings its own cores and the rate adds up).

Articles: the repo's own samples (tests/slant/samples: a news page, a report, a thread of posts, an
HTML page), cycled with distinct titles; every other article names its stance target, the others
have theirs found automatically (the NER of the intake tasks). ``--jsonl FILE`` takes your own.
The Ray nodes are started with ``--num-gpus=0``: this is a CPU benchmark.

Last, the paper estimate of docs/scale.md for ``--nodes`` nodes of ``--node-cores`` cores on
``--total`` articles, from the measured rate per core: paste it there. Figures go to stdout and
``--json`` (default bench/ray_score.json) and this script's section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from serving.launcher import kill_leftovers  # noqa: E402

SAMPLES = common.REPO / "tests" / "slant" / "samples"
TARGET_RAY_VS_LOCAL = 0.85
# A private cluster on localhost: no token authentication (with a token in ~/.ray, `ray start --head`
# turns it on by itself, but a joining `ray start` does not send it), no usage reports.
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1"}
RATE = re.compile(r"scored ([\d,]+) articles .* in ([\d.]+) s: ([\d,.]+) articles/s")


# ------------------------------------------------------------------------------------------------
# Ray nodes on this machine
# ------------------------------------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class LocalCluster:
    """Ray nodes on this machine from `ray start`, in a private temp folder on free ports. ``stop``
    ends exactly their processes: `ray stop` would end every Ray on the machine."""

    PORTS = (
        "node-manager",
        "object-manager",
        "dashboard-agent-grpc",
        "dashboard-agent-listen",
        "metrics-export",
        "runtime-env-agent",
    )

    def __init__(self, cpus: list[int], *, object_store_bytes: int = 200_000_000, temp_dir: Path | None = None) -> None:
        self.cpus, self.object_store_bytes = cpus, object_store_bytes
        self.own_temp = temp_dir is None
        self.temp_dir = Path(temp_dir or tempfile.mkdtemp(prefix="slant-ray-"))
        self.address = ""
        self.env = {**os.environ, **RAY_ENV}

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _node(self, cpus: int) -> list[str]:
        ports = [f"--{name}-port={port}" for name, port in zip(self.PORTS, free_ports(len(self.PORTS)))]
        return [
            *ports,
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={cpus}",
            "--num-gpus=0",
            f"--object-store-memory={self.object_store_bytes}",
            "--disable-usage-stats",
        ]

    def start(self) -> None:
        ray = str(Path(sys.executable).parent / "ray")
        gcs, dashboard = free_ports(2)
        self.address = f"127.0.0.1:{gcs}"
        head = [ray, "start", "--head", f"--port={gcs}", f"--temp-dir={self.temp_dir}", "--include-dashboard=false"]
        commands = [[*head, f"--dashboard-port={dashboard}", *self._node(self.cpus[0])]]
        commands += [[ray, "start", f"--address={self.address}", *self._node(c)] for c in self.cpus[1:]]
        for command in commands:
            r = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=300)
            if r.returncode:
                raise RuntimeError(f"{' '.join(command[:3])} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")

    def processes(self) -> list:
        """This cluster's processes: each names the temp folder on its command line; their children."""
        import psutil

        me = psutil.Process()
        skip = {me.pid, *(p.pid for p in me.parents())}  # a command line that names the folder is not Ray
        found: dict[int, psutil.Process] = {}
        for p in psutil.process_iter(["cmdline"]):
            try:
                if p.pid not in skip and any(str(self.temp_dir) in part for part in p.info["cmdline"] or ()):
                    found[p.pid] = p
                    found.update((c.pid, c) for c in p.children(recursive=True))
            except psutil.Error:
                continue
        return list(found.values())

    def stop(self) -> None:
        import psutil

        procs = self.processes()
        for p in procs:
            try:
                p.send_signal(signal.SIGTERM)
            except psutil.Error:
                pass
        kill_leftovers(procs, timeout=5)
        if self.own_temp:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# Articles and runs
# ------------------------------------------------------------------------------------------------


def sample_articles(n: int) -> list[dict]:
    """The repo's samples cycled to ``n`` articles (distinct titles; every other one with a target)."""
    sources = [
        {"text": (SAMPLES / "news_page.txt").read_text(encoding="utf-8"), "target": "Tom Hadley"},
        {"text": (SAMPLES / "people.txt").read_text(encoding="utf-8"), "target": "Nicolas Maduro"},
        {"text": (SAMPLES / "tweet.txt").read_text(encoding="utf-8"), "target": "the government"},
        {"html": (SAMPLES / "cookie_page.html").read_text(encoding="utf-8"), "target": "the council"},
    ]
    out = []
    for i in range(n):
        s = dict(sources[i % len(sources)])
        target = s.pop("target")
        out.append({**s, "title": f"Sample article {i}", **({"targets": [target]} if i % 2 else {})})
    return out


def write_inputs(lines: list[bytes], folder: Path, shards: int) -> tuple[Path, Path]:
    """One JSONL file (local) and the same lines in ``shards`` consecutive shards (Ray)."""
    single, shard_dir = folder / "articles.jsonl", folder / "shards"
    single.write_bytes(b"".join(line + b"\n" for line in lines))
    shard_dir.mkdir()
    per = -(-len(lines) // shards)
    for k in range(shards):
        part = lines[k * per : (k + 1) * per]
        if part:
            (shard_dir / f"part-{k:04d}.jsonl").write_bytes(b"".join(line + b"\n" for line in part))
    return single, shard_dir


def score(args: list[str], out: Path) -> dict:
    """One `slant score` run: its printed rate and its wall clock."""
    env = {**os.environ, **RAY_ENV, "BENTOML_DO_NOT_TRACK": "true"}
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "slant.cli", "score", *args, "--out", str(out)],
        cwd=common.REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=24 * 3600,
    )
    wall = time.perf_counter() - t0
    if r.returncode:
        raise RuntimeError(f"slant score {' '.join(args)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    m = RATE.search(r.stderr)
    if not m:
        raise RuntimeError(f"no throughput line in the output of slant score:\n{r.stderr[-2000:]}")
    files = [out] if out.is_file() else sorted(out.glob("*.jsonl"))
    records = sum(len(f.read_bytes().splitlines()) for f in files)
    return {
        "articles": int(m.group(1).replace(",", "")),
        "seconds": float(m.group(2)),
        "articles_per_s": float(m.group(3).replace(",", "")),
        "wall_s": round(wall, 2),
        "records": records,
    }


def best(runs: list[dict]) -> dict:
    return {**max(runs, key=lambda r: r["articles_per_s"]), "runs": [r["articles_per_s"] for r in runs]}


# ------------------------------------------------------------------------------------------------
# The paper estimate (docs/scale.md)
# ------------------------------------------------------------------------------------------------


def estimate(per_core: float, efficiency: float, bytes_per_answer: float, args) -> dict:
    """Time and cost for ``args.total`` articles on ``args.nodes`` nodes of ``args.node_cores`` cores
    from a measured rate per core; ``efficiency`` (two nodes / one, at most 1) is assumed to hold."""
    per_node = per_core * args.node_cores * min(1.0, efficiency)
    cluster = per_node * args.nodes
    node_hours_per_million = 1e6 / per_node / 3600
    return {
        "per_core": per_core,
        "efficiency": min(1.0, efficiency),
        "per_node": per_node,
        "cluster": cluster,
        "hours": args.total / cluster / 3600,
        "node_hours_per_million": node_hours_per_million,
        "cost_per_million": node_hours_per_million * args.node_price,
        "cost_total": node_hours_per_million * args.node_price * args.total / 1e6,
        "driver_mb_per_s": cluster * bytes_per_answer / 1e6,
    }


def estimate_block(e: dict, args, cores: int) -> str:
    f = common.fmt
    return "\n".join(
        [
            f"Paper estimate: {args.nodes} nodes x {args.node_cores} cores, {args.total:,} articles "
            f"(bench/ray_score.py, {common.now_utc()})",
            "",
            "| | |",
            "|---|---|",
            f"| measured rate per core (Ray, one node of {cores} cores) | {f(e['per_core'], 3)} articles/s |",
            f"| scaling efficiency (two nodes / one, at most 1; assumed to hold at {args.nodes} nodes) | {f(e['efficiency'])} |",
            f"| one {args.node_cores}-core node | {f(e['per_node'], 1)} articles/s |",
            f"| {args.nodes} nodes | {f(e['cluster'], 0)} articles/s |",
            f"| time for {args.total:,} articles | {f(e['hours'], 2)} h |",
            f"| node-hours per million articles | {f(e['node_hours_per_million'], 2)} |",
            f"| cost per million articles at ${args.node_price}/node-hour | ${f(e['cost_per_million'])} |",
            f"| cost of {args.total:,} articles | ${f(e['cost_total'], 0)} |",
            f"| answers the driver receives and writes | {f(e['driver_mb_per_s'], 1)} MB/s |",
        ]
    )


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default=str(common.DEFAULT_MODEL), help="artifact folder (default models/slant-base)")
    ap.add_argument("--articles", type=int, default=2000, help="articles per run (default 2000)")
    ap.add_argument("--jsonl", default=None, help="your own articles (JSONL) instead of the repo's samples")
    ap.add_argument("--shards", type=int, default=8, help="input shards for the Ray runs (default 8)")
    ap.add_argument("--batch", type=int, default=64, help="--batch of slant score (default 64)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per mode, best kept (default 3)")
    ap.add_argument(
        "--wait-quiet-s",
        type=float,
        default=300,
        help="wait up to this long for a quiet machine (default 300; 0: don't)",
    )
    ap.add_argument("--nodes", type=int, default=100, help="estimate: nodes (default 100)")
    ap.add_argument("--node-cores", type=int, default=16, help="estimate: cores per node (default 16)")
    ap.add_argument("--total", type=int, default=10_000_000, help="estimate: articles (default 10,000,000)")
    ap.add_argument(
        "--node-price",
        type=float,
        default=0.68,
        help="estimate: USD per node-hour (default 0.68, an assumed on-demand 16-vCPU VM)",
    )
    ap.add_argument(
        "--json",
        default=str(Path(__file__).resolve().parent / "ray_score.json"),
        help="figures as JSON (default bench/ray_score.json)",
    )
    return ap.parse_args(argv)


def noise(monitor, ray_pids: set[int]) -> list[str]:
    """Busy processes other than the benchmark's Ray nodes and workers (they are not its children;
    a worker that came and went is known by its name, ray::...)."""
    return [
        line
        for line in monitor.report()
        if int(line.split()[1]) not in ray_pids and not line.split(": ", 1)[-1].startswith("ray::")
    ]


def lscpu() -> str:
    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "lscpu not available"


def input_lines(args) -> list[bytes]:
    if args.jsonl:
        lines = [line for line in Path(args.jsonl).read_bytes().splitlines() if line.strip()]
        return (lines * (-(-args.articles // len(lines))))[: args.articles]
    return [json.dumps(a, ensure_ascii=False).encode() for a in sample_articles(args.articles)]


def run_modes(args, model: Path, tmp: Path, cores: int, ray_pids: set[int]) -> dict[str, list[dict]]:
    single, shards = write_inputs(input_lines(args), tmp, args.shards)
    flags = ["--model", str(model), "--batch", str(args.batch)]
    runs: dict[str, list[dict]] = {"local": [], "ray_one_node": [], "ray_two_nodes": []}
    halves = [max(1, cores // 2), max(1, cores - cores // 2)]
    for k in range(args.repeats):
        runs["local"].append(score([str(single), *flags], tmp / f"local-{k}.jsonl"))
        print(f"local: {runs['local'][-1]}", flush=True)
    for mode, cpus in (("ray_one_node", [cores]), ("ray_two_nodes", halves)):
        with LocalCluster(cpus) as cluster:
            for k in range(args.repeats):
                ray_flags = ["--engine", "ray", "--address", cluster.address]
                runs[mode].append(score([str(shards), *flags, *ray_flags], tmp / f"{mode}-{k}"))
                print(f"{mode} (CPUs per node {cpus}): {runs[mode][-1]}", flush=True)
                ray_pids.update(p.pid for p in cluster.processes())  # the runs' own, not noise
    return runs


def main(argv=None) -> int:
    args = parse_args(argv)
    cores = common.usable_cores()
    model = Path(args.model).resolve()
    busy = common.training_running()
    if busy:
        print(f"warning: {busy}; the numbers will not be clean", file=sys.stderr)
    busy_at_start = common.wait_quiet(args.wait_quiet_s) if args.wait_quiet_s > 0 else []
    load_at_start = common.load_average()
    tmp = Path(tempfile.mkdtemp(prefix="slant-bench-ray-"))
    try:
        ray_pids: set[int] = set()
        with common.BusyMonitor() as monitor:
            runs = run_modes(args, model, tmp, cores, ray_pids)
        answer_bytes = (tmp / "local-0.jsonl").stat().st_size / max(1, args.articles)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    local, one, two = best(runs["local"]), best(runs["ray_one_node"]), best(runs["ray_two_nodes"])
    for mode, r in (("ray_one_node", one), ("ray_two_nodes", two)):
        if r["records"] != local["records"]:
            raise SystemExit(f"{mode} wrote {r['records']} records, local {local['records']}")
    ray_vs_local = one["articles_per_s"] / local["articles_per_s"]
    two_vs_one = two["articles_per_s"] / one["articles_per_s"]
    paper = estimate(one["articles_per_s"] / cores, two_vs_one, answer_bytes, args)
    f = common.fmt
    report = "\n".join(
        [
            f"## Ray bulk scoring ({common.now_utc()}; `{common.command_line()}`)",
            "",
            f"{args.articles:,} articles ({'--jsonl ' + args.jsonl if args.jsonl else 'the repo samples'}), model {common.relative(str(model))}, "
            f"--batch {args.batch}, {args.shards} shards for Ray, best of {args.repeats}; load average at start {load_at_start}.",
            "",
            "| run | articles/s (CLI) | wall s | ratio |",
            "|---|---|---|---|",
            f"| local `slant score`, one process | {f(local['articles_per_s'])} | {f(local['wall_s'], 1)} | 1.00 (baseline) |",
            f"| Ray, one node, {cores} CPUs | {f(one['articles_per_s'])} | {f(one['wall_s'], 1)} | "
            f"**{f(ray_vs_local)}** vs local (target >= {TARGET_RAY_VS_LOCAL}: {common.verdict(ray_vs_local, TARGET_RAY_VS_LOCAL, True)}) |",
            f"| Ray, two nodes, {max(1, cores // 2)} + {max(1, cores - cores // 2)} CPUs | {f(two['articles_per_s'])} | {f(two['wall_s'], 1)} | **{f(two_vs_one)}** vs one node |",
            "",
            estimate_block(paper, args, cores),
            "",
            common.machine_table(common.machine()),
            "",
            f"The two nodes share this machine's {cores} cores ({max(1, cores // 2)} Ray CPU each), so the last ratio "
            "shows what splitting one machine into two nodes costs, not added capacity: on a real cluster every "
            "node brings its own cores, and the estimate assumes the rate per core holds.",
            "",
            "Busy at start: "
            + ("; ".join(busy_at_start) or "nothing")
            + ". During the runs: "
            + ("; ".join(noise(monitor, ray_pids)) or "nothing")
            + ".",
        ]
    )
    print("\n" + report)
    common.update_results(Path(__file__).resolve().parent, "ray_score", report)
    Path(args.json).write_text(
        json.dumps(
            {
                "runs": runs,
                "ray_vs_local": ray_vs_local,
                "two_vs_one_node": two_vs_one,
                "estimate": paper,
                "machine": common.machine(),
                "lscpu": lscpu(),
                "load_at_start": load_at_start,
                "training": busy,
                "busy": noise(monitor, ray_pids),
                "args": vars(args),
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\nfigures -> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

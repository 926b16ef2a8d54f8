"""Soak: a real `bentoml serve` under steady mixed traffic for a fixed time; errors, latency and the
memory of every server process over time.

16 clients (``--clients``) for 10 minutes (``--minutes``), each in a loop: /classify of a text
article (75%), an HTML page (10%), /classify_batch of 4 articles (10%), a malformed request that
must get its 4xx (5%); one client also posts a feedback item every 20 requests (with an API key).
Every 5 s the resident memory (RSS) of every process of the server (the arbiter, the API worker,
the model worker, the HTML parse workers) is sampled; the report gives each process's RSS at the
start and end and its slope (least squares, MB per minute) over the run after the first 20%.

An error is any answer other than the expected one (200 for good requests, the documented 4xx for
malformed ones): a 5xx, a refused connection or a timeout. Traffic goes to 127.0.0.1 only, and the
run is bounded by --minutes.

    python bench/soak.py                 # models/slant-base, 16 clients, 10 minutes
    python bench/soak.py --quick         # smoke: 4 clients, 20 seconds (tests/bench)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (  # noqa: E402
    DEFAULT_MODEL,
    command_line,
    fmt,
    machine,
    machine_table,
    now_utc,
    percentiles,
    relative,
    synthetic_articles,
    training_running,
    update_results,
)

from serving.launcher import ServeProcess  # noqa: E402

KEY = "soak-key-" + "0123456789abcdef"
SAMPLE_S = 5.0


def role(cmdline: list[str]) -> str:
    line = " ".join(cmdline)
    if "serving.intake" in line:
        return "parse worker"
    if "slant_model" in line:
        return "model worker"
    if "_bentoml_impl.worker" in line:
        return "API worker"
    return "arbiter"


def slope_mb_per_min(points: list[tuple[float, int]]) -> float:
    if len(points) < 3:
        return 0.0
    xs = [t / 60 for t, _ in points]
    ys = [r / 2**20 for _, r in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


def html_page(article: dict) -> str:
    body = "".join(f"<p>{p}</p>" for p in article["paragraphs"])
    return (
        f"<html><head><title>{article['title']}</title><script>var x = 1;</script></head><body>"
        f"<nav>Home | News</nav><article><h1>{article['title']}</h1>{body}</article></body></html>"
    )


class Soak:
    def __init__(self, url: str, clients: int, seconds: float, seed: int = 0) -> None:
        self.url, self.clients, self.seconds = url, clients, seconds
        self.articles = synthetic_articles(200, seed)
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {}
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self.stop = threading.Event()

    def record(self, kind: str, seconds: float, ok: bool, what: str) -> None:
        with self.lock:
            self.latency.setdefault(kind, []).append(seconds)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if not ok:
                self.errors.append(f"{kind}: {what}")

    def client(self, i: int) -> None:
        import httpx

        rng = random.Random(i)
        with httpx.Client(base_url=self.url, timeout=120) as c:
            n = 0
            while not self.stop.is_set():
                n += 1
                a = rng.choice(self.articles)
                r = rng.random()
                if i == 0 and n % 20 == 0:
                    kind, path, kw, want = (
                        "feedback",
                        "/feedback",
                        {
                            "json": {
                                "items": [{"task": "bias", "text": rng.choice(a["paragraphs"]), "label": "neutral"}]
                            },
                            "headers": {"Authorization": f"Bearer {KEY}"},
                        },
                        200,
                    )
                elif r < 0.75:
                    kind, path, kw, want = (
                        "classify",
                        "/classify",
                        {
                            "json": {
                                "article": {
                                    "text": "\n\n".join(a["paragraphs"]),
                                    "title": a["title"],
                                    "targets": a["targets"],
                                }
                            }
                        },
                        200,
                    )
                elif r < 0.85:
                    kind, path, kw, want = "html", "/classify", {"json": {"article": {"html": html_page(a)}}}, 200
                elif r < 0.95:
                    arts = [
                        {"paragraphs": b["paragraphs"], "targets": b["targets"]} for b in rng.sample(self.articles, 4)
                    ]
                    kind, path, kw, want = "batch", "/classify_batch", {"json": {"articles": arts}}, 200
                else:
                    bad = rng.choice(
                        [
                            ({"article": {"text": 5}}, 400),
                            ({"article": {}}, 400),
                            ({"article": {"text": "x"}, "extra": 1}, 400),
                        ]
                    )
                    kind, path, kw, want = "malformed", "/classify", {"json": bad[0]}, bad[1]
                started = time.perf_counter()
                try:
                    resp = c.post(path, **kw)
                    ok = resp.status_code == want
                    what = f"{resp.status_code} {resp.text[:200]}"
                except Exception as e:  # noqa: BLE001 - a refused connection or a timeout is an error
                    ok, what = False, f"{type(e).__name__}: {e}"
                self.record(kind, time.perf_counter() - started, ok, what)

    def run(self, server: ServeProcess) -> dict:
        import psutil

        threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(self.clients)]
        rss: dict[str, list[tuple[float, int]]] = {}
        names: dict[str, str] = {}
        t0 = time.monotonic()
        for t in threads:
            t.start()
        while time.monotonic() - t0 < self.seconds:
            now = time.monotonic() - t0
            try:
                procs = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
            except psutil.Error:
                procs = []
            for p in procs:
                try:
                    key = f"{role(p.cmdline())} (pid {p.pid})"
                    rss.setdefault(key, []).append((now, p.memory_info().rss))
                    names[key] = role(p.cmdline())
                except psutil.Error:
                    pass
            time.sleep(min(SAMPLE_S, max(0.1, self.seconds - (time.monotonic() - t0))))
        self.stop.set()
        for t in threads:
            t.join(timeout=150)
        wall = time.monotonic() - t0
        skip = 0.2 * self.seconds
        memory = {}
        for key, points in rss.items():
            later = [pt for pt in points if pt[0] >= skip] or points
            memory[key] = {
                "role": names[key],
                "samples": len(points),
                "start_mb": round(points[0][1] / 2**20, 1),
                "end_mb": round(points[-1][1] / 2**20, 1),
                "max_mb": round(max(r for _, r in points) / 2**20, 1),
                "slope_mb_per_min": round(slope_mb_per_min(later), 2),
            }
        every = [x for v in self.latency.values() for x in v]
        return {
            "clients": self.clients,
            "seconds": round(wall, 1),
            "requests": len(every),
            "requests_per_s": round(len(every) / wall, 2),
            "errors": len(self.errors),
            "error_examples": self.errors[:10],
            "counts": self.counts,
            "latency_ms": {
                k: {q: round(v * 1000, 1) for q, v in percentiles(xs, (50, 99)).items()}
                for k, xs in {"all": every, **self.latency}.items()
                if xs
            },
            "memory": memory,
        }


def render(report: dict, args, info: dict) -> str:
    lines = [
        "## Soak (`bench/soak.py`)",
        "",
        f"{now_utc()}, `{command_line()}`; model `{relative(str(args.model))}`"
        + (" (**--quick: a smoke test, not a measurement**)" if args.quick else ""),
        "",
        machine_table(info),
        "",
        f"{report['clients']} clients for {report['seconds']:.0f} s: {report['requests']:,} requests "
        f"({report['requests_per_s']:.1f}/s), **{report['errors']} errors**"
        + (f"; training was running: {report['busy']}" if report.get("busy") else ""),
        "",
        "| traffic | requests | p50 ms | p99 ms |",
        "| --- | --- | --- | --- |",
    ]
    for kind, lat in report["latency_ms"].items():
        n = report["requests"] if kind == "all" else report["counts"].get(kind, 0)
        lines.append(f"| {kind} | {n:,} | {fmt(lat['p50'], 1)} | {fmt(lat['p99'], 1)} |")
    lines += [
        "",
        "| process | RSS start MB | RSS end MB | max MB | slope MB/min (after the first 20%) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, m in sorted(report["memory"].items()):
        lines.append(f"| {key} | {m['start_mb']} | {m['end_mb']} | {m['max_mb']} | {m['slope_mb_per_min']:+.2f} |")
    if report["error_examples"]:
        lines += ["", "Errors (first 10):", ""] + [f"- `{e[:200]}`" for e in report["error_examples"]]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="artifact to serve (default models/slant-base)")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="4 clients for 20 s: a smoke test, not a measurement")
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="folder for soak.json and RESULTS.md"
    )
    ap.add_argument("--startup-timeout", type=float, default=600)
    args = ap.parse_args()
    seconds = 20.0 if args.quick else args.minutes * 60
    clients = 4 if args.quick else args.clients
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="slant-soak-") as tmp:
        env = {
            **os.environ,
            "SLANT_MODEL": str(args.model),
            "HF_HUB_OFFLINE": "1",
            "BENTOML_DO_NOT_TRACK": "true",
            "SLANT_FEEDBACK_DB": str(Path(tmp) / "feedback.sqlite3"),
            "SLANT_API_KEYS": KEY,
            "SLANT_RELOAD_INTERVAL_S": "0",
        }
        server = ServeProcess(env, Path(tmp) / "bentoml.log")
        try:
            server.wait_ready(args.startup_timeout)
            busy = training_running()
            report = Soak(server.url, clients, seconds).run(server)
            report["busy"] = busy
            report["server_log_tracebacks"] = server.log_path.read_text(errors="replace").count("Traceback")
        finally:
            server.stop()
    report["quick"] = args.quick
    (args.out / "soak.json").write_text(json.dumps(report, indent=1) + "\n")
    update_results(args.out, "soak", render(report, args, machine()))
    print(render(report, args, machine()))
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

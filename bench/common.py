"""What both benchmarks share: the real-text workloads, the machine description, the FLOP count
and the RESULTS.md writer (each script owns one section of the file and rewrites only it).

The raw data stays in the shared data folder (third-party files, never copied into the repo); the
benchmarks read it at run time. ``--synthetic`` makes made-up paragraphs of varied lengths instead,
for CI machines without the data.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/x.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

from training.machine import cpu_flags, cpu_model  # noqa: E402 - needs the repo on the path

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
DEFAULT_MODEL = REPO / "models" / "slant-base"
RESULTS = "RESULTS.md"

SOURCES = {
    "semeval2023": "SemEval-2023 Task 3 (en) train+dev articles, one paragraph per line",
    "allsides": "Article-Bias-Prediction (AllSides) media-split test articles, blank-line paragraphs",
    "persent": "PerSent dev + fixed_test documents, one paragraph per line",
}


# ------------------------------------------------------------------------------------------------
# Workloads
# ------------------------------------------------------------------------------------------------


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _keep(p: str) -> bool:
    # Drop lines that are not prose paragraphs (empty, a lone word, a dateline).
    return len(p) >= 20 and len(p.split()) >= 4


def semeval_articles(data_dir: Path) -> list[dict]:
    """SemEval-2023 Task 3 articles: first line the title, every other non-empty line a paragraph."""
    root = data_dir / "semeval2023_task3_en" / "data" / "en"
    out = []
    for split in ("train", "dev"):
        for f in sorted(glob.glob(str(root / f"{split}-articles-subtask-3" / "article*.txt"))):
            lines = [_clean(l) for l in Path(f).read_text(encoding="utf-8", errors="replace").splitlines()]
            lines = [l for l in lines if l]
            if len(lines) < 2:
                continue
            paragraphs = [l for l in lines[1:] if _keep(l)]
            if paragraphs:
                out.append({"title": lines[0], "paragraphs": paragraphs, "targets": []})
    return out


def allsides_articles(data_dir: Path) -> list[dict]:
    out = []
    for f in sorted(glob.glob(str(data_dir / "article_bias_prediction_allsides" / "jsons_media_test" / "*.json"))):
        d = json.loads(Path(f).read_text(encoding="utf-8"))
        text = d.get("content_original") or d.get("content") or ""
        paragraphs = [_clean(p) for p in re.split(r"\n\s*\n", text)]
        paragraphs = [p for p in paragraphs if _keep(p)]
        if paragraphs:
            out.append({"title": _clean(d.get("title") or ""), "paragraphs": paragraphs, "targets": []})
    return out


def persent_articles(data_dir: Path) -> list[dict]:
    """PerSent documents with their annotated main entity as the stance target."""
    csv.field_size_limit(1 << 30)
    out = []
    for name in ("dev.csv", "fixed_test.csv"):
        path = data_dir / "persent" / name
        if not path.exists():
            continue
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            for row in csv.DictReader(f):
                paragraphs = [_clean(p) for p in (row.get("DOCUMENT") or "").split("\n")]
                paragraphs = [p for p in paragraphs if _keep(p)]
                target = _clean(row.get("TARGET_ENTITY") or "")
                if paragraphs and target:
                    out.append(
                        {
                            "title": _clean(row.get("TITLE") or "").capitalize(),
                            "paragraphs": paragraphs,
                            "targets": [target],
                        }
                    )
    return out


READERS = {"semeval2023": semeval_articles, "allsides": allsides_articles, "persent": persent_articles}

_WORDS = (
    "the council voted on a new flood barrier while critics said the mayor ignored cheaper options and "
    "recklessly squandered taxpayers money on a vanity project ministers argued that the economy would "
    "grow faster if the government cut taxes but unions warned about jobs health care schools and "
    "police budgets in the eastern districts reporters asked whether the election was fair"
).split()


def synthetic_articles(n_articles: int, seed: int = 0) -> list[dict]:
    """Made-up articles with paragraphs of 5..220 words (some longer than one window)."""
    rng = random.Random(seed)
    out = []
    for i in range(n_articles):
        paragraphs = []
        for _ in range(rng.randint(2, 12)):
            words = [rng.choice(_WORDS) for _ in range(int(rng.lognormvariate(3.6, 0.6)) + 5)][:220]
            paragraphs.append(" ".join(words).capitalize() + ".")
        out.append({"title": f"Synthetic article {i}", "paragraphs": paragraphs, "targets": ["the mayor"]})
    return out


def load_articles(
    data_dir: Path | None, sources=tuple(READERS), synthetic: bool = False, n_synthetic: int = 200
) -> tuple[dict[str, list[dict]], str]:
    """{source: [article]} and a line saying where it came from."""
    if synthetic:
        return {"synthetic": synthetic_articles(n_synthetic)}, "synthetic paragraphs (--synthetic)"
    data_dir = Path(data_dir or DEFAULT_DATA_DIR)
    if not data_dir.is_dir():
        raise SystemExit(f"data folder {data_dir} does not exist; pass --data-dir <shared data folder> or --synthetic")
    found = {name: READERS[name](data_dir) for name in sources}
    found = {k: v for k, v in found.items() if v}
    if not found:
        raise SystemExit(
            f"no articles found under {data_dir} (looked for {', '.join(sources)}); "
            "pass the right --data-dir or --synthetic"
        )
    return found, f"real articles from {data_dir}"


def sample_paragraphs(by_source: dict[str, list[dict]], n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct paragraphs, an equal share from each source, in shuffled order: (source, text)."""
    rng = random.Random(seed)
    pools = {}
    for name, articles in by_source.items():
        seen, pool = set(), []
        for a in articles:
            for p in a["paragraphs"]:
                if p not in seen:
                    seen.add(p)
                    pool.append(p)
        rng.shuffle(pool)
        pools[name] = pool
    out: list[tuple[str, str]] = []
    names = sorted(pools)
    share = {name: n // len(names) + (1 if i < n % len(names) else 0) for i, name in enumerate(names)}
    # A source with too few paragraphs gives what it has; the others make up the difference.
    short = sum(max(0, share[k] - len(pools[k])) for k in names)
    for k in names:
        take = min(len(pools[k]), share[k])
        out.extend((k, p) for p in pools[k][:take])
        pools[k] = pools[k][take:]
    for k in names:
        if short <= 0:
            break
        extra = pools[k][:short]
        out.extend((k, p) for p in extra)
        short -= len(extra)
    base, i = list(out), 0
    while base and len(out) < n:  # too little text (synthetic data): repeat, each copy made distinct
        source, text = base[i % len(base)]
        out.append((source, f"{text} ({i})"))
        i += 1
    rng.shuffle(out)
    return out[:n]


# ------------------------------------------------------------------------------------------------
# Numbers
# ------------------------------------------------------------------------------------------------


def percentiles(values, qs=(50, 95, 99)) -> dict[str, float]:
    import numpy as np

    if len(values) == 0:
        return {f"p{q}": float("nan") for q in qs}
    a = np.asarray(values, dtype=float)
    return {f"p{q}": float(np.percentile(a, q)) for q in qs}


def length_summary(lengths) -> dict:
    import numpy as np

    a = np.asarray(lengths)
    return {
        "n": int(a.size),
        "mean": round(float(a.mean()), 1),
        "min": int(a.min()),
        **{f"p{q}": int(np.percentile(a, q)) for q in (10, 25, 50, 75, 90, 99)},
        "max": int(a.max()),
    }


def encoder_flops(tokens: int, *, layers: int, hidden: int, intermediate: int, head_width: int) -> float:
    """FLOPs of one BERT-style forward pass over a window of ``tokens`` real tokens.

    Per layer and token, the matmuls hold 4·H² weights (Q, K, V, attention output) and 2·H·I
    (feed-forward up and down): 2 FLOPs per weight per token. Attention adds Q·Kᵀ and A·V, each
    2·T²·H per layer. Heads: the pooled task heads (2·H·width, once) and the per-token loaded-word
    head (2·H per token). Embedding look-ups, layer norms, softmax and GELU are left out (under 2 %).

        FLOPs(T) = 2·L·(4H² + 2HI)·T + 4·L·H·T² + 2·H·(width + T)

    MiniLM-L6-H384 (L=6, H=384, I=1536): 21.2 MFLOP per token plus 55 kFLOP·T; 128 tokens give
    2.72 + 0.15 = 2.87 GFLOP, the "about 2.9 GFLOP" the environment notes quote.
    """
    L, H, I, T = layers, hidden, intermediate, tokens
    return 2.0 * L * (4 * H * H + 2 * H * I) * T + 4.0 * L * H * T * T + 2.0 * H * (head_width + T)


# ------------------------------------------------------------------------------------------------
# The machine
# ------------------------------------------------------------------------------------------------


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine() -> dict:
    info = {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }
    flags = cpu_flags()
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16") if f in flags]
    info["simd"] = " ".join(simd) or "?"
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gib"] = round(int(mem) / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    for mod in ("numpy", "onnxruntime", "torch", "transformers", "tokenizers", "bentoml", "httpx"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - a missing package is just not listed
            pass
    try:
        import onnxruntime as ort

        info["onnxruntime_providers"] = ", ".join(ort.get_available_providers())
    except Exception:  # noqa: BLE001
        pass
    info["gpu"] = gpu_line()
    return info


def gpu_line() -> str:
    parts = []
    try:
        import onnxruntime as ort

        parts.append(
            "onnxruntime CUDA: " + ("yes" if "CUDAExecutionProvider" in ort.get_available_providers() else "no")
        )
    except Exception:  # noqa: BLE001
        parts.append("onnxruntime: not installed")
    try:
        import torch

        if torch.cuda.is_available():
            parts.append(f"torch CUDA: {torch.cuda.get_device_name(0)}")
        else:
            parts.append(f"torch CUDA: no ({torch.__version__})")
    except Exception:  # noqa: BLE001
        parts.append("torch: not installed")
    return "; ".join(parts)


def machine_table(info: dict) -> str:
    rows = [("CPU", f"{info['cpu']} ({info.get('simd', '?')})"), ("usable cores", str(info["cores"]))]
    if "memory_gib" in info:
        rows.append(("memory", f"{info['memory_gib']} GiB"))
    rows.append(("OS / Python", f"{info['os']} / {info['python']}"))
    for mod in ("onnxruntime", "torch", "transformers", "tokenizers", "numpy", "bentoml", "httpx"):
        if mod in info:
            rows.append((mod, info[mod]))
    if "onnxruntime_providers" in info:
        rows.append(("onnxruntime providers", info["onnxruntime_providers"]))
    rows.append(("GPU", info["gpu"]))
    return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def training_running() -> str | None:
    """A note when a training run is alive (runs/*/pid, or any `slant train` process): numbers
    taken meanwhile are not clean."""
    pids = set()
    for pid_file in REPO.glob("runs/*/pid"):
        try:
            pids.add(int(pid_file.read_text().strip()))
        except (ValueError, OSError):
            continue
    for proc in Path("/proc").glob("[0-9]*"):
        pids.add(int(proc.name))
    for pid in sorted(pids):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if re.search(r"slant(\.cli)? (train|retrain)\b|training/train\.py", cmd):
            return f"a training process (pid {pid}: {cmd.strip()[:80]}) was running during this benchmark"
    return None


def busy_processes(threshold: float = 20.0, exclude: set[int] | None = None) -> list[str]:
    """Other processes using more than ``threshold`` % of a core (sampled over 1 s): the noise."""
    try:
        import psutil
    except ImportError:
        return []
    mine = {os.getpid(), *(exclude or set())}
    procs = [p for p in psutil.process_iter(["pid", "cmdline"]) if p.pid not in mine]
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(1.0)
    out = []
    for p in procs:
        try:
            cpu = p.cpu_percent(None)
            if cpu >= threshold:
                out.append(f"{cpu:.0f}% pid {p.pid} {' '.join(p.info['cmdline'] or [])[:70]}")
        except psutil.Error:
            pass
    return out


class BusyMonitor:
    """Samples, every few seconds in a background thread, other processes (not this one nor its
    children, e.g. the server) that use more than ``threshold`` % of a core: noise in the numbers."""

    def __init__(self, interval_s: float = 5.0, threshold: float = 20.0) -> None:
        import threading

        self.interval_s, self.threshold = interval_s, threshold
        self.seen: dict[int, tuple[float, str, int]] = {}  # pid -> (max %, command, samples)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> BusyMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        me = psutil.Process()
        while not self._stop.wait(self.interval_s):
            try:
                mine = {me.pid, *(c.pid for c in me.children(recursive=True))}
            except psutil.Error:
                mine = {me.pid}
            busy = busy_processes(self.threshold, exclude=mine)
            for line in busy:
                pct, _, pid, cmd = line.split(" ", 3)
                pid = int(pid)
                old = self.seen.get(pid, (0.0, cmd, 0))
                self.seen[pid] = (max(old[0], float(pct.rstrip("%"))), cmd, old[2] + 1)

    def report(self) -> list[str]:
        return [
            f"pid {pid} up to {pct:.0f}% in {n} of the samples taken every {self.interval_s:.0f} s: {cmd}"
            for pid, (pct, cmd, n) in sorted(self.seen.items())
        ]


def wait_quiet(max_wait_s: float, threshold: float = 20.0) -> list[str]:
    """Wait (up to ``max_wait_s``) until no other process is busy; returns what was still busy."""
    deadline = time.monotonic() + max_wait_s
    while True:
        busy = busy_processes(threshold)
        if not busy or time.monotonic() >= deadline:
            return busy
        print(f"waiting for a quiet machine: {'; '.join(busy)}", file=sys.stderr, flush=True)
        time.sleep(10)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def sgemm_peak(threads: int, quick: bool) -> dict:
    """fp32 matmul peak of this machine: best of 5 large square sgemms, in numpy (and torch, where
    installed), so that every speed figure has the machine's own ceiling beside it."""
    import numpy as np

    n = 1024 if quick else 2048
    flops = 2.0 * n**3
    out = {"n": n, "threads": threads}
    a, b = np.random.default_rng(0).standard_normal((2, n, n), dtype=np.float32)
    a @ b
    out["numpy_gflops"] = flops / min(_time(lambda: a @ b) for _ in range(5)) / 1e9
    try:
        import torch
    except ImportError:
        out["torch_gflops"] = float("nan")
    else:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        torch.mm(ta, tb)
        out["torch_gflops"] = flops / min(_time(lambda: torch.mm(ta, tb)) for _ in range(5)) / 1e9
    out["peak_gflops"] = max(v for v in (out["numpy_gflops"], out["torch_gflops"]) if v == v)
    return out


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------------------------
# RESULTS.md
# ------------------------------------------------------------------------------------------------

HEADER = """# Slant benchmarks

Speed of the Slant model (MiniLM-L6-H384, multi-task, ONNX int8) in process and served by BentoML,
measured by the scripts in this folder on real news paragraphs. Each script rewrites only its own
section below; the numbers are whatever the last run measured, targets beside them, nothing edited by
hand.
"""


def update_results(out_dir: Path, section: str, body: str) -> Path:
    """Replace (or append) the ``section`` block of ``out_dir/RESULTS.md``."""
    path = Path(out_dir) / RESULTS
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def report_head(args, artifact, busy_at_start: list[str]) -> dict:
    """The fields an in-process benchmark's report opens with: when, how, on what model and machine."""
    return {
        "when": now_utc(),
        "command": command_line(),
        "quick": args.quick,
        "model": {"path": str(Path(args.model).resolve()), "name": artifact.name, "version": artifact.version},
        "machine": machine(),
        "busy_at_start": busy_at_start,
    }


def measured_line(r: dict) -> str:
    """A report section's opening words: when and with which command, and whether it was a smoke test."""
    return f"Measured {r['when']} with `{r['command']}`" + (
        " (**quick mode: a smoke test, not a measurement**)" if r["quick"] else ""
    )


def write_report(out_dir: Path, name: str, report: dict, section: str) -> None:
    """``name``.json and the ``name`` section of RESULTS.md in ``out_dir``; prints the section."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    path = update_results(out_dir, name, section)
    print(section)
    print(f"wrote {path}")


def benchmark_parser(doc: str, *, model_help: str, synthetic_help: str, outputs: str):
    """The options both benchmark scripts take; each adds its own after these."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(DEFAULT_MODEL), help=f"{model_help} (default models/slant-base)")
    ap.add_argument(
        "--data-dir", default=str(DEFAULT_DATA_DIR), help="the shared raw data folder (default ../shared/data)"
    )
    ap.add_argument("--synthetic", action="store_true", help=synthetic_help)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--wait-quiet-s",
        type=float,
        default=300,
        help="wait up to this long for other busy processes to end before measuring (default 300)",
    )
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a measurement")
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parent), help=f"folder for {outputs} (default bench/)"
    )
    return ap


def served_parser(doc: str, *, outputs: str, articles: int):
    """``benchmark_parser`` plus the options every script that starts `bentoml serve` takes; parse
    with ``parse_served``."""
    ap = benchmark_parser(
        doc,
        model_help="artifact folder to serve",
        synthetic_help="made-up articles instead of the data folder",
        outputs=outputs,
    )
    ap.add_argument(
        "--articles",
        type=int,
        default=None,
        help=f"distinct articles to cycle through (default {articles}; --quick 12)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="onnxruntime threads, server and in process (default: all usable cores)",
    )
    ap.add_argument("--startup-timeout", type=float, default=600, help="seconds to wait for /readyz (default 600)")
    ap.set_defaults(default_articles=articles)
    return ap


def parse_served(ap, argv=None):
    """``served_parser``'s arguments, with the defaults that depend on --quick and the machine filled in."""
    args = ap.parse_args(argv)
    args.articles = args.articles or (12 if args.quick else args.default_articles)
    args.threads = args.threads or usable_cores()
    return args


def paired_order(modes, rounds: int) -> list[str]:
    """The modes' servers in A B, B A, A B, ... order over ``rounds``, so that a shared machine's
    drift hits every mode alike."""
    return [m for r in range(rounds) for m in (list(modes) if r % 2 == 0 else list(reversed(modes)))]


def medians_by_mode(runs: list[dict], modes, keys) -> dict[str, dict[str, float]]:
    """Per mode, each key's median over that mode's runs (each run a dict with its "mode")."""
    return {mode: {key: statistics.median(r[key] for r in runs if r["mode"] == mode) for key in keys} for mode in modes}


def fmt(x: float, digits: int = 2) -> str:
    if x != x:  # nan
        return "n/a"
    return f"{x:,.{digits}f}"


def verdict(value: float, target: float, higher_is_better: bool) -> str:
    if value != value:
        return "not measured"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "**missed**"


def relative(path: str) -> str:
    """A path as the RESULTS.md reader would type it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return path


def now_utc() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def command_line() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]])

"""Slant's model path on a GPU, in one short run: what a lent GPU machine runs for #13.

    python bench/gpu.py --data-dir <shared data folder> --out <folder>     # needs onnxruntime-gpu

1. Checks that the CUDA provider really runs the session (``Predictor`` refuses a silent CPU
   fallback) and how long the first call on a fresh session takes.
2. Times ``Predictor.score`` on the same real paragraphs as bench/throughput.py, end to end with
   tokenization, for each padded-token cap per GPU call (``batch_tokens``) and paragraphs per
   ``score`` call (``chunk``), best of ``--repeats`` runs per setting. Then, in a run of their own,
   its three steps timed one by one: tokenizing and cutting windows (``encode``), the model calls
   (``run_windows``: padding, copies and the GPU) and merging windows into calibrated scores
   (``merge``).
3. Compares the GPU's fp16 scores with the CPU's int8 ones on those paragraphs: max |Δp| and the
   share of frame, technique and bias decisions that agree.

Writes gpu.json and its section of RESULTS.md to ``--out``. bench/throughput.py adds the GPU
rows beside the CPU ones and the torch baseline in the same process.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from slant.predictor import gc_paused  # noqa: E402

TARGET_PARAGRAPHS_PER_S = 10_000  # in process, end to end with tokenization, on a lent H200 (#13)


def parse_args(argv=None):
    ap = common.benchmark_parser(
        __doc__, model_help="artifact folder", synthetic_help="made-up paragraphs", outputs="RESULTS.md and gpu.json"
    )
    ap.add_argument("--n", type=int, default=None, help="paragraphs (default 9600; --quick 64)")
    ap.add_argument("--batch-tokens", default="4096,16384", help="padded tokens per GPU call, a list")
    ap.add_argument("--chunks", default="256,4096", help="paragraphs per Predictor.score call, a list")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per setting, best kept (default 3)")
    ap.add_argument("--device", default="cuda", help="cuda (default), or cpu for a smoke test without a GPU")
    args = ap.parse_args(argv)
    args.n = args.n or (64 if args.quick else 9600)
    return args


def score_chunks(predictor, passes, chunk: int) -> list:
    """``Predictor.score`` over ``passes``, ``chunk`` at a time: what a bulk caller does."""
    results = []
    for i in range(0, len(passes), chunk):
        results.extend(predictor.score(passes[i : i + chunk]))
    return results


def timed_steps(predictor, passes, chunk: int) -> dict[str, float]:
    """The steps of ``Predictor.score``, each timed, over ``passes`` in chunks: seconds per step
    summed over the chunks, each chunk's steps with the garbage collector paused, as in ``score``."""
    steps = {"encode": 0.0, "run_windows": 0.0, "merge": 0.0}
    temps = predictor.artifact.calibration.temperatures
    for i in range(0, len(passes), chunk):
        part = passes[i : i + chunk]
        with gc_paused():
            t0 = time.perf_counter()
            encoded = predictor.encoder.encode_batch([p.text for p in part], [p.target for p in part])
            t1 = time.perf_counter()
            logits = predictor.run_windows([w for windows in encoded for w in windows])
            t2 = time.perf_counter()
            predictor.merge(part, encoded, logits, temps)
            t3 = time.perf_counter()
        steps["encode"] += t1 - t0
        steps["run_windows"] += t2 - t1
        steps["merge"] += t3 - t2
    return steps


def tokenizer_floor(encoder, texts: list[str], repeats: int) -> dict[str, float]:
    """Seconds, best of ``repeats``: the Rust tokenizer alone on ``texts`` (batched, its own threads),
    reading every encoding's ids and offsets into Python, and ``Encoder.encode_batch`` (both, plus
    cutting windows): the part of ``encode`` that no Slant code can make faster. The garbage
    collector is paused, as in ``Predictor.score``."""

    def best(fn) -> float:
        with gc_paused():
            return min(common._time(fn) for _ in range(repeats))

    encodings = encoder.tokenizer.encode_batch(texts, add_special_tokens=False)
    return {
        "rust_encode_batch_s": best(lambda: encoder.tokenizer.encode_batch(texts, add_special_tokens=False)),
        "read_ids_and_offsets_s": best(lambda: [(e.ids, e.offsets) for e in encodings]),
        "encode_batch_s": best(lambda: encoder.encode_batch(texts)),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import onnxruntime as ort

    from bench.throughput import agreement, slant_decisions
    from slant import artifact as art
    from slant.predictor import Pass, Predictor

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    artifact = art.load(Path(args.model).resolve())
    by_source, where = common.load_articles(args.data_dir, synthetic=args.synthetic)
    passes = [Pass(t) for _, t in common.sample_paragraphs(by_source, args.n, args.seed)]
    print(f"{len(passes)} paragraphs ({where}); onnxruntime {ort.__version__}: {ort.get_available_providers()}")

    t0 = time.perf_counter()
    predictor = Predictor(artifact, device=args.device)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    predictor.score(passes[:1])
    first_call_s = time.perf_counter() - t0
    print(
        f"session {predictor.session.get_providers()}, graph {predictor.graph}: "
        f"load {load_s:.1f} s, first call {first_call_s:.2f} s"
    )

    rows = []
    gpu_results = None
    for batch_tokens in [int(x) for x in args.batch_tokens.split(",")]:
        predictor.batch_tokens = batch_tokens
        for chunk in [int(x) for x in args.chunks.split(",")]:
            score_chunks(predictor, passes[: min(len(passes), 2 * chunk)], chunk)  # warm this shape range
            runs = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                results = score_chunks(predictor, passes, chunk)
                runs.append(time.perf_counter() - t0)
            gpu_results = gpu_results or results
            steps = timed_steps(predictor, passes, chunk)
            seconds = min(runs)
            rows.append(
                {
                    "batch_tokens": batch_tokens,
                    "chunk": chunk,
                    "paragraphs_per_s": len(passes) / seconds,
                    "runs_paragraphs_per_s": [round(len(passes) / t) for t in runs],
                    "step_seconds": {k: round(v, 4) for k, v in steps.items()},
                }
            )
            print(
                f"batch_tokens {batch_tokens:>6} chunk {chunk:>5}: {len(passes) / seconds:8.0f} paragraphs/s "
                f"(steps: encode {steps['encode']:.3f} s, run_windows {steps['run_windows']:.3f} s, "
                f"merge {steps['merge']:.3f} s)",
                flush=True,
            )

    floor = tokenizer_floor(predictor.encoder, [p.text for p in passes], args.repeats)
    print(f"tokenizing {len(passes)} paragraphs: {floor}")

    cpu = Predictor(artifact, device="cpu")
    cpu_results = cpu.score(passes[:2400])
    both = agreement(  # the CPU's int8 decisions as the reference
        slant_decisions(artifact, cpu_results),
        slant_decisions(artifact, gpu_results[: len(cpu_results)]),
        np.ones(len(cpu_results), dtype=bool),
    )
    agree = {
        "max_abs_dp": both["max_abs_dp"],
        "decisions_agree": both["all"],
        "decisions": both["labels"],
    }
    compared = f"{predictor.graph} on {args.device} against int8 on the CPU"
    print(f"{compared}, {len(cpu_results)} paragraphs: {agree}")

    best = max(rows, key=lambda r: r["paragraphs_per_s"])
    report = {
        "when": common.now_utc(),
        "command": common.command_line(),
        "machine": common.machine(),
        "gpu": common.gpu_line(),
        "onnxruntime": ort.__version__,
        "model": {"name": artifact.name, "version": artifact.version},
        "paragraphs": len(passes),
        "where": where,
        "session": {"providers": predictor.session.get_providers(), "graph": predictor.graph},
        "load_s": load_s,
        "first_call_s": first_call_s,
        "rows": rows,
        "tokenizer_floor": floor,
        "against_cpu_int8": agree,
        "target_paragraphs_per_s": TARGET_PARAGRAPHS_PER_S,
        "best": best,
    }
    (out_dir / "gpu.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "## GPU in process (`bench/gpu.py`)",
        "",
        f"Measured {report['when']} with `{report['command']}`; {report['gpu']}; onnxruntime {ort.__version__}; "
        f"{len(passes)} paragraphs ({where}). Session load {load_s:.1f} s, first call {first_call_s:.2f} s.",
        "",
        "| batch_tokens | chunk | paragraphs/s | encode s | run_windows s | merge s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["step_seconds"]
        lines.append(
            f"| {r['batch_tokens']} | {r['chunk']} | {r['paragraphs_per_s']:.0f} | {s['encode']:.3f} | "
            f"{s['run_windows']:.3f} | {s['merge']:.3f} |"
        )
    lines += [
        "",
        f"Best: {best['paragraphs_per_s']:.0f} paragraphs/s (batch_tokens {best['batch_tokens']}, chunk "
        f"{best['chunk']}); target ≥ {TARGET_PARAGRAPHS_PER_S:,}: "
        f"{'met' if best['paragraphs_per_s'] >= TARGET_PARAGRAPHS_PER_S else 'missed'}. Tokenizing alone: the Rust "
        f"tokenizer {floor['rust_encode_batch_s']:.3f} s, reading its ids and offsets into Python "
        f"{floor['read_ids_and_offsets_s']:.3f} s, `Encoder.encode_batch` {floor['encode_batch_s']:.3f} s. {compared}: max |Δp| {agree['max_abs_dp']:.3f}, {agree['decisions_agree']:.2%} of {agree['decisions']} decisions agree.",
    ]
    path = common.update_results(out_dir, "gpu", "\n".join(lines))
    print("\n".join(lines[2:]) + f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Two model artifacts side by side: the same real paragraphs (stance pairs included) through each
artifact's serving ``Predictor``, runs interleaved in one process, best of ``--repeats`` kept.

    python bench/models.py --model models/slant-large --baseline-model models/slant-base
    git archive 124e228~1 models/slant-base | tar -x -C /tmp/v010    # slant-base 0.1.0 from history
    python bench/models.py --model models/slant-base --baseline-model /tmp/v010/models/slant-base

Reports paragraphs/s of each and the ratio (model ÷ baseline), so a student's speed against an
older release, or slant-large's cost against slant-base, is a figure from one run on one machine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402


def parse_args(argv=None):
    ap = common.benchmark_parser(
        __doc__,
        model_help="artifact folder to time",
        synthetic_help="made-up paragraphs instead of the data folder",
        outputs="RESULTS.md",
    )
    ap.add_argument("--baseline-model", required=True, help="artifact folder to compare with")
    ap.add_argument("--n", type=int, default=None, help="paragraphs (default 600; --quick 24)")
    ap.add_argument(
        "--repeats", type=int, default=None, help="timed runs per model, interleaved (default 3; --quick 1)"
    )
    args = ap.parse_args(argv)
    args.n = args.n or (24 if args.quick else 600)
    args.repeats = args.repeats or (1 if args.quick else 3)
    return args


def passes_of(paragraphs: list[tuple[str, str]]):
    """Every paragraph alone, and every other one as a stance pair with its first capitalised word:
    the mix an article with one target sends."""
    from slant.predictor import Pass

    out = []
    for i, (_, text) in enumerate(paragraphs):
        out.append(Pass(text, None))
        if i % 2 == 0:
            word = next((w for w in text.split() if w[:1].isupper()), None)
            out.append(Pass(text, word))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    from slant.artifact import load
    from slant.predictor import Predictor

    busy = common.wait_quiet(args.wait_quiet_s)
    by_source, where = common.load_articles(None if args.synthetic else Path(args.data_dir), synthetic=args.synthetic)
    passes = passes_of(common.sample_paragraphs(by_source, args.n, args.seed))
    models = {"model": Path(args.model), "baseline": Path(args.baseline_model)}
    predictors = {k: Predictor(load(p)) for k, p in models.items()}
    names = {k: f"{p.artifact.name} {p.artifact.version}" for k, p in predictors.items()}
    for p in predictors.values():
        p.score(passes[:16])  # warm-up: arenas and kernels
    best = {k: float("inf") for k in predictors}
    with common.BusyMonitor() as monitor:
        for _ in range(args.repeats):
            for k, p in predictors.items():
                started = time.perf_counter()
                p.score(passes)
                best[k] = min(best[k], time.perf_counter() - started)
    peak = common.sgemm_peak(common.usable_cores(), args.quick)
    rate = {k: len(passes) / best[k] for k in predictors}
    ratio = rate["model"] / rate["baseline"]
    lines = [
        f"{common.now_utc()}, `python bench/models.py --model {common.relative(args.model)} "
        f"--baseline-model {common.relative(args.baseline_model)}`; {len(passes):,} passes "
        f"({args.n:,} paragraphs, {where}; half also as stance pairs), best of {args.repeats}, interleaved",
        "",
        common.machine_table(common.machine()),
        "",
        f"fp32 sgemm peak measured in this run: {peak['peak_gflops']:,.0f} GFLOP/s (n={peak['n']}, best of 5).",
        "",
        "| model | passes/s | ratio to the baseline |",
        "| --- | --- | --- |",
        f"| {names['model']} | {common.fmt(rate['model'], 1)} | {ratio:.2f} |",
        f"| {names['baseline']} (baseline) | {common.fmt(rate['baseline'], 1)} | 1.00 |",
    ]
    if busy or monitor.report():
        lines += ["", "Other busy processes during the run: " + "; ".join(busy + monitor.report())]
    common.update_results(Path(args.out), f"models: {names['model']} vs {names['baseline']}", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

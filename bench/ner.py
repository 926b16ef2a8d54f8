"""Automatic targets: spaCy NER once per article (the entity cache) or twice, in one process.

    python bench/ner.py                        # 80 AllSides articles, writes bench/RESULTS.md
    python bench/ner.py --quick --synthetic --model <artifact> --out /tmp/x   # smoke test

With no targets given, the API worker reads every paragraph with spaCy to find the targets
(``prepare``), and the answer reads the paragraphs with a loaded-word candidate again for the
names to keep out of loaded-word spans (``build_answer``). slant/targets.py keeps each paragraph's
entities, so the second read is a look-up. Here each article goes through ``prepare`` and
``build_answer`` (the API worker's share of a request; its model scores are computed beforehand,
untimed) with the cache emptied before the article (both modes: a server sees each article once)
and, in the "twice" mode, again between the two steps. The modes alternate round by round. The
answers of both modes must be identical.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

MODES = ("once (cache)", "twice (no cache)")


def parse_args(argv=None):
    ap = common.benchmark_parser(
        __doc__,
        model_help="artifact folder (its model scores the articles, untimed)",
        synthetic_help="made-up articles",
        outputs="RESULTS.md and ner.json",
    )
    ap.add_argument("--articles", type=int, default=None, help="articles (default 80; --quick 6)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per mode, interleaved (default 3; --quick 1)")
    args = ap.parse_args(argv)
    args.articles = args.articles or (6 if args.quick else 80)
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from slant import artifact as art
    from slant.answer import build_answer, passes_for
    from slant.intake import Limits
    from slant.predictor import Predictor
    from slant.requests import ArticleIn, Options, finish, prepare
    from slant.targets import forget_entities

    artifact = art.load(Path(args.model))
    busy_at_start = [] if args.quick else common.wait_quiet(args.wait_quiet_s)
    sources = ("allsides",)
    by_source, where = common.load_articles(args.data_dir, sources=sources, synthetic=args.synthetic)
    articles = [a for found in by_source.values() for a in found][: args.articles]
    # No targets: they are found automatically, which is what reads the article with NER.
    requests = [ArticleIn(title=a["title"] or None, paragraphs=a["paragraphs"]) for a in articles]
    options, limits = Options(), Limits.from_env()
    predictor = Predictor(artifact)
    scored = []
    for request in requests:
        article, targets = prepare(request, options, limits)
        scored.append((targets, predictor.score(passes_for(article, targets))))

    def one_pass(twice: bool) -> tuple[list[float], list[str]]:
        times, answers = [], []
        for request, (targets, scores) in zip(requests, scored):
            forget_entities()
            started = time.perf_counter()
            article, found = prepare(request, options, limits)
            if twice:
                forget_entities()
            answer = finish(build_answer(artifact, article, found, scores), article, options)
            times.append(time.perf_counter() - started)
            assert found == targets, "automatic targets changed between runs"
            answers.append(json.dumps(answer, sort_keys=True))
        return times, answers

    one_pass(False)  # warm-up: spaCy's first calls are slow
    per_mode: dict[str, list[float]] = {m: [] for m in MODES}  # ms per article, one figure per round
    answers: dict[str, list[str]] = {}
    for r in range(args.rounds):
        for mode in MODES if r % 2 == 0 else MODES[::-1]:
            times, answers[mode] = one_pass(twice=mode == MODES[1])
            per_mode[mode].append(1000 * sum(times) / len(times))
    identical = sum(a == b for a, b in zip(answers[MODES[0]], answers[MODES[1]]))
    medians = {m: statistics.median(v) for m, v in per_mode.items()}
    report = {
        "when": common.now_utc(),
        "command": common.command_line(),
        "quick": args.quick,
        "model": {"name": artifact.name, "version": artifact.version},
        "machine": common.machine(),
        "busy_at_start": busy_at_start,
        "workload": {
            "where": where,
            "articles": len(articles),
            "paragraphs_per_article": statistics.mean(len(a["paragraphs"]) for a in articles),
            "targets_per_article": statistics.mean(len(t) for t, _ in scored),
        },
        "ms_per_article": per_mode,
        "median_ms_per_article": medians,
        "once_over_twice": medians[MODES[0]] / medians[MODES[1]],
        "identical_answers": identical,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ner.json").write_text(json.dumps(report, indent=2) + "\n")
    path = common.update_results(out, "ner", render(report, args.rounds))
    print(json.dumps({k: report[k] for k in ("median_ms_per_article", "once_over_twice", "identical_answers")}))
    print(f"wrote {path}")
    if identical != len(articles):
        print(f"{len(articles) - identical} answers differ between the modes", file=sys.stderr)
        return 1
    return 0


def render(r: dict, rounds: int) -> str:
    w = r["workload"]
    once, twice = (r["median_ms_per_article"][m] for m in MODES)
    return "\n".join(
        [
            "## NER once per article (`bench/ner.py`)",
            "",
            common.measured_line(r) + f"; {r['machine']['cpu']}.",
            "",
            f"{w['articles']} articles ({w['where']}), {w['paragraphs_per_article']:.1f} paragraphs and "
            f"{w['targets_per_article']:.1f} automatic targets each; `prepare` + `build_answer` per article, "
            f"model scores computed beforehand; median of {rounds} interleaved round(s) per mode.",
            "",
            "| NER reads per paragraph | ms per article |",
            "|---|---:|",
            f"| {MODES[0]} | {once:.1f} |",
            f"| {MODES[1]} | {twice:.1f} |",
            "",
            f"Once / twice: **{r['once_over_twice']:.2f}**; identical answers: "
            f"{r['identical_answers']} of {w['articles']}.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

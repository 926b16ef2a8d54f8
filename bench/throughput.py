"""In-process throughput: Slant's predictor (ONNX fp32 and int8) against the plain transformers /
PyTorch fp32 code a user would write instead, on the same real paragraphs, same weights, same
maximum length and same threads, in one process.

    python bench/throughput.py                      # 2,400 real paragraphs, writes bench/RESULTS.md
    python bench/throughput.py --quick --synthetic --model <artifact> --out /tmp/x   # smoke test

Paths (each warmed up, then timed over all paragraphs; tokenization is inside the timing):

1. torch: ``load_model`` (the artifact's weights, read back out of its ``model.onnx``, in a torch
   ``SlantModel``), a HF
   ``PreTrainedTokenizerFast`` over the artifact's ``tokenizer.json``, batches of 32 in the given
   order, ``padding=True, truncation=True, max_length=<artifact max length>``, ``torch.no_grad()``,
   torch's default threads. The usual code, no tricks.
2. Slant ``Predictor`` on the fp32 ONNX graph exported here (``training.export.export_onnx``) from
   the same weights, into a temporary folder.
3. Slant ``Predictor`` on the artifact's int8 ``model.onnx`` (the graph that is served).

Slant is called as a bulk user calls it: ``Predictor.score`` on ``--chunk`` paragraphs at a time
(default 256, the service's largest batch). It does not truncate: a paragraph longer than one window
is cut into overlapping windows, so it does at least as much model work as the torch path.

Also measured in the same run: the machine's fp32 matmul peak (large sgemm in torch and numpy, best
of 5), the achieved GFLOP/s of each path counted from its real (unpadded) token counts, and how
often the ONNX paths decide the same labels as torch. Where torch has CUDA or onnxruntime has the
CUDA provider, GPU rows are added automatically.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from slant.activations import sigmoid  # noqa: E402

TARGET_INT8_VS_TORCH = 6.0  # #13 (was 3.0 in #1)
TARGET_OF_PEAK = 2.0  # int8 fp32-equivalent GFLOP/s over the measured sgemm peak (#13)
ALONE = 256  # paragraphs scored one at a time for the batch-independence check


def parse_args(argv=None) -> argparse.Namespace:
    ap = common.benchmark_parser(
        __doc__,
        model_help="artifact folder",
        synthetic_help="made-up paragraphs instead of the data folder",
        outputs="RESULTS.md and throughput.json",
    )
    ap.add_argument("--n", type=int, default=None, help="paragraphs (default 2400; --quick 40)")
    ap.add_argument("--batch-size", type=int, default=32, help="torch path batch size (default 32)")
    ap.add_argument("--chunk", type=int, default=256, help="paragraphs per Predictor.score call (default 256)")
    ap.add_argument("--threads", type=int, default=None, help="threads for every path (default: torch's default)")
    ap.add_argument(
        "--repeats", type=int, default=None, help="timed runs per path, interleaved, best kept (default 3; --quick 1)"
    )
    ap.add_argument("--no-gpu", action="store_true", help="skip GPU rows even where CUDA is available")
    args = ap.parse_args(argv)
    args.n = args.n or (40 if args.quick else 2400)
    args.repeats = args.repeats or (1 if args.quick else 3)
    return args


# ------------------------------------------------------------------------------------------------
# The paths
# ------------------------------------------------------------------------------------------------


def hf_tokenizer(artifact_dir: Path):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_file=str(artifact_dir / "tokenizer.json"),
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],  # what a BERT tokenizer returns
    )


def run_torch(model, tokenizer, texts, *, max_length, batch_size, device):
    """The plain transformers loop; returns (logits per head as numpy, real lengths, padded tokens)."""
    import numpy as np
    import torch

    outs, lengths, padded = [], [], 0
    for i in range(0, len(texts), batch_size):
        enc = tokenizer(
            texts[i : i + batch_size], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        enc = {k: v.to(device) for k, v in enc.items()}
        with torch.no_grad():
            out = model(**enc)
        outs.append([o.float().cpu().numpy() for o in out])
        mask = enc["attention_mask"]
        lengths.extend(mask.sum(1).tolist())
        padded += mask.numel()
    heads = list(model.output_names)
    logits = {}
    for k, head in enumerate(heads):
        if head == "bias_tokens":
            logits[head] = [row for batch in outs for row in batch[k]]  # ragged widths across batches
        else:
            logits[head] = np.concatenate([batch[k] for batch in outs])
    return logits, lengths, padded


class PadCounter:
    """Wraps ``Encoder.pad`` to count what the predictor really ran: windows, real and padded tokens."""

    def __init__(self, encoder) -> None:
        import threading

        self.inner = encoder.pad
        self.lock = threading.Lock()  # the predictor pads in its worker threads
        self.reset()

    def reset(self) -> None:
        self.lengths: list[int] = []
        self.padded = 0
        self.calls = 0

    def __call__(self, windows):
        with self.lock:
            self.calls += 1
            self.lengths.extend(len(w) for w in windows)
            self.padded += len(windows) * max(len(w) for w in windows)
        return self.inner(windows)


def run_slant(predictor, texts, chunk):
    from slant.predictor import Pass

    passes = [Pass(t) for t in texts]
    results = []
    for i in range(0, len(passes), chunk):
        results.extend(predictor.score(passes[i : i + chunk]))
    return results


def batch_independence(predictor, texts, batched) -> dict:
    """Each paragraph scored alone against its scores from the timed run (chunks of --chunk): the
    largest |difference| over every probability (frames, techniques, bias, loaded-word tokens)."""
    from slant.predictor import Pass

    worst, differing = 0.0, 0
    for text, together in zip(texts, batched):
        alone = predictor.score([Pass(text)])[0]
        pairs = list(zip(alone.frames + alone.techniques, together.frames + together.techniques))
        pairs += [(alone.bias, together.bias)] + [(a[2], b[2]) for a, b in zip(alone.tokens, together.tokens)]
        d = max(abs(a - b) for a, b in pairs)
        worst, differing = max(worst, d), differing + (d > 0)
    return {"paragraphs": len(texts), "max_abs_dp": worst, "paragraphs_differing": differing}


# ------------------------------------------------------------------------------------------------
# Agreement
# ------------------------------------------------------------------------------------------------


def torch_decisions(artifact, logits) -> dict:
    """Calibrated probabilities and decided labels from torch logits, with the artifact's calibration."""
    import numpy as np

    cal = artifact.calibration
    out = {}
    for name in ("frames", "techniques"):
        labels = artifact.tasks[name].labels
        p = sigmoid(logits[name] / cal.temperatures[name])
        thr = np.array([cal.thresholds[name][l] for l in labels])
        out[name] = (p, p >= thr)
    biased = artifact.tasks["bias"].labels[1]
    p = sigmoid(np.asarray(logits["bias"]).reshape(-1, 1) / cal.temperatures["bias"])
    out["bias"] = (p, p >= cal.thresholds["bias"][biased])
    return out


def slant_decisions(artifact, results) -> dict:
    import numpy as np

    cal = artifact.calibration
    out = {}
    for name in ("frames", "techniques"):
        labels = artifact.tasks[name].labels
        p = np.array([r.__getattribute__(name) for r in results])
        thr = np.array([cal.thresholds[name][l] for l in labels])
        out[name] = (p, p >= thr)
    biased = artifact.tasks["bias"].labels[1]
    p = np.array([[r.bias] for r in results])
    out["bias"] = (p, p >= cal.thresholds["bias"][biased])
    return out


def token_agreement(artifact, torch_token_logits, results, single_window, paragraph_ids) -> tuple[float, int]:
    """Loaded-word decisions per paragraph token, on paragraphs that fit one window."""
    import numpy as np

    cal = artifact.calibration
    thr = cal.thresholds["bias_tokens"]["loaded"]
    agree = total = 0
    for i in np.flatnonzero(single_window):
        n = len(paragraph_ids[i])
        mine = [p for _, _, p in results[i].tokens]
        if len(mine) != n:  # two tokens with the same character span: merged by Slant, skip
            continue
        theirs = sigmoid(np.asarray(torch_token_logits[i][1 : 1 + n]) / cal.temperatures["bias_tokens"])
        a, b = np.asarray(mine) >= thr, theirs >= thr
        agree += int((a == b).sum())
        total += n
    return (agree / total if total else float("nan")), total


def agreement(reference: dict, other: dict, mask) -> dict:
    import numpy as np

    out = {}
    agree = total = 0
    diffs = []
    for name in ("frames", "techniques", "bias"):
        rp, rd = reference[name]
        op, od = other[name]
        same = rd[mask] == od[mask]
        out[name] = float(same.mean()) if same.size else float("nan")
        agree += int(same.sum())
        total += same.size
        diffs.append(np.abs(rp[mask] - op[mask]).reshape(-1))
    d = np.concatenate(diffs) if diffs else np.zeros(0)
    out["all"] = agree / total if total else float("nan")
    out["labels"] = total
    out["max_abs_dp"] = float(d.max()) if d.size else float("nan")
    out["mean_abs_dp"] = float(d.mean()) if d.size else float("nan")
    return out


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import torch

    from slant import artifact as art
    from slant.predictor import Predictor
    from training.export import export_onnx
    from training.train import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_dir = Path(args.model).resolve()
    busy = common.training_running()
    if busy and not args.quick:
        print(f"warning: {busy}; the numbers will not be clean", file=sys.stderr)
    # Other work on the machine makes the numbers meaningless: wait for it to end (a while).
    busy_at_start = [] if args.quick else common.wait_quiet(args.wait_quiet_s)
    load_at_start = common.load_average()
    monitor = common.BusyMonitor().__enter__()

    artifact = art.load(model_dir)
    model, state = load_model(model_dir)
    model.eval()
    enc_cfg = state["encoder_config"]
    shape = dict(
        layers=enc_cfg["num_hidden_layers"],
        hidden=enc_cfg["hidden_size"],
        intermediate=enc_cfg["intermediate_size"],
        head_width=sum(artifact.head_width(h) for h in artifact.tasks),
    )

    by_source, where = common.load_articles(args.data_dir, synthetic=args.synthetic)
    paragraphs = common.sample_paragraphs(by_source, args.n, args.seed)
    texts = [t for _, t in paragraphs]
    per_source = {s: sum(1 for k, _ in paragraphs if k == s) for s in sorted(by_source)}
    encoder = artifact.encoder()
    paragraph_ids = [e.ids for e in encoder.tokenizer.encode_batch(texts, add_special_tokens=False)]
    token_lengths = [len(ids) for ids in paragraph_ids]
    room = artifact.max_length - 2
    single_window = np.array([n <= room for n in token_lengths])
    print(f"{len(texts)} paragraphs ({where}); tokens per paragraph {common.length_summary(token_lengths)}")

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="slant-bench-"))
    try:
        fp32_dir = tmp / "fp32"
        fp32_dir.mkdir()
        t0 = time.perf_counter()
        export_onnx(model, fp32_dir / art.MODEL)
        export_s = time.perf_counter() - t0
        shutil.copyfile(model_dir / art.TOKENIZER, fp32_dir / art.TOKENIZER)
        fp32_artifact = dataclasses.replace(artifact, path=fp32_dir)
        print(f"exported the fp32 graph in {export_s:.0f}s")

        peak = common.sgemm_peak(threads, args.quick)
        print(f"fp32 sgemm peak: torch {peak['torch_gflops']:.0f}, numpy {peak['numpy_gflops']:.0f} GFLOP/s")

        tokenizer = hf_tokenizer(model_dir)
        warm = texts[: min(64, len(texts))]

        def torch_path(device: str, label: str) -> dict:
            import copy

            m = model if device == "cpu" else copy.deepcopy(model).to(device)

            def run():
                out = run_torch(
                    m, tokenizer, texts, max_length=artifact.max_length, batch_size=args.batch_size, device=device
                )
                if device == "cuda":
                    torch.cuda.synchronize()
                return out

            def finish(seconds, payload):
                logits, lengths, padded = payload
                flops = sum(common.encoder_flops(n, **shape) for n in lengths)
                return {
                    "path": label,
                    "kind": "torch",
                    "device": device,
                    "seconds": seconds,
                    "windows": len(lengths),
                    "real_tokens": int(sum(lengths)),
                    "padded_tokens": int(padded),
                    "gflop": flops / 1e9,
                    "_logits": logits,
                }

            def warm_up():
                return run_torch(
                    m, tokenizer, warm, max_length=artifact.max_length, batch_size=args.batch_size, device=device
                )

            return {"label": label, "warm": warm_up, "run": run, "finish": finish}

        def slant_path(which: str, device: str, label: str, graph: str | None = None) -> dict:
            a = fp32_artifact if which == "fp32" else artifact
            predictor = Predictor(a, device=device, threads=threads, graph=graph)
            counter = PadCounter(predictor.encoder)
            predictor.encoder.pad = counter

            def run():
                counter.reset()
                results = run_slant(predictor, texts, args.chunk)
                return results, list(counter.lengths), counter.padded, counter.calls

            def finish(seconds, payload):
                results, lengths, padded, calls = payload
                flops = sum(common.encoder_flops(n, **shape) for n in lengths)
                return {
                    "path": label,
                    "kind": f"onnx-{'fp16' if predictor.graph == 'fp16' else which}",
                    "device": device,
                    "seconds": seconds,
                    "windows": len(lengths),
                    "real_tokens": int(sum(lengths)),
                    "padded_tokens": int(padded),
                    "onnx_calls": calls,
                    "gflop": flops / 1e9,
                    "providers": predictor.providers,
                    "batch_tokens": predictor.batch_tokens,
                    "workers": predictor.workers,
                    "_results": results,
                }

            return {
                "label": label,
                "warm": lambda: run_slant(predictor, warm, args.chunk),
                "run": run,
                "finish": finish,
            }

        paths = [torch_path("cpu", f"(1) transformers/PyTorch fp32, batch {args.batch_size}")]
        paths += [
            slant_path(which, "cpu", f"({n}) Slant Predictor, ONNX {which}") for which, n in (("fp32", 2), ("int8", 3))
        ]
        gpu_note = common.gpu_line()
        if not args.no_gpu:
            import onnxruntime as ort

            if torch.cuda.is_available():
                paths.append(torch_path("cuda", f"(1g) transformers/PyTorch fp32 on {torch.cuda.get_device_name(0)}"))
            if "CUDAExecutionProvider" in ort.get_available_providers():
                paths += [  # the fp32 export as it is, and what CUDA serves: the fp16 graph built from int8
                    slant_path("fp32", "cuda", "Slant Predictor, ONNX fp32, CUDA provider", graph="int8"),
                    slant_path("int8", "cuda", "Slant Predictor, ONNX fp16 from int8 (as served), CUDA provider"),
                ]
        for path in paths:
            path["warm"]()
        # Repeats interleave the paths (torch, fp32, int8, torch, ...): a slow spell of the machine
        # hits all of them alike instead of one path's every run.
        times: dict[str, list[float]] = {path["label"]: [] for path in paths}
        payloads = {}
        for rep in range(args.repeats):
            for path in paths:
                t0 = time.perf_counter()
                payloads[path["label"]] = path["run"]()
                times[path["label"]].append(time.perf_counter() - t0)
                print(
                    f"run {rep + 1}: {path['label']}: {len(texts) / times[path['label']][-1]:.1f} paragraphs/s",
                    flush=True,
                )
        for path in paths:
            row = path["finish"](min(times[path["label"]]), payloads.pop(path["label"]))
            row["runs_s"] = [round(t, 2) for t in times[path["label"]]]
            rows.append(row)
        cpu_torch = rows[0]

        # Agreement with torch (CPU), label by label.
        ref = torch_decisions(artifact, cpu_torch["_logits"])
        everything = np.ones(len(texts), dtype=bool)
        agree = {}
        for row in rows:
            if "_results" not in row:
                continue
            mine = slant_decisions(artifact, row["_results"])
            tok, tok_n = token_agreement(
                artifact, cpu_torch["_logits"]["bias_tokens"], row["_results"], single_window, paragraph_ids
            )
            agree[row["path"]] = {
                "single_window": agreement(ref, mine, single_window),
                "all": agreement(ref, mine, everything),
                "loaded_word_tokens": {"agreement": tok, "tokens": tok_n},
            }
        independence = batch_independence(
            Predictor(artifact, device="cpu", threads=threads),
            texts[:ALONE],
            next(r for r in rows if r["kind"] == "onnx-int8" and r["device"] == "cpu")["_results"][:ALONE],
        )
        print(f"batch independence: max |dp| alone vs in chunks of {args.chunk} = {independence['max_abs_dp']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        monitor.__exit__(None, None, None)

    base = {"cpu": cpu_torch}
    for row in rows:
        row["paragraphs_per_s"] = len(texts) / row["seconds"]
        ref_row = cpu_torch
        if row["device"] == "cuda" and any(r["kind"] == "torch" and r["device"] == "cuda" for r in rows):
            ref_row = next(r for r in rows if r["kind"] == "torch" and r["device"] == "cuda")
        row["vs_torch"] = row["paragraphs_per_s"] / ref_row["paragraphs_per_s"]
        row["gflops"] = row["gflop"] / row["seconds"]
        row["of_peak"] = row["gflops"] / peak["peak_gflops"] if row["device"] == "cpu" else float("nan")
        row["padding_overhead"] = row["padded_tokens"] / max(1, row["real_tokens"]) - 1
    del base

    int8 = next(r for r in rows if r["kind"] == "onnx-int8" and r["device"] == "cpu")
    report = {
        "when": common.now_utc(),
        "command": common.command_line(),
        "quick": args.quick,
        "model": {
            "path": str(model_dir),
            "name": artifact.name,
            "version": artifact.version,
            "max_length": artifact.max_length,
            "stride": artifact.stride,
            "shape": shape,
        },
        "machine": common.machine(),
        "threads": threads,
        "training_running": busy,
        "load_average_at_start": load_at_start,
        "load_average_at_end": common.load_average(),
        "busy_at_start": busy_at_start,
        "busy_during": monitor.report(),
        "workload": {
            "where": where,
            "paragraphs": len(texts),
            "per_source": per_source,
            "tokens_per_paragraph": common.length_summary(token_lengths),
            "longer_than_one_window": int((~single_window).sum()),
            "chunk": args.chunk,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
        },
        "fp32_export_s": export_s,
        "sgemm": peak,
        "rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        "agreement": agree,
        "batch_independence": independence,
        "targets": {
            "int8_vs_torch": {
                "value": int8["vs_torch"],
                "target": TARGET_INT8_VS_TORCH,
                "verdict": common.verdict(int8["vs_torch"], TARGET_INT8_VS_TORCH, True),
            },
            "int8_of_peak": {
                "value": int8["of_peak"],
                "target": TARGET_OF_PEAK,
                "verdict": common.verdict(int8["of_peak"], TARGET_OF_PEAK, True),
            },
            "batch_max_abs_dp": {
                "value": independence["max_abs_dp"],
                "target": 0.0,
                "verdict": "met" if independence["max_abs_dp"] == 0 else "missed",
            },
        },
        "gpu": gpu_note,
    }
    (out_dir / "throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    path = common.update_results(out_dir, "throughput", render(report))
    print(f"int8 / torch = {int8['vs_torch']:.2f}x (target >= {TARGET_INT8_VS_TORCH}x); wrote {path}")
    return 0


def render(r: dict) -> str:
    f = common.fmt
    w = r["workload"]
    lines = [
        "## In-process throughput (`bench/throughput.py`)",
        "",
        common.measured_line(r) + ".",
        f"Model `{r['model']['name']}` {r['model']['version']} from `{common.relative(r['model']['path'])}` "
        f"(max length {r['model']['max_length']} tokens, stride {r['model']['stride']}); "
        f"{r['threads']} threads for every path; load average at start {r['load_average_at_start']}.",
    ]
    if r["training_running"]:
        lines.append(f"\n**Warning: {r['training_running']}; these numbers are not clean.**")
    if r["busy_at_start"]:
        lines.append(
            "\nOther processes busy at the start: "
            + "; ".join(f"`{b}`" for b in r["busy_at_start"])
            + f". Load average at the end: {r['load_average_at_end']}."
        )
    if r.get("busy_during"):
        lines.append(
            "\n**Other processes were busy during the run** (the numbers carry their noise): "
            + "; ".join(f"`{b}`" for b in r["busy_during"])
            + "."
        )
    lines += ["", "### Machine", "", common.machine_table(r["machine"]), ""]
    t = w["tokens_per_paragraph"]
    srcs = ", ".join(f"{k} {v}" for k, v in w["per_source"].items())
    lines += [
        "### Workload",
        "",
        f"{w['paragraphs']:,} distinct paragraphs, {w['where']} ({srcs}), shuffled together. "
        f"Word-piece tokens per paragraph (no special tokens):",
        "",
        "| mean | min | p10 | p25 | p50 | p75 | p90 | p99 | max |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {t['mean']} | {t['min']} | {t['p10']} | {t['p25']} | {t['p50']} | {t['p75']} | {t['p90']} | {t['p99']} | {t['max']} |",
        "",
        f"{w['longer_than_one_window']} paragraphs ({w['longer_than_one_window'] / w['paragraphs']:.1%}) are longer than "
        f"one window ({r['model']['max_length']} tokens with specials): the torch path truncates them, "
        "Slant scores every window and merges them (so it does more model work, never less).",
        "",
        "### Results",
        "",
        "| path | paragraphs/s (best run) | × torch | every run, paragraphs/s | windows | real tokens | padding overhead | GFLOP/s (real tokens) | of fp32 peak |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        runs = ", ".join(f"{w['paragraphs'] / t:.0f}" for t in row.get("runs_s", []))
        lines.append(
            f"| {row['path']} | {f(row['paragraphs_per_s'], 1)} | {f(row['vs_torch'])}× | {runs} | {row['windows']:,} | "
            f"{row['real_tokens']:,} | {row['padding_overhead']:.0%} | {f(row['gflops'], 1)} | "
            + (f"{row['of_peak']:.0%}" if row["of_peak"] == row["of_peak"] else "n/a")
            + " |"
        )
    s = r["sgemm"]
    target, of_peak, alone = (
        r["targets"]["int8_vs_torch"],
        r["targets"]["int8_of_peak"],
        r["targets"]["batch_max_abs_dp"],
    )
    b = r["batch_independence"]
    lines += [
        "",
        f"fp32 matmul peak of this machine, measured in the same run: **{f(s['peak_gflops'], 0)} GFLOP/s** "
        f"(square sgemm n={s['n']}, best of 5: torch {f(s['torch_gflops'], 0)}, numpy {f(s['numpy_gflops'], 0)}). "
        "The int8 graph's GFLOP/s count the same fp32-equivalent FLOPs; int8 kernels (VNNI/AMX) can exceed the fp32 peak.",
        "",
        "| target | measured | target | verdict |",
        "|---|---:|---:|---|",
        f"| int8 in-process ÷ transformers path | {f(target['value'])}× | ≥ {f(target['target'], 1)}× | {target['verdict']} |",
        f"| int8 fp32-equivalent GFLOP/s ÷ sgemm peak | {f(of_peak['value'])}× | ≥ {f(of_peak['target'], 1)}× | {of_peak['verdict']} |",
        f"| max \\|Δp\\| of a paragraph alone vs in the timed run's chunks of {w['chunk']} | {alone['value']:.2g} | = 0 | {alone['verdict']} |",
        "",
        f"Batch independence: {b['paragraphs']} paragraphs, each scored alone by a fresh int8 `Predictor` and compared "
        f"with its scores from the timed run, every probability (frames, techniques, bias, loaded-word tokens); "
        f"{b['paragraphs_differing']} differed.",
        "",
        "### Agreement with the torch path",
        "",
        "Share of decided labels (15 frames + 23 techniques + 1 bias per paragraph, each with the artifact's "
        'calibrated temperature and threshold) that equal torch\'s decision. "One window" counts only paragraphs '
        'that fit one window, where torch and Slant see the same tokens and only numerics differ; "all" includes '
        "longer paragraphs, where torch sees a truncated text and Slant all of it. Loaded-word tokens: per-token "
        "decisions on one-window paragraphs. |Δp|: calibrated probability difference, one-window paragraphs.",
        "",
        "| path | one window: all labels | frames | techniques | bias | loaded-word tokens | all paragraphs | max abs Δp | mean abs Δp |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path, a in r["agreement"].items():
        s1, al, tok = a["single_window"], a["all"], a["loaded_word_tokens"]
        lines.append(
            f"| {path} | {s1['all']:.2%} ({s1['labels']:,}) | {s1['frames']:.2%} | {s1['techniques']:.2%} | "
            f"{s1['bias']:.2%} | {tok['agreement']:.2%} ({tok['tokens']:,}) | {al['all']:.2%} | "
            f"{s1['max_abs_dp']:.4f} | {s1['mean_abs_dp']:.5f} |"
        )
    shape = r["model"]["shape"]
    lines += [
        "",
        f"GPU: {r['gpu']}. "
        + (
            "GPU rows are in the table above."
            if any(x["device"] == "cuda" for x in r["rows"])
            else "No GPU rows: this machine offers no CUDA to torch or onnxruntime (the script adds them by itself where it does)."
        ),
        "",
        "### Method",
        "",
        "- One process; every path is warmed up on 64 paragraphs, then each is timed over all paragraphs, "
        f"{w['repeats']} times, the runs interleaved (torch, fp32, int8, torch, ...) so that a slow spell of this "
        "shared virtual machine hits every path alike; the best run counts. Tokenization is inside the timing for "
        "every path.",
        "- torch: `PreTrainedTokenizerFast(tokenizer_file=<artifact>/tokenizer.json)`, batches of "
        f"{w['batch_size']} in the given order, `padding=True, truncation=True, max_length={r['model']['max_length']}`, "
        "`torch.no_grad()`, outputs moved to numpy. Weights: the artifact's served weights, read back out of its int8 "
        "`model.onnx` (dequantized to fp32; `training.onnx_weights`), the same weights the fp32 ONNX graph is exported "
        f"from here (`training.export.export_onnx`, {r['fp32_export_s']:.0f} s, not timed). The int8 graph is the "
        "artifact's `model.onnx` itself.",
        f"- Slant: `Predictor(artifact, threads={r['threads']}).score()` on {w['chunk']} paragraphs per call: "
        "tokenizes (Rust, batched), cuts windows, runs each window as an onnxruntime call of its own (CPU; "
        f"{r['threads']} at a time on one-thread onnxruntime workers, longest first; on CUDA length-sorted batches of "
        f"at most {_batch_tokens(r)} padded tokens), merges windows, calibrates. Padding overhead = padded ÷ real "
        "tokens − 1.",
        "- FLOPs per window of T real tokens (L layers, hidden H, feed-forward I; "
        f"here L={shape['layers']}, H={shape['hidden']}, I={shape['intermediate']}): "
        "`2·L·(4H² + 2HI)·T + 4·L·H·T² + 2·H·(heads + T)`: 2 FLOPs per matmul weight per token, "
        "Q·Kᵀ and A·V, the heads; look-ups, norms, softmax and GELU left out. For MiniLM-L6-H384, T=128 gives "
        f"{common.encoder_flops(128, layers=6, hidden=384, intermediate=1536, head_width=42) / 1e9:.2f} GFLOP "
        "(the environment notes say about 2.9). GFLOP/s = useful FLOPs over the real tokens ÷ wall time, "
        "tokenization included; padding is not counted as useful work.",
    ]
    return "\n".join(lines)


def _batch_tokens(r: dict) -> str:
    values = sorted({row.get("batch_tokens") for row in r["rows"] if row.get("batch_tokens")})
    return " / ".join(f"{v:,}" for v in values) or "?"


if __name__ == "__main__":
    sys.exit(main())

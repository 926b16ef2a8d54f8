"""Static against dynamic int8: what quantizing with fixed activation scales costs in labels and
gains in batch independence and speed, on real paragraphs, all graphs from the artifact's weights.

    python bench/quantization.py     # 400 measured + 200 calibration paragraphs, writes bench/RESULTS.md
    python bench/quantization.py --quick --synthetic --model <artifact> --out /tmp/x   # smoke test

Graphs:
- fp32: the weights as this version's `slant export` writes them (fused), the reference;
- dynamic int8: as the export quantizes them (per-channel weights; activation scales per call), served;
- static int8: QDQ on every weight MatMul, per-channel weights, each activation's range fixed by MinMax
  calibration on paragraphs other than the measured ones;
- static int8, smoothed (``--alphas``): first X·W = (X/s)·(diag(s)·W) before each weight MatMul, with
  s_j = max|X_j|^α / max|W_j|^(1-α) per input channel over the calibration paragraphs (SmoothQuant,
  Xiao et al. 2023): an activation channel's outliers move into the weights' rows, which are quantized
  per output channel; the division is an elementwise Mul, which keeps rows independent.

Items: paragraphs of the articles, and each paragraph of an article with stance targets paired with
its first target. Per graph: decisions agreeing with fp32 (stance on the pairs, argmax; frames,
techniques and bias on the paragraphs, the artifact's thresholds; loaded words per paragraph token),
the largest |logit| difference between a window alone and in a padded batch of 64, and one window
per call on a one-thread session, graphs interleaved (bench/profile_ops.py's timing).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.profile_ops import one_thread_options, one_thread_session, timed  # noqa: E402
from slant.activations import sigmoid  # noqa: E402


def parse_args(argv=None):
    ap = common.benchmark_parser(
        __doc__,
        model_help="artifact folder",
        synthetic_help="made-up paragraphs",
        outputs="RESULTS.md and quantization.json",
    )
    ap.add_argument("--n", type=int, default=None, help="measured paragraphs (default 400; --quick 12)")
    ap.add_argument("--calibration", type=int, default=None, help="calibration paragraphs (default 200; --quick 8)")
    ap.add_argument("--alphas", default="0.5,0.75", help="SmoothQuant migration strengths, 0..1 (default 0.5,0.75)")
    args = ap.parse_args(argv)
    args.n = args.n or (12 if args.quick else 400)
    args.calibration = args.calibration or (8 if args.quick else 200)
    args.alphas = [float(a) for a in args.alphas.split(",") if a]
    if not all(0 <= a <= 1 for a in args.alphas):
        raise SystemExit(f"--alphas must lie in 0..1, got {args.alphas}")
    return args


# ------------------------------------------------------------------------------------------------
# Items and windows
# ------------------------------------------------------------------------------------------------


def items(by_source: dict[str, list[dict]], n: int, seed: int) -> list[tuple[str, str | None]]:
    """(paragraph, None) and, for articles with targets, (paragraph, first target): ``n`` distinct
    paragraphs in shuffled order, each giving one or two items."""
    rng = random.Random(seed)
    pool = list(
        {
            p: a["targets"][0] if a.get("targets") else None
            for a in sum(by_source.values(), [])
            for p in a["paragraphs"]
        }.items()
    )
    rng.shuffle(pool)
    out: list[tuple[str, str | None]] = []
    for text, target in pool[:n]:
        out.append((text, None))
        if target:
            out.append((text, target))
    return out


def windows_of(encoder, rows: list[tuple[str, str | None]]) -> tuple[list, list[bool]]:
    """Every window of the items, and whether each is a (target, paragraph) pair."""
    encoded = encoder.encode_batch([t for t, _ in rows], [g for _, g in rows])
    windows, pair = [], []
    for (_, target), ws in zip(rows, encoded):
        windows += ws
        pair += [target is not None] * len(ws)
    return windows, pair


# ------------------------------------------------------------------------------------------------
# Graphs
# ------------------------------------------------------------------------------------------------


def weight_matmuls(graph) -> list:
    """The MatMul nodes whose second input is a 2-D weight (an initializer)."""
    shapes = {i.name: tuple(i.dims) for i in graph.initializer}
    return [n for n in graph.node if n.op_type == "MatMul" and len(shapes.get(n.input[1], ())) == 2]


def channel_absmax(path: Path, windows, encoder) -> dict:
    """max |x| per input channel of every weight MatMul's activation input, over ``windows``."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    names = sorted({n.input[0] for n in weight_matmuls(model.graph)})
    model.graph.output.extend(onnx.helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, None) for x in names)
    session = ort.InferenceSession(model.SerializeToString(), one_thread_options(), providers=["CPUExecutionProvider"])
    found: dict = {}
    for w in windows:
        for name, x in zip(names, session.run(names, encoder.pad([w]))):
            m = np.abs(x).reshape(-1, x.shape[-1]).max(axis=0)
            found[name] = np.maximum(found[name], m) if name in found else m
    return found


def smooth(src: Path, dst: Path, absmax: dict, alpha: float) -> None:
    """``src`` with each weight MatMul's input divided per channel by s (a Mul) and its weight's rows
    multiplied by s, s_j = absmax_j^alpha / max|W_j|^(1-alpha): the same function, fewer outliers."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    weights = {i.name: i for i in model.graph.initializer}
    chosen = {n.name for n in weight_matmuls(model.graph)}  # the exporter names every node, uniquely
    nodes = []
    for node in model.graph.node:
        if node.name in chosen:
            w = numpy_helper.to_array(weights[node.input[1]])
            x_max, w_max = absmax[node.input[0]], np.abs(w).max(axis=1)
            s = np.where((x_max > 0) & (w_max > 0), x_max**alpha / np.maximum(w_max, 1e-12) ** (1 - alpha), 1.0)
            s = np.clip(s, 1e-3, 1e3).astype(np.float32)  # a dead channel must not blow a row up
            inverse = numpy_helper.from_array(1 / s, f"{node.name}_smooth_inverse")
            scaled = numpy_helper.from_array(
                (w * s[:, None]).astype(np.float32), f"{node.input[1]}_smoothed_{node.name}"
            )
            model.graph.initializer.extend([inverse, scaled])
            divided = f"{node.input[0]}_smoothed_{node.name}"
            nodes.append(
                onnx.helper.make_node("Mul", [node.input[0], inverse.name], [divided], name=f"{node.name}_smooth")
            )
            node.input[0], node.input[1] = divided, scaled.name
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(dst))


def quantize_static(src: Path, dst: Path, windows, encoder) -> None:
    """QDQ int8 of every weight MatMul: per-channel weights, activation ranges from ``windows``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    class Windows:
        def __init__(self):
            self.rest = iter(windows)

        def get_next(self):
            w = next(self.rest, None)
            return None if w is None else encoder.pad([w])

    ort_quantize_static(
        str(src),
        str(dst),
        Windows(),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )


# ------------------------------------------------------------------------------------------------
# Measures
# ------------------------------------------------------------------------------------------------


def decisions(artifact, outputs: list[str], logits: list[list], windows, pair: list[bool]) -> dict:
    """Per head, the decisions the artifact's calibration makes of each window's logits (``[head][row]``, flattened):
    stance argmax on pairs; trained frame and technique labels, bias, loaded words on paragraphs."""
    import numpy as np

    cal = artifact.calibration
    rows = dict(zip(outputs, logits))
    single = [i for i, p in enumerate(pair) if not p]
    found = {"stance": np.array([rows["stance"][i].argmax() for i, p in enumerate(pair) if p])}
    for head in ("frames", "techniques"):
        labels = artifact.tasks[head].labels
        keep = [j for j, label in enumerate(labels) if label not in cal.untrained.get(head, [])]
        thresholds = np.array([cal.thresholds[head][labels[j]] for j in keep])
        found[head] = np.concatenate(
            [sigmoid(rows[head][i][keep] / cal.temperatures[head]) >= thresholds for i in single]
        )
    biased = artifact.tasks["bias"].labels[1]
    found["bias"] = np.array(
        [
            sigmoid(rows["bias"][i].ravel()[0] / cal.temperatures["bias"]) >= cal.thresholds["bias"][biased]
            for i in single
        ]
    )
    loaded = cal.thresholds["bias_tokens"]["loaded"]
    found["bias_tokens"] = np.concatenate(
        [
            sigmoid(rows["bias_tokens"][i][: len(windows[i])].ravel() / cal.temperatures["bias_tokens"]) >= loaded
            for i in single
        ]
    )
    return found


def agreement(reference: dict, other: dict) -> dict:
    """Per head: the share of decisions equal to the reference's, and how many differ of those that
    are positive in either (the share of all decisions hides flips among a few positives)."""
    return {
        head: {
            "agreement": float((other[head] == ref).mean()) if ref.size else float("nan"),
            "differ": int((other[head] != ref).sum()),
            "positive_in_either": int(((other[head] > 0) | (ref > 0)).sum()) if head != "stance" else int(ref.size),
        }
        for head, ref in reference.items()
    }


def largest_difference(outputs: list[str], windows, first: list[list], second: list[list]) -> float:
    """Largest |logit| difference between two sets of per-window results (``[head][row]``),
    padding positions left out."""
    import numpy as np

    worst = 0.0
    for row, w in enumerate(windows):
        for k, head in enumerate(outputs):
            a, b = first[k][row], second[k][row]
            if head == "bias_tokens":
                a, b = a[: len(w)], b[: len(w)]
            worst = max(worst, float(np.abs(a - b).max()))
    return worst


def each_alone(session, windows, encoder, outputs: list[str]) -> list[list]:
    """One call per window, results as ``[head][row]``."""
    calls = [session.run(outputs, encoder.pad([w])) for w in windows]
    return [[call[k][0] for call in calls] for k in range(len(outputs))]


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    from slant import artifact as art
    from training.export import export_onnx, quantize
    from training.train import load_model

    artifact = art.load(Path(args.model))
    busy_at_start = [] if args.quick else common.wait_quiet(args.wait_quiet_s)
    by_source, where = common.load_articles(args.data_dir, synthetic=args.synthetic)
    chosen = items(by_source, args.n + args.calibration, args.seed)
    paragraphs = list(dict.fromkeys(t for t, _ in chosen))
    calibration_texts = set(paragraphs[args.n :])
    encoder = artifact.encoder()
    measured, measured_pair = windows_of(encoder, [r for r in chosen if r[0] not in calibration_texts])
    calibration, _ = windows_of(encoder, [r for r in chosen if r[0] in calibration_texts])
    outputs = list(artifact.heads)
    print(f"{len(measured)} measured and {len(calibration)} calibration windows ({where})")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model, _ = load_model(artifact.path)
        export_onnx(model, tmp / "fp32.onnx")
        graphs = {
            "fp32": tmp / "fp32.onnx",
            "dynamic int8 (served)": tmp / "dynamic.onnx",
            "static int8": tmp / "static.onnx",
        }
        quantize(graphs["fp32"], graphs["dynamic int8 (served)"])
        quantize_static(graphs["fp32"], graphs["static int8"], calibration, encoder)
        absmax = channel_absmax(graphs["fp32"], calibration, encoder)
        batch = measured[:: max(1, len(measured) // 64)][:64]
        fp32_batch = each_alone(one_thread_session(graphs["fp32"]), batch, encoder, outputs)
        smoothing_changes = {}  # smoothing must leave the fp32 function as it was
        for alpha in args.alphas:
            smooth(graphs["fp32"], tmp / f"smoothed{alpha}.onnx", absmax, alpha)
            smoothed = each_alone(one_thread_session(tmp / f"smoothed{alpha}.onnx"), batch, encoder, outputs)
            smoothing_changes[str(alpha)] = largest_difference(outputs, batch, fp32_batch, smoothed)
            graphs[f"static int8, smoothed α={alpha}"] = tmp / f"static_smoothed{alpha}.onnx"
            quantize_static(
                tmp / f"smoothed{alpha}.onnx", graphs[f"static int8, smoothed α={alpha}"], calibration, encoder
            )
        found, rows = {}, {}
        for name, path in graphs.items():
            session = one_thread_session(path)
            found[name] = decisions(
                artifact, outputs, each_alone(session, measured, encoder, outputs), measured, measured_pair
            )
            together = [list(head) for head in session.run(outputs, encoder.pad(batch))]
            rows[name] = {
                "agreement_with_fp32": agreement(found["fp32"], found[name]),
                "max_abs_logit_alone_vs_batch": largest_difference(
                    outputs, batch, each_alone(session, batch, encoder, outputs), together
                ),
                "size_mb": round(path.stat().st_size / 1e6, 2),
            }
            print(f"{name}: {json.dumps(rows[name])}", flush=True)
        times = timed(graphs, measured, encoder, outputs, 1 if args.quick else 3)
    for name, row in rows.items():
        row["wall_s"] = times[name]
        row["windows_per_s"] = len(measured) / statistics.median(times[name])
        row["speed_vs_dynamic"] = statistics.median(times["dynamic int8 (served)"]) / statistics.median(times[name])
    report = {
        **common.report_head(args, artifact, busy_at_start),
        "workload": {
            "where": where,
            "measured_windows": len(measured),
            "measured_pairs": sum(measured_pair),
            "calibration_windows": len(calibration),
            "tokens": sum(map(len, measured)),
            "batch": len(batch),
        },
        "smoothed_fp32_max_abs_logit_change": smoothing_changes,
        "graphs": rows,
    }
    common.write_report(Path(args.out), "quantization", report, render(report))
    return 0


def render(r: dict) -> str:
    w = r["workload"]
    heads = ("stance", "frames", "techniques", "bias", "bias_tokens")
    lines = [
        "## Static against dynamic int8 (`bench/quantization.py`)",
        "",
        common.measured_line(r) + f". Model `{r['model']['name']}` {r['model']['version']}; {r['machine']['cpu']}.",
        "",
        f"{w['measured_windows']:,} windows ({w['where']}; {w['measured_pairs']:,} of them (target, paragraph) "
        f"pairs; {w['tokens']:,} tokens), every graph made from the artifact's weights; static activation ranges "
        f"calibrated on {w['calibration_windows']:,} windows of other paragraphs. Decisions agreeing with the "
        "fp32 graph's, each with how many differ of those positive in either graph (stance: of all pairs); "
        f"|Δlogit| between a window alone and in a padded batch of {w['batch']}; speed one window per call on "
        "one thread, graphs interleaved (medians), as a ratio to the dynamic graph served today. Smoothing "
        "alone (the fp32 graph before quantizing) moved no logit by more than "
        + ", ".join(f"{d:.2g} (α={a})" for a, d in r["smoothed_fp32_max_abs_logit_change"].items())
        + ".",
        "",
        "| graph | " + " | ".join(heads) + " | max \\|Δlogit\\| alone vs batch | windows/s | ÷ dynamic | MB |",
        "|---|" + "---:|" * (len(heads) + 4),
    ]
    for name, row in r["graphs"].items():
        a = row["agreement_with_fp32"]
        cells = " | ".join(f"{a[h]['agreement']:.2%} ({a[h]['differ']}/{a[h]['positive_in_either']})" for h in heads)
        lines.append(
            f"| {name} | {cells} | {row['max_abs_logit_alone_vs_batch']:.3g} | {row['windows_per_s']:.1f} | "
            f"{row['speed_vs_dynamic']:.2f} | {row['size_mb']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

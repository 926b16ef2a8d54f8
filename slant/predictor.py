"""onnxruntime inference over an artifact: paragraphs and (target, paragraph) pairs in, calibrated
probabilities and decided labels out.

``Predictor.score`` is the batchable unit: it takes passes from any number of articles, cuts them
into windows, runs them in length-sorted batches and merges each pass's windows again.
``build_paragraph`` turns one paragraph's scores into the answer's paragraph entry.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import operator
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

import numpy as np
import onnxruntime as ort

from slant.activations import sigmoid, softmax
from slant.artifact import INPUT_NAMES, Artifact, ArtifactError
from slant.encode import NO_OFFSET, Window
from slant.labels import BIAS_TOKENS
from slant.settings import settings


@dataclass(frozen=True)
class Pass:
    """One model pass: a paragraph alone (frames, techniques, bias) or with a stance target."""

    text: str
    target: str | None = None


@dataclass
class PassScores:
    """Calibrated probabilities for one pass, its windows merged.

    Pair passes fill ``stance``; single passes fill the rest, with, per paragraph token, its
    ``(start, end)`` character span in the pass's text (``token_spans``) and ``p_loaded``
    (``token_probs``). Kept as two sequences, not a tuple per token: a bulk call scores hundreds
    of thousands of tokens, and only the few over the loaded-word threshold are ever read one by one.
    """

    stance: list[float] | None = None
    frames: list[float] | None = None
    techniques: list[float] | None = None
    bias: float | None = None
    token_spans: Sequence[tuple[int, int]] = ()
    token_probs: Sequence[float] = ()

    @property
    def tokens(self) -> list[tuple[int, int, float]]:
        """``(start, end, p_loaded)`` per paragraph token, in order."""
        return [(start, end, p) for (start, end), p in zip(self.token_spans, self.token_probs)]

    def loaded_tokens(self, threshold: float) -> list[tuple[int, int, float]]:
        """The tokens at or above ``threshold``, in order: the only ones that can become loaded spans."""
        return [(*self.token_spans[i], p) for i, p in enumerate(self.token_probs) if p >= threshold]


log = logging.getLogger(__name__)

GRAPHS = ("int8", "fp16")
# Padded tokens per CUDA call: on an H200 the model calls took 12-45 % less time at 16,384 than at
# 4,096 (bench/h200/RESULTS.md, bench/gpu.py, two runs); most service calls (<= 256 passes) fit in one.
CUDA_BATCH_TOKENS = 16384


@functools.cache
def _load_cuda_libraries() -> None:
    """Once per process: every Predictor on CUDA asks, each model reload makes a new one."""
    ort.preload_dlls()


def choose_providers(device: str = "auto") -> list[str]:
    """``auto`` takes CUDA when onnxruntime offers it; ``cpu`` and ``cuda`` force one."""
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise RuntimeError(
            f"device 'cuda' asked for, but onnxruntime offers only {available}; "
            "install onnxruntime-gpu[cuda,cudnn] or use device 'cpu'"
        )
    if device in ("cuda", "auto"):
        if "CUDAExecutionProvider" not in available:
            return ["CPUExecutionProvider"]
        # onnxruntime-gpu[cuda,cudnn] brings CUDA and cuDNN as pip's nvidia-* packages, which are
        # not on the loader's path: load them (where installed) before a session needs them.
        _load_cuda_libraries()
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, then on again; left alone when
    something else had turned it off.

    Scoring makes hundreds of thousands of short-lived tuples and lists (the tokenizer's offsets,
    windows, merged scores), none of them in a reference cycle: reference counting frees them all.
    The collector still scans young objects every 700 allocations and, now and then, everything
    alive. Paused, tokenizing and cutting windows took 0.61-0.64 s against 0.82-0.86 s and merging
    0.17-0.18 s against 0.21-0.24 s (bench/gpu.py --device cpu, 9,600 paragraphs, 2 cores,
    2026-12-05); on a GPU these host steps are most of ``score`` (bench/h200/RESULTS.md). Another
    thread may find it off meanwhile: it only skips collections for that long.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def plan_batches(lengths: list[int], cap: int) -> list[tuple[int, int]]:
    """Greedy runs (start, end) of the ascending ``lengths``: each run's padded size (rows x its
    longest) <= cap; a window longer than ``cap`` is a run of its own."""
    spans = []
    start = 0
    while start < len(lengths):
        end = start + 1
        while end < len(lengths) and (end - start + 1) * lengths[end] <= cap:
            end += 1
        spans.append((start, end))
        start = end
    return spans


def session_options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Memory patterns are cached per input shape, and served batch x length shapes vary without
    # end: the cache would grow a long-running server's memory for good.
    options.enable_mem_pattern = False
    return options


# onnxruntime fuses a residual Add and the LayerNormalization after it into SkipLayerNormalization
# when it loads a graph. On CPU that kernel took a fifth of this model's time, about four and a half
# times the two ops it replaces (onnxruntime 1.32; bench/profile_ops.py); CUDA keeps the fusion.
CPU_DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


def new_session(model: str | bytes, options: ort.SessionOptions, providers: list[str]) -> ort.InferenceSession:
    """An onnxruntime session as the Predictor runs one: on CPU without the fusions above."""
    disabled = list(CPU_DISABLED_OPTIMIZERS) if providers[0] == "CPUExecutionProvider" else []
    return ort.InferenceSession(model, sess_options=options, providers=providers, disabled_optimizers=disabled)


class Predictor:
    def __init__(
        self,
        artifact: Artifact,
        *,
        device: str | None = None,  # auto | cpu | cuda; default $SLANT_DEVICE or auto
        threads: int | None = None,  # CPU threads; default $SLANT_THREADS or all cores
        batch_tokens: int | None = None,  # CUDA: padded tokens per call, default 16384; CPU: one window per call
        graph: str | None = None,  # int8: model.onnx as it is | fp16: slant/gpu_graph.py's; default fp16 on CUDA
    ) -> None:
        self.artifact = artifact
        self.encoder = artifact.encoder()
        options = session_options()
        current = settings()
        threads = threads or current.threads or None
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        requested = device or current.device
        self.providers = choose_providers(requested)
        model, self.session = self._open(graph, options)
        if self.providers[0] != "CPUExecutionProvider" and "CUDAExecutionProvider" not in self.session.get_providers():
            # onnxruntime falls back to the CPU by itself when a CUDA library fails to load, or when
            # onnxruntime-gpu runs where there is no GPU.
            message = (
                "onnxruntime offers CUDA but could not start it (its log above says why); install "
                "onnxruntime-gpu[cuda,cudnn] on a machine with an NVIDIA GPU, or set SLANT_DEVICE=cpu"
            )
            if requested == "cuda":
                raise RuntimeError(message)
            log.warning("%s; running on the CPU", message)
            self.providers = ["CPUExecutionProvider"]
            model, self.session = self._open(graph, options)
        cpu = self.providers[0] == "CPUExecutionProvider"
        # On CPU every window is an onnxruntime call of its own, and the calls run side by side on a
        # second session with one onnxruntime thread per worker (`threads` workers):
        # - the int8 graph quantizes its activations with one scale per call, so a window batched
        #   with others got scores that moved with its batch-mates (up to 0.11 on real paragraphs);
        #   alone, its scores are the same whatever else is scored with it, and it pads nothing;
        # - most of this graph's ops are small (layer norms, transposes, the attention's elementwise
        #   steps) and pay a thread barrier each when split over intra-op threads;
        # - one window's activations stay in the per-core L2 cache.
        # Measured on 1,200 real paragraphs (2 cores): 105-107 paragraphs/s one window per call,
        # 104-119 in batches of <= 256 padded tokens. A lone one-window request keeps the intra-op
        # session: lower latency, and the same scores (its kernels split rows, not sums).
        # On CUDA the GPU needs batches: length-sorted ones of <= `batch_tokens` padded tokens.
        self.cpu = cpu
        self.workers = (threads or _cpu_count()) if cpu else 1
        self.batch_tokens = batch_tokens or CUDA_BATCH_TOKENS
        self._pool = self._session1 = None
        if self.workers > 1:
            single = session_options()
            single.intra_op_num_threads = single.inter_op_num_threads = 1
            self._session1 = new_session(model, single, self.providers)
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="slant-ort")
        self._check_graph()

    def _open(self, graph: str | None, options: ort.SessionOptions) -> tuple[str | bytes, ort.InferenceSession]:
        """The graph for ``self.providers`` (int8 on CPU, fp16 on CUDA, unless ``graph`` names one)
        and a session on it."""
        self.graph = graph or ("int8" if self.providers[0] == "CPUExecutionProvider" else "fp16")
        if self.graph not in GRAPHS:
            raise ValueError(f"graph must be one of {GRAPHS}, got {graph!r}")
        model: str | bytes = str(self.artifact.model_path)
        if self.graph == "fp16":
            from slant.gpu_graph import fp16_graph  # needs onnx, which only a GPU (or an evaluation) needs

            model = fp16_graph(self.artifact.model_path)
        return model, new_session(model, options, self.providers)

    def _check_graph(self) -> None:
        inputs = [i.name for i in self.session.get_inputs()]
        if sorted(inputs) != sorted(INPUT_NAMES):
            raise ArtifactError(f"model.onnx takes inputs {inputs}, expected {list(INPUT_NAMES)}")
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        for head in self.artifact.heads:
            if head not in outputs:
                raise ArtifactError(f"model.onnx has outputs {sorted(outputs)}, but labels.json names head {head!r}")
            if head != BIAS_TOKENS and outputs[head][-1] != self.artifact.head_width(head):
                raise ArtifactError(
                    f"model.onnx output {head} has width {outputs[head][-1]}, but labels.json "
                    f"gives {self.artifact.head_width(head)} labels"
                )
        self.output_names = list(self.artifact.heads)

    def run_windows(self, windows: list[Window]) -> dict[str, list[np.ndarray]]:
        """Raw logits for a list of windows, in order: one call per window on CPU, length-sorted
        batches on CUDA."""
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        if self.cpu:
            batches = [[i] for i in order]
        else:
            spans = plan_batches([len(windows[i]) for i in order], self.batch_tokens)
            batches = [order[start:end] for start, end in spans]
        # Rows arrive in batch order; each window's slot is filled once, all of them before the return.
        logits: dict[str, list[np.ndarray | None]] = {head: [None] * len(windows) for head in self.output_names}

        def run(session, rows: list[int]) -> list[np.ndarray]:
            feeds = self.encoder.pad([windows[i] for i in rows])
            return session.run(self.output_names, feeds) if self.cpu else self.run_bound(session, feeds, "cuda")

        if self._pool is not None and len(batches) >= self.workers:
            # onnxruntime releases the GIL: the workers' batches run in parallel; map keeps the order.
            # Longest windows first: the costliest calls start early, short ones fill in at the end.
            batches.reverse()
            results = self._pool.map(lambda rows: run(self._session1, rows), batches)
        else:
            results = (run(self.session, rows) for rows in batches)
        for rows, outputs in zip(batches, results):
            for head, out in zip(self.output_names, outputs):
                for row, i in enumerate(rows):
                    logits[head][i] = out[row]
        return cast("dict[str, list[np.ndarray]]", logits)

    def run_bound(self, session: ort.InferenceSession, feeds: dict[str, np.ndarray], device: str) -> list[np.ndarray]:
        """One call with I/O binding: the inputs go to ``device`` in one copy each, the outputs are
        left where onnxruntime made them and come back in one copy each, with no staging buffers."""
        binding = session.io_binding()
        for name, array in feeds.items():
            binding.bind_cpu_input(name, array)
        for name in self.output_names:
            binding.bind_output(name, device)
        session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()

    def score(self, passes: list[Pass]) -> list[PassScores]:
        """Calibrated probabilities for each pass; windows of one pass are merged (see module doc)."""
        if not passes:
            return []
        with gc_paused():
            encoded, logits = self.logits(passes)
            return self.merge(passes, encoded, logits, self.artifact.calibration.temperatures)

    def logits(self, passes: list[Pass]) -> tuple[list[list[Window]], dict[str, list[np.ndarray]]]:
        """Each pass's windows, and every window's raw logits (the expensive part of ``score``)."""
        encoded = self.encoder.encode_batch([p.text for p in passes], [p.target for p in passes])
        return encoded, self.run_windows([w for windows in encoded for w in windows])

    def merge(
        self,
        passes: list[Pass],
        encoded: list[list[Window]],
        logits: dict[str, list[np.ndarray]],
        temps: dict[str, float],
    ) -> list[PassScores]:
        """Probabilities at the given temperatures, each pass's windows merged into one score.

        Each head's probabilities are computed for every window in one numpy call; a pass's windows
        are consecutive rows, merged by ``reduceat``; elementwise, so a pass's scores are the same
        whatever else is merged with it. On a GPU this host-side step is a large part of ``score``
        (a third on the H200, bench/h200/RESULTS.md), so it converts each head to Python lists in
        one call and makes no per-token tuples.
        """
        counts = np.array([len(windows) for windows in encoded])
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        paired = [bool(p.target) for p in passes]
        merged: dict[str, list] = {}
        if any(paired):
            # Mean over windows: the stance of the whole paragraph, not its loudest part.
            stance = softmax(np.stack(logits["stance"]) / temps["stance"])
            merged["stance"] = (np.add.reduceat(stance, starts) / counts[:, None].astype(stance.dtype)).tolist()
        if not all(paired):
            # Max over windows: a frame, technique or biased sentence anywhere in the paragraph counts.
            for head in ("frames", "techniques", "bias"):
                if head in logits:
                    merged[head] = np.maximum.reduceat(sigmoid(np.stack(logits[head]) / temps[head]), starts).tolist()
            tokens = self._token_scores(encoded, paired, logits[BIAS_TOKENS], temps[BIAS_TOKENS])
        results = []
        for k in range(len(passes)):
            scores = PassScores()
            if paired[k]:
                scores.stance = merged["stance"][k]
            else:
                for name in ("frames", "techniques"):
                    if name in merged:
                        setattr(scores, name, merged[name][k])
                scores.bias = max(merged["bias"][k])
                scores.token_spans, scores.token_probs = next(tokens)
            results.append(scores)
        return results

    def _token_scores(
        self, encoded: list[list[Window]], paired: list[bool], token_logits: list[np.ndarray], temperature: float
    ) -> Iterator[tuple[tuple[tuple[int, int], ...], list[float]]]:
        """Each unpaired pass's paragraph tokens, in order: their ``(start, end)`` spans, and the
        highest probability each span got in any of the pass's windows."""
        z, row = [], 0
        for pass_windows, pair in zip(encoded, paired):
            for window in pass_windows:
                if not pair:
                    z.append(token_logits[row][: len(window)])
                row += 1
        probs = sigmoid(np.concatenate(z).reshape(-1) / temperature).tolist()
        head, tail = len(self.encoder.single.prefix), len(self.encoder.single.suffix)
        at = 0  # where the next window's tokens start in ``probs``
        for pass_windows, pair in zip(encoded, paired):
            if pair:
                continue
            first = pass_windows[0]
            body = first.offsets[head : len(first) - tail]
            if len(pass_windows) == 1 and all(map(operator.lt, body, body[1:])):
                # One window whose paragraph tokens cover distinct spans in order (strictly
                # increasing), as nearly every paragraph's do: its tokens as they are.
                yield body, probs[at + head : at + head + len(body)]
                at += len(first)
                continue
            best: dict[tuple[int, int], float] = {}
            for window in pass_windows:
                for offset, p in zip(window.offsets, probs[at : at + len(window)]):
                    if p > best.get(offset, -1.0):
                        best[offset] = p
                at += len(window)
            best.pop(NO_OFFSET, None)
            spans = tuple(sorted(best))
            yield spans, [best[span] for span in spans]


def loaded_spans(
    text: str, tokens: list[tuple[int, int, float]], threshold: float, names: Sequence[tuple[int, int]] = ()
) -> list[dict]:
    """Whole words whose tokens reach the threshold, adjacent words merged into one span.

    Words inside ``names`` (character spans of named entities) are never loaded wording: a
    president's surname in a report about him is a name, not an evaluation.
    """
    spans: list[dict] = []
    for start, end, p in tokens:
        if p < threshold:
            continue
        # Widen a word piece to its whole word.
        while start > 0 and text[start - 1].isalnum():
            start -= 1
        while end < len(text) and text[end].isalnum():
            end += 1
        if any(start < n_end and end > n_start for n_start, n_end in names):
            continue
        if spans and start <= spans[-1]["end"] + 1 and not text[spans[-1]["end"] : start].strip():
            spans[-1]["end"] = max(spans[-1]["end"], end)
            spans[-1]["score"] = max(spans[-1]["score"], p)
        else:
            spans.append({"start": start, "end": end, "score": p})
    for span in spans:
        span["text"] = text[span["start"] : span["end"]]
        span["score"] = round(span["score"], 4)
    return spans


def build_paragraph(
    artifact: Artifact,
    index: int,
    text: str,
    start: int,
    end: int,
    single: PassScores,
    stance: list[tuple[str, PassScores]],
    names: Sequence[tuple[int, int]] = (),
) -> dict:
    """One paragraph entry of the /classify answer, with labels decided by the artifact's thresholds."""
    tasks = artifact.tasks
    thresholds = artifact.calibration.thresholds
    entry: dict = {"index": index, "text": text, "start": start, "end": end, "stance": []}
    stance_labels = tasks["stance"].labels
    for target, scores in stance:
        assert scores.stance is not None  # a pair pass always has stance scores
        probs = dict(zip(stance_labels, (round(p, 4) for p in scores.stance)))
        entry["stance"].append(
            {"target": target, "label": stance_labels[int(np.argmax(scores.stance))], "scores": probs}
        )
    for name in ("frames", "techniques"):
        trained = set(artifact.calibration.trained_labels(tasks[name]))
        scored = [(l, p) for l, p in zip(tasks[name].labels, getattr(single, name)) if l in trained]
        entry[name] = {
            "labels": [l for l, p in scored if p >= thresholds[name][l]],
            "scores": {l: round(p, 4) for l, p in scored},
        }
    biased = tasks["bias"].labels[1]
    loaded = thresholds[BIAS_TOKENS]["loaded"]
    assert single.bias is not None  # a single pass always has a bias score
    entry["bias"] = {
        "label": biased if single.bias >= thresholds["bias"][biased] else tasks["bias"].labels[0],
        "score": round(single.bias, 4),
        "spans": loaded_spans(text, single.loaded_tokens(loaded), loaded, names),
    }
    return entry

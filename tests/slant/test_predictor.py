import gc
import random
from pathlib import Path

import numpy as np
import pytest

from slant import artifact as art
from slant.predictor import Pass, Predictor, gc_paused, plan_batches

REPO = Path(__file__).resolve().parents[2]


def test_cuda_batches_cover_every_window_within_the_padded_cap():
    rng = random.Random(0)
    for _ in range(200):
        lengths = sorted(rng.randint(3, 128) for _ in range(rng.randint(1, 80)))
        cap = rng.choice([128, 256, 4096])
        spans = plan_batches(lengths, cap)
        # Contiguous, in order, every window once.
        assert spans[0][0] == 0 and spans[-1][1] == len(lengths)
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        for start, end in spans:
            # Rows x the longest (last, ascending) window: the padded size of the batch.
            assert end > start and (end - start) * lengths[end - 1] <= max(cap, lengths[end - 1])
    assert plan_batches([100], 64) == [(0, 1)]


SENTENCES = [
    "The council met on Tuesday and the budget grew again.",
    "Critics called the mayor's reckless plan a disgrace to the city.",
    "Supporters praised the senator for her steady, honest leadership.",
    "Officials said the bridge would reopen in March after repairs.",
]


def _passes(n: int) -> list[Pass]:
    """``n`` passes of many lengths (1 to 60 sentences: one window to several), half with a target."""
    rng = random.Random(n)
    texts = [" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 60))) for _ in range(n)]
    return [Pass(t, "the mayor" if i % 2 else None) for i, t in enumerate(texts)]


def _check_batch_independence(folder: Path) -> None:
    """Bit for bit: no batch-mate, thread count or worker changes a pass's scores (on CPU every
    window is its own onnxruntime call, with its own int8 activation scales and no padding)."""
    loaded = art.load(folder)
    passes = _passes(64)
    one_thread = Predictor(loaded, device="cpu", threads=1)
    two_workers = Predictor(loaded, device="cpu", threads=2)
    assert two_workers.workers == 2
    together = two_workers.score(passes)
    for p, batched in zip(passes, together):
        for alone in (one_thread.score([p])[0], two_workers.score([p])[0]):
            assert alone == batched


def test_released_model_scores_a_pass_the_same_alone_and_in_a_batch_of_64():
    _check_batch_independence(REPO / "models" / "slant-base")


def test_trained_model_scores_a_pass_the_same_alone_and_in_a_batch_of_64(tiny_artifact):
    _check_batch_independence(tiny_artifact)


def test_loaded_spans_skip_words_inside_names():
    from slant.predictor import loaded_spans

    text = "Trump's reckless plan angered Nancy Pelosi."
    tokens = [(0, 5, 0.9), (5, 7, 0.9), (8, 16, 0.8), (17, 21, 0.2), (30, 35, 0.7), (36, 42, 0.7)]
    names = [(0, 5), (30, 42)]
    assert [s["text"] for s in loaded_spans(text, tokens, 0.5)] == ["Trump's reckless", "Nancy Pelosi"]
    assert [s["text"] for s in loaded_spans(text, tokens, 0.5, names)] == ["reckless"]


def test_name_spans_find_people_and_places():
    from slant.targets import name_spans

    text = "Angela Merkel visited Paris on Monday."
    (spans,) = name_spans([text])
    found = {text[s:e] for s, e in spans}
    assert "Angela Merkel" in found and "Paris" in found


def test_io_binding_gives_the_outputs_of_a_plain_call(tiny_artifact):
    # The CUDA path binds its inputs and outputs; the same code on the CPU device must not move a bit.
    predictor = Predictor(art.load(tiny_artifact), device="cpu")
    windows = [w for ws in predictor.encoder.encode_batch([s for s in SENTENCES], [None] * 4) for w in ws]
    feeds = predictor.encoder.pad(windows)
    bound = predictor.run_bound(predictor.session, feeds, "cpu")
    for a, b in zip(bound, predictor.session.run(predictor.output_names, feeds)):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_score_pauses_the_garbage_collector_and_gives_back_the_state_it_found(tiny_artifact, monkeypatch):
    predictor = Predictor(art.load(tiny_artifact), device="cpu")
    seen = []
    run_windows = predictor.run_windows
    monkeypatch.setattr(predictor, "run_windows", lambda windows: seen.append(gc.isenabled()) or run_windows(windows))
    assert gc.isenabled()
    predictor.score([Pass(SENTENCES[0])])
    assert seen == [False] and gc.isenabled()
    gc.disable()  # someone else's choice: left as it was
    try:
        predictor.score([Pass(SENTENCES[0])])
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError, match="boom"), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_graph_is_int8_on_cpu_unless_asked_and_refuses_unknown_names(tiny_artifact):
    loaded = art.load(tiny_artifact)
    assert Predictor(loaded, device="cpu").graph == "int8"
    with pytest.raises(ValueError, match="graph must be one of"):
        Predictor(loaded, device="cpu", graph="bf16")


def test_cpu_sessions_keep_the_residual_add_and_layer_norm_apart(tiny_artifact, tmp_path):
    # onnxruntime would fuse them into SkipLayerNormalization on load, its slower CPU kernel.
    import onnx

    from slant.predictor import new_session, session_options

    options = session_options()
    options.optimized_model_filepath = str(tmp_path / "loaded.onnx")
    new_session(str(art.load(tiny_artifact).model_path), options, ["CPUExecutionProvider"])
    loaded = {n.op_type for n in onnx.load(str(tmp_path / "loaded.onnx")).graph.node}
    assert "LayerNormalization" in loaded and "SkipLayerNormalization" not in loaded


def test_merge_takes_each_pass_s_mean_stance_and_highest_probabilities_over_its_windows(tiny_artifact):
    from slant.activations import sigmoid, softmax
    from slant.encode import NO_OFFSET, Window

    predictor = Predictor(art.load(tiny_artifact), device="cpu")

    def window(offsets):
        spans = (NO_OFFSET, *offsets, NO_OFFSET)
        return Window(input_ids=(0,) * len(spans), token_type_ids=(0,) * len(spans), offsets=spans)

    # A paragraph in two overlapping windows, a stance pair in two, one window with two tokens on
    # one span (a character the tokenizer splits), and a plain one-window paragraph.
    encoded = [
        [window([(0, 2), (3, 5), (6, 8)]), window([(3, 5), (6, 8), (9, 11)])],
        [window([(0, 1)]), window([(0, 1)])],
        [window([(0, 1), (0, 1), (2, 4)])],
        [window([(0, 3), (4, 6)])],
    ]
    passes = [Pass("p"), Pass("q", "someone"), Pass("r"), Pass("s")]
    rng = np.random.default_rng(0)
    windows = [w for ws in encoded for w in ws]
    logits = {
        head: [
            rng.normal(size=(len(w), 1) if head == "bias_tokens" else predictor.artifact.head_width(head)).astype(
                np.float32
            )
            for w in windows
        ]
        for head in predictor.output_names
    }
    temps = {head: 1.5 for head in predictor.output_names}
    scores = predictor.merge(passes, encoded, logits, temps)

    def probs(head, rows, activation=sigmoid):
        return activation(np.stack([logits[head][i] for i in rows]) / 1.5)

    np.testing.assert_array_equal(scores[1].stance, probs("stance", [2, 3], softmax).mean(axis=0))
    assert scores[1].frames is None and scores[1].tokens == []
    for k, rows in ((0, [0, 1]), (2, [4]), (3, [5])):
        np.testing.assert_array_equal(scores[k].frames, probs("frames", rows).max(axis=0))
        assert scores[k].bias == probs("bias", rows).max()
    token = {i: sigmoid(logits["bias_tokens"][i].reshape(-1) / 1.5).tolist() for i in range(len(windows))}
    assert scores[0].tokens == [
        (0, 2, token[0][1]),
        (3, 5, max(token[0][2], token[1][1])),
        (6, 8, max(token[0][3], token[1][2])),
        (9, 11, token[1][3]),
    ]
    assert scores[2].tokens == [(0, 1, max(token[4][1], token[4][2])), (2, 4, token[4][3])]
    assert scores[3].tokens == [(0, 3, token[5][1]), (4, 6, token[5][2])]


def test_a_cuda_session_that_fell_back_to_the_cpu_is_refused_or_replaced(tiny_artifact, monkeypatch, caplog):
    # onnxruntime quietly runs a session asked for CUDA on the CPU when CUDA cannot start: a missing
    # CUDA library, no GPU, or (here) an onnxruntime without the CUDA provider.
    import slant.predictor as predictor_module

    monkeypatch.setattr(
        predictor_module, "choose_providers", lambda device: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    loaded = art.load(tiny_artifact)
    with pytest.raises(RuntimeError, match="could not start it.*SLANT_DEVICE=cpu"):
        Predictor(loaded, device="cuda")
    auto = Predictor(loaded, device="auto")
    assert auto.cpu and auto.providers == ["CPUExecutionProvider"] and auto.graph == "int8"
    assert auto.session.get_providers() == ["CPUExecutionProvider"]
    assert "running on the CPU" in caplog.text

"""slant/gpu_graph.py: the fp16 graph for CUDA, built from the artifact's int8 graph, run here on
the CPU provider (which runs fp16 graphs too) against the trained model's own fp32 graph."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from slant import artifact as art
from slant.gpu_graph import GraphError, dequantize, fp16_graph
from slant.predictor import Pass, Predictor

PARAGRAPHS = [
    "The council approved the new flood barrier on Tuesday after a long debate.",
    "Critics said the mayor recklessly squandered taxpayers' money on a vanity project.",
    "Ministers argued that the economy would grow faster if the government cut taxes, " * 8,
    "Unions warned about jobs.",
]


@pytest.fixture(scope="module")
def graphs(tiny_run) -> dict:
    int8 = tiny_run["artifact"] / art.MODEL
    return {
        "int8": onnx.load(str(int8)),
        "fp32": onnx.load(str(tiny_run["checkpoint"].parent / "model.fp32.onnx")),  # the export's, before quantizing
        "float": dequantize(onnx.load(str(int8))),
        "fp16": onnx.ModelProto.FromString(fp16_graph(int8)),
    }


def _logits(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _feeds(tiny_artifact) -> dict:
    encoder = art.load(tiny_artifact).encoder()
    windows = [w for ws in encoder.encode_batch(PARAGRAPHS, [None] * len(PARAGRAPHS)) for w in ws]
    return encoder.pad(windows)


def test_no_integer_op_is_left_and_the_interface_is_kept(graphs):
    ops = {name: Counter(n.op_type for n in g.graph.node) for name, g in graphs.items()}
    assert ops["int8"]["MatMulInteger"] > 0 and ops["int8"]["DynamicQuantizeLinear"] > 0
    for name in ("float", "fp16"):
        assert not {"MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear"} & set(ops[name]), name
        # each quantized MatMul is a MatMul again
        assert ops[name]["MatMul"] == ops["int8"]["MatMul"] + ops["int8"]["MatMulInteger"]
    for g in (graphs["float"], graphs["fp16"]):  # same names, same types: the Predictor feeds it as before
        assert [(i.name, i.type) for i in g.graph.input] == [(i.name, i.type) for i in graphs["int8"].graph.input]
        assert [(o.name, o.type) for o in g.graph.output] == [(o.name, o.type) for o in graphs["int8"].graph.output]
    fp16_weights = [i for i in graphs["fp16"].graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert sum(np.prod(i.dims) for i in fp16_weights) > 0.9 * sum(
        np.prod(i.dims) for i in graphs["fp32"].graph.initializer
    )


def test_dequantized_weights_are_the_int8_weights(graphs):
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in graphs["int8"].graph.initializer}
    floats = {i.name: onnx.numpy_helper.to_array(i) for i in graphs["float"].graph.initializer}
    node = next(n for n in graphs["int8"].graph.node if n.op_type == "MatMulInteger")
    _, w_q, _, w_zp = node.input
    scale = next(v for k, v in weights.items() if k.startswith(w_q.removesuffix("_quantized")) and "scale" in k)
    q, zp, w = weights[w_q], weights[w_zp], floats[f"{w_q}_float"]
    assert w.shape == q.shape and scale.shape == (q.shape[1],)  # one scale per output column
    for column in (0, q.shape[1] - 1):
        np.testing.assert_array_equal(w[:, column], (q[:, column].astype(np.float32) - zp[column]) * scale[column])


def test_the_float_graphs_are_closer_to_the_trained_model_than_int8(graphs, tiny_artifact):
    feeds = _feeds(tiny_artifact)
    out = {name: _logits(g, feeds) for name, g in graphs.items()}
    for head in range(len(out["fp32"])):
        ref = out["fp32"][head]
        int8_error = np.abs(out["int8"][head] - ref).max()
        float_error = np.abs(out["float"][head] - ref).max()  # the weights' rounding only
        assert float_error < int8_error, head
        # fp16 arithmetic on the same weights: a few thousandths of a logit
        assert np.abs(out["fp16"][head] - out["float"][head]).max() < 1e-2, head


def test_the_predictor_runs_the_fp16_graph_when_asked(graphs, tiny_artifact):
    predictor = Predictor(art.load(tiny_artifact), device="cpu", graph="fp16")
    windows = [w for ws in predictor.encoder.encode_batch(PARAGRAPHS, [None] * len(PARAGRAPHS)) for w in ws]
    logits = predictor.run_windows(windows)
    reference = _logits(graphs["float"], predictor.encoder.pad(windows))
    for head, ref in zip(predictor.output_names, reference):
        for row, got in enumerate(logits[head]):
            assert np.abs(got[: len(ref[row])] - ref[row][: len(got)]).max() < 1e-2, head
    assert predictor.score([Pass(PARAGRAPHS[1], "the mayor")])[0].stance is not None


def test_an_unknown_quantized_pattern_is_refused(graphs):
    model = onnx.ModelProto.FromString(graphs["int8"].SerializeToString())
    node = next(n for n in model.graph.node if n.op_type == "MatMulInteger")
    node.input[1] = node.input[0]  # no longer a weight
    with pytest.raises(GraphError, match="MatMulInteger"):
        dequantize(model)

"""The graph a GPU runs: fp16, built at load time from the artifact's int8 ``model.onnx``.

The artifact ships one graph, dynamically quantized for the CPU, and ``metrics.json`` is tied to it
by its SHA-256. That graph does not suit onnxruntime's CUDA provider: DynamicQuantizeLinear has no
CUDA kernel, so each of its 26 nodes would run on the CPU, with a copy each way, in every call. So
for CUDA the int8 weights are dequantized back to float (``(q - zero_point) * scale``, the very
weights the int8 graph multiplies by), every MatMulInteger chain becomes a plain MatMul, and the
whole graph is cast to fp16 for the tensor cores, inputs and outputs kept as they are.

What changes against the int8 graph: activations are no longer rounded to 8 bits. The fp16 graph
is therefore closer to the trained model than the int8 one; its own metrics are checked against
the int8 graph's in tests/slant/test_gpu_graph.py and `slant evaluate --graph fp16`.
Needs the ``onnx`` package, not torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper


class GraphError(ValueError):
    """An int8 graph this module does not know how to turn back into float."""


def _producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in graph.node for out in node.output}


def _consumers(graph: onnx.GraphProto, name: str) -> list[onnx.NodeProto]:
    return [node for node in graph.node if name in node.input]


def _dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    """``(q - zero_point) * scale`` in float32; a vector scale is per output column (the last axis)."""
    return ((q.astype(np.int32) - zero_point.astype(np.int32)) * scale).astype(np.float32)


def dequantize(model: onnx.ModelProto) -> onnx.ModelProto:
    """The float32 graph whose weights are the int8 graph's, dequantized (see the module doc)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())  # the caller's model stays as it was
    graph = model.graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    producers = _producers(graph)
    replaced: dict[str, onnx.NodeProto] = {}  # output name -> the float node that now makes it
    added: list[onnx.TensorProto] = []

    for node in graph.node:
        if node.op_type == "MatMulInteger":
            # DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast -> Mul(., x_scale * W_scale)
            x_q, w_q, _, w_zp = node.input
            quantize = producers.get(x_q)
            if quantize is None or quantize.op_type != "DynamicQuantizeLinear" or w_q not in weights:
                raise GraphError(
                    f"MatMulInteger {node.name!r} does not multiply a dynamically quantized input by a weight"
                )
            [cast] = _consumers(graph, node.output[0])
            [rescale] = _consumers(graph, cast.output[0])
            scales = producers[next(i for i in rescale.input if i != cast.output[0])]
            w_scale = next(i for i in scales.input if i in weights)
            weight = _dequantize(weights[w_q], weights[w_scale], weights[w_zp])
            name = f"{w_q}_float"
            added.append(numpy_helper.from_array(weight, name))
            replaced[rescale.output[0]] = helper.make_node(
                "MatMul", [quantize.input[0], name], [rescale.output[0]], name=f"{node.name}_float"
            )
        elif node.op_type == "DequantizeLinear" and producers.get(node.input[0]) is not None:
            # Gather(table_q, ids) -> DequantizeLinear: the embedding tables
            gather = producers[node.input[0]]
            table, scale = gather.input[0], node.input[1]
            zero_point = node.input[2] if len(node.input) > 2 else None
            if gather.op_type != "Gather" or table not in weights or weights[scale].size != 1:
                raise GraphError(f"DequantizeLinear {node.name!r} is not a per-tensor quantized embedding look-up")
            zp = weights[zero_point] if zero_point else np.zeros((), weights[table].dtype)
            name = f"{table}_float"
            added.append(numpy_helper.from_array(_dequantize(weights[table], weights[scale], zp), name))
            axis = [a for a in gather.attribute if a.name == "axis"]
            replaced[node.output[0]] = helper.make_node(
                "Gather",
                [name, gather.input[1]],
                [node.output[0]],
                name=f"{gather.name}_float",
                axis=axis[0].i if axis else 0,
            )

    nodes = [replaced.get(n.output[0], n) if len(n.output) == 1 else n for n in graph.node]
    graph.initializer.extend(added)
    _keep_live(graph, nodes)
    return model


def _keep_live(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    """Set ``graph``'s nodes to those of ``nodes`` that the outputs depend on, in order, and drop
    initializers that no node reads any more."""
    producers = {out: i for i, node in enumerate(nodes) for out in node.output}
    live: set[int] = set()
    todo = [o.name for o in graph.output]
    while todo:
        i = producers.get(todo.pop())
        if i is not None and i not in live:
            live.add(i)
            todo.extend(nodes[i].input)
    kept = [node for i, node in enumerate(nodes) if i in live]
    read = {name for node in kept for name in node.input} | {o.name for o in graph.output}
    initializers = [init for init in graph.initializer if init.name in read]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def fp16_graph(int8_path: str | Path) -> bytes:
    """The serialized fp16 graph for the CUDA provider, from the artifact's int8 graph."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = dequantize(onnx.load(str(int8_path)))
    return convert_float_to_float16(model, keep_io_types=True).SerializeToString()

"""Training weights read back out of an exported graph, so an artifact needs no second copy of
its weights (a 44 MB fp16 file beside a 23 MB int8 graph) to be fine-tuned again.

Unquantized initializers keep their torch names. Dynamic quantization renames each matmul weight
(``val_50_quantized`` + ``_scale`` + ``_zero_point``, stored transposed as [in, out]); its torch
name is found where the product meets its bias: ``MatMulInteger -> Cast -> Mul -> Add(<x>.bias)``
makes it ``<x>.weight`` (in a fused graph the bias can be an input of SkipLayerNormalization or
BiasGelu instead). Quantized embeddings keep their names (``<x>.weight_quantized``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

QUANTIZED = "_quantized"


def _dequantize(arrays: dict[str, np.ndarray], stem: str) -> np.ndarray:
    q = arrays[stem + QUANTIZED].astype(np.float32)
    zero = arrays[stem + "_zero_point"].astype(np.float32)
    scale = arrays[stem + "_scale"].astype(np.float32)
    return (q - zero) * scale  # per-tensor (scalars) or per output channel (last axis)


# Where a fused graph (training/fuse.py) adds a matmul's bias: SkipLayerNormalization takes it as
# its 5th input (after the LayerNorm's own weight and bias), BiasGelu as its 2nd.
FUSED_BIAS_INPUT = {"SkipLayerNormalization": 4, "BiasGelu": 1}


def _bias_after(consumers: dict[str, list], output: str, names: set[str]) -> str | None:
    """Follow a matmul's single-consumer chain to the node that adds a named bias."""
    for _ in range(4):
        nodes = consumers.get(output, [])
        if len(nodes) != 1:
            return None
        node = nodes[0]
        if node.op_type == "Add":
            return next((i for i in node.input if i in names and i.endswith(".bias")), None)
        if node.op_type in FUSED_BIAS_INPUT:
            k = FUSED_BIAS_INPUT[node.op_type]
            bias = node.input[k] if len(node.input) > k else ""
            return bias if bias in names and bias.endswith(".bias") else None
        output = node.output[0]
    return None


def weights_from_onnx(path: str | Path) -> dict[str, np.ndarray]:
    """fp32 arrays under torch parameter names, dequantized where the graph is int8."""
    graph = onnx.load(str(path)).graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    weights = {
        name: array.astype(np.float32)
        for name, array in arrays.items()
        if array.dtype == np.float32
        and array.ndim > 0
        and not name.startswith("val_")
        and not name.endswith(("_scale", "_zero_point"))
        and "." in name
    }
    for name in arrays:
        if not name.endswith(QUANTIZED):
            continue
        stem = name[: -len(QUANTIZED)]
        value = _dequantize(arrays, stem)
        if stem.endswith(".weight"):  # an embedding table: stored as torch has it
            weights[stem] = value
            continue
        matmul = next(n for n in consumers[name] if n.op_type == "MatMulInteger")
        bias = _bias_after(consumers, matmul.output[0], set(arrays))
        if bias is None:
            raise ValueError(f"{path}: cannot tell which layer the quantized weight {stem} belongs to")
        weights[bias[: -len(".bias")] + ".weight"] = value.T.copy()  # [in, out] -> torch's [out, in]
    return weights

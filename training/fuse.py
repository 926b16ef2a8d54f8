"""Fused fp32 graph for export: attention, LayerNorm and GELU as single onnxruntime kernels.

The dynamo exporter already writes each LayerNorm as one LayerNormalization node. onnxruntime's
transformer optimizer fuses the feed-forward GELU with its bias (BiasGelu), but not the attention: the
dynamo exporter writes scaled-dot-product attention as Mul, MatMul, Add(mask), Softmax,
IsNaN/Where, MatMul with its own reshapes, which the optimizer's BERT pattern does not match.
``fuse_attention`` replaces each such block with one com.microsoft MultiHeadAttention node fed the
projected query, key and value and the padding mask; the projections stay MatMuls, so dynamic
quantization still makes them int8.

The residual Add before each LayerNorm stays an Add: onnxruntime 1.32's SkipLayerNormalization CPU
kernel (the optimizer's fusion of the two) took a fifth of this model's time, about four and a half times
what Add and LayerNormalization take (bench/profile_ops.py, 2026-12-04); the Predictor keeps onnxruntime
from fusing them again when it loads the graph on CPU (`slant.predictor.new_session`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from slant.artifact import INPUT_NAMES

_, ATTENTION_MASK, _ = INPUT_NAMES  # the graph input the fused kernels take the padding mask from


class FusionError(RuntimeError):
    pass


def fuse(src: Path, dst: Path, encoder_config) -> dict[str, int]:
    """Write the fused graph of ``src`` to ``dst``; returns how many nodes of each fused type it
    holds. Attention is fused in BERT encoders (MiniLM), the pattern checked here, and there it must
    fuse in every layer (FusionError otherwise: an unfused layer would run, but slower than the
    model card says); other encoders (MPNet adds a relative position bias) keep theirs."""
    import onnx
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    heads, layers = encoder_config.num_attention_heads, encoder_config.num_hidden_layers
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = options.enable_bias_skip_layer_norm = False  # module doc
    optimized = optimize_model(
        str(src),
        model_type="bert",
        num_heads=heads,
        hidden_size=encoder_config.hidden_size,
        opt_level=0,
        optimization_options=options,
    )
    model = optimized.model
    if encoder_config.model_type == "bert":
        fused = fuse_attention(model, heads)
        if fused != layers:
            raise FusionError(
                f"fused {fused} attention blocks in {src}, expected one per layer ({layers}): the exporter's "
                "attention pattern changed; update training/fuse.py's fuse_attention to the new graph"
            )
    onnx.save(model, str(dst))
    counts = Counter(n.op_type for n in model.graph.node)
    return {op: counts[op] for op in ("MultiHeadAttention", "BiasGelu") if counts[op]}


def fuse_attention(model, num_heads: int) -> int:
    """Replace each exported attention block with MultiHeadAttention, in place; returns the count."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    producer = {out: n for n in graph.node for out in n.output}
    consumers: dict[str, list] = defaultdict(list)
    for n in graph.node:
        for name in n.input:
            consumers[name].append(n)
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def made_by(name: str, op: str):
        node = producer.get(name)
        if node is None or node.op_type != op:
            raise _NoMatch
        return node

    def only_consumer(name: str, op: str):
        users = consumers.get(name, [])
        if len(users) != 1 or users[0].op_type != op:
            raise _NoMatch
        return users[0]

    def projection(head_split: str) -> str:
        """The projected [batch, seq, hidden] tensor a per-head split (Transpose of a Reshape) came from."""
        transpose = made_by(head_split, "Transpose")
        if list(helper.get_attribute_value(transpose.attribute[0])) != [0, 2, 1, 3]:
            raise _NoMatch
        return made_by(transpose.input[0], "Reshape").input[0]

    def scale_of(mul) -> float:
        value = constants.get(mul.input[1])
        if value is None or value.size != 1:
            raise _NoMatch
        return float(value.reshape(()))

    mask = helper.make_node("Cast", [ATTENTION_MASK], ["attention_mask_int32"], to=TensorProto.INT32)
    replaced: list[tuple] = []  # (the Reshape that ended a block, its MultiHeadAttention)
    for softmax in [n for n in graph.node if n.op_type == "Softmax"]:
        try:
            add = made_by(softmax.input[0], "Add")
            scores = made_by(add.input[0], "MatMul")
            q_mul, k_mul = made_by(scores.input[0], "Mul"), made_by(scores.input[1], "Mul")
            query = projection(q_mul.input[0])
            # Kᵀ: the per-head key, flattened to (batch·heads, seq, dim), transposed, reshaped back.
            k_back = made_by(k_mul.input[0], "Reshape")
            k_t = made_by(k_back.input[0], "Transpose")
            key = projection(made_by(k_t.input[0], "Reshape").input[0])
            # NaN rows (every key masked) become zeros; the fused kernel never makes them.
            users = consumers[softmax.output[0]]
            probs = softmax
            if sorted(u.op_type for u in users) == ["IsNaN", "Where"]:
                probs = next(u for u in users if u.op_type == "Where")
            context = only_consumer(probs.output[0], "MatMul")
            value = projection(context.input[1])
            merge = only_consumer(context.output[0], "Transpose")
            out = only_consumer(merge.output[0], "Reshape")
            scale = scale_of(q_mul) * scale_of(k_mul)
        except _NoMatch:
            continue
        name = f"MultiHeadAttention_{len(replaced)}"
        attention = helper.make_node(
            "MultiHeadAttention",
            [query, key, value, "", "attention_mask_int32"],
            [out.output[0]],
            name=name,
            domain="com.microsoft",
            num_heads=num_heads,
            scale=scale,
        )
        replaced.append((out, attention))
    if not replaced:
        return 0
    # Each fused node takes the place of the Reshape that ended its block (the graph stays in
    # topological order); what fed only the old blocks is dropped.
    position = {out.output[0]: attention for out, attention in replaced}
    nodes = [mask] + [position.get(n.output[0], n) if len(n.output) == 1 else n for n in graph.node]
    del graph.node[:]
    graph.node.extend(_live(nodes, {o.name for o in graph.output}))
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    _drop_unused_initializers(graph)
    return len(replaced)


class _NoMatch(Exception):
    pass


def _live(nodes: list, outputs: set[str]) -> list:
    """The nodes whose results reach a graph output, in their order."""
    needed = set(outputs)
    keep = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    return keep[::-1]


def _drop_unused_initializers(graph) -> None:
    used = {i for n in graph.node for i in n.input}
    unused = [i for i in graph.initializer if i.name not in used]
    for init in unused:
        graph.initializer.remove(init)

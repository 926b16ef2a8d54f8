"""training/fuse.py: the exported graph's attention, LayerNorms and GELUs run as fused kernels,
with the same logits as torch, padding included."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
import torch


def _ops(path) -> Counter:
    import onnx

    return Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def test_the_export_fuses_every_layer(tiny_run):
    from training.model import TINY_ENCODER

    layers = TINY_ENCODER["num_hidden_layers"]
    report = tiny_run["export_report"]
    assert report["fused_nodes"] == {"MultiHeadAttention": layers, "BiasGelu": layers}
    served = _ops(tiny_run["artifact"] / "model.onnx")
    assert served["MultiHeadAttention"] == layers and served["BiasGelu"] == layers
    # The residual Adds and LayerNorms stay apart (after attention and after the feed-forward
    # block, and the embeddings' own): onnxruntime's CPU SkipLayerNormalization is the slower kernel.
    assert served["SkipLayerNormalization"] == 0 and served["LayerNormalization"] == 2 * layers + 1
    # The unfused attention's ops are gone, and the projections were still quantized.
    assert served["Softmax"] == 0 and served["IsNaN"] == 0 and served["Erf"] == 0
    assert served["DynamicQuantizeLinear"] > 0


def _torch_vs_onnx(model, graph) -> float:
    """Max |logit diff| of ``graph`` against torch on a padded batch (real tokens only)."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    ids = torch.tensor(rng.integers(5, 90, (3, 20)))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0  # padded rows: the fused kernel takes the padding mask
    mask[2, 5:] = 0
    types = torch.zeros_like(ids)
    types[:, 10:] = 1
    with torch.no_grad():
        expected = [t.numpy() for t in model(ids, mask, types)]
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "token_type_ids": types.numpy()}
    real = mask.numpy() == 1
    diff = 0.0
    for e, g in zip(expected, session.run(model.output_names, feeds)):
        if g.ndim == 3:  # per-token outputs: only real tokens mean anything
            e, g = e[real], g[real]
        diff = max(diff, float(np.abs(e - g).max()))
    return diff


@pytest.fixture(scope="module")
def unfused(tiny_run, tmp_path_factory):
    from training.export import export_unfused
    from training.train import load_model

    model, _ = load_model(tiny_run["checkpoint"])
    model.eval()
    path = tmp_path_factory.mktemp("unfused") / "unfused.onnx"
    export_unfused(model, path)
    return model, path


def test_the_fused_graph_matches_torch_on_a_padded_batch(unfused, tmp_path):
    from training.export import PARITY_TOLERANCE
    from training.fuse import fuse

    model, path = unfused
    fuse(path, tmp_path / "fused.onnx", model.encoder.config)
    assert _torch_vs_onnx(model, tmp_path / "fused.onnx") <= PARITY_TOLERANCE


def test_a_layer_that_does_not_fuse_is_refused(unfused, tmp_path):
    from training.fuse import FusionError, fuse

    model, path = unfused
    layers = model.encoder.config.num_hidden_layers
    config = _config(model, num_hidden_layers=layers + 1)  # the graph has one layer fewer than this says
    with pytest.raises(
        FusionError, match=rf"fused {layers} attention blocks .* expected one per layer \({layers + 1}\)"
    ):
        fuse(path, tmp_path / "fused.onnx", config)


def test_other_encoders_keep_their_attention(unfused, tmp_path):
    from training.export import PARITY_TOLERANCE
    from training.fuse import fuse

    # MPNet adds a relative position bias to its attention scores: the BERT attention pattern is
    # not applied to it; the GELU fusion is.
    model, path = unfused
    counts = fuse(path, tmp_path / "fused.onnx", _config(model, model_type="mpnet"))
    assert "MultiHeadAttention" not in counts and counts["BiasGelu"] == model.encoder.config.num_hidden_layers
    assert _ops(tmp_path / "fused.onnx")["Softmax"] == model.encoder.config.num_hidden_layers
    assert _torch_vs_onnx(model, tmp_path / "fused.onnx") <= PARITY_TOLERANCE


def _config(model, **changes):
    c = model.encoder.config
    fields = {
        "model_type": c.model_type,
        "num_attention_heads": c.num_attention_heads,
        "num_hidden_layers": c.num_hidden_layers,
        "hidden_size": c.hidden_size,
    }
    return SimpleNamespace(**{**fields, **changes})

"""The model module: real package weights load offline; heads have the schema's widths."""

import torch

from slant.labels import TASKS
from training.base_models import MINILM, minilm_path
from training.model import TINY_ENCODER as TINY
from training.model import SlantModel, build_encoder


def _embed(encoder, tokenizer, texts):
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1)


def test_package_weights_load_offline_and_are_the_trained_encoder():
    from transformers import PreTrainedTokenizerFast

    encoder = build_encoder(MINILM).eval()
    assert encoder.config.hidden_size == 384 and encoder.config.num_hidden_layers == 6
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=f"{minilm_path()}/tokenizer.json", pad_token="[PAD]")
    a, b, c = _embed(
        encoder,
        tokenizer,
        ["A man is eating food.", "A man is eating a meal.", "The central bank raised interest rates."],
    )
    # A random encoder scores paraphrases and unrelated sentences alike; the trained one does not.
    assert float(a @ b) > 0.8
    assert float(a @ b) - float(a @ c) > 0.5


def test_heads_follow_the_label_schemas():
    model = SlantModel(build_encoder("tiny"), TASKS)
    ids = torch.randint(1000, 2000, (2, 7))
    outputs = model(ids, torch.ones_like(ids), torch.zeros_like(ids))
    assert model.output_names == ["stance", "frames", "techniques", "bias", "bias_tokens"]
    for name, out in zip(model.output_names, outputs):
        expected = (2, 7) if name == "bias_tokens" else (2, TASKS[name].width)
        assert tuple(out.shape) == expected, name


def test_base_model_names_resolve_or_say_how_to_get_them(tmp_path, monkeypatch):
    import pytest

    from training.base_models import MPNET, base_model_path

    monkeypatch.setenv("SLANT_CACHE", str(tmp_path))
    assert base_model_path(MINILM) == minilm_path()
    with pytest.raises(RuntimeError, match="slant base fetch all-mpnet-base-v2"):
        base_model_path(MPNET)
    with pytest.raises(ValueError, match="nor a model folder"):
        base_model_path(str(tmp_path / "nowhere"))


def test_mpnet_architecture_round_trips_through_its_saved_config():
    # slant-large's checkpoints rebuild an MPNet encoder (no segment ids) from the config they carry.
    from transformers import MPNetConfig, MPNetModel

    from training.model import encoder_from_config

    encoder = MPNetModel(MPNetConfig(vocab_size=100, **TINY), add_pooling_layer=False)
    model = SlantModel(encoder, TASKS)
    assert not model.reads_token_types
    rebuilt = SlantModel(encoder_from_config(encoder.config.to_dict()), TASKS)
    rebuilt.load_state_dict(model.state_dict())
    ids = torch.randint(5, 100, (2, 7))
    model.eval(), rebuilt.eval()
    with torch.no_grad():
        for a, b in zip(
            model(ids, torch.ones_like(ids), torch.zeros_like(ids)),
            rebuilt(ids, torch.ones_like(ids), torch.zeros_like(ids)),
        ):
            assert torch.equal(a, b)

"""The model module: real package weights load offline; heads have the schema's widths."""
import torch

from slant.labels import TASKS
from training.model import PACKAGE_ENCODER, SlantModel, build_encoder, head_width


def _embed(encoder, tokenizer, texts):
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1)


def test_package_weights_load_offline_and_are_the_trained_encoder():
    from transformers import PreTrainedTokenizerFast

    from training.model import base_encoder_path

    encoder = build_encoder(PACKAGE_ENCODER).eval()
    assert encoder.config.hidden_size == 384 and encoder.config.num_hidden_layers == 6
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=f"{base_encoder_path()}/tokenizer.json", pad_token="[PAD]")
    a, b, c = _embed(encoder, tokenizer, [
        "A man is eating food.", "A man is eating a meal.", "The central bank raised interest rates."
    ])
    # A random encoder scores paraphrases and unrelated sentences alike; the trained one does not.
    assert float(a @ b) > 0.8
    assert float(a @ b) - float(a @ c) > 0.5


def test_heads_follow_the_label_schemas():
    model = SlantModel(build_encoder("tiny"), TASKS)
    ids = torch.randint(1000, 2000, (2, 7))
    outputs = model(ids, torch.ones_like(ids), torch.zeros_like(ids))
    assert model.output_names == ["stance", "frames", "techniques", "bias", "bias_tokens"]
    for name, out in zip(model.output_names, outputs):
        expected = (2, 7) if name == "bias_tokens" else (2, head_width(TASKS[name]))
        assert tuple(out.shape) == expected, name

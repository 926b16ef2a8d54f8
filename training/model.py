"""The multi-task model: one shared encoder, one head per task, one token head for loaded words."""

from __future__ import annotations

import inspect
from typing import TypedDict

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, BertConfig, BertModel, PreTrainedModel

from slant.labels import BIAS_TOKENS, Task
from training.base_models import TINY, base_model_path


class EncoderSize(TypedDict):
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int


# A random encoder of this size trains in seconds: for tests and smoke runs, never for release.
TINY_ENCODER = EncoderSize(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)


def build_encoder(base: str) -> PreTrainedModel:
    """``base``: a name in training.base_models (MiniLM, MPNet), ``tiny`` (random) or a local folder."""
    if base == TINY:
        return BertModel(BertConfig(vocab_size=30522, **TINY_ENCODER), add_pooling_layer=False)
    return AutoModel.from_pretrained(base_model_path(base), add_pooling_layer=False)


def encoder_from_config(values: dict) -> PreTrainedModel:
    """An untrained encoder of a saved architecture (``config.to_dict()``, BERT or MPNet)."""
    config = AutoConfig.for_model(**values)
    return AutoModel.from_config(config, add_pooling_layer=False)


class SlantModel(nn.Module):
    """Outputs, in order: one logit row per task (``tasks`` order), then per-token loaded-word logits."""

    def __init__(self, encoder: PreTrainedModel, tasks: dict[str, Task], dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.task_names = list(tasks)
        hidden = encoder.config.hidden_size
        # BERT reads segment ids; MPNet has none (the graph keeps the input either way).
        self.reads_token_types = "token_type_ids" in inspect.signature(encoder.forward).parameters
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, t.width) for name, t in tasks.items()})
        self.token_head = nn.Linear(hidden, 1)

    @property
    def output_names(self) -> list[str]:
        return [*self.task_names, BIAS_TOKENS]

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        types = {"token_type_ids": token_type_ids} if self.reads_token_types else {}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **types).last_hidden_state
        # Mean pooling: what all-MiniLM-L6-v2 was trained with.
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = self.dropout((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0))
        task_logits = tuple(self.heads[name](pooled) for name in self.task_names)
        token_logits = self.token_head(self.dropout(hidden)).squeeze(-1)
        return (*task_logits, token_logits)

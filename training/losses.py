"""The training losses: gold labels per task kind, the teacher's soft labels mixed in by weight
(training.distill), and multi-instance frames over article bags."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from slant.labels import TASKS
from training.config import TrainConfig
from training.examples import Example
from training.model import SlantModel


def collate(examples: list[Example], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(examples), width), dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        types[row, :n] = torch.tensor(e.token_type_ids)
        mask[row, :n] = 1
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "token_type_ids": types.to(device),
    }


def task_loss(
    model: SlantModel,
    task: str,
    batch: list[Example],
    config: TrainConfig,
    pad_id: int,
    device: torch.device,
    class_weights: torch.Tensor | None = None,
    gold: bool = True,
) -> torch.Tensor:
    """The gold loss, mixed with the teacher's soft loss (``config.distill[task]``) where the batch
    has one; ``gold=False``: a batch without gold labels (news pairs) learns from the teacher alone."""
    outputs = model(**collate(batch, pad_id, device))
    logits = outputs[model.task_names.index(task)].float()
    kind = TASKS[task].kind
    weight = config.distill.get(task, 0.0) if gold else 1.0
    soft = torch.tensor(np.stack(rows(batch, "soft")), device=device) if weight and batch[0].soft is not None else None
    labels = torch.tensor(np.stack([e.label for e in batch]), device=device)
    if kind == "single":
        loss = F.cross_entropy(logits, labels, weight=class_weights)
        if soft is not None:
            loss = (1 - weight) * loss + weight * -(soft * F.log_softmax(logits, dim=-1)).sum(-1).mean()
        return loss
    if kind == "binary":
        loss = F.binary_cross_entropy_with_logits(logits.squeeze(-1), labels)
        if soft is not None:
            loss = (1 - weight) * loss + weight * F.binary_cross_entropy_with_logits(
                logits.squeeze(-1), soft.squeeze(-1)
            )
        if batch[0].token_labels is not None:
            token_logits = outputs[-1].float()
            token_loss = masked_token_loss(token_logits, rows(batch, "token_labels"), device)
            if soft is not None:
                soft_loss = masked_token_loss(token_logits, rows(batch, "soft_tokens"), device)
                token_loss = (1 - weight) * token_loss + weight * soft_loss
            loss = loss + config.token_loss_weight * token_loss
        return loss
    known = torch.tensor(np.stack([e.known for e in batch]), device=device)
    per_label = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    loss = (per_label * known).sum() / known.sum().clamp(min=1.0)
    if soft is not None:
        # The teacher speaks for every label, also those the example's source cannot express.
        loss = (1 - weight) * loss + weight * F.binary_cross_entropy_with_logits(logits, soft)
    return loss


def rows(batch: list[Example], field: str) -> list[np.ndarray]:
    """One optional per-example array (soft, token_labels, soft_tokens) of a batch that has it for every example."""
    values = [getattr(e, field) for e in batch]
    if any(v is None for v in values):
        raise ValueError(f"a batch mixes examples with and without {field}; a task's examples carry it all or none")
    return values


def masked_token_loss(token_logits: torch.Tensor, rows: list[np.ndarray], device) -> torch.Tensor:
    """BCE over the tokens whose target is >= 0 (-1: special tokens, sources without spans)."""
    targets = torch.full(token_logits.shape, -1.0)
    for row, values in enumerate(rows):
        targets[row, : len(values)] = torch.tensor(values)
    targets = targets.to(device)
    keep = targets >= 0
    if not keep.any():  # a batch of sentence-level sources only has no token labels
        return token_logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(token_logits[keep], targets[keep])


def bag_loss(model: SlantModel, bags: list[list[Example]], pad_id: int, device) -> torch.Tensor:
    """Article labels from paragraph logits, max-pooled over each bag."""
    flat = [e for bag in bags for e in bag]
    logits = model(**collate(flat, pad_id, device))[model.task_names.index("frames")].float()
    pooled, start = [], 0
    for bag in bags:
        pooled.append(logits[start : start + len(bag)].max(dim=0).values)
        start += len(bag)
    labels = torch.tensor(np.stack([bag[0].label for bag in bags]), device=device)
    known = torch.tensor(np.stack([bag[0].known for bag in bags]), device=device)
    per_label = F.binary_cross_entropy_with_logits(torch.stack(pooled), labels, reduction="none")
    return (per_label * known).sum() / known.sum().clamp(min=1.0)

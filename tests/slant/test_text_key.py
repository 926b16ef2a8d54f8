"""The key of a text, shared by the corpus build (leakage between splits) and the feedback store
(deduplication, the held-out split of retraining)."""

from __future__ import annotations

from slant.text_key import norm_key, text_hash


def test_texts_that_differ_in_case_punctuation_spacing_or_width_have_one_key():
    assert norm_key("  The PLAN -- radical!\n") == "the plan radical"
    assert norm_key("snake_case") == "snake case"
    assert norm_key("Ｆｕｌｌ　ｗｉｄｔｈ ﬁne") == norm_key("full width fine")  # NFKC
    assert norm_key("Señor Müller") == "señor müller"  # letters stay letters
    assert norm_key("...!?") == ""


def test_the_hash_is_the_hash_of_the_key():
    assert text_hash("Some Text!") == text_hash("some   text")
    assert text_hash("some text") != text_hash("some texts")
    assert len(text_hash("x")) == 64

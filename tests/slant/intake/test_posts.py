"""Quoted social posts: embedded tweets, "@user:" lines and ">" quotes become paragraphs of their own."""

from __future__ import annotations

from intake_checks import check_offsets, sample

from slant.intake import from_text


def test_embedded_tweet_is_its_own_paragraph():
    text = sample("tweet.txt")
    a = from_text(text, title="Minister defends fuel tax rise")
    check_offsets(a)
    texts = [p.text for p in a.paragraphs]
    assert "Minister defends fuel tax rise" not in texts
    tweet = next(t for t in texts if "pic.twitter.com/Xy12AbCd" in t)
    assert tweet.startswith("Free buses for every student from September.")
    assert tweet.endswith("— Ana Costa (@AnaCostaMP) March 3, 2023")
    assert "She later posted on Twitter:" in texts  # the intro stays a separate paragraph
    assert "@PaulBrandt: The minister should try filling a tank on a nurse's salary." in texts
    # the neighbours of the @user line are not merged into it
    assert any(t.startswith("Opposition leader Paul Brandt") and t.endswith("repeal it.") for t in texts)
    assert "The Road Hauliers Association said it would study the details before commenting." in texts
    assert "> We were not consulted on the timing of this change.\n> Our members will pay the price." in texts
    assert texts[-1] == "The tax takes effect on April 1."
    assert len(texts) == 8


def test_tweet_in_single_newline_text():
    text = (
        "The minister replied within minutes.\n"
        "We will not back down. pic.twitter.com/AbC123\n"
        "— Ana Costa (@AnaCostaMP) March 3, 2023\n"
        "Her critics were unmoved."
    )
    a = from_text(text)
    check_offsets(a)
    assert [p.text for p in a.paragraphs] == [
        "The minister replied within minutes.",
        "We will not back down. pic.twitter.com/AbC123\n— Ana Costa (@AnaCostaMP) March 3, 2023",
        "Her critics were unmoved.",
    ]


def test_signature_without_dash_and_breadcrumb_before_headline():
    text = (
        "News > World > Europe\n\n"
        "Minister defends fuel tax rise\n\n"
        "The minister replied within minutes on Friday.\n\n"
        "We will not back down.\n"
        "Ana Costa (@AnaCostaMP) March 3, 2023\n\n"
        "Her critics were unmoved."
    )
    a = from_text(text, title="Minister defends fuel tax rise")
    check_offsets(a)
    assert [p.text for p in a.paragraphs] == [
        "The minister replied within minutes on Friday.",
        "We will not back down.\nAna Costa (@AnaCostaMP) March 3, 2023",
        "Her critics were unmoved.",
    ]


def test_a_signature_takes_its_blocks_text_but_not_an_intro_or_an_earlier_post():
    text = (
        "She wrote:\n"
        "Buses will be free.\n"
        "From September, for every student.\n"
        "— Ana Costa (@AnaCostaMP) March 3, 2023\n\n"
        "@PaulBrandt: Who pays for it?\n"
        "pic.twitter.com/Xy12AbCd\n"
        "— Paul Brandt (@PaulBrandt) March 3, 2023"
    )
    assert [p.text for p in from_text(text).paragraphs] == [
        "She wrote:",
        "Buses will be free.\nFrom September, for every student.\n— Ana Costa (@AnaCostaMP) March 3, 2023",
        "@PaulBrandt: Who pays for it?",
        "pic.twitter.com/Xy12AbCd\n— Paul Brandt (@PaulBrandt) March 3, 2023",
    ]


def test_without_blank_lines_a_signature_takes_one_text_line_and_the_links_before_it():
    text = (
        "The minister replied within minutes.\n"
        "pic.twitter.com/AbC123\n"
        "We will not back down.\n"
        "— Ana Costa (@AnaCostaMP) March 3, 2023\n"
        "Her critics were unmoved."
    )
    assert [p.text for p in from_text(text).paragraphs] == [
        "The minister replied within minutes.",
        "pic.twitter.com/AbC123\nWe will not back down.\n— Ana Costa (@AnaCostaMP) March 3, 2023",
        "Her critics were unmoved.",
    ]

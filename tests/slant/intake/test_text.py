"""Text and paragraph lists -> Article: empty, oversized and invisible input, and exact offsets."""

from __future__ import annotations

import pytest
from intake_checks import check_offsets

from slant.intake import ArticleError, ArticleTooLarge, Limits, from_html, from_paragraphs, from_text


def test_from_paragraphs():
    paras = ["  First paragraph.  ", "", "Second paragraph\nwith a line break.", "Share on Facebook"]
    a = from_paragraphs(paras, title="T", url="u")
    check_offsets(a)
    assert a.text == "\n\n".join(paras)
    # the caller's paragraphs are not cleaned: only empty ones are skipped
    assert [p.text for p in a.paragraphs] == [
        "First paragraph.",
        "Second paragraph\nwith a line break.",
        "Share on Facebook",
    ]
    assert a.title == "T" and a.url == "u"


@pytest.mark.parametrize("bad", ["just a string", None, 5, [1, 2]])
def test_from_paragraphs_type_errors(bad):
    with pytest.raises(ArticleError, match="must be a"):
        from_paragraphs(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "   \n\t  \n"])
def test_empty_text(text):
    with pytest.raises(ArticleError, match="empty or only whitespace"):
        from_text(text)
    with pytest.raises(ArticleError, match="empty"):
        from_paragraphs([text])
    with pytest.raises(ArticleError, match="empty or only whitespace"):
        from_html(text)


def test_too_many_chars():
    with pytest.raises(ArticleError) as e:
        from_text("a" * 101, limits=Limits(max_chars=100))
    msg = str(e.value)
    assert "101 characters" in msg and "limit of 100" in msg and "SLANT_MAX_CHARS" in msg
    with pytest.raises(ArticleError, match="SLANT_MAX_CHARS"):
        from_paragraphs(["a" * 60, "b" * 60], limits=Limits(max_chars=100))


def test_default_limit_is_200k():
    with pytest.raises(ArticleError, match="200,001 characters, over the limit of 200,000"):
        from_text("a " * 100_000 + "b")


def test_too_many_paragraphs():
    text = "\n\n".join(f"Paragraph number {i} says something." for i in range(12))
    with pytest.raises(ArticleError) as e:
        from_text(text, limits=Limits(max_paragraphs=10))
    msg = str(e.value)
    assert "12 paragraphs" in msg and "limit of 10" in msg and "SLANT_MAX_PARAGRAPHS" in msg


def test_a_paragraph_list_longer_than_the_limit_is_refused_even_with_empty_items():
    limits = Limits(max_paragraphs=3)
    with pytest.raises(ArticleTooLarge, match="holds 4 items, over the limit of 3"):
        from_paragraphs(["One.", "", "", "Two."], limits=limits)
    assert len(from_paragraphs(["One.", "", "Two."], limits=limits).paragraphs) == 2


@pytest.mark.parametrize("text", ["\u200b\u200c\u200d", "\ufeff \u2060\n\n\u200b", "\u00ad\u200b"])
def test_invisible_only_text_is_empty(text):
    with pytest.raises(ArticleError, match="empty"):
        from_text(text)
    with pytest.raises(ArticleError, match="empty"):
        from_paragraphs([text])


def test_invisible_paragraphs_are_dropped():
    a = from_text("Real words here.\n\n\u200b\u200b\n\nMore words.")
    assert [p.text for p in a.paragraphs] == ["Real words here.", "More words."]


def test_fuzz_offsets_always_exact():
    import random

    rnd = random.Random(1234)
    pieces = [
        "Share on Facebook",
        "Tweet",
        "ID: 123",
        "Published: 1 May 2023",
        "\n",
        "\n\n",
        "\r\n",
        " ",
        "\t",
        "The study was published.",
        "Mr. Smith said so.",
        "— Jane (@jane) March 3, 2023",
        "pic.twitter.com/abc",
        "@bob: hi there",
        "> quoted",
        "Hello world",
        "\u00a0",
        "é",
        "x" * 50,
        "Advertisement",
        "...",
        "?!",
        "“Quote.”",
        "Title Here",
        "By Jane Doe",
        "-",
        "—",
        "|",
    ]
    built = 0
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 40)))
        limits = Limits(max_paragraph_chars=rnd.choice([20, 50, 2000]))
        try:
            a = from_text(text, title=rnd.choice([None, "Title Here"]), limits=limits)
        except ArticleError:
            continue
        built += 1
        check_offsets(a)
        assert all(len(p.text) <= limits.max_paragraph_chars for p in a.paragraphs)
    assert built > 2000

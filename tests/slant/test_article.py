"""Article intake: furniture removal, social posts, HTML extraction, splitting, offsets, errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from slant import article as A
from slant.article import Article, ArticleError, Limits, from_html, from_paragraphs, from_text, parse

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def check_offsets(a: Article) -> None:
    assert a.paragraphs, "no paragraphs"
    prev_end = -1
    for i, p in enumerate(a.paragraphs):
        assert p.index == i
        assert a.text[p.start : p.end] == p.text
        assert p.text == p.text.strip() and p.text
        assert p.start >= prev_end  # in order, not overlapping
        prev_end = p.end


def all_text(a: Article) -> str:
    return "\n".join(p.text for p in a.paragraphs)


# ------------------------------------------------------------------------------------------
# A scraped news page
# ------------------------------------------------------------------------------------------

NEWS_FURNITURE = [
    "ID: 48213", "Published: 12 March", "Updated 3 hours ago", "By Jane Doe", "Share on Facebook",
    "Share this article", "Advertisement", "Read more:", "Related:", "Follow us on", "Security Key",
    "Captcha", "Enter the code", "Page Generated", "cookie", "Skip to content",
]


def test_news_page_furniture_removed_and_headline_becomes_title():
    text = sample("news_page.txt")
    a = from_text(text, url="https://example.com/riverton")
    check_offsets(a)
    assert a.text == text
    assert a.url == "https://example.com/riverton"
    assert a.title == "Council approves new flood barrier for Riverton"
    body = all_text(a)
    for junk in NEWS_FURNITURE:
        assert junk.lower() not in body.lower(), junk
    for line in ("Tweet", "Email", "Print"):
        assert not any(p.text == line for p in a.paragraphs)
    assert "approves new flood barrier" not in body  # the repeated headline is gone
    assert len(a.paragraphs) == 4
    assert a.paragraphs[0].text.startswith("RIVERTON, March 12 (Reuters) - The Riverton city council")
    # real sentences that merely contain furniture words stay
    assert "A study of the plan was published in the Journal of Flood Risk Management last year" in body
    assert a.paragraphs[3].text == (
        "Residents were invited to share their views at a public meeting on Thursday, and many did."
    )


def test_given_title_drops_repeated_headline():
    text = sample("news_page.txt")
    a = from_text(text, title="Council approves new flood barrier for Riverton | Daily Planet")
    assert a.title == "Council approves new flood barrier for Riverton | Daily Planet"
    assert "approves new flood barrier" not in all_text(a)
    check_offsets(a)


def test_sentences_with_furniture_words_are_kept():
    lines = [
        "The study was published in Nature.",
        "Share prices fell sharply on Monday after the announcement.",
        "Print media is struggling to keep readers.",
        "By the end of the week, the river had risen two metres.",
        "Published in 1998, the novel sold millions of copies.",
        "Updated figures released on Tuesday show a smaller deficit.",
        "Related costs rose by a fifth, the company said.",
        "She asked readers to email their questions to the newsroom.",
        "Advertisement spending fell 4% last year.",
    ]
    text = "\n\n".join(lines)
    a = from_text(text)
    check_offsets(a)
    assert [p.text for p in a.paragraphs] == lines


@pytest.mark.parametrize(
    "line",
    [
        "ID: 48213", "Article ID: 99-120", "Published: 12 March 2023 10:42 GMT", "Updated 3 hours ago",
        "Published 12/03/2023", "Last updated: Tuesday, 14 March 2023, 08:01 BST",
        "Posted on March 3, 2023 at 9:15 am", "12 March 2023", "By Jane Doe | Reuters",
        "By Jane Doe and John Smith, Associated Press", "BY MARTA RUIZ", "Security Key:", "Captcha refresh",
        "Page Generated in 0.0123 seconds", "Enter the code", "Enter the code shown above:",
        "We use cookies to improve your experience. Accept all cookies",
        "Share on Facebook", "Tweet", "Share this article", "Email", "Print",
        "Share Tweet Email Print", "Share on X | Share on LinkedIn", "Follow us on Twitter",
        "Follow The Daily Planet on Facebook", "Advertisement", "ADVERTISEMENT",
        "Story continues below advertisement", "Read more: Riverton counts the cost",
        "READ MORE: Flood warnings issued", "Related: Ashby River levels reach record high",
        "Related articles", "Skip to content", "Accept all", "12 comments", "News > World > Europe",
        "Home » Politics » Elections 2024",
    ],
)
def test_furniture_lines(line):
    assert A.is_furniture(line), line


@pytest.mark.parametrize(
    "line",
    [
        "The study was published in Nature.",
        "By Tuesday, the council must decide.",
        "Share prices fell.",
        "Read the report and you will see the problem.",
        "The ID card scheme was scrapped in 2010.",
        "Security forces were deployed overnight.",
        "Cookies are small files, and the new rules cover them too.",
        "Follow the money, the prosecutor told the jury.",
        "Inflation > 5% is now expected, the bank said.",
    ],
)
def test_not_furniture(line):
    assert not A.is_furniture(line), line


def test_every_line_furniture_is_an_error():
    text = "ID: 1234\nPublished: 1 May 2023\nShare on Facebook\nTweet\nAdvertisement\nRead more: stuff\n"
    with pytest.raises(ArticleError, match="no article text left after removing site furniture"):
        from_text(text)


# ------------------------------------------------------------------------------------------
# Social posts
# ------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------
# Paragraph splitting
# ------------------------------------------------------------------------------------------


def test_no_blank_lines_splits_on_single_newlines():
    text = "First paragraph here.\nSecond paragraph here.\r\nThird one.\n"
    a = from_text(text)
    check_offsets(a)
    assert [p.text for p in a.paragraphs] == ["First paragraph here.", "Second paragraph here.", "Third one."]


def test_blank_lines_keep_single_newlines_inside_paragraphs():
    text = "  Line one of the first paragraph\nline two of it.\n\n\n   Second paragraph.  \n"
    a = from_text(text)
    check_offsets(a)
    assert [p.text for p in a.paragraphs] == [
        "Line one of the first paragraph\nline two of it.",
        "Second paragraph.",
    ]


SUBJECTS = ["The mayor", "Dr. Smith", "The council", "A spokesman for the U.S. embassy", "Residents",
            "The regional government", "Opposition parties", "Mr. Jones"]
VERBS = ["said", "argued", "warned", "claimed", "insisted", "noted"]
OBJECTS = ["the plan was too expensive", "the river would flood again", "taxes must rise",
           "the bridge was unsafe", "talks would resume next week", "the vote was unfair"]


def wall_of_text(n_chars: int) -> tuple[str, list[str]]:
    sentences = []
    i = 0
    while sum(len(s) + 1 for s in sentences) < n_chars:
        s = f"{SUBJECTS[i % 8]} {VERBS[i % 6]} on day {i} that {OBJECTS[i % 6]}"
        s += ["." , "!", "?", '."'][i % 4] if i % 4 != 3 else '."'
        if i % 4 == 3:
            s = '"' + s
        sentences.append(s)
        i += 1
    return " ".join(sentences), sentences


def test_wall_of_text_split_at_sentences():
    text, sentences = wall_of_text(10_000)
    assert len(text) >= 10_000
    a = from_text(text)
    check_offsets(a)
    assert len(a.paragraphs) >= 5
    assert all(len(p.text) <= 2_000 for p in a.paragraphs)
    joined = " ".join(p.text for p in a.paragraphs)
    assert joined == text  # nothing lost, nothing reordered
    for s in sentences:
        assert any(s in p.text for p in a.paragraphs), s  # no sentence cut in half
    # "Dr. Smith" / "U.S. embassy" are not sentence ends
    for p in a.paragraphs:
        assert not p.text.startswith(("Smith", "S. embassy", "embassy", "Jones"))


def test_long_sentence_split_at_whitespace():
    words = ["word%03d" % i for i in range(600)]  # one 4,799-char sentence
    text = " ".join(words) + "."
    a = from_text(text, limits=Limits(max_paragraph_chars=1000))
    check_offsets(a)
    assert len(a.paragraphs) == 5
    assert all(len(p.text) <= 1000 for p in a.paragraphs)
    assert " ".join(p.text for p in a.paragraphs) == text


def test_token_longer_than_limit_is_cut_not_dropped():
    text = "x" * 2500
    a = from_text(text, limits=Limits(max_paragraph_chars=1000))
    check_offsets(a)
    assert "".join(p.text for p in a.paragraphs) == text


# ------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------


def test_html_page_with_nav_script_style_cookie_footer():
    html = sample("cookie_page.html")
    a = from_html(html, url="https://example.com/valencia")
    check_offsets(a)
    assert a.title == "Drought forces water limits in Valencia region"
    body = a.text.lower()
    for junk in ["datalayer", "gtag", "font-family", "buy cheap flights", "we use cookies",
                 "accept all cookies", "manage preferences", "opinion", "celebrity chef",
                 "all rights reserved", "privacy policy", "share on facebook", "by marta ruiz"]:
        assert junk not in body, junk
    texts = [p.text for p in a.paragraphs]
    assert texts[0].startswith("Regional authorities in Valencia ordered new limits")
    assert "The study that first raised the alarm was published in the journal Water Research in 2021." in texts
    assert any("Elena Vidal" in t for t in texts)
    assert not any(t == a.title for t in texts)  # the <h1> repeating the title is dropped


def test_html_fallback_to_p_elements(monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: None)
    html = (
        "<html><head><script>var junk = 1;</script><style>p{}</style></head><body>"
        "<nav><p>Home News Sport</p></nav>"
        "<p>The first real paragraph of the story.</p><div><p>And the second one.</p></div>"
        "<footer><p>Copyright 2023</p></footer></body></html>"
    )
    a = from_html(html)
    check_offsets(a)
    assert [p.text for p in a.paragraphs] == ["The first real paragraph of the story.", "And the second one."]


def test_html_without_text_is_an_error():
    with pytest.raises(ArticleError, match="no article text found in the HTML"):
        from_html("<html><head><script>var a = 'only a script';</script></head><body></body></html>")


def test_html_with_tweet_blockquote():
    html = (
        "<html><head><title>Mayor urges calm</title></head><body><article>"
        "<h1>Mayor urges calm</h1>"
        "<p>The mayor of Mobile urged residents to stay indoors as the storm approached the coast on Tuesday night.</p>"
        '<blockquote class="twitter-tweet"><p>Stay safe everyone. Shelters are open downtown. '
        "pic.twitter.com/abc123</p>&mdash; Jane Rivers (@MayorRivers) <a href='#'>March 3, 2023</a></blockquote>"
        "<p>The National Weather Service warned that more rain was expected through the weekend in the region.</p>"
        "</article></body></html>"
    )
    a = from_html(html)
    check_offsets(a)
    texts = [p.text for p in a.paragraphs]
    assert a.title == "Mayor urges calm"
    assert len(texts) == 3
    assert texts[1].startswith("Stay safe everyone.") and "(@MayorRivers) March 3, 2023" in texts[1]


# ------------------------------------------------------------------------------------------
# Paragraph lists and parse()
# ------------------------------------------------------------------------------------------


def test_from_paragraphs():
    paras = ["  First paragraph.  ", "", "Second paragraph\nwith a line break.", "Share on Facebook"]
    a = from_paragraphs(paras, title="T", url="u")
    check_offsets(a)
    assert a.text == "\n\n".join(paras)
    # the caller's paragraphs are not cleaned: only empty ones are skipped
    assert [p.text for p in a.paragraphs] == [
        "First paragraph.", "Second paragraph\nwith a line break.", "Share on Facebook"
    ]
    assert a.title == "T" and a.url == "u"


def test_from_paragraphs_splits_long_ones():
    text, _ = wall_of_text(5_000)
    a = from_paragraphs(["Short intro.", text])
    check_offsets(a)
    assert a.paragraphs[0].text == "Short intro."
    assert len(a.paragraphs) >= 4
    assert " ".join(p.text for p in a.paragraphs[1:]) == text


@pytest.mark.parametrize("bad", ["just a string", None, 5, [1, 2]])
def test_from_paragraphs_type_errors(bad):
    with pytest.raises(ArticleError, match="must be a"):
        from_paragraphs(bad)  # type: ignore[arg-type]


def test_parse_dispatch():
    assert parse(text="Hello world.").paragraphs[0].text == "Hello world."
    assert parse(paragraphs=["A.", "B."]).text == "A.\n\nB."
    assert parse(html="<html><body><article><p>The body of a very short article is here.</p></article></body></html>").paragraphs


@pytest.mark.parametrize(
    "kwargs,msg",
    [
        ({}, "none was given"),
        ({"text": "a", "html": "<p>a</p>"}, "got text, html"),
        ({"text": "a", "paragraphs": ["a"]}, "got text, paragraphs"),
    ],
)
def test_parse_needs_exactly_one(kwargs, msg):
    with pytest.raises(ArticleError, match="exactly one of `text`, `html` or `paragraphs`") as e:
        parse(**kwargs)
    assert msg in str(e.value)


# ------------------------------------------------------------------------------------------
# Errors and limits
# ------------------------------------------------------------------------------------------


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


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("SLANT_MAX_CHARS", "1000")
    monkeypatch.setenv("SLANT_MAX_PARAGRAPHS", "7")
    monkeypatch.setenv("SLANT_MAX_PARAGRAPH_CHARS", "300")
    monkeypatch.setenv("SLANT_MAX_TARGETS", "3")
    assert Limits.from_env() == Limits(max_chars=1000, max_paragraphs=7, max_paragraph_chars=300, max_targets=3)
    monkeypatch.setenv("SLANT_MAX_TARGETS", "many")
    with pytest.raises(ArticleError, match="SLANT_MAX_TARGETS"):
        Limits.from_env()
    monkeypatch.setenv("SLANT_MAX_TARGETS", "0")
    with pytest.raises(ArticleError, match="SLANT_MAX_TARGETS"):
        Limits.from_env()


def test_limits_from_env_defaults(monkeypatch):
    for var in ("SLANT_MAX_CHARS", "SLANT_MAX_PARAGRAPHS", "SLANT_MAX_PARAGRAPH_CHARS", "SLANT_MAX_TARGETS"):
        monkeypatch.delenv(var, raising=False)
    assert Limits.from_env() == Limits()
    assert Limits() == A.DEFAULT_LIMITS
    assert (Limits().max_chars, Limits().max_paragraphs, Limits().max_paragraph_chars, Limits().max_targets) == (
        200_000, 500, 2_000, 10)


def test_article_is_frozen():
    a = from_text("Some text.")
    with pytest.raises(Exception):
        a.title = "x"  # type: ignore[misc]
    with pytest.raises(Exception):
        a.paragraphs[0].text = "x"  # type: ignore[misc]


def test_no_torch_import():
    import subprocess
    import sys

    code = "import sys, slant.article, slant.targets; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


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


def test_fuzz_offsets_always_exact():
    import random

    rnd = random.Random(1234)
    pieces = ["Share on Facebook", "Tweet", "ID: 123", "Published: 1 May 2023", "\n", "\n\n", "\r\n", " ",
              "\t", "The study was published.", "Mr. Smith said so.", "— Jane (@jane) March 3, 2023",
              "pic.twitter.com/abc", "@bob: hi there", "> quoted", "Hello world", "\u00a0", "é", "x" * 50,
              "Advertisement", "...", "?!", "“Quote.”", "Title Here", "By Jane Doe", "-", "—", "|"]
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


# ---- hostile pages (issue #15): refused before the expensive parse -------------------------------


def test_markup_bomb_is_refused_by_the_tag_precheck_at_once():
    import time

    from slant.article import PageTooComplex

    bomb = "<html><body>" + "<div><div><div><span>x</span></div></div></div>\n" * 102083 + "</body></html>"
    started = time.monotonic()
    with pytest.raises(PageTooComplex, match="SLANT_MAX_HTML_TAGS"):
        from_html(bomb)
    assert time.monotonic() - started < 2


def test_page_with_too_much_text_is_refused_before_extraction():
    import time

    from slant.article import ArticleTooLarge

    page = "<html><body>" + ("<p>" + "Lorem ipsum dolor sit amet, consectetur elit. " * 2000 + "</p>\n") * 50 + "</body></html>"
    assert 4_000_000 < len(page) < Limits().max_html_chars
    started = time.monotonic()
    with pytest.raises(ArticleTooLarge, match="SLANT_MAX_HTML_TEXT_CHARS|SLANT_MAX_CHARS"):
        from_html(page)
    assert time.monotonic() - started < 2


def test_extraction_stops_at_the_char_limit():
    from slant.article import ArticleTooLarge

    page = "<html><body><article>" + "<p>A sentence of the article body, repeated.</p>" * 400 + "</article></body></html>"
    with pytest.raises(ArticleTooLarge, match="SLANT_MAX_CHARS"):
        from_html(page, limits=Limits(max_chars=2_000))


@pytest.mark.parametrize("text", ["\u200b\u200c\u200d", "\ufeff \u2060\n\n\u200b", "\u00ad\u200b"])
def test_invisible_only_text_is_empty(text):
    with pytest.raises(ArticleError, match="empty"):
        from_text(text)
    with pytest.raises(ArticleError, match="empty"):
        from_paragraphs([text])


def test_invisible_paragraphs_are_dropped():
    a = from_text("Real words here.\n\n\u200b\u200b\n\nMore words.")
    assert [p.text for p in a.paragraphs] == ["Real words here.", "More words."]


@pytest.mark.parametrize("page", ["<script>" * 600_000, "<" * 4_900_000, "<a " * 1_600_000, "word " * 980_000])
def test_the_precheck_is_linear_on_pathological_pages(page):
    import time

    from slant.article import ArticleTooLarge

    started = time.monotonic()
    with pytest.raises(ArticleTooLarge):  # PageTooComplex is one too
        from_html(page)
    assert time.monotonic() - started < 3


def test_a_paragraph_list_longer_than_the_limit_is_refused_even_with_empty_items():
    from slant.article import ArticleTooLarge, Limits, from_paragraphs

    limits = Limits(max_paragraphs=3)
    with pytest.raises(ArticleTooLarge, match="holds 4 items, over the limit of 3"):
        from_paragraphs(["One.", "", "", "Two."], limits=limits)
    assert len(from_paragraphs(["One.", "", "Two."], limits=limits).paragraphs) == 2

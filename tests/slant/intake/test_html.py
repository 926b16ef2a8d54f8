"""HTML pages: the article body without navigation, scripts or cookie banners; hostile pages
refused by the pre-check before the expensive parse."""

from __future__ import annotations

import time

import pytest
from intake_checks import check_offsets, sample

from slant.intake import ArticleError, ArticleTooLarge, Limits, PageTooComplex, from_html


def test_html_page_with_nav_script_style_cookie_footer():
    html = sample("cookie_page.html")
    a = from_html(html, url="https://example.com/valencia")
    check_offsets(a)
    assert a.title == "Drought forces water limits in Valencia region"
    body = a.text.lower()
    for junk in [
        "datalayer",
        "gtag",
        "font-family",
        "buy cheap flights",
        "we use cookies",
        "accept all cookies",
        "manage preferences",
        "opinion",
        "celebrity chef",
        "all rights reserved",
        "privacy policy",
        "share on facebook",
        "by marta ruiz",
    ]:
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


# ---- hostile pages (issue #15): refused before the expensive parse -------------------------------


def test_markup_bomb_is_refused_by_the_tag_precheck_at_once():
    bomb = "<html><body>" + "<div><div><div><span>x</span></div></div></div>\n" * 102083 + "</body></html>"
    started = time.monotonic()
    with pytest.raises(PageTooComplex, match="SLANT_MAX_HTML_TAGS"):
        from_html(bomb)
    assert time.monotonic() - started < 2


def test_page_with_too_much_text_is_refused_before_extraction():
    page = (
        "<html><body>"
        + ("<p>" + "Lorem ipsum dolor sit amet, consectetur elit. " * 2000 + "</p>\n") * 50
        + "</body></html>"
    )
    assert 4_000_000 < len(page) < Limits().max_html_chars
    started = time.monotonic()
    with pytest.raises(ArticleTooLarge, match="SLANT_MAX_HTML_TEXT_CHARS|SLANT_MAX_CHARS"):
        from_html(page)
    assert time.monotonic() - started < 2


def test_extraction_stops_at_the_char_limit():
    page = (
        "<html><body><article>" + "<p>A sentence of the article body, repeated.</p>" * 400 + "</article></body></html>"
    )
    with pytest.raises(ArticleTooLarge, match="SLANT_MAX_CHARS"):
        from_html(page, limits=Limits(max_chars=2_000))


@pytest.mark.parametrize("page", ["<script>" * 600_000, "<" * 4_900_000, "<a " * 1_600_000, "word " * 980_000])
def test_the_precheck_is_linear_on_pathological_pages(page):
    started = time.monotonic()
    with pytest.raises(ArticleTooLarge):  # PageTooComplex is one too
        from_html(page)
    assert time.monotonic() - started < 3

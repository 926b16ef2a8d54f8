"""Site furniture: which lines are furniture, and what a scraped page keeps."""

from __future__ import annotations

import pytest
from intake_checks import all_text, check_offsets, sample

from slant.intake import ArticleError, from_text
from slant.intake.furniture import is_furniture

NEWS_FURNITURE = [
    "ID: 48213",
    "Published: 12 March",
    "Updated 3 hours ago",
    "By Jane Doe",
    "Share on Facebook",
    "Share this article",
    "Advertisement",
    "Read more:",
    "Related:",
    "Follow us on",
    "Security Key",
    "Captcha",
    "Enter the code",
    "Page Generated",
    "cookie",
    "Skip to content",
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
        "ID: 48213",
        "Article ID: 99-120",
        "Published: 12 March 2023 10:42 GMT",
        "Updated 3 hours ago",
        "Published 12/03/2023",
        "Last updated: Tuesday, 14 March 2023, 08:01 BST",
        "Posted on March 3, 2023 at 9:15 am",
        "12 March 2023",
        "By Jane Doe | Reuters",
        "By Jane Doe and John Smith, Associated Press",
        "BY MARTA RUIZ",
        "Security Key:",
        "Captcha refresh",
        "Page Generated in 0.0123 seconds",
        "Enter the code",
        "Enter the code shown above:",
        "We use cookies to improve your experience. Accept all cookies",
        "Share on Facebook",
        "Tweet",
        "Share this article",
        "Email",
        "Print",
        "Share Tweet Email Print",
        "Share on X | Share on LinkedIn",
        "Follow us on Twitter",
        "Follow The Daily Planet on Facebook",
        "Advertisement",
        "ADVERTISEMENT",
        "Story continues below advertisement",
        "Read more: Riverton counts the cost",
        "READ MORE: Flood warnings issued",
        "Related: Ashby River levels reach record high",
        "Related articles",
        "Skip to content",
        "Accept all",
        "12 comments",
        "News > World > Europe",
        "Home » Politics » Elections 2024",
    ],
)
def test_furniture_lines(line):
    assert is_furniture(line), line


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
    assert not is_furniture(line), line


def test_every_line_furniture_is_an_error():
    text = "ID: 1234\nPublished: 1 May 2023\nShare on Facebook\nTweet\nAdvertisement\nRead more: stuff\n"
    with pytest.raises(ArticleError, match="no article text left after removing site furniture"):
        from_text(text)

"""The HTML parse pool: a page that outgrows the memory cap is refused and its worker replaced."""

import pytest

from serving.intake import ParsePool
from slant import intake as art

SMALL = "<html><body><article><p>The council approved the new budget on Monday after a long debate.</p></article></body></html>"


def big_page(paragraphs: int = 60000) -> str:
    body = "".join(
        f"<p>Paragraph {i} of a long report about the council budget and the river barrier.</p>"
        for i in range(paragraphs)
    )
    return f"<html><body><article>{body}</article></body></html>"


def test_a_page_over_the_memory_cap_is_refused_and_the_pool_recovers():
    pool = ParsePool(workers=1, timeout_s=60, memory_mb=64)
    try:
        limits = art.Limits(
            max_chars=10_000_000,
            max_paragraphs=100_000,
            max_html_chars=50_000_000,
            max_html_tags=1_000_000,
            max_html_text_chars=50_000_000,
        )
        with pytest.raises(art.PageTooComplex, match="needed more than 64 MB"):
            pool.parse(big_page(), None, None, limits)
        article = pool.parse(SMALL, None, None, art.Limits())  # a fresh worker took the dead one's place
        assert "council approved" in article.paragraphs[0].text
    finally:
        pool.close()

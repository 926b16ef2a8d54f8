"""An HTML page -> :class:`Article`: a cheap pre-check that refuses markup bombs, the article body
found by trafilatura (the page's <p> elements when it finds nothing), the title, then the same
cleaning as raw text. trafilatura and lxml are imported on first use."""

from __future__ import annotations

import re

from .text import check_empty, check_optional, check_size, check_str, from_raw_text
from .types import DEFAULT_LIMITS, Article, ArticleError, ArticleTooLarge, Limits, PageTooComplex

_TAG = re.compile(r"<[A-Za-z!/?]")
_HIDDEN_OPEN = re.compile(r"<(script|style|template|noscript)\b", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^<>]*>")  # [^<>], not [^>]: linear even on "<<<<..." without a ">"
_SPACE = re.compile(r"\s+")
# Elements whose text is never the article's (for the <p> fallback).
_NON_CONTENT = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "template",
    "iframe",
    "svg",
    "button",
    "select",
)


def _visible_chars(html: str) -> int:
    """Characters outside tags, scripts and styles, whitespace not counted. Linear in the page:
    each hidden block is skipped with one str.find for its end tag."""
    lower = html.lower()
    pieces, pos = [], 0
    while True:
        m = _HIDDEN_OPEN.search(lower, pos)
        if m is None:
            pieces.append(html[pos:])
            break
        pieces.append(html[pos : m.start()])
        end = lower.find("</" + m.group(1).lower(), m.end())
        if end < 0:
            break  # an unclosed script hides the rest of the page
        pos = end  # the end tag itself is removed with the other tags
    visible = _ANY_TAG.sub(" ", "".join(pieces))
    return len(visible) - sum(len(w) for w in _SPACE.findall(visible))


def _precheck(html: str, limits: Limits) -> None:
    """Refuse, before any parsing, a page that is too complex or holds too much text: counting tags
    and the characters outside tags is a linear scan (about 0.1 s for 5 MB), where trafilatura and
    lxml take minutes and gigabytes on a markup bomb."""
    tags = len(_TAG.findall(html))
    if tags > limits.max_html_tags:
        raise PageTooComplex(
            f"the page is too complex: {tags:,} tags, over the limit of {limits.max_html_tags:,} "
            "(max_html_tags); send the article's own HTML or its text, or raise the limit with SLANT_MAX_HTML_TAGS"
        )
    if len(html) <= limits.max_html_text_chars:
        return  # cannot hold more text than that
    n = _visible_chars(html)
    if n > limits.max_html_text_chars:
        raise ArticleTooLarge(
            f"the page holds {n:,} characters of text, over the limit of {limits.max_html_text_chars:,} "
            "(max_html_text_chars); send a shorter page or the article as `text`, or raise the limit "
            "with SLANT_MAX_HTML_TEXT_CHARS"
        )


def _extract_blocks(html: str, url: str | None, max_chars: int | None) -> list[str]:
    """trafilatura's blocks of the article body (paragraphs, list items, table rows)."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        favor_recall=True,
        output_format="xml",
        include_images=False,
        include_links=False,
        include_formatting=False,
    )
    if not xml:
        return []
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError:  # pragma: no cover - trafilatura emits well-formed XML
        txt = trafilatura.extract(html, url=url, include_comments=False, favor_recall=True)
        return (txt or "").split("\n")
    blocks: list[str] = []
    main = root.find("main")
    total = 0
    for el in main if main is not None else root:
        found = _xml_blocks(el)
        blocks.extend(found)
        total += sum(len(b) + 2 for b in found)
        if max_chars is not None and total > max_chars + 2 * len(blocks):
            check_size(
                total, max_chars, "article text extracted from the HTML (at least)", "SLANT_MAX_CHARS", "max_chars"
            )
    return blocks


def _html_text(html: str, url: str | None, max_chars: int | None = None) -> str:
    """The article body of an HTML page as plain text, paragraphs separated by blank lines.
    With ``max_chars``, stops (ArticleTooLarge) as soon as the text passes it."""
    blocks = [b for b in (b.strip() for b in _extract_blocks(html, url, max_chars)) if b]
    if not blocks:
        blocks = _fallback_paragraphs(html)
    return "\n\n".join(blocks)


def _xml_text(el) -> str:
    """Text of a trafilatura XML element; <lb/> becomes a newline, other whitespace collapses."""
    parts: list[str] = []

    def walk(node, top: bool) -> None:
        if node.tag == "lb" or (node.tag == "p" and not top):
            parts.append("\n")
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child, False)
        if node.tag == "p" and not top:
            parts.append("\n")
        if node.tail and not top:
            parts.append(node.tail)

    walk(el, True)
    raw = "".join(parts)
    lines = [" ".join(x.split()) for x in raw.split("\n")]
    return "\n".join(x for x in lines if x)


def _xml_blocks(el) -> list[str]:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "list":
        return [_xml_text(item) for item in el if item.tag == "item"] or [_xml_text(el)]
    if tag == "table":
        rows = []
        for row in el.iter("row"):
            cells = [" ".join(_xml_text(c).split()) for c in row if c.tag == "cell"]
            rows.append(" | ".join(c for c in cells if c))
        return rows
    if tag in ("graphic", "comments", "ref", ""):
        return []
    return [_xml_text(el)]


def _parse_html(html: str):
    import lxml.html
    from lxml import etree

    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        try:
            return lxml.html.document_fromstring(html.encode("utf-8"))
        except (etree.ParserError, ValueError):
            return None


def _fallback_paragraphs(html: str) -> list[str]:
    """lxml's text of the <p> elements, with scripts, styles and navigation removed."""
    doc = _parse_html(html)
    if doc is None:
        return []
    for el in list(doc.iter(*_NON_CONTENT)):
        if el.getparent() is not None:
            el.drop_tree()
    out = []
    for p in doc.iter("p"):
        t = " ".join(p.text_content().split())
        if t:
            out.append(t)
    return out


def _html_title(html: str) -> str | None:
    import trafilatura

    try:
        meta = trafilatura.extract_metadata(html)
    except Exception:  # noqa: BLE001 - metadata is best effort; the body matters
        meta = None
    if meta is not None and meta.title and meta.title.strip():
        return " ".join(meta.title.split())
    doc = _parse_html(html)
    if doc is None:
        return None
    for tag in ("h1", "title"):
        for el in doc.iter(tag):
            t = " ".join(el.text_content().split())
            if t:
                return t
    return None


def from_html(
    html: str, title: str | None = None, url: str | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> Article:
    """An HTML page -> Article; offsets point into the extracted text (``Article.text``).

    trafilatura finds the article body (comments off, favoring recall); scripts, styles and
    navigation never reach the text. If it finds nothing, the text of the <p> elements is used.
    The same furniture cleaning as :func:`text.from_text` then runs on the extracted text.
    """
    check_str(html, "html")
    check_optional(title, url)
    check_empty(html, "article HTML")
    check_size(len(html), limits.max_html_chars, "article HTML", "SLANT_MAX_HTML_CHARS", "max_html_chars")
    _precheck(html, limits)
    text = _html_text(html, url, limits.max_chars)
    if not text.strip():
        raise ArticleError(
            "no article text found in the HTML: neither the content extractor nor the page's <p> "
            "elements held any text; send the page's full HTML, or the article as `text`"
        )
    if title is None or not title.strip():
        title = _html_title(html)
    return from_raw_text(text, title, url, limits, source="HTML")

"""Quoted social posts: embedded tweets, "@user:" lines and ">" quoted blocks become paragraphs of
their own, apart from the article text around them."""

from __future__ import annotations

import re

from .lines import Line

_I = re.IGNORECASE

_SIGNATURE = re.compile(r"[—–-]{1,2}\s*[^\n]{0,80}?\(@\w{1,30}\)")  # "— Name (@handle) March 3, 2023"
_SIGNATURE_START = re.compile(r"^[—–-]{1,2}\s*[^\n]{0,80}?\(@\w{1,30}\)")
_SOCIAL_LINK = re.compile(r"pic\.twitter\.com/\w+|(?:twitter|x)\.com/\w+/status/\d+|instagram\.com/p/|t\.co/\w+", _I)
# "Name (@handle) March 3, 2023" (a post's signature, with or without the leading dash)
_HANDLE_DATE = re.compile(
    r"\(@\w{1,30}\)\s*(?:on\s+)?(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Z][a-z]{2,8}\.?\s+\d{4})"
)
_AT_USER = re.compile(r"^@\w{1,30}\s*:")
_QUOTE_LINE = re.compile(r"^>")


def post_role(line: str) -> str | None:
    """A line's part in quoted material: "opens" a post ("@user: ..."), "quote" (a line of a ">"
    quoted block), "signs" a post (carries its signature), "link" (a link to a post), or None."""
    if _AT_USER.match(line):
        return "opens"
    if _QUOTE_LINE.match(line):
        return "quote"
    if (
        _SIGNATURE_START.match(line)
        or _HANDLE_DATE.search(line)
        or (_SIGNATURE.search(line) and _SOCIAL_LINK.search(line))
    ):
        return "signs"
    if _SOCIAL_LINK.search(line):
        return "link"
    return None


def _is_bare_signature(line: str) -> bool:
    """A line that is only a post's signature ("— Name (@handle) date"); its body precedes it."""
    if _SIGNATURE_START.match(line):
        return True
    m = _HANDLE_DATE.search(line)
    return m is not None and len(line[: m.start()].split()) <= 6 and not line[m.end() :].strip(" .")


def number_posts(lines: list[Line], roles: list[str | None], line_mode: bool) -> None:
    """Number the quoted posts, reading forwards: the lines of one post get one ``Line.post``.

    A post is a run of social lines: an "@user:" line opens a new one, a link line continues the
    open one, a signature line ends it. A line that is only a signature ends a post whose body
    came before it, so the lines since the last break become that post: the link lines and the
    text lines (not an intro ending in ":") of its block; in line mode, where every line is its
    own block, the one text line before the signature and the link lines before that, moved into
    the signature's block (one post, one paragraph).
    """
    post = 0
    post_open = False  # the previous line belongs to a post that has not ended
    body: list[Line] = []  # what a bare signature on this line would take as its post's body
    for ln, role in zip(lines, roles):
        if body and not line_mode and body[-1].block != ln.block:
            body = []
        if role == "signs" and body and _is_bare_signature(ln.text):
            post += 1
            for part in (*body, ln):
                part.kind, part.post = "social", post
                part.block = ln.block
            body, post_open = [], False
            continue
        if ln.kind == "social":
            if role == "opens" or not post_open:
                post += 1
            ln.post = post
        post_open = ln.kind == "social" and role != "signs"
        if role == "link" or (ln.kind == "text" and not ln.text.endswith(":")):
            if line_mode and body and body[-1].kind == "text":
                body = []  # a post's body is a single text line here
            body.append(ln)
        else:
            body = []

"""Article intake: raw text, HTML or a list of paragraphs -> :class:`Article`.

An :class:`Article` is the unit every other part of Slant works on: a title, the text that
character offsets point into, and the paragraphs (each with ``start``/``end`` offsets such that
``article.text[p.start:p.end] == p.text``).

Real input is messy, so intake also removes *site furniture*, the lines a scraper picks up around
the story: site IDs, "Published ..." datelines and bylines, captcha and cookie widgets, share
buttons, "Advertisement", "Read more:" / "Related:" link lines and a headline repeated as the first
line. Furniture is only ever removed as a *whole line*; a real sentence that merely contains a word
like "share" or "published" is kept. Quoted social posts (embedded tweets, ``@user:`` lines,
``>`` quoted blocks) become paragraphs of their own.

Pure Python plus trafilatura/lxml for HTML; this module must never import torch or transformers.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable

__all__ = [
    "Article",
    "ArticleError",
    "DEFAULT_LIMITS",
    "Limits",
    "PageTooComplex",
    "Paragraph",
    "from_html",
    "from_paragraphs",
    "from_text",
    "parse",
]


class ArticleError(ValueError):
    """Input that cannot become an article; the message says what is wrong and how to fix it."""


class ArticleTooLarge(ArticleError):
    """An article over a size limit (characters, paragraphs): HTTP answers it with 413."""


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------

_ENV = {
    "max_chars": "SLANT_MAX_CHARS",
    "max_paragraphs": "SLANT_MAX_PARAGRAPHS",
    "max_paragraph_chars": "SLANT_MAX_PARAGRAPH_CHARS",
    "max_targets": "SLANT_MAX_TARGETS",
    "max_html_chars": "SLANT_MAX_HTML_CHARS",
    "max_html_tags": "SLANT_MAX_HTML_TAGS",
    "max_html_text_chars": "SLANT_MAX_HTML_TEXT_CHARS",
}


@dataclass(frozen=True)
class Limits:
    """Size limits on one article. Every one can be raised with an environment variable."""

    max_chars: int = 200_000  # whole input (text, joined paragraphs, or text extracted from HTML)
    max_paragraphs: int = 500  # after cleaning and splitting
    max_paragraph_chars: int = 2_000  # longer paragraphs are split at sentence boundaries
    max_targets: int = 10
    # Raw HTML is mostly markup, scripts and styles, so it gets its own, larger bound; the text
    # extracted from it must still fit max_chars.
    max_html_chars: int = 5_000_000
    # Checked on the raw page before it is parsed (a cheap scan, see _precheck_html): a page with
    # more tags than this is refused as too complex, and one whose visible text (tags, scripts and
    # styles removed) is over this many characters is refused as too large, before trafilatura and
    # lxml spend minutes and gigabytes on it.
    max_html_tags: int = 100_000
    max_html_text_chars: int = 1_000_000

    def __post_init__(self) -> None:
        for name in _ENV:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ArticleError(f"limit {name} must be a positive integer, got {value!r}")

    @classmethod
    def from_env(cls) -> "Limits":
        """Defaults, overridden by SLANT_MAX_CHARS, SLANT_MAX_PARAGRAPHS,
        SLANT_MAX_PARAGRAPH_CHARS, SLANT_MAX_TARGETS (and SLANT_MAX_HTML_CHARS)."""
        values: dict[str, int] = {}
        for name, var in _ENV.items():
            if os.environ.get(var, "").strip():
                values[name] = env_int(var, getattr(cls, name), error=ArticleError)
        return cls(**values)


DEFAULT_LIMITS = Limits()


def env_int(var: str, default: int, error: type[Exception] = ValueError) -> int:
    """A positive whole number from the environment variable ``var``; ``default`` when unset."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise error(
            f"environment variable {var}={raw!r} is not an integer; set it to a positive "
            f"whole number or unset it to use the default ({default})"
        ) from None
    if value < 1:
        raise error(
            f"environment variable {var}={raw!r} must be at least 1; set it to a positive "
            f"whole number or unset it to use the default ({default})"
        )
    return value


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    index: int
    text: str
    start: int
    end: int  # text == Article.text[start:end] exactly


@dataclass(frozen=True)
class Article:
    title: str | None
    text: str  # the text offsets point into (raw text / extracted text / paragraphs joined by "\n\n")
    paragraphs: tuple[Paragraph, ...]
    url: str | None = None

    def __post_init__(self) -> None:
        for p in self.paragraphs:
            if self.text[p.start : p.end] != p.text:
                raise ArticleError(
                    f"paragraph {p.index} offsets [{p.start}:{p.end}] do not match its text; "
                    "this is a bug in article intake"
                )


# --------------------------------------------------------------------------------------------
# Furniture rules (each applies to a whole stripped line, or to every " | "-separated part of it)
# --------------------------------------------------------------------------------------------

_I = re.IGNORECASE

_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()
_WEEKDAYS = (
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun"
).split()
_DATE_WORDS = set(_MONTHS) | set(_WEEKDAYS) | {
    "ago", "today", "yesterday", "now", "just",
    "second", "seconds", "sec", "secs", "minute", "minutes", "min", "mins", "hour", "hours", "hr",
    "hrs", "h", "day", "days", "week", "weeks", "month", "months", "year", "years",
    "am", "pm", "a.m", "p.m", "gmt", "utc", "bst", "cet", "cest", "est", "edt", "cst", "cdt", "pst",
    "pdt", "mst", "mdt", "ist", "aest", "jst",
    "on", "at", "the", "of", "an", "a", "st", "nd", "rd", "th", "local", "time",
}
# words that make a date token "real" (not just filler like "on" / "at")
_DATE_ANCHORS = set(_MONTHS) | set(_WEEKDAYS) | {"ago", "today", "yesterday"}

_DATELINE_KEY = re.compile(
    r"^(?:(?:first|last|originally)\s+)?(?:published|updated|posted|modified|edited|created|date|"
    r"dated|released)(?:\s+(?:on|at))?\s*[:\-–—]?\s*",
    _I,
)
_ID_LINE = re.compile(
    r"^(?:(?:article|story|post|news|site|page|content|document|doc|item|ref(?:erence)?)\s*)?"
    r"id\s*(?:no\.?|number|#|:|\.|-)?\s*[:#]?\s*[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*$",
    _I,
)
_NAME_WORD = r"(?:[A-Z][\w.'’-]*|[A-Z]\.)"
_NAME = rf"{_NAME_WORD}(?:\s+(?:{_NAME_WORD}|van|von|de|da|del|der|la|le|bin|al|el|di)){{0,4}}"
_BYLINE = re.compile(
    rf"^(?:(?:[Bb]y|BY|[Ww]ritten\s+by|[Ww]ords\s+by|[Rr]eporting\s+by|[Ee]diting\s+by|"
    rf"[Aa]uthor|[Rr]eporter|[Ss]taff\s+[Ww]riter)\s*:?\s+)"
    rf"{_NAME}(?:\s*(?:,|&|\band\b|;|\u2013|\u2014|-)\s*(?:[Ee]diting\s+by\s+)?{_NAME})*\.?$"
)
_WIDGET = re.compile(
    r"^(?:security\s+(?:key|code|question|check)\b.*|captcha\b.*|.*\bcaptcha\s*$|"
    r"(?:refresh|reload)(?:\s+(?:captcha|image|code))?\s*$|"
    r"page\s+generated\s+in\b.*|(?:page\s+)?(?:rendered|generated|loaded)\s+in\s+[\d.,]+\s*"
    r"(?:s|sec|secs|seconds|ms|milliseconds)\.?|"
    r"(?:please\s+)?(?:enter|type)\s+(?:the\s+)?(?:code|characters|text|security\s+code|"
    r"captcha|letters|numbers|word)s?\b.*|"
    r"(?:i(?:'|’)?m|i am)\s+not\s+a\s+robot\.?|verification\s+code\s*:?.*)$",
    _I,
)
_COOKIE = re.compile(
    r"\b(?:(?:we|this\s+(?:web)?site|our\s+(?:web)?site|we\s+and\s+our\s+partners)\s+"
    r"(?:use|uses|store|place)\s+cookies|accept\s+(?:all\s+)?cookies|cookies?\s+(?:policy|settings|"
    r"preferences|consent|notice)|by\s+(?:continuing\s+to\s+(?:use|browse)|using)\s+(?:this|our)\s+"
    r"(?:web)?site|manage\s+(?:your\s+)?(?:cookie|consent|privacy)\s*(?:preferences|settings|"
    r"choices)?)\b",
    _I,
)
_BUTTONS = re.compile(
    r"^(?:accept|accept\s+all|accept\s+all\s+cookies|accept\s+cookies|reject|reject\s+all|decline|"
    r"allow\s+all|allow\s+cookies|necessary\s+cookies\s+only|manage\s+preferences|manage\s+options|"
    r"manage\s+cookies|cookie\s+settings|more\s+options|got\s+it|i\s+agree|agree|ok|okay|close|"
    r"dismiss|skip\s+to\s+(?:main\s+)?content|skip\s+navigation|menu|search|home|subscribe|"
    r"subscribe\s+now|sign\s+in|sign\s+up|log\s*in|log\s*out|register|newsletter|"
    r"sign\s+up\s+(?:for|to)\s+(?:our|the)\s+newsletter.*|back\s+to\s+top|top\s+stories|"
    r"\d+\s+comments?|comments?(?:\s*\(\d+\))?|show\s+comments|view\s+comments|leave\s+a\s+comment|"
    r"getty\s+images|(?:image|photo|picture|video)\s+(?:source|credit)s?\s*[:,]?.{0,60})\.?$",
    _I,
)
_SHARE_WORD = (
    r"(?:share(?:\s+(?:on|via|to|with))?(?:\s+(?:this|the)\s+(?:article|story|page|post|link))?|"
    r"tweet|retweet|email|e-mail|mail|print|whatsapp|facebook|twitter|x|linkedin|pinterest|reddit|"
    r"telegram|messenger|flipboard|tumblr|copy\s+link|copy\s+url|copy|link|save|bookmark|"
    r"comment|comments|\d+\s+shares?|shares?)"
)
_SHARE = re.compile(rf"^(?:{_SHARE_WORD}\b[\s|•·,/:\-–—]*)+$", _I)
_FOLLOW = re.compile(
    r"^(?:follow|like|find)\s+(?:us|@\w+|[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3})\s+on\s+"
    r"(?:facebook|twitter|x|instagram|linkedin|tiktok|youtube|threads|bluesky|social\s+media|"
    r"google\s+news|telegram|whatsapp)\b.*$",
    _I,
)
_ADVERT = re.compile(
    r"^(?:advertisement|advertisements|advert|adverts|ad|ads|sponsored|sponsored\s+content|"
    r"promoted|promoted\s+content|paid\s+(?:post|content)|partner\s+content|"
    r"(?:advertisement\s*[-–—:]?\s*)?(?:scroll|continue)\s+(?:down\s+)?to\s+continue(?:\s+reading)?|"
    r"story\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?(?:advertisement|advert|ad))?|"
    r"article\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?(?:advertisement|advert|ad))?|"
    r"continue\s+reading(?:\s+(?:the\s+)?(?:main\s+)?(?:story|article|below))?)\.?$",
    _I,
)
_LINK_LINE = re.compile(
    r"^(?:read\s+more|read\s+also|also\s+read|read\s+next|more|related|related\s+(?:articles?|"
    r"stories|story|coverage|content|links?|news|topics?)|see\s+also|more\s+on\s+this(?:\s+story)?|"
    r"more\s+from\s+[\w .&'-]{1,40}|recommended(?:\s+for\s+you)?|you\s+(?:may|might)\s+also\s+like|"
    r"watch|listen|trending|popular|most\s+read|editor(?:'|’)?s\s+picks?|must\s+read|"
    r"further\s+reading)\s*(?:[:\-–—|»>]|$)",
    _I,
)
_BARE_LINK_HEADINGS = re.compile(
    r"^(?:read\s+more|related|related\s+(?:articles?|stories|coverage|content)|see\s+also|"
    r"recommended(?:\s+for\s+you)?|you\s+(?:may|might)\s+also\s+like|most\s+read|trending(?:\s+now)?|"
    r"more\s+stories|latest\s+news|top\s+stories)\s*[:.]?$",
    _I,
)

_BREADCRUMB = re.compile(
    r"^(?:[A-Z0-9][\w&'’.-]*(?:\s+[\w&'’.-]+){0,3})(?:\s*[>»›]\s*[A-Z0-9][\w&'’.-]*(?:\s+[\w&'’.-]+){0,3}){1,6}$"
)

# Quoted social posts ------------------------------------------------------------------------
_SIGNATURE = re.compile(r"[—–-]{1,2}\s*[^\n]{0,80}?\(@\w{1,30}\)")  # "— Name (@handle) March 3, 2023"
_SIGNATURE_START = re.compile(r"^[—–-]{1,2}\s*[^\n]{0,80}?\(@\w{1,30}\)")
_SOCIAL_LINK = re.compile(
    r"pic\.twitter\.com/\w+|(?:twitter|x)\.com/\w+/status/\d+|instagram\.com/p/|t\.co/\w+", _I
)
# "Name (@handle) March 3, 2023" (a post's signature, with or without the leading dash)
_HANDLE_DATE = re.compile(
    r"\(@\w{1,30}\)\s*(?:on\s+)?(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Z][a-z]{2,8}\.?\s+\d{4})"
)
_AT_USER = re.compile(r"^@\w{1,30}\s*:")
_QUOTE_LINE = re.compile(r"^>")

_SENTENCE_END = ('.', '!', '?', '…', '"', '”', '’', "'", ')', ':', ';')


def _words(s: str) -> list[str]:
    return s.split()


def _is_date_part(part: str, *, keyed: bool) -> bool:
    """True if ``part`` is only a date/time (optionally after a "Published"-style key)."""
    rest = part
    if keyed:
        m = _DATELINE_KEY.match(part)
        if not m or m.end() == 0:
            return False
        rest = part[m.end():]
    tokens = [t for t in re.split(r"[\s,/|:.()\[\]–—-]+", rest.lower()) if t]
    if not tokens or len(tokens) > 14:
        return False
    anchored = False
    for t in tokens:
        t2 = t.rstrip(".")
        if re.fullmatch(r"\d{1,4}(?:st|nd|rd|th|h|am|pm|s)?", t2):
            anchored = True
        elif t2 in _DATE_WORDS:
            anchored = anchored or t2 in _DATE_ANCHORS
        else:
            return False
    return anchored


def _is_byline(part: str) -> bool:
    if len(_words(part)) > 14 or not _BYLINE.match(part):
        return False
    after = re.sub(r"^\S+\s+(?:by\s+)?:?\s*", "", part, flags=_I)
    first = after.split()[0].lower().strip(",.") if after.split() else ""
    return first not in _DATE_WORDS  # "By Tuesday" is not a byline


def _is_site_name(part: str) -> bool:
    """A short capitalised name like "Reuters" or "The Daily Planet" (only next to other furniture)."""
    w = _words(part)
    return 1 <= len(w) <= 4 and all(x[:1].isupper() or x[:1].isdigit() or x in {"of", "the", "&"} for x in w)


_SPLIT_PARTS = re.compile(r"\s+[|•·]\s+|\s*\|\s*")


def _is_furniture_part(part: str) -> bool:
    p = part.strip().strip("|•·").strip()
    if not p:
        return True
    if _ID_LINE.match(p):
        return True
    if _is_date_part(p, keyed=True) or _is_date_part(p, keyed=False):
        return True
    if _is_byline(p):
        return True
    return False


def is_furniture(line: str) -> bool:
    """Whether a whole (stripped) line is site furniture. Real sentences are never furniture."""
    s = line.strip()
    if not s:
        return True
    n_words = len(_words(s))
    if n_words > 70:  # furniture is short; long lines are text (and skip the regexes)
        return False
    if n_words <= 14 and _WIDGET.match(s):
        return True
    if _COOKIE.search(s):
        return True
    if n_words <= 12 and _BUTTONS.match(s):
        return True
    if n_words <= 16 and (_SHARE.match(s) or _FOLLOW.match(s)):
        return True
    if n_words <= 12 and (_ADVERT.match(s) or _BARE_LINK_HEADINGS.match(s)):
        return True
    if n_words <= 20 and _BREADCRUMB.match(s):  # "News > World > Europe"
        return True
    if n_words <= 30 and _LINK_LINE.match(s):
        return True
    if n_words > 30:
        return False
    # Datelines, IDs and bylines, possibly several joined by "|" ("By Jane Doe | Reuters").
    parts = [p for p in _SPLIT_PARTS.split(s) if p.strip()]
    if len(parts) == 1:
        return _is_furniture_part(parts[0])
    flags = [_is_furniture_part(p) for p in parts]
    if all(flags):
        return True
    # a site name ("Reuters") is furniture only when it sits next to a dateline/byline
    return any(flags) and all(f or _is_site_name(p) for f, p in zip(flags, parts))


# --------------------------------------------------------------------------------------------
# Lines, blocks and paragraphs
# --------------------------------------------------------------------------------------------


@dataclass
class _Line:
    start: int  # offsets of the stripped content in the source text
    end: int
    text: str
    kind: str = "text"  # text | furniture | social | quote
    new_post: bool = False  # starts a new social post
    end_post: bool = False  # ends a social post (signature line)
    block: int = 0


def _lines(text: str) -> list[_Line | None]:
    """Stripped non-empty lines with offsets; ``None`` marks a blank line."""
    out: list[_Line | None] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            s = pos + lead
            out.append(_Line(s, s + len(stripped), stripped))
        else:
            out.append(None)
        pos += len(raw) + 1
    return out


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", s.casefold()).split())


def _is_headline_like(s: str) -> bool:
    return len(_words(s)) <= 25 and len(s) <= 250 and not s.endswith(_SENTENCE_END[:4])


def _same_headline(line: str, title: str) -> bool:
    a, b = _norm(line), _norm(title)
    if not a or not b:
        return False
    if a == b:
        return True
    # "Headline" vs "Headline | Site name" (either way round), for short unpunctuated lines
    if _is_headline_like(line) and len(a) >= 12 and len(b) >= 12:
        return (a in b or b in a) and min(len(a), len(b)) >= 0.5 * max(len(a), len(b))
    return False


def _is_bare_signature(s: str) -> bool:
    """A line that is only a post's signature ("— Name (@handle) date"); its body precedes it."""
    if _SIGNATURE_START.match(s):
        return True
    m = _HANDLE_DATE.search(s)
    return bool(m) and len(s[: m.start()].split()) <= 6 and not s[m.end():].strip(" .")


def _classify(lines: list[_Line], line_mode: bool) -> None:
    """Mark each line's kind; social posts are grouped by new_post/end_post flags."""
    for ln in lines:
        s = ln.text
        if _AT_USER.match(s):
            ln.kind, ln.new_post = "social", True
        elif _QUOTE_LINE.match(s):
            ln.kind = "quote"
        elif _SIGNATURE_START.match(s) or _HANDLE_DATE.search(s) or (
            _SIGNATURE.search(s) and _SOCIAL_LINK.search(s)
        ):
            ln.kind, ln.end_post = "social", True
        elif _SOCIAL_LINK.search(s):
            ln.kind = "social"
        elif is_furniture(s):
            ln.kind = "furniture"
    # A signature line ("— Name (@handle) date") ends a post whose body precedes it.
    for i, ln in enumerate(lines):
        if not (ln.end_post and _is_bare_signature(ln.text)):
            continue
        j = i - 1
        took_text = False
        while j >= 0:
            prev = lines[j]
            if prev.block != ln.block and not line_mode:
                break
            if prev.kind == "furniture" or prev.end_post or prev.new_post:
                break
            if prev.kind == "social":
                took_text = True  # a "... pic.twitter.com/..." line carries the post's body
                j -= 1
                continue
            if prev.kind != "text" or prev.text.endswith(":"):
                break
            if line_mode and took_text:  # in line mode a post's body is a single line
                break
            prev.kind = "social"
            took_text = True
            j -= 1
        if j + 1 < i:
            lines[j + 1].new_post = True
            if line_mode:  # one post, one paragraph, though every line is its own block
                for k in range(j + 1, i):
                    lines[k].block = ln.block


def _drop_headline(lines: list[_Line], title: str | None) -> str | None:
    """Drop a headline repeated at the top; return the title (found one if none was given)."""
    content = [ln for ln in lines if ln.kind == "text"]
    if not content:
        return title
    if title is not None and title.strip():
        # the headline repeated as the first line(s)
        for ln in content[:5]:  # near the top, after breadcrumbs and the like
            if _same_headline(ln.text, title):
                ln.kind = "furniture"
        return title
    first = content[0]
    if not _is_headline_like(first.text) or len(first.text) < 3:
        return title
    repeats = [ln for ln in content[1:6] if _is_headline_like(ln.text) and _same_headline(ln.text, first.text)]
    if not repeats:
        return title
    found = min([first, *repeats], key=lambda ln: len(ln.text)).text
    for ln in (first, *repeats):
        ln.kind = "furniture"
    return found


def _group(lines: list[_Line]) -> list[tuple[int, int]]:
    """Runs of kept lines that form one paragraph -> (start, end) offsets."""
    spans: list[tuple[int, int]] = []
    cur: list[_Line] = []

    def close() -> None:
        if cur:
            spans.append((cur[0].start, cur[-1].end))
            cur.clear()

    for ln in lines:
        if ln.kind == "furniture":
            close()
            continue
        if cur and (
            cur[-1].block != ln.block
            or cur[-1].kind != ln.kind
            or ln.new_post
            or cur[-1].end_post
        ):
            close()
        cur.append(ln)
    close()
    return spans


_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "u.s", "u.k",
    "u.n", "no", "gov", "sen", "rep", "gen", "col", "lt", "sgt", "capt", "cmdr", "adm", "maj",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "inc",
    "ltd", "co", "corp", "mt", "ft", "approx", "dept", "fig", "vol", "pres", "rev", "hon", "est",
}
_SENT_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split text[start:end] into stripped sentence spans (absolute offsets)."""
    seg = text[start:end]
    cuts = [0]
    for m in _SENT_BOUNDARY.finditer(seg):
        before = seg[max(0, m.start() - 12) : m.start() + 1]
        word = re.search(r"([\w.]+)\.$", before)
        if m.group().startswith(".") and word:
            w = word.group(1).lower()
            if w in _ABBREV or re.fullmatch(r"[a-z]", w):  # "Mr." / initials "J."
                continue
        cuts.append(m.end())
    cuts.append(len(seg))
    spans = []
    for a, b in zip(cuts, cuts[1:]):
        piece = seg[a:b]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + a + lead, start + a + len(piece.rstrip())))
    return spans


def _split_words(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Split one over-long sentence at whitespace (hard cut only if a single token is too long)."""
    out = []
    cur = start
    while end - cur > limit:
        window = text[cur : cur + limit + 1]
        ws = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        cut = cur + ws if ws > 0 else cur + limit
        piece_end = cut
        while piece_end > cur and text[piece_end - 1].isspace():
            piece_end -= 1
        out.append((cur, piece_end))
        cur = cut
        while cur < end and text[cur].isspace():
            cur += 1
    if cur < end:
        out.append((cur, end))
    return out


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    if end - start <= limit:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    for s, e in _sentence_spans(text, start, end):
        pieces.extend(_split_words(text, s, e, limit) if e - s > limit else [(s, e)])
    out: list[tuple[int, int]] = []
    cs, ce = pieces[0]
    for s, e in pieces[1:]:
        if e - cs <= limit:
            ce = e
        else:
            out.append((cs, ce))
            cs, ce = s, e
    out.append((cs, ce))
    return out


def _finish(
    text: str,
    spans: Iterable[tuple[int, int]],
    title: str | None,
    url: str | None,
    limits: Limits,
    source: str,
) -> Article:
    final: list[tuple[int, int]] = []
    for s, e in spans:
        if not _visible(text[s:e]):  # e.g. a line of zero-width spaces
            continue
        final.extend(_split_long(text, s, e, limits.max_paragraph_chars))
    if not final:
        raise ArticleError(
            f"no article text left after removing site furniture from the {source}; every line "
            "looked like an ID, dateline, byline, share button, widget, advertisement or link "
            "line. Send the article body itself, or pass it as `paragraphs` to skip cleaning"
        )
    if len(final) > limits.max_paragraphs:
        raise ArticleTooLarge(
            f"article has {len(final):,} paragraphs after cleaning and splitting, over the limit "
            f"of {limits.max_paragraphs:,}; send a shorter article or raise the limit with "
            f"SLANT_MAX_PARAGRAPHS"
        )
    paragraphs = tuple(Paragraph(i, text[s:e], s, e) for i, (s, e) in enumerate(final))
    title = title.strip() if isinstance(title, str) and title.strip() else None
    return Article(title=title, text=text, paragraphs=paragraphs, url=url)


def _check_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ArticleError(f"`{name}` must be a string, got {type(value).__name__}")
    return value


def _check_optional(title: object, url: object) -> None:
    if title is not None:
        _check_str(title, "title")
    if url is not None:
        _check_str(url, "url")


def _check_size(n: int, limit: int, what: str, var: str, attr: str) -> None:
    if n > limit:
        raise ArticleTooLarge(
            f"{what} is {n:,} characters, over the limit of {limit:,} ({attr}); send a shorter "
            f"article or raise the limit with {var}"
        )


# Characters that show nothing: whitespace, control characters, the soft hyphen, zero-width
# spaces/joiners and direction marks, word joiners and invisible operators, the BOM. A text made
# only of these is empty. (The OpenAPI spec uses the same class: serving/openapi.py.)
INVISIBLE = "\\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff\ufff9-\ufffb"
_VISIBLE = re.compile(f"[^{INVISIBLE}]")


def _visible(text: str) -> bool:
    """Whether ``text`` holds a character a reader can see."""
    return _VISIBLE.search(text) is not None


def _check_empty(text: str, what: str) -> None:
    if not text.strip() or not _visible(text):
        raise ArticleError(f"{what} is empty or only whitespace (or invisible characters); send the article's text")


# --------------------------------------------------------------------------------------------
# Public constructors
# --------------------------------------------------------------------------------------------


def from_text(
    text: str, title: str | None = None, url: str | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> Article:
    """Raw (possibly scraped) text -> Article; offsets point into ``text`` itself."""
    return _from_text(text, title, url, limits, source="text")


def _from_text(text: str, title: str | None, url: str | None, limits: Limits, source: str) -> Article:
    _check_str(text, "text")
    _check_optional(title, url)
    _check_empty(text, "article text" if source == "text" else "text extracted from the HTML")
    _check_size(len(text), limits.max_chars, f"article {source if source == 'text' else 'text extracted from the HTML'}",
                "SLANT_MAX_CHARS", "max_chars")
    raw_lines = _lines(text)
    has_blank = False
    seen_content = False
    for i, ln in enumerate(raw_lines):
        if ln is not None:
            if seen_content and raw_lines[i - 1] is None:
                has_blank = True
                break
            seen_content = True
    line_mode = not has_blank  # no blank lines anywhere: every line is its own paragraph
    lines: list[_Line] = []
    block = 0
    prev_blank = True
    for ln in raw_lines:
        if ln is None:
            prev_blank = True
            continue
        if line_mode or prev_blank:
            block += 1
        ln.block = block
        prev_blank = False
        lines.append(ln)
    _classify(lines, line_mode)
    title = _drop_headline(lines, title)
    return _finish(text, _group(lines), title, url, limits, source)


def from_paragraphs(
    paragraphs: list[str],
    title: str | None = None,
    url: str | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Article:
    """Already-split paragraphs -> Article; ``text`` is them joined with "\\n\\n".

    The caller chose these paragraphs, so no furniture is removed; empty ones are skipped and
    over-long ones are split at sentence boundaries.
    """
    if isinstance(paragraphs, (str, bytes)) or not isinstance(paragraphs, (list, tuple)):
        raise ArticleError(
            f"`paragraphs` must be a list of strings, got {type(paragraphs).__name__}; "
            "send [\"first paragraph\", \"second paragraph\", ...] or use `text`"
        )
    for i, p in enumerate(paragraphs):
        if not isinstance(p, str):
            raise ArticleError(
                f"`paragraphs[{i}]` must be a string, got {type(p).__name__}; send a list of strings"
            )
    if len(paragraphs) > limits.max_paragraphs:  # the list as sent, empty items included
        raise ArticleTooLarge(
            f"`paragraphs` holds {len(paragraphs):,} items, over the limit of {limits.max_paragraphs:,}; "
            "send a shorter article or raise the limit with SLANT_MAX_PARAGRAPHS"
        )
    _check_optional(title, url)
    text = "\n\n".join(paragraphs)
    if not text.strip() or not _visible(text):
        raise ArticleError("`paragraphs` is empty or holds only whitespace; send at least one non-empty paragraph")
    _check_size(len(text), limits.max_chars, "article text (paragraphs joined)", "SLANT_MAX_CHARS", "max_chars")
    spans = []
    pos = 0
    for p in paragraphs:
        stripped = p.strip()
        if stripped:
            lead = len(p) - len(p.lstrip())
            spans.append((pos + lead, pos + lead + len(stripped)))
        pos += len(p) + 2
    return _finish(text, spans, title, url, limits, "paragraphs")


class PageTooComplex(ArticleTooLarge):
    """A page whose markup would take too long or too much memory to parse (answered with 422)."""


_TAG = re.compile(r"<[A-Za-z!/?]")
_HIDDEN_OPEN = re.compile(r"<(script|style|template|noscript)\b", re.I)
_ANY_TAG = re.compile(r"<[^<>]*>")  # [^<>], not [^>]: linear even on "<<<<..." without a ">"
_SPACE = re.compile(r"\s+")


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
        pieces.append(html[pos:m.start()])
        end = lower.find("</" + m.group(1).lower(), m.end())
        if end < 0:
            break  # an unclosed script hides the rest of the page
        pos = end  # the end tag itself is removed with the other tags
    visible = _ANY_TAG.sub(" ", "".join(pieces))
    return len(visible) - sum(len(w) for w in _SPACE.findall(visible))


def _precheck_html(html: str, limits: Limits) -> None:
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


def _html_text(html: str, url: str | None, max_chars: int | None = None) -> str:
    """The article body of an HTML page as plain text, paragraphs separated by blank lines.
    With ``max_chars``, stops (ArticleTooLarge) as soon as the text passes it."""
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
    blocks: list[str] = []
    if xml:
        try:
            root = etree.fromstring(xml.encode("utf-8"))
        except etree.XMLSyntaxError:
            root = None
        if root is not None:
            main = root.find("main")
            total = 0
            for el in (main if main is not None else root):
                found = _xml_blocks(el)
                blocks.extend(found)
                total += sum(len(b) + 2 for b in found)
                if max_chars is not None and total > max_chars + 2 * len(blocks):
                    _check_size(total, max_chars, "article text extracted from the HTML (at least)",
                                "SLANT_MAX_CHARS", "max_chars")
        else:  # pragma: no cover - trafilatura emits well-formed XML
            txt = trafilatura.extract(html, url=url, include_comments=False, favor_recall=True)
            blocks = [ln for ln in (txt or "").split("\n")]
    blocks = [b for b in (b.strip() for b in blocks) if b]
    if not blocks:
        blocks = _fallback_paragraphs(html)
    return "\n\n".join(blocks)


def _xml_text(el) -> str:
    """Text of a trafilatura XML element; <lb/> becomes a newline, other whitespace collapses."""
    parts: list[str] = []

    def walk(node, top: bool) -> None:
        if node.tag == "lb":
            parts.append("\n")
        elif node.tag == "p" and not top:
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


_NON_CONTENT = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template",
                "iframe", "svg", "button", "select")


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
    The same furniture cleaning as :func:`from_text` then runs on the extracted text.
    """
    _check_str(html, "html")
    _check_optional(title, url)
    _check_empty(html, "article HTML")
    _check_size(len(html), limits.max_html_chars, "article HTML", "SLANT_MAX_HTML_CHARS", "max_html_chars")
    _precheck_html(html, limits)
    text = _html_text(html, url, limits.max_chars)
    if not text.strip():
        raise ArticleError(
            "no article text found in the HTML: neither the content extractor nor the page's <p> "
            "elements held any text; send the page's full HTML, or the article as `text`"
        )
    if title is None or not title.strip():
        title = _html_title(html)
    return _from_text(text, title, url, limits, source="HTML")


def parse(
    *,
    text: str | None = None,
    html: str | None = None,
    paragraphs: list[str] | None = None,
    title: str | None = None,
    url: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Article:
    """Exactly one of ``text`` / ``html`` / ``paragraphs`` -> Article."""
    given = [name for name, v in (("text", text), ("html", html), ("paragraphs", paragraphs)) if v is not None]
    if len(given) != 1:
        which = "none was given" if not given else f"got {', '.join(given)}"
        raise ArticleError(
            f"send exactly one of `text`, `html` or `paragraphs` for an article; {which}"
        )
    if text is not None:
        return from_text(text, title, url, limits=limits)
    if html is not None:
        return from_html(html, title, url, limits=limits)
    return from_paragraphs(paragraphs, title, url, limits=limits)  # type: ignore[arg-type]

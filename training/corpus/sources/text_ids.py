"""A short id of a normalised text: the article and group id of sources whose records carry no
document id (VAST posts, FinEntity passages, Park et al. sentences)."""

from __future__ import annotations

import hashlib

from slant.text_key import norm_key


def text_id(text: str) -> str:
    """The first 16 hex digits of the sha1 of the text's norm_key: copies of a text share it."""
    return hashlib.sha1(norm_key(text).encode("utf-8")).hexdigest()[:16]

"""Feedback: labeled corrections that users send (``POST /feedback``, ``slant feedback import``) and
retraining reads (``slant retrain``).

- ``models.py``: a correction as it is sent, one pydantic model per task (the OpenAPI schema too),
  and ``Correction``, a validated one;
- ``validate.py``: validation, and the messages that say what is wrong with an item;
- ``store.py``: the store (all-or-nothing batches, many writers, a capped size, a versioned schema)
  and its JSONL export and import; ``backends.py``: what differs between its two engines, a SQLite
  file and a PostgreSQL database that several replicas share; ``location.py``: which store
  ``SLANT_FEEDBACK_URL`` / ``SLANT_FEEDBACK_DB`` name.

A correction (one row of table ``feedback``, on either engine):

==============  ==============================================================================
``task``        ``stance`` | ``frames`` | ``techniques`` | ``bias``
``text``        the paragraph (non-empty, at most ``MAX_TEXT_CHARS`` characters), stored as sent
``target``      stance only, required there: the entity or proposition (<= ``MAX_TARGET_CHARS``)
``labels``      JSON list; stance: exactly one of favor/against/neutral; bias: exactly one of
                neutral/biased; frames and techniques: zero or more of their labels (an empty list
                says "none of them applies"). Items may send ``label`` (one string) instead.
``spans``       bias only, optional: loaded words as ``[[start, end], ...]`` character offsets into
                ``text`` (0 <= start < end <= len(text)); only with the label ``biased``
``article_id``  optional, groups paragraphs of one article
``annotator``   optional, who says they labeled it (self-declared: not an identity)
``principal``   who sent it, as the service authenticated it: ``key:<12 hex>`` for an API key,
                empty for an unauthenticated (loopback) request; ``cli`` for ``slant feedback
                import`` without one. Retraining counts votes per principal (training/retrain.py)
``text_hash``   SHA-256 of the text's key (``slant.text_key``: lowercase, punctuation stripped,
                whitespace collapsed): the key for deduplication and the held-out split in retraining
``created_at``  UTC, ISO 8601
==============  ==============================================================================
"""

"""Helpers for tests that reopen a store, or name it to a subprocess (CLI, writer processes)."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from slant.feedback.store import FeedbackStore


def target(store: FeedbackStore) -> str:
    """What opens ``store`` again (a path, or the URL with its password)."""
    return store._location.target


def store_env(store: FeedbackStore) -> dict[str, str]:
    """The environment that names ``store``, as an operator would set it."""
    if store.engine == "postgresql":
        return {"SLANT_FEEDBACK_URL": target(store), "SLANT_FEEDBACK_DB": ""}
    return {"SLANT_FEEDBACK_DB": target(store), "SLANT_FEEDBACK_URL": ""}


def with_options(url: str, extra: str) -> str:
    """A PostgreSQL URL with ``extra`` added to its ``options`` (server settings: ``-cname=value``)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    if not any(k == "options" for k, _ in query):
        query.append(("options", ""))
    query = [(k, f"{v} {extra}".strip() if k == "options" else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))

"""Where the feedback store is: a SQLite file or a PostgreSQL database, named by a path or a URL.

- ``SLANT_FEEDBACK_URL`` empty: the SQLite file ``$SLANT_FEEDBACK_DB`` (default
  ``~/.slant/feedback.sqlite3``), as before there were URLs;
- ``sqlite:///relative/file.sqlite3``, ``sqlite:////absolute/file.sqlite3`` (SQLAlchemy's form: the
  path is what follows ``sqlite:///``; ``~`` is expanded);
- ``postgresql://user:password@host:port/database?sslmode=...`` (or ``postgres://``): anything
  libpq accepts in a URL. One database shared by every service replica and by ``slant retrain``.

Standard library only: slant.settings checks the URL with it when the settings are read, so a bad
one stops ``bentoml serve`` at startup. A password never leaves this module except in
``Location.target`` (what the driver connects with): ``shown`` and every message redact it.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

DEFAULT_DB = Path("~/.slant/feedback.sqlite3")
POSTGRES_SCHEMES = ("postgresql", "postgres")
ACCEPTED = (
    "postgresql://user:password@host:5432/database (or postgres://...; a PostgreSQL database that several "
    "services share), sqlite:///path/to/feedback.sqlite3 (a SQLite file), or empty for the SQLite file "
    "$SLANT_FEEDBACK_DB (default ~/.slant/feedback.sqlite3)"
)
POSTGRES_EXTRA = "pip install 'slant[postgres]'"


class LocationError(ValueError):
    """A store location Slant cannot use; the message says what was found, what is accepted and the fix."""


@dataclass(frozen=True)
class Location:
    engine: Literal["sqlite", "postgresql"]
    target: str  # the SQLite file's path, or the full PostgreSQL URL (password included: never print it)

    @property
    def path(self) -> Path | None:
        """The SQLite file; None for PostgreSQL."""
        return Path(self.target) if self.engine == "sqlite" else None

    @property
    def shown(self) -> str:
        """For messages and logs: the file's path, or the URL with its password replaced by ***."""
        return self.target if self.engine == "sqlite" else redact(self.target)

    def scrub(self, message: str) -> str:
        """``message`` with this location's password (if any) replaced by ***, for errors a driver wrote."""
        password = _password(self.target) if self.engine == "postgresql" else ""
        return message.replace(password, "***") if password else message


def redact(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` as ``scheme://user:***@``; also ``password=...``
    query parameters (libpq accepts both)."""
    text = re.sub(r"(?i)([a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", text)


def _password(url: str) -> str:
    try:
        parts = urlsplit(url)
        found = parts.password or ""
    except ValueError:
        found = ""
    query = re.search(r"(?i)password=([^&\s]*)", url)
    return found or (query.group(1) if query else "")


def parse(value: str | Path, *, source: str = "the feedback store") -> Location:
    """A path (a SQLite file) or a URL (``sqlite:///...``, ``postgresql://...``); LocationError for
    an unknown scheme or, for PostgreSQL, when psycopg is not installed. ``source`` names where the
    value came from in messages (``SLANT_FEEDBACK_URL``)."""
    raw = str(value).strip()
    if "://" not in raw:
        if not raw:
            raise LocationError(f"{source}: found an empty location; expected {ACCEPTED}")
        return Location("sqlite", str(Path(raw).expanduser()))
    scheme = raw.split("://", 1)[0].lower()
    if scheme == "sqlite":
        path = raw[len("sqlite:///") :] if raw.lower().startswith("sqlite:///") else ""
        if not path:
            raise LocationError(
                f"{source}: found {raw!r}, a sqlite URL without a file; expected sqlite:///relative/path or "
                "sqlite:////absolute/path (three slashes, then the path)"
            )
        return Location("sqlite", str(Path(path).expanduser()))
    if scheme in POSTGRES_SCHEMES:
        if importlib.util.find_spec("psycopg") is None:
            raise LocationError(
                f"{source}: {redact(raw)} needs the PostgreSQL driver (psycopg), which is not installed; "
                f"fix: {POSTGRES_EXTRA}"
            )
        return Location("postgresql", raw)
    hint = ""
    if scheme.startswith("postgresql+") or scheme.startswith("postgres+"):
        hint = f" (write postgresql://{raw.split('://', 1)[1].split('@')[-1]} without the driver suffix)"
    raise LocationError(
        f"{source}: found a {scheme!r} URL ({redact(raw)}); Slant's feedback store accepts {ACCEPTED}. "
        f"Fix: set it to one of those{hint}"
    )


def configured(feedback_url: str, feedback_db: str) -> Location:
    """The store the settings name: ``SLANT_FEEDBACK_URL`` if set, else the SQLite file
    ``SLANT_FEEDBACK_DB``, else ``~/.slant/feedback.sqlite3``."""
    if feedback_url.strip():
        return parse(feedback_url, source="SLANT_FEEDBACK_URL")
    return Location("sqlite", str(Path(feedback_db.strip() or DEFAULT_DB).expanduser()))


def check_setting(feedback_url: str, feedback_db: str) -> None:
    """For slant.settings: a bad ``SLANT_FEEDBACK_URL``, or both variables set, raise LocationError."""
    if not feedback_url.strip():
        return
    parse(feedback_url, source="SLANT_FEEDBACK_URL")
    if feedback_db.strip():
        raise LocationError(
            f"SLANT_FEEDBACK_URL and SLANT_FEEDBACK_DB ({feedback_db!r}) are both set, and they could name two "
            "different stores; set only SLANT_FEEDBACK_URL (a SQLite file is sqlite:///path) and unset "
            "SLANT_FEEDBACK_DB"
        )

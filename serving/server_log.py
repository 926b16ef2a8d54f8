"""The server's log: Slant's own lines (one per refused request, readiness, parse workers) at INFO
on stderr beside BentoML's, and no BentoML traceback for a request that ends as a 4xx."""

from __future__ import annotations

import logging

from slant.settings import settings


class _ClientErrorFilter(logging.Filter):
    """Drops BentoML's "Exception on /path" ERROR record (with its traceback) when the exception
    is a request-validation error that ends as a 4xx."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            return False
        code = getattr(getattr(exc, "error_code", None), "value", None)
        return not (isinstance(code, int) and 400 <= code < 500)


def quiet_bentoml_client_errors() -> None:
    for name in ("bentoml._internal.server.http_app", "_bentoml_impl.server.app"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ClientErrorFilter) for f in logger.filters):
            logger.addFilter(_ClientErrorFilter())


def configure_logging() -> None:
    """Slant's log handler and level (SLANT_LOG_LEVEL, default INFO); BentoML's 4xx tracebacks dropped."""
    quiet_bentoml_client_errors()
    logger = logging.getLogger("slant")
    if not any(getattr(h, "_slant", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler._slant = True  # type: ignore[attr-defined]
        handler.setFormatter(
            logging.Formatter("%(asctime)s [%(levelname)s] [%(name)s] %(message)s", "%Y-%m-%dT%H:%M:%S%z")
        )
        logger.addHandler(handler)
        logger.setLevel(settings().log_level)
        logger.propagate = False

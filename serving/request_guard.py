"""The request contract, enforced in front of BentoML: every malformed request gets a 4xx with
``{"error": "..."}`` and one log line, never a 500 and never a traceback.

``RequestGuard`` (ASGI middleware, inside ``serving.access.AccessGuard``), for POST requests:

- a body over SLANT_MAX_BODY_BYTES is refused with 413 before it is read (Content-Length) or while
  reading it (chunked);
- the body must arrive within SLANT_BODY_TIMEOUT_S (default 30 s) of the request's start: a slow
  sender gets 408 and the connection is closed;
- a non-empty body must be ``Content-Type: application/json`` (415 otherwise: text/plain,
  multipart/form-data with or without a boundary, form posts, pickles, ...);
- the body must be a JSON object (invalid JSON, non-UTF-8, a list: 400) with only the documented
  top-level fields of its endpoint (400 names the unknown one);
- BentoML's own request-validation 400s (pydantic errors) become ``{"error": "<field>: <problem>;
  ...", "detail": [...]}`` with a message that says what to fix.

``quiet_bentoml_client_errors()`` drops BentoML's ERROR+traceback log record for exceptions that end
as a 4xx; the guard logs one line per refused request instead.
"""
from __future__ import annotations

import json
import logging
import os
from http import HTTPStatus

import anyio

from serving.access import reject_line, send_error
from slant.article import env_int

log = logging.getLogger("slant.serving")

MAX_BODY_BYTES = env_int("SLANT_MAX_BODY_BYTES", 64 * 1024 * 1024)
BODY_TIMEOUT_S = env_int("SLANT_BODY_TIMEOUT_S", 30)

# Top-level fields per endpoint (anything else is a 400).
FIELDS = {
    "/classify": ("article", "options"),
    "/classify_batch": ("articles", "options"),
    "/feedback": ("items",),
    "/admin/reload": (),
}
_ALLOWED = {
    "article": "text, html, paragraphs, title, url, targets",
    "articles": "text, html, paragraphs, title, url, targets",
    "options": "max_auto_targets, include_text",
}
_EXPECTED = {
    "/classify": '{"article": {"text"|"html"|"paragraphs": ..., "title"?, "url"?, "targets"?: [str]}, "options"?: {...}}',
    "/classify_batch": '{"articles": [{"text"|"html"|"paragraphs": ...}, ...], "options"?: {...}}',
    "/feedback": '{"items": [{"task", "text", "label" | "labels", "target"?, "spans"?, "article_id"?, "annotator"?}]}',
    "/admin/reload": "an empty body or {}",
}


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";")[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class RequestGuard:
    def __init__(self, app, max_body_bytes: int = MAX_BODY_BYTES, body_timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/") or "/"
        if scope.get("method") != "POST":
            await self.app(scope, receive, send if scope.get("method") == "HEAD" else self._rewriter(scope, send, path))
            return

        async def refuse(status: int, message: str, extra=None) -> None:
            reject_line(scope, status, message)
            await send_error(send, status, message, extra)

        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_large = int(length) > self.max_body_bytes
            except ValueError:
                await refuse(HTTPStatus.BAD_REQUEST, "the Content-Length header is not a number")
                return
            if too_large:
                await refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_large_message())
                return
        declared_empty = length is not None and length.strip() in (b"0", b"") and b"transfer-encoding" not in headers
        content_type = headers.get(b"content-type", b"")
        if not declared_empty and not _is_json(content_type) and not (length is None and not content_type
                                                                        and b"transfer-encoding" not in headers):
            await refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                         f"Content-Type {content_type.decode('latin-1')[:80] or '(none)'} is not accepted; send a "
                         "UTF-8 JSON body with Content-Type: application/json")
            return

        # Read the body here (bounded in size and time), then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body = message.get("body", b"")
                    size += len(body)
                    if size > self.max_body_bytes:
                        await refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_large_message())
                        return
                    chunks.append(body)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await refuse(HTTPStatus.REQUEST_TIMEOUT,
                         f"the request body did not arrive within {self.body_timeout_s:g} s "
                         "(SLANT_BODY_TIMEOUT_S); send it faster or in a smaller request",
                         [(b"connection", b"close")])
            return
        body = b"".join(chunks)
        if body and not _is_json(content_type):
            await refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                         "a request body needs Content-Type: application/json (a UTF-8 JSON body)")
            return
        if path in FIELDS:
            problem = self._check_shape(path, body)
            if problem:
                await refuse(HTTPStatus.BAD_REQUEST, problem)
                return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, self._rewriter(scope, send, path))

    def _rewriter(self, scope, send, path: str):
        """A ``send`` that turns every 4xx answer into ``{"error": ...}`` and logs it in one line."""
        start: dict | None = None
        held: list[bytes] = []

        async def rewrite(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                start = message
                return
            if start is None:
                await send(message)
                return
            held.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            payload = self._friendly(b"".join(held), path)
            reject_line(scope, start["status"], self._error_of(payload))
            new_headers = [(k, v) for k, v in start.get("headers", [])
                           if k.lower() not in (b"content-length", b"content-type")]
            new_headers += [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")]
            await send({**start, "headers": new_headers})
            await send({"type": "http.response.body", "body": payload, "more_body": False})

        return rewrite

    # ---- checks ----------------------------------------------------------------------------

    def _too_large_message(self) -> str:
        return (
            f"request body is over {self.max_body_bytes:,} bytes; send fewer or shorter articles "
            "per request, or raise the limit with SLANT_MAX_BODY_BYTES"
        )

    @staticmethod
    def _check_shape(path: str, body: bytes) -> str | None:
        expected = f"; expected {_EXPECTED[path]}"
        if not body.strip():
            return None if path == "/admin/reload" else "invalid request: the body is empty" + expected
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return "invalid request: the body is not UTF-8 (send a UTF-8 JSON body with Content-Type: application/json)" + expected
        except ValueError as e:
            return f"invalid request: the body is not valid JSON ({e})" + expected
        if not isinstance(data, dict):
            return f"invalid request: the body is a JSON {type(data).__name__}, not an object" + expected
        unknown = sorted(set(data) - set(FIELDS[path]))
        if unknown:
            allowed = ", ".join(FIELDS[path]) or "none"
            return f"invalid request: {unknown[0]}: unknown field; allowed: {allowed}" + expected
        return None

    @staticmethod
    def _error_of(payload: bytes) -> str:
        try:
            data = json.loads(payload)
            if isinstance(data, list) and data:
                data = data[0]
            return str(data.get("error", "")) if isinstance(data, dict) else ""
        except (ValueError, AttributeError):
            return ""

    @staticmethod
    def _friendly(raw: bytes, path: str) -> bytes:
        try:
            data = json.loads(raw)
        except ValueError:
            text = raw.decode("utf-8", "replace").strip()[:500]
            return json.dumps({"error": text if text and not text.startswith("<") else "bad request"}).encode()
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
            data = data[0]  # BentoML wraps 4xx BentoMLException bodies in a list
        if not isinstance(data, dict):
            return json.dumps({"error": "bad request"}).encode()
        detail = data.get("detail")
        if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
            problems = []
            for d in detail[:10]:
                loc_path = [str(x) for x in d.get("loc", ())]
                loc = ".".join(loc_path)
                msg = d.get("msg", "invalid")
                if d.get("type") == "json_invalid":
                    msg += " (send a UTF-8 JSON body with Content-Type: application/json)"
                elif d.get("type") == "extra_forbidden":
                    allowed = _ALLOWED.get(loc_path[0] if len(loc_path) <= 2 else "article", "")
                    msg = f"unknown field; allowed: {allowed}" if allowed else "unknown field"
                problems.append(f"{loc}: {msg}" if loc else msg)
            more = f" (and {len(detail) - 10} more)" if len(detail) > 10 else ""
            data = {
                "error": "invalid request: " + "; ".join(problems) + more
                + f". Expected {_EXPECTED.get(path, 'a JSON object')}; see the examples at /docs",
                "detail": [{"loc": [str(x) for x in d.get("loc", ())], "msg": str(d.get("msg", "")),
                            "type": str(d.get("type", ""))} for d in detail],
            }
        elif not isinstance(data.get("error"), str):
            data = {"error": str(data.get("error") or data.get("detail") or "bad request")}
        return json.dumps(data).encode()


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
    """Slant's own log lines (one per refused request, readiness, parse workers) at INFO on
    stderr, beside BentoML's; BentoML's 4xx tracebacks dropped."""
    quiet_bentoml_client_errors()
    logger = logging.getLogger("slant")
    if not any(getattr(h, "_slant", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler._slant = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] [%(name)s] %(message)s",
                                               "%Y-%m-%dT%H:%M:%S%z"))
        logger.addHandler(handler)
        logger.setLevel(os.environ.get("SLANT_LOG_LEVEL", "INFO").upper())
        logger.propagate = False

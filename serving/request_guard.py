"""The request guard: every malformed request gets a 4xx with ``{"error": "..."}`` and one log line,
never a 500 and never a traceback.

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
  ...", "detail": [...]}`` with a message that says what to fix (``ErrorRewriter``, for every
  method but HEAD).
"""

from __future__ import annotations

import json
from http import HTTPStatus

import anyio

from serving.refusals import Refused, refuse, reject_line
from slant.settings import settings

_SETTINGS = settings()
MAX_BODY_BYTES = _SETTINGS.max_body_bytes
BODY_TIMEOUT_S = _SETTINGS.body_timeout_s

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
            await self.app(scope, receive, send if scope.get("method") == "HEAD" else ErrorRewriter(scope, send, path))
            return
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        try:
            self._check_headers(headers)
            body = await self._read_body(receive)
            if body is None:  # the client went away
                return
            self._check_body(path, body, headers.get(b"content-type", b""))
        except Refused as r:
            await refuse(scope, send, r)
            return
        await self.app(scope, BodyReplay(body, receive), ErrorRewriter(scope, send, path))

    # ---- checks ----------------------------------------------------------------------------

    def _check_headers(self, headers: dict[bytes, bytes]) -> None:
        """Size and content type, before a byte of the body is read."""
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_large = int(length) > self.max_body_bytes
            except ValueError:
                raise Refused(HTTPStatus.BAD_REQUEST, "the Content-Length header is not a number") from None
            if too_large:
                raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_large_message())
        chunked = b"transfer-encoding" in headers
        declared_empty = length is not None and length.strip() in (b"0", b"") and not chunked
        content_type = headers.get(b"content-type", b"")
        no_body_at_all = length is None and not content_type and not chunked
        if not declared_empty and not _is_json(content_type) and not no_body_at_all:
            raise Refused(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type {content_type.decode('latin-1')[:80] or '(none)'} is not accepted; send a "
                "UTF-8 JSON body with Content-Type: application/json",
            )

    async def _read_body(self, receive) -> bytes | None:
        """The whole body, bounded in size and time; None when the client disconnected."""
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    body = message.get("body", b"")
                    size += len(body)
                    if size > self.max_body_bytes:
                        raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_large_message())
                    chunks.append(body)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise Refused(
                HTTPStatus.REQUEST_TIMEOUT,
                f"the request body did not arrive within {self.body_timeout_s:g} s "
                "(SLANT_BODY_TIMEOUT_S); send it faster or in a smaller request",
                [(b"connection", b"close")],
            ) from None

    def _check_body(self, path: str, body: bytes, content_type: bytes) -> None:
        if body and not _is_json(content_type):
            raise Refused(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "a request body needs Content-Type: application/json (a UTF-8 JSON body)",
            )
        if path in FIELDS:
            problem = _shape_problem(path, body)
            if problem:
                raise Refused(HTTPStatus.BAD_REQUEST, problem)

    def _too_large_message(self) -> str:
        return (
            f"request body is over {self.max_body_bytes:,} bytes; send fewer or shorter articles "
            "per request, or raise the limit with SLANT_MAX_BODY_BYTES"
        )


class BodyReplay:
    """The ``receive`` the app gets: the body the guard already read, then the real ``receive``
    (which reports the disconnect)."""

    def __init__(self, body: bytes, receive) -> None:
        self.body, self.receive, self.replayed = body, receive, False

    async def __call__(self):
        if not self.replayed:
            self.replayed = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        return await self.receive()


class ErrorRewriter:
    """A ``send`` that turns every 4xx answer into ``{"error": ...}`` and logs it in one line."""

    def __init__(self, scope, send, path: str) -> None:
        self.scope, self.send, self.path = scope, send, path
        self.start: dict | None = None  # the held response start of a 4xx
        self.held: list[bytes] = []

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
            self.start = message
            return
        if self.start is None:
            await self.send(message)
            return
        self.held.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        payload = _friendly(b"".join(self.held), self.path)
        reject_line(self.scope, self.start["status"], _error_of(payload))
        new_headers = [
            (k, v) for k, v in self.start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")
        ]
        new_headers += [(b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json")]
        await self.send({**self.start, "headers": new_headers})
        await self.send({"type": "http.response.body", "body": payload, "more_body": False})


def _shape_problem(path: str, body: bytes) -> str | None:
    expected = f"; expected {_EXPECTED[path]}"
    if not body.strip():
        return None if path == "/admin/reload" else "invalid request: the body is empty" + expected
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return (
            "invalid request: the body is not UTF-8 (send a UTF-8 JSON body with Content-Type: application/json)"
            + expected
        )
    except ValueError as e:
        return f"invalid request: the body is not valid JSON ({e})" + expected
    if not isinstance(data, dict):
        return f"invalid request: the body is a JSON {type(data).__name__}, not an object" + expected
    unknown = sorted(set(data) - set(FIELDS[path]))
    if unknown:
        allowed = ", ".join(FIELDS[path]) or "none"
        return f"invalid request: {unknown[0]}: unknown field; allowed: {allowed}" + expected
    return None


def _error_of(payload: bytes) -> str:
    try:
        data = json.loads(payload)
        if isinstance(data, list) and data:
            data = data[0]
        return str(data.get("error", "")) if isinstance(data, dict) else ""
    except (ValueError, AttributeError):
        return ""


def _friendly(raw: bytes, path: str) -> bytes:
    """BentoML's 4xx body as ``{"error": ...}``; its pydantic errors as one message that says
    what to fix, plus ``detail``."""
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
        data = _validation_error(detail, path)
    elif not isinstance(data.get("error"), str):
        data = {"error": str(data.get("error") or data.get("detail") or "bad request")}
    return json.dumps(data).encode()


def _validation_error(detail: list[dict], path: str) -> dict:
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
    return {
        "error": "invalid request: "
        + "; ".join(problems)
        + more
        + f". Expected {_EXPECTED.get(path, 'a JSON object')}; see the examples at /docs",
        "detail": [
            {"loc": [str(x) for x in d.get("loc", ())], "msg": str(d.get("msg", "")), "type": str(d.get("type", ""))}
            for d in detail
        ],
    }

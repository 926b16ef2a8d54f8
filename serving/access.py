"""Who may call what: API keys, loopback-only writes, the CORS allow-list and feedback quotas.

``AccessGuard`` is the outermost ASGI middleware of the API service, so nothing is read or parsed
for a request it refuses:

- **keys**: ``SLANT_API_KEYS`` (comma-separated) and/or ``SLANT_API_KEY_FILE`` (one key per line,
  ``#`` comments), sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Writes
  (``POST /feedback``, ``/admin/*``, and ``GET /feedback/stats``) need one; scoring needs one only
  with ``SLANT_REQUIRE_KEY_FOR_SCORING=1``. No key or a wrong key: 401. Keys are compared in
  constant time and never logged; a request's *principal* is ``key:<first 12 hex of SHA-256>``.
- **no key configured**: writes are accepted only from loopback clients (the ASGI ``client``
  address; ``X-Forwarded-For`` is ignored), so ``make serve`` keeps working locally; any other
  client gets 403. A reverse proxy on the same host makes every client look local: configure keys.
- **origins**: a request with an ``Origin`` header that is neither this server itself nor listed
  in ``SLANT_CORS_ORIGINS`` (comma-separated, e.g. ``https://news.example.org``) is refused with 403
  (this stops cross-site form posts); listed origins get CORS headers and preflight answers.
- **quotas** (``FeedbackQuota``): rows and bytes of feedback per principal *and* per client
  address in a sliding window; over it, 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from collections import deque
from contextvars import ContextVar
from http import HTTPStatus
from pathlib import Path

from serving.refusals import Refused, refuse
from slant.settings import settings

PRINCIPAL_KEY = "slant.principal"  # scope key: "key:<id>" or "" (unauthenticated, loopback)
CLIENT_KEY = "slant.client"  # scope key: the client address
# (principal, client address) of the request being handled: set here, read by the API methods
# (the same asyncio task runs the middleware and the endpoint).
IDENTITY: ContextVar[tuple[str, str]] = ContextVar("slant_identity", default=("", "-"))
WRITE_PREFIXES = ("/feedback", "/admin/")
SCORING_PATHS = ("/classify", "/classify_batch")


def load_keys() -> list[str]:
    """Keys from SLANT_API_KEYS and SLANT_API_KEY_FILE (a missing file is a startup error)."""
    current = settings()
    keys = [k.strip() for k in current.api_keys.split(",") if k.strip()]
    path = current.api_key_file.strip()
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as e:
            raise RuntimeError(f"SLANT_API_KEY_FILE cannot be read ({e.strerror}); fix or unset it") from None
        keys += [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    short = [k for k in keys if len(k) < 16]
    if short:
        raise RuntimeError(
            f"{len(short)} API key(s) are shorter than 16 characters; use long random keys "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)"
        )
    return keys


def key_id(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _headers(scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers") or []}


class AccessGuard:
    def __init__(self, app) -> None:
        self.app = app
        self.keys = [k.encode("utf-8") for k in load_keys()]
        self.ids = {k: key_id(k.decode("utf-8")) for k in self.keys}
        current = settings()
        self.require_key_for_scoring = current.require_key_for_scoring
        self.origins = {o.strip().rstrip("/") for o in current.cors_origins.split(",") if o.strip()}

    # ---- helpers ---------------------------------------------------------------------------

    def _same_origin(self, scope, origin: str, headers: dict) -> bool:
        host = headers.get(b"host", b"").decode("latin-1")
        scheme = scope.get("scheme", "http")
        return bool(host) and origin in (f"{scheme}://{host}", f"http://{host}", f"https://{host}")

    def _presented_key(self, headers: dict) -> bytes | None:
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            return auth[7:].strip()
        key = headers.get(b"x-api-key")
        return key.strip() if key is not None else None

    def _match(self, presented: bytes) -> str | None:
        found = None
        for k in self.keys:  # every key compared, in constant time each
            if hmac.compare_digest(k, presented):
                found = self.ids[k]
        return found

    def _cors_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]

    # ---- the guard -------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        origin = headers.get(b"origin", b"").decode("latin-1").rstrip("/")
        cross = bool(origin) and not self._same_origin(scope, origin, headers)
        allowed_origin = cross and origin in self.origins
        client = (scope.get("client") or (None, 0))[0]
        scope[CLIENT_KEY] = client or "-"
        method = scope.get("method", "GET")
        try:
            if method == "OPTIONS" and origin:
                await self._preflight(send, origin, refused=cross and not allowed_origin)
                return
            if cross and not allowed_origin and method not in ("GET", "HEAD"):
                raise Refused(
                    HTTPStatus.FORBIDDEN,
                    f"cross-origin request from {origin[:100]} refused; the server accepts requests from "
                    "itself and from the origins listed in SLANT_CORS_ORIGINS",
                )
            principal = self._principal(scope, headers, client)
        except Refused as r:
            await refuse(scope, send, r)
            return
        scope[PRINCIPAL_KEY] = principal
        IDENTITY.set((principal, client or "-"))
        await self.app(scope, receive, CorsHeaders(send, self._cors_headers(origin)) if allowed_origin else send)

    async def _preflight(self, send, origin: str, refused: bool) -> None:
        if refused:
            raise Refused(HTTPStatus.FORBIDDEN, f"origin {origin} is not allowed; list it in SLANT_CORS_ORIGINS")
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    *self._cors_headers(origin),
                    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                    (b"access-control-allow-headers", b"Content-Type, Authorization, X-API-Key"),
                    (b"access-control-max-age", b"600"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _principal(self, scope, headers: dict, client: str | None) -> str:
        """Who sends a request that needs a key: ``key:<id>``, or "" when none is needed or a
        loopback client writes to a server without keys. Raises Refused otherwise."""
        path, method = scope.get("path", ""), scope.get("method", "GET")
        write = method == "POST" and path.startswith(WRITE_PREFIXES) or path.rstrip("/") == "/feedback/stats"
        scoring = method == "POST" and path.rstrip("/") in SCORING_PATHS
        if not (write or (scoring and self.require_key_for_scoring)):
            return ""
        presented = self._presented_key(headers)
        if self.keys:
            if not presented:
                raise Refused(
                    HTTPStatus.UNAUTHORIZED,
                    "an API key is required: send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`",
                    [(b"www-authenticate", b'Bearer realm="slant"')],
                )
            principal = self._match(presented)
            if not principal:
                raise Refused(
                    HTTPStatus.UNAUTHORIZED,
                    "the API key was not accepted; check it and send it again",
                    [(b"www-authenticate", b'Bearer realm="slant", error="invalid_token"')],
                )
            return principal
        if not is_loopback(client):
            raise Refused(
                HTTPStatus.FORBIDDEN,
                "this server has no API keys configured, so it accepts writes only from its own "
                "machine; ask its operator to set SLANT_API_KEYS and send the key",
            )
        return ""


class CorsHeaders:
    """A ``send`` that adds the CORS headers of an allowed origin to the answer."""

    def __init__(self, send, headers: list[tuple[bytes, bytes]]) -> None:
        self.send, self.headers = send, headers

    async def __call__(self, message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *self.headers]}
        await self.send(message)


class FeedbackQuota:
    """Rows and bytes of feedback per identity in a sliding window (one per API worker process).

    ``charge(identities, rows, nbytes)`` records the request against every identity and returns 0,
    or, when any identity would go over a limit, records nothing and returns the seconds until
    enough of the window has passed (for ``Retry-After``)."""

    MAX_IDENTITIES = 100_000

    def __init__(self, rows: int | None = None, nbytes: int | None = None, window_s: float | None = None) -> None:
        current = settings()
        self.rows = rows if rows is not None else current.feedback_quota_rows
        self.nbytes = nbytes if nbytes is not None else current.feedback_quota_bytes
        self.window_s = window_s if window_s is not None else current.feedback_quota_window_s
        self._log: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _usage(self, ident: str, now: float) -> tuple[int, int, deque]:
        q = self._log.setdefault(ident, deque())
        while q and q[0][0] <= now - self.window_s:
            q.popleft()
        return sum(r for _, r, _ in q), sum(b for _, _, b in q), q

    def charge(self, identities: list[str], rows: int, nbytes: int) -> float:
        now = time.monotonic()
        with self._lock:
            if len(self._log) > self.MAX_IDENTITIES:
                for ident in [i for i, q in self._log.items() if not q or q[-1][0] <= now - self.window_s]:
                    del self._log[ident]
            wait = 0.0
            queues = []
            for ident in identities:
                used_rows, used_bytes, q = self._usage(ident, now)
                queues.append(q)
                if used_rows + rows > self.rows or used_bytes + nbytes > self.nbytes:
                    if rows > self.rows or nbytes > self.nbytes or not q:
                        wait = max(wait, self.window_s)
                    else:  # when enough old entries leave the window
                        freed_rows, freed_bytes = used_rows, used_bytes
                        for t, r, b in q:
                            freed_rows -= r
                            freed_bytes -= b
                            if freed_rows + rows <= self.rows and freed_bytes + nbytes <= self.nbytes:
                                wait = max(wait, t + self.window_s - now)
                                break
            if wait > 0:
                return max(1.0, wait)
            for q in queues:
                q.append((now, rows, nbytes))
            return 0.0

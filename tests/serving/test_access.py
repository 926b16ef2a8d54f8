"""serving.access.AccessGuard at the ASGI level, where the client address can be any address: a
real server on this machine only ever sees loopback clients, so the "no key configured -> writes
only from loopback" rule is checked here with the ASGI ``client`` tuple a remote client would give
(uvicorn fills it from the TCP peer; no header can change it)."""

from __future__ import annotations

import asyncio
import json

import pytest

from serving.access import IDENTITY, AccessGuard, FeedbackQuota, is_loopback, key_id

KEY = "unit-test-key-0123456789"


def messages(
    guard_env, monkeypatch, *, path="/feedback", method="POST", client=("203.0.113.7", 5555), headers=(), seen=None
) -> list[dict]:
    """What the guard (with the app behind it) sends for one request."""
    for var in ("SLANT_API_KEYS", "SLANT_API_KEY_FILE", "SLANT_REQUIRE_KEY_FOR_SCORING", "SLANT_CORS_ORIGINS"):
        monkeypatch.delenv(var, raising=False)
    for var, value in guard_env.items():
        monkeypatch.setenv(var, value)
    seen = {} if seen is None else seen

    async def app(scope, receive, send):
        seen["identity"] = IDENTITY.get()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = AccessGuard(app)
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "client": client,
        "scheme": "http",
        "headers": [(b"host", b"slant.example:3000"), *[(k.encode(), v.encode()) for k, v in headers]],
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent


def call(guard_env, monkeypatch, **request):
    seen: dict = {}
    sent = messages(guard_env, monkeypatch, seen=seen, **request)
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, (json.loads(body) if status != 200 else None), seen.get("identity")


@pytest.mark.parametrize("path", ["/feedback", "/admin/reload"])
def test_without_keys_writes_only_from_loopback(monkeypatch, path):
    status, body, _ = call({}, monkeypatch, path=path, client=("203.0.113.7", 5555))
    assert status == 403 and "SLANT_API_KEYS" in body["error"]
    status, _, identity = call({}, monkeypatch, path=path, client=("127.0.0.1", 5555))
    assert status == 200 and identity == ("", "127.0.0.1")
    assert call({}, monkeypatch, path=path, client=("::1", 5555))[0] == 200
    assert call({}, monkeypatch, path=path, client=("::ffff:127.0.0.1", 5555))[0] == 200
    # A forwarded-for header does not make a remote client local.
    status, _, _ = call(
        {}, monkeypatch, path=path, client=("198.51.100.2", 1), headers=[("x-forwarded-for", "127.0.0.1")]
    )
    assert status == 403
    assert call({}, monkeypatch, path="/feedback/stats", method="GET", client=("203.0.113.7", 1))[0] == 403


def test_scoring_is_open_unless_configured(monkeypatch):
    assert call({}, monkeypatch, path="/classify", client=("203.0.113.7", 1))[0] == 200
    env = {"SLANT_API_KEYS": KEY, "SLANT_REQUIRE_KEY_FOR_SCORING": "1"}
    assert call(env, monkeypatch, path="/classify", client=("203.0.113.7", 1))[0] == 401
    status, _, identity = call(
        env, monkeypatch, path="/classify", client=("203.0.113.7", 1), headers=[("authorization", f"Bearer {KEY}")]
    )
    assert status == 200 and identity == (key_id(KEY), "203.0.113.7")


def test_keys_from_a_file_and_headers(monkeypatch, tmp_path):
    keyfile = tmp_path / "keys"
    keyfile.write_text(f"# operators\n{KEY}\n")
    env = {"SLANT_API_KEY_FILE": str(keyfile)}
    assert call(env, monkeypatch, client=("203.0.113.7", 1))[0] == 401
    assert call(env, monkeypatch, client=("127.0.0.1", 1))[0] == 401  # with keys, loopback needs one too
    assert call(env, monkeypatch, headers=[("x-api-key", KEY)])[0] == 200
    assert call(env, monkeypatch, headers=[("authorization", "Bearer nope-nope-nope-nope")])[0] == 401


def test_short_keys_are_refused_at_startup(monkeypatch):
    monkeypatch.setenv("SLANT_API_KEYS", "short")
    with pytest.raises(RuntimeError, match="16 characters"):
        AccessGuard(lambda *a: None)


def test_cross_origin_writes_are_refused(monkeypatch):
    status, body, _ = call({}, monkeypatch, client=("127.0.0.1", 1), headers=[("origin", "https://evil.example")])
    assert status == 403 and "SLANT_CORS_ORIGINS" in body["error"]
    same = [("origin", "http://slant.example:3000")]
    assert call({}, monkeypatch, client=("127.0.0.1", 1), headers=same)[0] == 200
    env = {"SLANT_CORS_ORIGINS": "https://ok.example"}
    assert call(env, monkeypatch, client=("127.0.0.1", 1), headers=[("origin", "https://ok.example")])[0] == 200


def test_listed_origins_get_cors_headers_and_preflight_answers(monkeypatch):
    env = {"SLANT_CORS_ORIGINS": "https://ok.example"}
    sent = messages(env, monkeypatch, path="/classify", headers=[("origin", "https://ok.example")])
    assert (b"access-control-allow-origin", b"https://ok.example") in sent[0]["headers"]
    sent = messages(env, monkeypatch, method="OPTIONS", headers=[("origin", "https://ok.example")])
    assert sent[0]["status"] == 204 and (b"access-control-allow-origin", b"https://ok.example") in sent[0]["headers"]
    sent = messages(env, monkeypatch, method="OPTIONS", headers=[("origin", "https://evil.example")])
    assert sent[0]["status"] == 403
    sent = messages({}, monkeypatch, path="/classify", headers=[("origin", "http://slant.example:3000")])
    assert not any(k == b"access-control-allow-origin" for k, _ in sent[0]["headers"])  # same origin: none needed


def test_quota_per_identity():
    q = FeedbackQuota(rows=5, nbytes=1000, window_s=60)
    assert q.charge(["client:a", "key:1"], 3, 100) == 0
    assert q.charge(["client:b", "key:1"], 3, 100) > 0  # the key's quota is shared across clients
    assert q.charge(["client:b", "key:2"], 3, 100) == 0
    assert q.charge(["client:c"], 1, 2000) > 0  # bytes count too
    assert is_loopback("127.0.0.5") and not is_loopback("10.0.0.1") and not is_loopback("not-an-ip")

"""serving/request_guard.py at the ASGI level: what it refuses itself, what it hands on, and how it
rewrites the app's own 4xx answers."""

from __future__ import annotations

import asyncio
import json

from serving.request_guard import RequestGuard

ARTICLE = json.dumps({"article": {"text": "The mayor spoke."}}).encode()


def call(
    body_chunks=(ARTICLE,),
    *,
    path="/classify",
    method="POST",
    headers=None,
    app_answer=None,
    body_timeout_s=5.0,
    slow=False,
):
    """(status, answer JSON, the body the app received or None)."""
    if headers is None:
        headers = {"content-type": "application/json", "content-length": str(sum(map(len, body_chunks)))}
    seen = {}

    async def app(scope, receive, send):
        message = await receive()
        seen["body"] = message["body"]
        status, payload = app_answer or (200, {"ok": True})
        body = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    chunks = list(body_chunks)

    async def receive():
        if slow:
            await asyncio.sleep(1)
        body = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "client": ("127.0.0.1", 5000),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    guard = RequestGuard(app, max_body_bytes=1000, body_timeout_s=body_timeout_s)
    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"]), seen.get("body")


def test_a_good_request_reaches_the_app_with_its_body():
    assert call((ARTICLE[:10], ARTICLE[10:]), headers={"content-type": "application/json"}) == (
        200,
        {"ok": True},
        ARTICLE,
    )


def test_too_large_is_413_before_reading_or_while_reading():
    status, answer, seen = call(headers={"content-type": "application/json", "content-length": "5000"})
    assert status == 413 and "SLANT_MAX_BODY_BYTES" in answer["error"] and seen is None
    status, answer, seen = call((b"{" + b" " * 600, b" " * 600 + b"}"), headers={"content-type": "application/json"})
    assert status == 413 and seen is None


def test_other_content_types_are_415():
    status, answer, _ = call(headers={"content-type": "text/plain", "content-length": str(len(ARTICLE))})
    assert status == 415 and "Content-Type text/plain is not accepted" in answer["error"]


def test_the_body_must_be_an_object_with_known_fields():
    status, answer, _ = call((b"[1]",))
    assert status == 400 and "a JSON list, not an object" in answer["error"]
    status, answer, _ = call((json.dumps({"article": {}, "extra": 1}).encode(),))
    assert status == 400 and "extra: unknown field; allowed: article, options" in answer["error"]
    status, answer, _ = call((b"{nope",))
    assert status == 400 and "not valid JSON" in answer["error"]


def test_a_slow_body_is_408_and_closes_the_connection():
    status, answer, seen = call(body_timeout_s=0.2, slow=True)
    assert status == 408 and "SLANT_BODY_TIMEOUT_S" in answer["error"] and seen is None


def test_the_apps_validation_errors_say_what_to_fix():
    detail = [{"loc": ["article", "text"], "msg": "Input should be a valid string", "type": "string_type"}]
    status, answer, _ = call(app_answer=(400, {"detail": detail}))
    assert status == 400
    assert answer["error"].startswith("invalid request: article.text: Input should be a valid string. Expected ")
    assert answer["detail"] == detail
    status, answer, _ = call(app_answer=(404, [{"error": "no such route"}]), path="/nope", method="GET", headers={})
    assert (status, answer) == (404, {"error": "no such route"})

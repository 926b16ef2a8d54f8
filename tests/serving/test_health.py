"""serving/health.py: readiness of the API worker and GET /readyz."""

from __future__ import annotations

import asyncio
import json

from serving.health import Readiness, ReadyRoute


async def answering_ping():
    return {"version": "test"}


async def failing_ping():
    raise ConnectionError("model worker gone")


def readyz(method: str = "GET") -> tuple[int, dict, dict]:
    async def app(scope, receive, send):
        raise AssertionError("/readyz must not reach BentoML")

    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(ReadyRoute(app)({"type": "http", "method": method, "path": "/readyz", "headers": []}, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], json.loads(sent[1]["body"]), headers


def test_not_ready_until_warmed_up():
    Readiness(answering_ping, None)
    status, body, headers = readyz()
    assert status == 503 and body == {"error": "not ready: warming up (the model worker is starting)"}
    assert headers["retry-after"] == "5"


def test_warm_up_is_tried_again_until_it_works():
    readiness = Readiness(answering_ping, None)
    attempts = []

    async def attempt():
        attempts.append(1)
        if len(attempts) < 2:
            raise ConnectionError("model worker starting")

    asyncio.run(readiness.warm_up(attempt))
    assert readiness.warm and len(attempts) == 2
    assert readyz()[:2] == (200, {"ready": True})


def test_not_ready_while_the_model_worker_does_not_answer():
    readiness = Readiness(failing_ping, None)
    readiness.warm = True
    status, body, _ = readyz()
    assert status == 503 and "the model worker does not answer (ConnectionError)" in body["error"]


def test_readyz_is_get_only():
    Readiness(answering_ping, None)
    status, body, headers = readyz("POST")
    assert status == 405 and body == {"error": "use GET /readyz"} and headers["allow"] == "GET, HEAD"

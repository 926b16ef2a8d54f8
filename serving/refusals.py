"""Refusing a request in front of BentoML, at the ASGI level: ``Refused`` (raised by a check),
``send_error`` (the ``{"error": ...}`` answer) and ``reject_line`` (its one log line)."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("slant.serving.access")  # the name refusal lines have always carried


class Refused(Exception):
    """A request a guard answers itself, with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


async def send_error(send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def reject_line(scope, status: int, message: str) -> None:
    """The one log line of a refused request (no traceback, no key, message cut to 200 chars)."""
    client = (scope.get("client") or ("-", 0))[0]
    log.info(
        "refused %s %s from %s: %d %s",
        scope.get("method"),
        scope.get("path"),
        client,
        status,
        message[:200].replace("\n", " "),
    )


async def refuse(scope, send, refusal: Refused) -> None:
    reject_line(scope, refusal.status, refusal.message)
    await send_error(send, refusal.status, refusal.message, refusal.headers)

"""The OpenAPI spec at /docs.json, made to match what the service does.

BentoML generates the spec from the API methods' signatures, which loses things (the answer's
``title`` is not nullable there, ``/feedback`` takes ``items`` of any type, error answers are
documented as ``{"error": str, "detail": str}`` and only as 400/404/500). ``OpenAPIRoute`` answers
``GET /docs.json`` with BentoML's spec patched from this module's own models and the feedback
models (``slant.feedback.models``: one item schema per task): typed request bodies (no unknown
fields), the real answer schemas, every 4xx/503 each endpoint can give with the ``{"error": ...}``
body and its headers, and the API-key security schemes. No 500 is documented: the service never
answers one on purpose.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from serving.schemas import Answer
from slant.feedback.models import ITEM_MODELS, FeedbackRequest
from slant.requests import ArticleIn, Options

REF = "#/components/schemas/{model}"


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    article: ArticleIn
    options: Options = Options()


class ClassifyBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    articles: list[ArticleIn] = Field(description="1 to SLANT_MAX_BATCH_ARTICLES (64) articles")
    options: Options = Options()


class FeedbackAck(BaseModel):
    ids: list[int]
    count: int


class ModelRef(BaseModel):
    name: str
    version: str


class ReloadAnswer(BaseModel):
    changed: bool
    previous: Any = Field(description="The model before (name, version)")
    current: Any = Field(default=None, description="The model now (name, version)")


class ReloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    error: str = Field(description="What is wrong and how to fix it")
    detail: list[dict[str, Any]] | None = Field(
        default=None, description="Request-validation errors only: pydantic's list of {loc, msg, type}"
    )


_MESSAGES = {
    400: "Bad input (the message says what to fix)",
    401: "An API key is required, or the key was not accepted",
    403: "Refused: a cross-origin request from an origin not in SLANT_CORS_ORIGINS, or a write from a "
    "non-loopback client when no API key is configured",
    408: "The request body did not arrive within SLANT_BODY_TIMEOUT_S",
    409: "The model the store names could not be loaded; the old one keeps serving",
    413: "Over a size limit (body, characters, paragraphs, articles, items)",
    415: "The body is not Content-Type: application/json",
    422: "The HTML page is too complex to parse within the time and memory budget",
    429: "Feedback quota reached; retry after Retry-After seconds",
    503: "The model worker or the HTML parse workers cannot take the request now; retry after Retry-After",
    507: "The feedback store is full (SLANT_FEEDBACK_MAX_ROWS / SLANT_FEEDBACK_MAX_MB)",
}
_COMMON = [400, 403, 408, 413, 415]
_ERRORS = {
    "/classify": _COMMON + [401, 422, 503],
    "/classify_batch": _COMMON + [401, 422, 503],
    "/feedback": _COMMON + [401, 429, 503, 507],
    "/admin/reload": _COMMON + [401, 409],
}
_BODIES = {
    "/classify": (ClassifyRequest, Answer),
    "/classify_batch": (ClassifyBatchRequest, None),
    "/feedback": (FeedbackRequest, FeedbackAck),
    "/admin/reload": (ReloadRequest, ReloadAnswer),
}
_SECURED = {"/feedback", "/admin/reload"}


def _schemas() -> dict:
    out: dict = {}
    for model in (
        ClassifyRequest,
        ClassifyBatchRequest,
        FeedbackRequest,
        FeedbackAck,
        ReloadAnswer,
        ReloadRequest,
        Answer,
        ErrorBody,
        ModelRef,
    ):
        schema = model.model_json_schema(ref_template=REF)
        for name, sub in schema.pop("$defs", {}).items():
            out[name] = sub
        out[model.__name__] = schema
    out["ErrorOut"] = out.pop("ErrorBody")
    return json.loads(json.dumps(out).replace('"#/components/schemas/ErrorBody"', '"#/components/schemas/ErrorOut"'))


def _error_response(status: int) -> dict:
    response = {
        "description": _MESSAGES[status],
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}},
    }
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}}
    return response


def _tighten(schemas: dict) -> None:
    """What JSON Schema can say about the content rules (the rest is in docs/fuzzing.md)."""
    from serving.schemas import max_batch_articles
    from slant.intake import INVISIBLE, Limits
    from slant.requests import MAX_TITLE_CHARS
    from slant.targets import MAX_TARGET_CHARS

    limits = Limits.from_env()
    visible = f"[^{INVISIBLE}]"
    article = schemas["ArticleIn"]
    props = article["properties"]
    article["oneOf"] = [
        {"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in ("text", "html", "paragraphs")
    ]
    props["text"] = {
        "anyOf": [{"type": "string", "pattern": visible}, {"type": "null"}],
        "description": props["text"].get("description", ""),
    }
    props["html"] = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": props["html"].get("description", ""),
    }
    props["paragraphs"] = {
        "anyOf": [
            {"type": "array", "minItems": 1, "maxItems": limits.max_paragraphs, "items": {"type": "string"}},
            {"type": "null"},
        ],
        "description": props["paragraphs"].get("description", ""),
    }
    props["targets"] = {
        "anyOf": [
            {
                "type": "array",
                "maxItems": limits.max_targets,
                "items": {"type": "string", "maxLength": MAX_TARGET_CHARS},
            },
            {"type": "null"},
        ],
        "description": props["targets"].get("description", ""),
    }
    props["title"]["anyOf"][0]["maxLength"] = MAX_TITLE_CHARS
    batch = schemas["ClassifyBatchRequest"]["properties"]["articles"]
    batch.update(minItems=1, maxItems=max_batch_articles())
    for item in ITEM_MODELS:  # the feedback items, one per task
        schemas[item.__name__]["properties"]["text"]["pattern"] = visible


def patch(spec: dict) -> dict:
    spec = copy.deepcopy(spec)
    spec["info"] = {
        "title": "Slant",
        "version": spec.get("info", {}).get("version") or "0",
        "description": "Stance, framing, persuasion techniques and biased wording in news "
        'articles, paragraph by paragraph. Errors are always {"error": "..."}.',
    }
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("InvalidArgument", "NotFound", "InternalServerError"):
        schemas.pop(name, None)
    schemas.update(_schemas())
    _tighten(schemas)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "A key from SLANT_API_KEYS"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    paths = spec.setdefault("paths", {})
    for path, (request, answer) in _BODIES.items():
        op = paths.get(path, {}).get("post")
        if op is None:
            continue
        op["requestBody"] = {
            "required": path != "/admin/reload",
            "content": {"application/json": {"schema": {"$ref": REF.format(model=request.__name__)}}},
        }
        if answer is None:
            ok = {"type": "array", "items": {"$ref": REF.format(model="Answer")}}
        else:
            ok = {"$ref": REF.format(model=answer.__name__)}
        op["responses"] = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
        for status in sorted(_ERRORS[path]):
            op["responses"][str(status)] = _error_response(status)
        if path in _SECURED:
            op["security"] = [{"bearer": []}, {"apiKey": []}]
        else:  # a key only with SLANT_REQUIRE_KEY_FOR_SCORING=1
            op["security"] = [{}, {"bearer": []}, {"apiKey": []}]
    paths["/feedback/stats"] = {
        "get": {
            "tags": ["Service APIs"],
            "description": "Counts per task and label in the feedback store.",
            "security": [{"bearer": []}, {"apiKey": []}],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "401": _error_response(401),
                "403": _error_response(403),
                "503": _error_response(503),
            },
        }
    }
    ready = paths.get("/readyz", {}).get("get")
    if ready is not None:
        ready["responses"]["503"] = {
            "description": "Not ready: warming up, the HTML parse pool is stalled, or the model worker does not answer"
        }
    return spec


class OpenAPIRoute:
    """ASGI middleware: ``GET /docs.json`` answered with BentoML's spec, patched (cached)."""

    PATH = "/docs.json"

    def __init__(self, app) -> None:
        self.app = app
        self._cached: bytes | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.PATH or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if self._cached is None:
            start: dict = {}
            chunks: list[bytes] = []

            async def capture(message) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                else:
                    chunks.append(message.get("body", b""))

            await self.app({**scope, "method": "GET"}, receive, capture)
            if start.get("status") != 200:
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": False})
                return
            self._cached = json.dumps(patch(json.loads(b"".join(chunks)))).encode()
        body = self._cached
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body, "more_body": False}
        )

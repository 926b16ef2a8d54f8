"""The service's error answers: ``{"error": "<what is wrong and how to fix it>"}`` with the status
that says whose problem it is (4xx: the request's; 503: the server's, retry later)."""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import JSONResponse

from slant.intake import ArticleError, ArticleTooLarge, PageTooComplex

RETRY_AFTER_S = "5"


class ModelUnavailable(Exception):
    """The model worker could not score (restarting, overloaded, failing): a 503 to retry later."""


def error(message: str, status: int) -> JSONResponse:
    headers = {"Allow": "GET, HEAD"} if status == HTTPStatus.METHOD_NOT_ALLOWED else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def unavailable(message: str) -> JSONResponse:
    return JSONResponse(
        {"error": message}, status_code=HTTPStatus.SERVICE_UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_S}
    )


def status_of(e: ArticleError) -> int:
    """422 for pages too complex to parse, 413 for inputs that are too large, 400 for every other
    bad article."""
    if isinstance(e, PageTooComplex):
        return HTTPStatus.UNPROCESSABLE_ENTITY
    if isinstance(e, ArticleTooLarge):
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    return HTTPStatus.BAD_REQUEST

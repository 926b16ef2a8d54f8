"""The reader and the docs page, served in front of BentoML: ``GET /`` (the reader,
``serving/static/index.html``), ``/static/<file>`` (its CSS and JS) and ``/docs``."""

from __future__ import annotations

import re
from http import HTTPStatus
from pathlib import Path

from starlette.responses import FileResponse, RedirectResponse, Response

from serving.error_answers import error

STATIC_DIR = Path(__file__).resolve().parent / "static"


class ReaderRoutes:
    """GET ``/``: the reader (``serving/static/index.html``); ``/static/<file>``: its CSS and JS;
    ``/docs``: the OpenAPI docs page that BentoML serves at ``/`` (its assets stay under
    ``/static_content`` and its spec at ``/docs.json``). A plain ASGI route in front of the app, like
    /feedback/stats: BentoML registers its index route at ``/`` after every user route, so the
    middleware answers first. Every other request goes on to BentoML untouched."""

    # The reader fetches nothing from elsewhere; the browser enforces it.
    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'none'"
    )
    TYPES = {
        ".html": "text/html; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".svg": "image/svg+xml",
        ".png": "image/png",
        ".ico": "image/x-icon",
        ".txt": "text/plain; charset=utf-8",
    }

    def __init__(self, app, static_dir: Path = STATIC_DIR) -> None:
        self.app = app
        self.static_dir = Path(static_dir).resolve()
        self._docs_html: bytes | None = None

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else None
        if (
            path is None
            or scope.get("method") not in ("GET", "HEAD")
            or not (path in ("/", "/index.html", "/docs", "/docs/") or path.startswith("/static/"))
        ):
            await self.app(scope, receive, send)
            return
        response: Response
        if path == "/docs/":  # the docs page loads ./static_content/..., which needs /docs
            response = RedirectResponse("/docs", status_code=HTTPStatus.PERMANENT_REDIRECT)
        elif path == "/docs":
            response = Response(self._docs_page(), media_type="text/html")
        else:
            name = "index.html" if path in ("/", "/index.html") else path[len("/static/") :]
            file = (self.static_dir / name).resolve()
            if not file.is_relative_to(self.static_dir) or not file.is_file() or file.suffix not in self.TYPES:
                response = error(f"no such file: {path}", HTTPStatus.NOT_FOUND)
            else:
                response = FileResponse(file, media_type=self.TYPES[file.suffix], headers={"Cache-Control": "no-cache"})
                if file.suffix == ".html":
                    response.headers["Content-Security-Policy"] = self.CSP
                    response.headers["X-Content-Type-Options"] = "nosniff"
        await response(scope, receive, send)

    def _docs_page(self) -> bytes:
        """BentoML's own OpenAPI page (the one it serves at ``/``) without its Google Tag Manager
        snippet: the docs, like the reader, load nothing from outside this server."""
        if self._docs_html is None:
            import _bentoml_impl.server as bentoml_server

            html = (Path(bentoml_server.__file__).parent / "main-openapi.html").read_text(encoding="utf-8")
            html = re.sub(r"<!-- Google Tag Manager.*?<!-- End Google Tag Manager[^>]*-->", "", html, flags=re.S)
            html = html.replace("<title>BentoML Prediction Service</title>", "<title>Slant API docs</title>")
            self._docs_html = html.encode("utf-8")
        return self._docs_html

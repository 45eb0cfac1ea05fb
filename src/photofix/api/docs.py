"""The API docs at /docs (Swagger UI) and /redoc (ReDoc), served whole by this app.

photofix runs offline: the pages, their scripts, styles and favicon all come from this server
(the bundles from the pinned `fastapi-offline` wheel: Swagger UI 5.32.6, ReDoc 2.5.3), never
from a CDN or a font host. The OpenAPI schema is PicWish's: errors are its envelope, with
400 for an invalid field, so FastAPI's 422 is taken out of it."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response

from photofix.api.envelope import error_response
from photofix.api.playground import STATIC_DIR

VENDOR_DIR = Path(str(files("fastapi_offline") / "static"))
VENDOR_ROUTE = "/static/vendor"
VENDOR_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
}

# Like the playground's, but Swagger UI and ReDoc set inline styles (ReDoc's styled
# components add <style> elements) and ReDoc runs its search in a blob: worker.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": DOCS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> Response:
    return _page("docs.html")


@router.get("/redoc")
async def redoc() -> Response:
    return _page("redoc.html")


@router.get(VENDOR_ROUTE + "/{name}")
async def vendor_file(name: str) -> Response:
    media_type = VENDOR_FILES.get(name)
    if media_type is None:
        return error_response(404, "not found")
    return FileResponse(VENDOR_DIR / name, media_type=media_type, headers=_HEADERS)


def _page(name: str) -> Response:
    return FileResponse(STATIC_DIR / name, media_type="text/html; charset=utf-8", headers=_HEADERS)


def install_docs(app: FastAPI) -> None:
    """Serve the docs pages, and give the app an OpenAPI schema without 422 responses."""
    app.include_router(router)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            drop_validation_errors(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def drop_validation_errors(schema: dict[str, Any]) -> None:
    """Remove FastAPI's 422 answer, which this server never gives (it answers 400)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)

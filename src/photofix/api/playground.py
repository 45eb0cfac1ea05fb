"""The web playground at `/`: static files only; the page calls the public API like any client."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from photofix.api.envelope import error_response

STATIC_DIR = Path(__file__).parent / "static"

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # ES modules are refused without a JS type
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Everything the page needs comes from this app: no CDN, font or analytics host is allowed,
# and images are only the user's own (blob:) and results decoded from base64 (data:/blob:).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate every time (ETag / Last-Modified): an upgraded server never serves a page
    # whose modules are out of step with it.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> Response:
    return _file(STATIC_DIR / "index.html")


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR.resolve() or path.suffix not in _MEDIA_TYPES:
        return error_response(404, "not found")
    return _file(path)


def _file(path: Path) -> Response:
    if not path.is_file():
        return error_response(404, "not found")
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix], headers=_HEADERS)

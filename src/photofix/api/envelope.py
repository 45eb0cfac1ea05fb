"""PicWish's response envelope and the mapping of typed errors onto it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from photofix.errors import Overloaded, PhotofixError, RateLimited


def envelope(data: Any, status: int = 200, message: str = "success") -> dict[str, Any]:
    return {"status": status, "message": message, "data": data}


def error_response(
    status: int, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = envelope(None, status, message)
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PhotofixError)
    async def _photofix_error(request: Request, exc: PhotofixError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimited | Overloaded):
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(exc.http_status, exc.message, field=exc.field, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI says 422; PicWish clients expect 400 with the offending field named.
        first = exc.errors()[0]
        field = str(first["loc"][-1]) if first.get("loc") else None
        message = f"invalid field '{field}': {first.get('msg', 'invalid value')}"
        return error_response(400, message, field=field)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal server error")

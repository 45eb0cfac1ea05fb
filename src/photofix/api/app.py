"""`create_app(settings)`: the FastAPI application with its runtime wired in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from photofix import __version__, metrics
from photofix.api.deps import AppState
from photofix.api.envelope import error_response, install_error_handlers
from photofix.api.playground import router as playground_router
from photofix.api.ratelimit import RateLimiter
from photofix.api.routes import router
from photofix.config import Settings
from photofix.keys import KeyStore
from photofix.runtime import build_runtime

log = logging.getLogger(__name__)

# multipart framing on top of the image itself
_BODY_OVERHEAD = 64 * 1024


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings)
        runtime.runner.start()
        if not runtime.runner.redelivers:
            recovered = await anyio.to_thread.run_sync(runtime.service.recover)
            if recovered:
                log.info("re-queued %d tasks left unfinished by the last run", recovered)
        app.state.photofix = AppState(
            settings=settings,
            service=runtime.service,
            keys=KeyStore(settings.keys_path),
            limiter=RateLimiter(settings.rate_limit_per_minute),
            local_results=runtime.local_results,
            metrics=metrics.registry(metrics.QueueDepth(runtime.service.store.count_unfinished)),
        )
        sweeper = asyncio.create_task(_sweep_forever(runtime.sweep, settings.sweep_interval))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await anyio.to_thread.run_sync(runtime.runner.shutdown)

    app = FastAPI(
        title="photofix",
        version=__version__,
        description="Document scanning and product cut-outs behind a PicWish-compatible API.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_image_bytes + _BODY_OVERHEAD)
    app.include_router(router)
    app.include_router(playground_router)
    return app


class BodySizeLimit(BaseHTTPMiddleware):
    """Refuse a body whose declared size is over the limit before reading any of it."""

    def __init__(self, app: object, max_bytes: int) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.max_bytes = max_bytes

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return error_response(413, "request body is over the 20 MB image limit")
        return await call_next(request)


async def _sweep_forever(sweep: object, interval: float) -> None:
    while True:
        try:
            removed = await anyio.to_thread.run_sync(sweep)  # type: ignore[arg-type]
            if removed:
                log.info("swept %d expired tasks", removed)
        except Exception:
            log.exception("expiry sweep failed")
        await asyncio.sleep(interval)

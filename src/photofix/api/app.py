"""`create_app(settings)`: the FastAPI application with its runtime wired in its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from photofix import __version__, metrics
from photofix.api.deps import AppState
from photofix.api.docs import install_docs
from photofix.api.envelope import error_response, install_error_handlers
from photofix.api.playground import router as playground_router
from photofix.api.ratelimit import RateLimiter
from photofix.api.routes import router, upload_router
from photofix.config import MB, Settings
from photofix.keys import KeyStore
from photofix.runtime import build_runtime

log = logging.getLogger(__name__)

# What a create request may carry on top of the image: multipart framing and the other fields.
FORM_OVERHEAD = 64 * 1024


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
        openapi_tags=[
            {
                "name": "tasks",
                "description": "Create a task (a photo in, `X-API-KEY` header), then poll it "
                "until `state` is 1 (done) or negative (failed).",
            }
        ],
        docs_url=None,  # served by photofix.api.docs, offline
        redoc_url=None,
    )
    install_error_handlers(app)
    max_body = settings.max_image_bytes + FORM_OVERHEAD
    app.add_middleware(BodyGuard, max_bytes=max_body, image_limit=settings.max_image_bytes)
    # An upload is counted as it streams in (chunked, or under a false Content-Length) and
    # refused with 413 past the limit, after its key was checked (deps.KeyFirstRoute).
    app.include_router(upload_router, max_body_size=max_body)
    app.include_router(router)
    app.include_router(playground_router)
    install_docs(app)
    return app


class BodyGuard:
    """Pure ASGI middleware in front of every request body.

    A body declared (Content-Length) over `max_bytes` is refused with 413 before any of it is
    read. An answer given before the whole body was read (401, 413, 400...) closes the
    connection: uvicorn would otherwise go on reading and dropping the rest to keep the
    connection alive, for as long as a chunked body goes on. Counting the bytes of a body that
    is read is FastAPI's route body limit (`max_body_size`)."""

    def __init__(self, app: ASGIApp, max_bytes: int, image_limit: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.message = f"request body is over the {image_limit / MB:g} MB image limit"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(413, self.message, headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        unread = "transfer-encoding" in headers or declared not in (None, "0")

        async def receive_body() -> Message:
            nonlocal unread
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                unread = False
            return message

        async def send_closing_early(message: Message) -> None:
            if message["type"] == "http.response.start" and unread:
                closing = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": closing}
            await send(message)

        await self.app(scope, receive_body, send_closing_early)


async def _sweep_forever(sweep: object, interval: float) -> None:
    while True:
        try:
            removed = await anyio.to_thread.run_sync(sweep)  # type: ignore[arg-type]
            if removed:
                log.info("swept %d expired tasks", removed)
        except Exception:
            log.exception("expiry sweep failed")
        await asyncio.sleep(interval)

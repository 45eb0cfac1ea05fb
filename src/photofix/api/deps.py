"""Request dependencies: the running service, and the authenticated (and rate-limited) key."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from photofix.api.ratelimit import RateLimiter
from photofix.config import Settings
from photofix.errors import Unauthorized
from photofix.keys import ApiKey, KeyStore
from photofix.storage.local import LocalResultStore
from photofix.tasks.service import TaskService

API_KEY_HEADER = "X-API-KEY"

# The docs' security scheme (their Authorize button). It only reads the header: a missing or
# wrong key is refused by `authenticate`, with PicWish's 401 envelope.
api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ApiKey",
    description="An API key of this server: `photofix keys create NAME` makes one.",
    auto_error=False,
)


@dataclass
class AppState:
    """Everything the routes need, built once in the app's lifespan."""

    settings: Settings
    service: TaskService
    keys: KeyStore
    limiter: RateLimiter
    local_results: LocalResultStore | None  # set when results are served by this API
    metrics: CollectorRegistry  # what /metrics serves


def get_state(request: Request) -> AppState:
    return request.app.state.photofix


def authenticate(
    request: Request,
    x_api_key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> ApiKey:
    """The request's key, checked and charged to its rate limit once per request (a
    `KeyFirstRoute` has done it already before the body was read)."""
    known: ApiKey | None = getattr(request.state, "api_key", None)
    if known is not None:
        return known
    if not x_api_key:
        raise Unauthorized(f"missing {API_KEY_HEADER} header")
    state = get_state(request)
    key = state.keys.authenticate(x_api_key)
    if key is None:
        raise Unauthorized("invalid API key")
    state.limiter.check(key.key_id)
    request.state.api_key = key
    return key


class KeyFirstRoute(APIRoute):
    """A route whose API key (and rate limit) is checked before any of its body is read.

    FastAPI parses a form body before it resolves the route's dependencies, so with `KeyDep`
    alone an anonymous client could make the server take in a whole upload first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def key_first(request: Request) -> Response:
            await run_in_threadpool(authenticate, request, request.headers.get(API_KEY_HEADER))
            return await handler(request)

        return key_first


StateDep = Annotated[AppState, Depends(get_state)]
KeyDep = Annotated[ApiKey, Depends(authenticate)]

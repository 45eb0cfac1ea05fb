"""Request dependencies: the running service, and the authenticated (and rate-limited) key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from prometheus_client import CollectorRegistry

from photofix.api.ratelimit import RateLimiter
from photofix.config import Settings
from photofix.errors import Unauthorized
from photofix.keys import ApiKey, KeyStore
from photofix.storage.local import LocalResultStore
from photofix.tasks.service import TaskService


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
    state: Annotated[AppState, Depends(get_state)],
    x_api_key: Annotated[str | None, Header(alias="X-API-KEY")] = None,
) -> ApiKey:
    if not x_api_key:
        raise Unauthorized("missing X-API-KEY header")
    key = state.keys.authenticate(x_api_key)
    if key is None:
        raise Unauthorized("invalid API key")
    state.limiter.check(key.key_id)
    return key


StateDep = Annotated[AppState, Depends(get_state)]
KeyDep = Annotated[ApiKey, Depends(authenticate)]

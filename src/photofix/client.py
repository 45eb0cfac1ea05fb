"""Python client for photofix and for PicWish's visual-correction API (same wire format).

    from photofix.client import Client
    with Client("http://127.0.0.1:8000", "pfx_...") as client:
        result = client.correct("page.jpg", type=2)
        Path("scan.jpg").write_bytes(result.image)
        print(result.meta["document"])

`AsyncClient` is the asyncio twin. Both create the task asynchronously and poll it (with
backoff, honouring Retry-After on 429 and 503) until it finishes or `timeout` passes, so no
request waits on a server-side sync timeout. The protocol is written once, as a generator of
steps (send this request / sleep this long); the two clients only drive it.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PATH = "/api/tasks/visual/correction"
DEFAULT_TIMEOUT = 120.0
_FIRST_POLL = 0.25
_MAX_POLL = 2.0
_RETRYABLE = (429, 503)
_MAX_RETRY_AFTER = 30.0


class ClientError(Exception):
    """Base class of everything this client raises."""


class APIError(ClientError):
    """The API refused the request (4xx/5xx); `field` names the bad field for a 400."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message, self.field = status, message, field


class TaskFailed(ClientError):
    """The task ended in a failed state (SPEC 4: -1, -3, -5, -7, -8)."""

    def __init__(self, task: dict[str, Any]) -> None:
        state, detail = task.get("state"), task.get("state_detail")
        super().__init__(f"task {task.get('task_id')} failed with state {state}: {detail}")
        self.task, self.state, self.detail = task, state, detail


class TaskTimeout(ClientError):
    """The task did not finish within the client's timeout (it may still finish later)."""

    def __init__(self, task_id: str | None, seconds: float) -> None:
        super().__init__(f"task {task_id} not finished after {seconds:g} s")
        self.task_id = task_id


@dataclass(frozen=True)
class Result:
    image: bytes
    task: dict[str, Any]  # the finished task as the API reported it

    @property
    def meta(self) -> dict[str, Any]:
        return self.task.get("meta") or {}


ImageSource = str | Path | bytes | Any  # a path, an http(s) URL, bytes, or a PIL image


@dataclass(frozen=True)
class _Send:
    request: httpx.Request


@dataclass(frozen=True)
class _Sleep:
    seconds: float


_Step = _Send | _Sleep


@dataclass
class _Call:
    """One correct() call: what to send, and the clock it must finish by."""

    base_url: str
    api_key: str
    image: ImageSource
    fields: dict[str, Any] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT

    def flow(self) -> Generator[_Step, httpx.Response | None, Result]:
        deadline = time.monotonic() + self.timeout
        created = yield from self._until_accepted(self._create_request, deadline)
        task_id = created["data"]["task_id"]
        delay = _FIRST_POLL
        while True:
            if time.monotonic() + delay > deadline:
                raise TaskTimeout(task_id, self.timeout)
            yield _Sleep(delay)
            delay = min(delay * 1.5, _MAX_POLL)
            body = yield from self._until_accepted(lambda: self._get_request(task_id), deadline)
            task = body["data"]
            if task["state"] == 1:
                image = yield from self._image_of(task)
                return Result(image=image, task=task)
            if task["state"] < 0:
                raise TaskFailed(task)

    def _until_accepted(
        self, build: Any, deadline: float
    ) -> Generator[_Step, httpx.Response | None, dict[str, Any]]:
        """Send until the answer is not a 429/503, sleeping what Retry-After asks."""
        while True:
            response = yield _Send(build())
            assert response is not None
            if response.status_code not in _RETRYABLE:
                return _checked(response)
            wait = _retry_after(response)
            if time.monotonic() + wait > deadline:
                _checked(response)  # raises the 429/503 as an APIError
            yield _Sleep(wait)

    def _image_of(self, task: dict[str, Any]) -> Generator[_Step, httpx.Response | None, bytes]:
        image = task.get("image") or ""
        if not image.startswith(("http://", "https://")):
            return base64.b64decode(image)
        # The result URL is signed: no API key goes with it (it may be another host, e.g. S3).
        response = yield _Send(httpx.Request("GET", image))
        assert response is not None
        if response.status_code != 200:
            raise APIError(response.status_code, f"result download failed: {response.text[:200]}")
        return response.content

    def _headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.api_key}

    def _create_request(self) -> httpx.Request:
        data = {name: str(value) for name, value in self.fields.items() if value is not None}
        url = f"{self.base_url}{PATH}"
        if isinstance(self.image, str) and self.image.startswith(("http://", "https://")):
            return httpx.Request("POST", url, data={**data, "image_url": self.image},
                                 headers=self._headers())  # fmt: skip
        files = {"image_file": ("image", _image_bytes(self.image), "application/octet-stream")}
        return httpx.Request("POST", url, data=data, files=files, headers=self._headers())

    def _get_request(self, task_id: str) -> httpx.Request:
        return httpx.Request("GET", f"{self.base_url}{PATH}/{task_id}", headers=self._headers())


def _image_bytes(image: ImageSource) -> bytes:
    if isinstance(image, bytes | bytearray):
        return bytes(image)
    if isinstance(image, str | Path):
        return Path(image).read_bytes()
    if hasattr(image, "save"):  # a PIL image: sent losslessly
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()
    raise TypeError(f"cannot send {type(image).__name__} as an image")


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.0), _MAX_RETRY_AFTER)
    except ValueError:
        return 1.0


def _checked(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    if response.status_code != 200 or body.get("status", 200) != 200:
        raise APIError(response.status_code, str(body.get("message")), body.get("field"))
    return body


def _fields(type: int, return_type: int, extra: dict[str, Any]) -> dict[str, Any]:
    if return_type not in (1, 2):
        raise ValueError("return_type must be 1 (URL) or 2 (base64); the client polls")
    return {"type": type, "return_type": return_type, "sync": 0, **extra}


class Client:
    """Blocking client. `extra` fields (format, enhance, corners, aspect...) pass through."""

    def __init__(self, base_url: str, api_key: str, *, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._http = http or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))

    def correct(
        self,
        image: ImageSource,
        *,
        type: int = 1,
        return_type: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        **extra: Any,
    ) -> Result:
        call = _Call(self.base_url, self.api_key, image, _fields(type, return_type, extra), timeout)
        flow = call.flow()
        step = next(flow)
        while True:
            if isinstance(step, _Sleep):
                time.sleep(step.seconds)
                reply = None
            else:
                reply = self._http.send(step.request)
            try:
                step = flow.send(reply)
            except StopIteration as done:
                return done.value

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """The asyncio twin of `Client` (httpx.AsyncClient underneath)."""

    def __init__(
        self, base_url: str, api_key: str, *, http: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))

    async def correct(
        self,
        image: ImageSource,
        *,
        type: int = 1,
        return_type: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        **extra: Any,
    ) -> Result:
        call = _Call(self.base_url, self.api_key, image, _fields(type, return_type, extra), timeout)
        flow = call.flow()
        step = next(flow)
        while True:
            if isinstance(step, _Sleep):
                await asyncio.sleep(step.seconds)
                reply = None
            else:
                reply = await self._http.send(step.request)
            try:
                step = flow.send(reply)
            except StopIteration as done:
                return done.value

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

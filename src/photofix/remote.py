"""`photofix remote`: many images through a server with a bounded number in flight.

Whatever goes wrong on the way (no such host, refused connection, a 401, a 5xx, a task that
fails or outlasts the timeout, an answer that is no photofix/PicWish answer) becomes a typed
error with its exit code, reported per input: never a traceback.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable

import httpx

from photofix.batch import (
    Done,
    ResultWriter,
    Source,
    read_input,
)
from photofix.client import APIError, AsyncClient, ClientError, TaskFailed, TaskTimeout
from photofix.errors import (
    BadRequest,
    ImageTooLarge,
    InternalError,
    InvalidImage,
    Overloaded,
    PhotofixError,
    ProcessingTimeout,
    RateLimited,
    ServerError,
    ServerUnreachable,
    SourceDownloadFailed,
    TaskNotFound,
    Unauthorized,
    UnsupportedFormat,
)
from photofix.imaging.codec import sniff_format

MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # never read more of a file to send (/dev/zero ends here)
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


# An HTTP status or a failed task's state (SPEC 4) -> the error it stands for.
_BY_STATUS: dict[int, type[PhotofixError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: TaskNotFound,
    413: ImageTooLarge,
    415: UnsupportedFormat,
    429: RateLimited,
    503: Overloaded,
}
_BY_STATE: dict[int, type[PhotofixError]] = {
    -3: SourceDownloadFailed,
    -5: ImageTooLarge,
    -7: InvalidImage,
    -8: ProcessingTimeout,
}


def check_server(url: str) -> str:
    """The base URL, or BadRequest naming what is wrong with it (e.g. a missing http://)."""
    example = "a URL such as http://127.0.0.1:8000"
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise BadRequest(f"--server must be {example}: {exc}", field="server") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise BadRequest(f"--server must be {example}, not {url!r}", field="server")
    if port is not None and not 0 < port < 65536:
        raise BadRequest(f"--server has port {port}, outside 1-65535", field="server")
    return url


def check_key(key: str) -> str:
    """An HTTP header carries printable ASCII only."""
    if not key or not (key.isascii() and key.isprintable()) or key != key.strip():
        raise BadRequest("--key must be printable ASCII without spaces around it", field="key")
    return key


async def process_remote(
    sources: list[Source],
    *,
    server: str,
    key: str,
    task_type: int,
    writer: ResultWriter,
    concurrency: int,
    timeout: float,
    on_done: Callable[[Source, Done | PhotofixError], None],
) -> None:
    """Process every source, `concurrency` at a time; `on_done` hears each with its outcome.
    Once the key is refused, or the server could not be reached before it ever answered, no
    other input can fare better: the rest are not sent."""
    gate = asyncio.Semaphore(concurrency)
    answered = False  # the server answered once: being unreachable later may pass
    fatal: list[PhotofixError] = []

    async def one(client: AsyncClient, source: Source) -> None:
        nonlocal answered
        async with gate:
            if fatal:
                outcome: Done | PhotofixError = type(fatal[0])(f"not sent: {fatal[0].message}")
            else:
                outcome = await _one(client, source, server, task_type, timeout, writer)
                if isinstance(outcome, Unauthorized) or (
                    isinstance(outcome, ServerUnreachable) and not answered
                ):
                    fatal.append(outcome)
                answered = answered or not isinstance(outcome, ServerUnreachable)
        on_done(source, outcome)

    async with AsyncClient(server, key) as client:
        await asyncio.gather(*(one(client, source) for source in sources))


async def _one(
    client: AsyncClient,
    source: Source,
    server: str,
    task_type: int,
    timeout: float,
    writer: ResultWriter,
) -> Done | PhotofixError:
    try:
        data = read_input(source.path, MAX_UPLOAD_BYTES)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ImageTooLarge(f"over {MAX_UPLOAD_BYTES // 2**20} MB: not sent")
        result = await client.correct(data, type=task_type, timeout=timeout)
        extension = _extension(result.image)
        target = writer.write(source, extension, result.image)
    except PhotofixError as exc:
        return exc
    except (ClientError, httpx.HTTPError) as exc:
        return _typed(exc, server)
    except (LookupError, TypeError, ValueError, AttributeError) as exc:  # bad JSON, bad base64
        return ServerError(f"{server} gave no photofix/PicWish answer ({exc!r})")
    except Exception as exc:  # a bug on one input must not cost the rest their turn
        return InternalError.of(exc)
    return Done(target, result.meta)


def _extension(image: bytes) -> str:
    try:
        return _EXTENSIONS.get(sniff_format(image), "img")
    except PhotofixError as exc:
        raise ServerError(f"the result is not an image ({exc.message})") from exc


def _typed(exc: ClientError | httpx.HTTPError, server: str) -> PhotofixError:
    """The photofix error that a client-side exception stands for."""
    if isinstance(exc, APIError):
        return _error(_BY_STATUS.get(exc.status, ServerError), f"the server answered {exc}")
    if isinstance(exc, TaskFailed):
        kind = _BY_STATE.get(exc.state, ServerError) if isinstance(exc.state, int) else ServerError
        return _error(kind, f"the task failed with state {exc.state}: {exc.detail}")
    if isinstance(exc, TaskTimeout):
        return ProcessingTimeout(f"{exc} (the server may still finish it)")
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.UnsupportedProtocol):
        return ServerUnreachable(f"cannot connect to {server}: {_why(exc)}")
    if isinstance(exc, httpx.TimeoutException):
        return ProcessingTimeout(f"{server} did not answer in time")
    return ServerError(f"talking to {server} failed: {exc or type(exc).__name__}")


def _why(exc: BaseException) -> str:
    """The OS's words for the deepest cause ("connection refused", "name or service not
    known"): httpx says "All connection attempts failed" for most of them."""
    why = str(exc) or type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            why = str(cause.strerror)
        elif isinstance(cause, OSError) and cause.errno:
            why = os.strerror(cause.errno)
        cause = cause.__cause__ or cause.__context__
    return why.lower()


def _error(kind: type[PhotofixError], message: str) -> PhotofixError:
    if issubclass(kind, RateLimited | Overloaded):
        return kind(message, retry_after=0)  # the client honoured Retry-After until its timeout
    return kind(message)

"""Typed errors. Each declares the HTTP status, task state and CLI exit code it maps to.

This module is a leaf: every layer (imaging included) may raise these; only the API and the CLI
translate them into responses and exit codes.
"""

from __future__ import annotations


class PhotofixError(Exception):
    """Base class. `state` is the SPEC section 4 task state a task ends in when this is raised."""

    http_status: int = 500
    state: int = -1
    exit_code: int = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(PhotofixError):
    """A request field is missing, malformed or out of range; `field` names it."""

    http_status = 400
    exit_code = 2


class Unauthorized(PhotofixError):
    http_status = 401
    exit_code = 3


class TaskNotFound(PhotofixError):
    """Unknown, expired, or owned by another key: indistinguishable on purpose."""

    http_status = 404
    exit_code = 4


class ImageTooLarge(PhotofixError):
    """Over the byte or pixel limits (SPEC 3), including decompression bombs."""

    http_status = 413
    state = -5
    exit_code = 5


class UnsupportedFormat(PhotofixError):
    http_status = 415
    state = -7
    exit_code = 6


class InvalidImage(PhotofixError):
    """Broken, truncated or malformed image bytes."""

    http_status = 400
    state = -7
    exit_code = 7


class SourceDownloadFailed(PhotofixError):
    """image_url could not be fetched: network error, bad status, timeout, or refused address."""

    http_status = 400
    state = -3
    exit_code = 8


class ForbiddenAddress(SourceDownloadFailed):
    """image_url resolves to loopback, private, link-local or metadata space (SSRF guard)."""


class ProcessingTimeout(PhotofixError):
    http_status = 500
    state = -8
    exit_code = 9


class RateLimited(PhotofixError):
    http_status = 429
    exit_code = 10

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(PhotofixError):
    http_status = 503
    exit_code = 11

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(Overloaded):
    """A shared back-end (Redis, object storage) did not answer: the client retries later.

    Raised before anything is acknowledged, so a 503 never loses a task the API accepted."""

    exit_code = 13

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message, retry_after=retry_after)


class ModelError(PhotofixError):
    """A model file is missing, corrupt (sha256 mismatch) or not a usable ONNX graph."""

    exit_code = 12


# Batches of files (`photofix process` and `photofix remote`): raised by the CLI layer only.


class InternalError(PhotofixError):
    """A bug met on one input: reported as its failure, so that the rest of the batch goes on."""

    @classmethod
    def of(cls, exc: Exception) -> InternalError:
        return cls(f"{type(exc).__name__}: {exc} (a bug: please report it)")


class InputMissing(PhotofixError):
    exit_code = 15


class InputUnreadable(PhotofixError):
    """Permission denied, a path through a file, a folder that holds no image."""

    exit_code = 16


class OutputExists(PhotofixError):
    """A file is where the result goes and --overwrite was not given."""

    exit_code = 17


class OutputIsInput(PhotofixError):
    """The result would replace an input of the batch: refused even with --overwrite."""

    exit_code = 18


class OutputUnwritable(PhotofixError):
    exit_code = 19


class ServerUnreachable(PhotofixError):
    """photofix remote: no such host, connection refused or timed out, TLS failure."""

    exit_code = 20


class ServerError(PhotofixError):
    """photofix remote: the server failed (5xx, task state -1), or its answer is none of the
    photofix/PicWish protocol."""

    exit_code = 21

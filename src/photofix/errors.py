"""Typed errors. Each declares the HTTP status, task state and CLI exit code it maps to.

This module is a leaf: every layer (imaging included) may raise these; only the API and the CLI
translate them into responses and exit codes.
"""

from __future__ import annotations

import enum


@enum.unique
class ExitCode(enum.IntEnum):
    """What `photofix` exits with. The numbers are an interface (scripts test them): never
    renumber one; a new code takes the next free number. `photofix process --help` lists them
    (cli.EXIT_CODES)."""

    OK = 0  # every input done
    INTERNAL_ERROR = 1  # a bug
    BAD_REQUEST = 2  # a bad option, usage, setting or key name
    UNAUTHORIZED = 3  # the server refused the API key
    NOT_FOUND = 4  # no such task, or no such key
    IMAGE_TOO_LARGE = 5
    UNSUPPORTED_FORMAT = 6
    INVALID_IMAGE = 7  # broken or truncated
    DOWNLOAD_FAILED = 8  # the server could not download image_url
    TIMED_OUT = 9
    RATE_LIMITED = 10
    OVERLOADED = 11
    MODEL_ERROR = 12
    STORE_UNAVAILABLE = 13
    PARTIAL_FAILURE = 14  # a batch: some inputs done and some not, or failures of several kinds
    INPUT_MISSING = 15
    INPUT_UNREADABLE = 16
    OUTPUT_EXISTS = 17
    OUTPUT_IS_INPUT = 18
    OUTPUT_UNWRITABLE = 19
    SERVER_UNREACHABLE = 20
    SERVER_ERROR = 21


class PhotofixError(Exception):
    """Base class. `state` is the SPEC section 4 task state a task ends in when this is raised."""

    http_status: int = 500
    state: int = -1
    exit_code: ExitCode = ExitCode.INTERNAL_ERROR

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(PhotofixError):
    """A request field is missing, malformed or out of range; `field` names it."""

    http_status = 400
    exit_code = ExitCode.BAD_REQUEST


class Unauthorized(PhotofixError):
    http_status = 401
    exit_code = ExitCode.UNAUTHORIZED


class TaskNotFound(PhotofixError):
    """Unknown, expired, or owned by another key: indistinguishable on purpose."""

    http_status = 404
    exit_code = ExitCode.NOT_FOUND


class ImageTooLarge(PhotofixError):
    """Over the byte or pixel limits (SPEC 3), including decompression bombs."""

    http_status = 413
    state = -5
    exit_code = ExitCode.IMAGE_TOO_LARGE


class UnsupportedFormat(PhotofixError):
    http_status = 415
    state = -7
    exit_code = ExitCode.UNSUPPORTED_FORMAT


class InvalidImage(PhotofixError):
    """Broken, truncated or malformed image bytes."""

    http_status = 400
    state = -7
    exit_code = ExitCode.INVALID_IMAGE


class SourceDownloadFailed(PhotofixError):
    """image_url could not be fetched: network error, bad status, timeout, or refused address."""

    http_status = 400
    state = -3
    exit_code = ExitCode.DOWNLOAD_FAILED


class ForbiddenAddress(SourceDownloadFailed):
    """image_url resolves to loopback, private, link-local or metadata space (SSRF guard)."""


class ProcessingTimeout(PhotofixError):
    http_status = 500
    state = -8
    exit_code = ExitCode.TIMED_OUT


class RateLimited(PhotofixError):
    http_status = 429
    exit_code = ExitCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(PhotofixError):
    http_status = 503
    exit_code = ExitCode.OVERLOADED

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(Overloaded):
    """A shared back-end (Redis, object storage) did not answer: the client retries later.

    Raised before anything is acknowledged, so a 503 never loses a task the API accepted."""

    exit_code = ExitCode.STORE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message, retry_after=retry_after)


class ModelError(PhotofixError):
    """A model file is missing, corrupt (sha256 mismatch) or not a usable ONNX graph."""

    exit_code = ExitCode.MODEL_ERROR


# Batches of files (`photofix process` and `photofix remote`): raised by the CLI layer only.


class InternalError(PhotofixError):
    """A bug met on one input: reported as its failure, so that the rest of the batch goes on."""

    @classmethod
    def of(cls, exc: Exception) -> InternalError:
        return cls(f"{type(exc).__name__}: {exc} (a bug: please report it)")


class InputMissing(PhotofixError):
    exit_code = ExitCode.INPUT_MISSING


class InputUnreadable(PhotofixError):
    """Permission denied, a path through a file, a folder that holds no image."""

    exit_code = ExitCode.INPUT_UNREADABLE


class OutputExists(PhotofixError):
    """A file is where the result goes and --overwrite was not given."""

    exit_code = ExitCode.OUTPUT_EXISTS


class OutputIsInput(PhotofixError):
    """The result would replace an input of the batch: refused even with --overwrite."""

    exit_code = ExitCode.OUTPUT_IS_INPUT


class OutputUnwritable(PhotofixError):
    exit_code = ExitCode.OUTPUT_UNWRITABLE


class ServerUnreachable(PhotofixError):
    """photofix remote: no such host, connection refused or timed out, TLS failure."""

    exit_code = ExitCode.SERVER_UNREACHABLE


class ServerError(PhotofixError):
    """photofix remote: the server failed (5xx, task state -1), or its answer is none of the
    photofix/PicWish protocol."""

    exit_code = ExitCode.SERVER_ERROR

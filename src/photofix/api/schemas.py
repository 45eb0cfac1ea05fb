"""Response shapes, for the OpenAPI docs and for turning a Task into PicWish's `data`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from photofix.config import MB, Settings
from photofix.tasks.model import Task


class TaskData(BaseModel):
    task_id: str
    type: int
    return_type: int
    state: int
    state_detail: str | None = None
    progress: int
    image: str | None = None
    created_at: str
    processed_at: str | None = None
    completed_at: str | None = None
    time_elapsed: float | None = None
    meta: dict[str, Any] | None = None


class TaskCreated(BaseModel):
    task_id: str


class TaskEnvelope(BaseModel):
    status: int = 200
    message: str = "success"
    data: TaskData


class CreatedEnvelope(BaseModel):
    status: int = 200
    message: str = "success"
    data: TaskCreated | TaskData


class ErrorEnvelope(BaseModel):
    status: int
    message: str
    data: None = None
    field: str | None = None


def _stamp(value: float | None) -> str | None:
    return None if value is None else str(int(value))


def task_data(task: Task, image: str | None) -> TaskData:
    elapsed = None
    if task.completed_at is not None:
        elapsed = round(task.completed_at - task.created_at, 3)
    return TaskData(
        task_id=task.task_id,
        type=task.options.type,
        return_type=task.options.return_type,
        state=int(task.state),
        state_detail=task.state_detail,
        progress=task.progress,
        image=image,
        created_at=str(int(task.created_at)),
        processed_at=_stamp(task.processed_at),
        completed_at=_stamp(task.completed_at),
        time_elapsed=elapsed,
        meta=task.meta,
    )


# The docs are one text for every server: they give the limits' defaults, not this server's.
_DEFAULT_BYTES = Settings.model_fields["max_image_bytes"].default
_DEFAULT_SIDE = Settings.model_fields["max_image_side"].default

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorEnvelope, "description": text}
    for code, text in {
        400: "a field is invalid (the message names it), or the image file is broken",
        401: "missing or invalid X-API-KEY",
        404: "no such task (unknown, expired, or another key's)",
        413: (
            "image over the server's size limits (by default "
            f"{_DEFAULT_BYTES / MB:g} MB, {_DEFAULT_SIDE} px a side)"
        ),
        415: "unsupported image format",
        429: "rate limited; see Retry-After",
        503: "overloaded; see Retry-After",
    }.items()
}

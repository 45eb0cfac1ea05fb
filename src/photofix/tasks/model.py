"""The task record and its state codes (SPEC section 4)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class State(enum.IntEnum):
    SUCCEEDED = 1
    QUEUED = 0
    PREPARING = 2
    WAITING = 3
    PROCESSING = 4
    FAILED = -1
    DOWNLOAD_FAILED = -3
    TOO_LARGE = -5
    INVALID_IMAGE = -7
    TIMED_OUT = -8

    @property
    def finished(self) -> bool:
        return self == State.SUCCEEDED or self < 0


UNFINISHED_STATES = (State.QUEUED, State.PREPARING, State.WAITING, State.PROCESSING)


@dataclass(frozen=True)
class TaskOptions:
    """What the client asked for. Everything but `type` and `return_type` is beyond PicWish."""

    type: int = 1
    return_type: int = 1
    output_format: str | None = None  # png | jpeg | webp; None: chosen from the result
    enhance: str = "color"
    corners: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "return_type": self.return_type,
            "output_format": self.output_format,
            "enhance": self.enhance,
            "corners": list(self.corners) if self.corners else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskOptions:
        corners = data.get("corners")
        return cls(
            type=data["type"],
            return_type=data["return_type"],
            output_format=data.get("output_format"),
            enhance=data.get("enhance", "color"),
            corners=tuple(corners) if corners else None,
        )


@dataclass
class Task:
    task_id: str
    owner: str  # key_id of the API key that created it
    options: TaskOptions
    created_at: float
    expires_at: float
    state: State = State.QUEUED
    state_detail: str | None = None
    progress: int = 0
    source_url: str | None = None
    source_blob: str | None = None  # uploaded bytes, kept in the blob store until done
    result_blob: str | None = None
    result_content_type: str | None = None
    meta: dict[str, Any] | None = None
    processed_at: float | None = None
    completed_at: float | None = None
    attempts: int = 0

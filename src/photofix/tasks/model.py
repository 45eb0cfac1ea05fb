"""The task record and its state codes (SPEC section 4)."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from photofix.pipelines import PRODUCT_MARGIN, PipelineOptions


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
    margin: float = PRODUCT_MARGIN  # products: fraction of the subject's longer side
    margin_px: int | None = None  # ... or pixels
    aspect: float | str | None = None  # products: width / height, or "original"
    bg_color: tuple[int, int, int] | None = None  # type 4: fill instead of transparency
    keep_shadow: bool = False  # type 4: keep the contact shadow as soft alpha
    model: str | None = None  # types 3, 4: a segmentation model by name; None: the default

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("corners", "bg_color"):
            data[name] = list(data[name]) if data[name] is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskOptions:
        known = {field.name for field in dataclasses.fields(cls)}
        values = {name: value for name, value in data.items() if name in known}
        for name in ("corners", "bg_color"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)

    def pipeline(self) -> PipelineOptions:
        """The options the imaging pipeline takes (what a worker runs)."""
        return PipelineOptions(
            type=self.type,
            enhance=self.enhance,
            corners=self.corners,
            margin=self.margin,
            margin_px=self.margin_px,
            aspect=self.aspect,  # type: ignore[arg-type]  # validated by the API
            bg_color=self.bg_color,
            keep_shadow=self.keep_shadow,
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

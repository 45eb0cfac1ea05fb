"""Response shapes, for the OpenAPI docs and for turning a Task into PicWish's `data`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from photofix.config import MB, Settings
from photofix.tasks.model import State, Task

# What each state code means (SPEC 4): the docs name every one (tests/api/test_docs.py).
STATE_MEANINGS: dict[State, str] = {
    State.SUCCEEDED: "succeeded: `image` holds the result",
    State.QUEUED: "queued, waiting for a worker to take it",
    State.PREPARING: "preparing: the image is being downloaded or decoded",
    State.WAITING: "waiting: taken by a worker, about to run",
    State.PROCESSING: "processing",
    State.FAILED: "failed: processing went wrong (see state_detail)",
    State.DOWNLOAD_FAILED: "failed: image_url could not be downloaded",
    State.TOO_LARGE: "failed: the image is over the size limits",
    State.INVALID_IMAGE: "failed: the file is not an image this server can read",
    State.TIMED_OUT: "failed: processing took longer than the server allows",
}

_STATES_TEXT = "; ".join(f"`{int(code)}` {text}" for code, text in STATE_MEANINGS.items())

_CORNERS = {
    "type": "array",
    "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    "minItems": 4,
    "maxItems": 4,
}
_FOUND = {"type": "boolean", "description": "whether it was found"}
_REASON = {"type": "string", "description": "why not, when not found"}
_CONFIDENCE = {"type": "number", "description": "0..1"}

# The keys `meta` may carry, documented without constraining the answer (it is a plain object
# on the wire: keys absent for a type are absent, never null).
META_KEYS: dict[str, dict[str, Any]] = {
    "width": {"type": "integer", "description": "output width, px"},
    "height": {"type": "integer", "description": "output height, px"},
    "format": {"type": "string", "enum": ["png", "jpeg", "webp"], "description": "output format"},
    "exif_orientation": {
        "type": ["integer", "null"],
        "description": "the input's EXIF orientation tag, applied before anything else",
    },
    "document": {
        "type": "object",
        "description": "types 0, 2: the page",
        "properties": {
            "found": _FOUND,
            "corners": {
                **_CORNERS,
                "description": "the page's corners [x, y] in input pixels (after EXIF "
                "orientation), TL TR BR BL of the upright page",
            },
            "confidence": _CONFIDENCE,
            "method": {
                "type": "string",
                "description": "how it was found; `user` when the request gave `corners`",
            },
            "reason": _REASON,
        },
    },
    "bbox": {
        "type": "array",
        "items": {"type": "integer"},
        "description": "[x0, y0, x1, y1]: the page's or the subject crop's box in the input, "
        "before any turn",
    },
    "rotation": {
        "type": "integer",
        "enum": [0, 90, 180, 270],
        "description": "clockwise quarter turn applied to make it upright, degrees",
    },
    "orientation": {
        "type": "object",
        "description": "how the rotation was decided: `source` and `confidence`",
    },
    "deskew": {
        "type": "number",
        "description": "types 0, 2: residual skew removed, degrees clockwise (0 with "
        "user `corners`: they are the page as drawn)",
    },
    "enhance": {
        "type": "string",
        "enum": ["color", "gray", "bw", "none"],
        "description": "types 1, 2: the look applied",
    },
    "subject": {
        "type": "object",
        "description": "types 3, 4: the product",
        "properties": {
            "found": _FOUND,
            "confidence": _CONFIDENCE,
            "source": {"type": "string", "description": "`alpha` (the input's own) or `model`"},
            "reason": _REASON,
        },
    },
    "model": {"type": "string", "description": "types 3, 4: the segmentation model used"},
    "tilt": {"type": "number", "description": "types 3, 4: tilt straightened, degrees"},
    "crop_box": {
        "type": "array",
        "items": {"type": "integer"},
        "description": "types 3, 4: the crop [x0, y0, x1, y1] in input pixels as cut; it may "
        "reach past the input where a margin or aspect adds room",
    },
    "crop_corners": {
        **_CORNERS,
        "description": "types 3, 4, when turned or tilted: where the output's corners (TL TR "
        "BR BL) lie in the input",
    },
    "backdrop": {
        "type": "string",
        "enum": ["studio", "scene"],
        "description": "type 4: a smooth studio backdrop, or any other scene",
    },
    "shadow": {"type": "string", "description": "type 4 with keep_shadow: `kept`, or why not"},
    "shrunk": {
        "type": "object",
        "description": "present when the output was scaled down to the server's side limit: "
        "`max_side` and `scale`",
    },
    "timings": {"type": "object", "description": "seconds per step, by step name"},
}

_META_EXAMPLE = {
    "document": {
        "found": True,
        "corners": [[264.0, 108.0], [960.0, 144.0], [1008.0, 792.0], [216.0, 756.0]],
        "confidence": 0.97,
        "method": "mask+edges",
    },
    "bbox": [216, 108, 1008, 792],
    "rotation": 90,
    "orientation": {"confidence": 0.99, "source": "text"},
    "deskew": -1.4,
    "width": 1100,
    "height": 1480,
    "format": "jpeg",
    "exif_orientation": 1,
    "timings": {"decode": 0.012, "find_document": 0.21, "warp": 0.03, "encode": 0.02},
}


class TaskData(BaseModel):
    task_id: str = Field(
        description="the task's id, for GET .../{task_id}",
        examples=["0b6c0d0e5a2f4f3c9a8e7d6c5b4a3f21"],
    )
    type: int = Field(
        description="0 scan, 1 enhance, 2 scan + enhance, 3 crop product, 4 cut out", examples=[0]
    )
    return_type: int = Field(description="1 URL, 2 base64, 3 raw bytes", examples=[1])
    state: int = Field(
        description=f"where the task is: {_STATES_TEXT}. Negative codes are final failures.",
        examples=[1],
    )
    state_detail: str | None = Field(
        None,
        description="why a task failed, in words (null otherwise)",
        examples=["the image is 9000 x 9000 px; the limit is 4096 a side"],
    )
    progress: int = Field(description="0..100, only grows", examples=[100])
    image: str | None = Field(
        None,
        description="once succeeded: a signed URL that expires with the task (return_type 1) "
        "or the image as base64 (return_type 2); null before",
        examples=[
            "http://127.0.0.1:8000/results/results/0b6c...jpg?expires=1767000000&signature=..."
        ],
    )
    created_at: str = Field(description="Unix seconds, as a string", examples=["1767000000"])
    processed_at: str | None = Field(
        None, description="when a worker started it, Unix seconds", examples=["1767000001"]
    )
    completed_at: str | None = Field(
        None, description="when it finished, Unix seconds", examples=["1767000002"]
    )
    time_elapsed: float | None = Field(
        None, description="seconds from creation to completion", examples=[1.42]
    )
    meta: dict[str, Any] | None = Field(
        None,
        description="once finished (beyond PicWish): what was found and done. Coordinates are "
        "input pixels after EXIF orientation; which keys appear depends on the type.",
        json_schema_extra={"properties": META_KEYS, "examples": [_META_EXAMPLE]},
    )


class TaskCreated(BaseModel):
    task_id: str = Field(
        description="poll it with GET .../{task_id}",
        examples=["0b6c0d0e5a2f4f3c9a8e7d6c5b4a3f21"],
    )


class TaskEnvelope(BaseModel):
    status: int = Field(200, description="200 on success (PicWish's envelope)")
    message: str = Field("success", examples=["success"])
    data: TaskData


class CreatedEnvelope(BaseModel):
    status: int = Field(200, description="200 on success (PicWish's envelope)")
    message: str = Field("success", examples=["success"])
    data: TaskCreated | TaskData = Field(
        description="async (sync=0): the task id; sync=1: the finished task"
    )


class ErrorEnvelope(BaseModel):
    status: int = Field(description="the HTTP status again", examples=[400])
    message: str = Field(
        description="what was wrong, in words", examples=["format must be png, jpg or webp"]
    )
    data: None = Field(None, description="always null on an error")
    field: str | None = Field(
        None, description="the request field at fault, when there is one", examples=["format"]
    )


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

_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "a field is invalid (the message names it, and `field`), or the image file is broken",
        {"message": "format must be png, jpg or webp", "field": "format"},
    ),
    401: ("missing or invalid X-API-KEY", {"message": "missing X-API-KEY header"}),
    404: (
        "no such task (unknown, expired, or another key's)",
        {"message": "task not found (unknown, expired, or not yours)"},
    ),
    413: (
        "image over the server's size limits (by default "
        f"{_DEFAULT_BYTES / MB:g} MB, {_DEFAULT_SIDE} px a side)",
        {"message": f"image_file is over the {_DEFAULT_BYTES / MB:g} MB limit"},
    ),
    415: (
        "not an image format this server reads",
        {
            "message": "this file type is not supported; send JPEG, PNG, BMP, WebP, TIFF, SGI "
            "or camera RAW (DNG, CR2, NEF, ARW)"
        },
    ),
    429: (
        "rate limited; retry after the Retry-After header's seconds",
        {"message": "rate limit exceeded; retry in 3 s"},
    ),
    500: ("a fault in the server (its log says more)", {"message": "internal server error"}),
    503: (
        "overloaded, or a store is unreachable; retry after Retry-After's seconds",
        {"message": "too many tasks in flight; retry shortly"},
    ),
}

# Each error is PicWish's envelope with a real example; FastAPI's 422 is not among them: the
# server answers 400 for an invalid field (envelope.install_error_handlers).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "model": ErrorEnvelope,
        "description": text,
        "content": {"application/json": {"example": {"status": code, **example, "data": None}}},
    }
    for code, (text, example) in _ERRORS.items()
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented errors of one route: those it can answer."""
    return {code: ERROR_RESPONSES[code] for code in codes}


# 404 is a task's; 413 and 415 are an upload's (a task from a URL fails with a state instead).
CREATE_ERRORS = error_responses(400, 401, 413, 415, 429, 500, 503)
QUERY_ERRORS = error_responses(401, 404, 429, 500, 503)

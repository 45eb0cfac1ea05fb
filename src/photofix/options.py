"""Request options from their wire form (strings and ints, as the API and the CLI get them),
checked field by field: a bad value raises BadRequest naming the field."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from photofix.errors import BadRequest
from photofix.imaging.codec import ImageInfo, ImageLimits
from photofix.models.catalog import BUILTIN_MODEL, check_model_name
from photofix.pipelines import (
    CORNERS_OUTSIDE,
    ENHANCE_MODES,
    PROCESSING_TYPES,
    check_corners_in_frame,
)
from photofix.tasks.model import TaskOptions

OUTPUT_FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}


# Beyond PicWish: the types each field applies to. Given for another type, it is a 400 naming
# it (not silently ignored); `format` applies to every type.
FIELD_TYPES: dict[str, tuple[int, ...]] = {
    "enhance": (1, 2),
    "corners": (0, 2),
    "crop_margin": (3, 4),
    "aspect": (3, 4),
    "bg_color": (4,),
    "keep_shadow": (4,),
    "model": (3, 4),
}


def parse_options(
    *,
    sync: int = 0,
    type: int = 1,
    return_type: int = 1,
    output_format: str | None = None,
    enhance: str | None = None,
    corners: str | None = None,
    crop_margin: str | None = None,
    aspect: str | None = None,
    bg_color: str | None = None,
    keep_shadow: str | None = None,
    model: str | None = None,
    models: Sequence[str] = (BUILTIN_MODEL,),
    max_side: int = ImageLimits.max_side,
) -> TaskOptions:
    """`models`: the segmentation model names this deployment offers (`model` must be one);
    `max_side`: the longest image side it takes (corners must lie within such an image).
    A field given as an empty string counts as not given."""
    options = _base_options(sync, type, return_type, output_format)
    fields = {
        "enhance": enhance,
        "corners": corners,
        "crop_margin": crop_margin,
        "aspect": aspect,
        "bg_color": bg_color,
        "keep_shadow": keep_shadow,
        "model": model,
    }
    given = {name: value.strip() for name, value in fields.items() if value and value.strip()}
    for name in given:
        if options.type not in FIELD_TYPES[name]:
            types = " and ".join(str(t) for t in FIELD_TYPES[name])
            raise BadRequest(f"{name} applies to type {types} only", field=name)
    return dataclasses.replace(options, **_parse_given(given, max_side, models))


def _parse_given(given: dict[str, str], max_side: int, models: Sequence[str]) -> dict[str, Any]:
    """The TaskOptions values of the given beyond-PicWish fields, each checked."""
    parsers: dict[str, Callable[[str], dict[str, Any]]] = {
        "enhance": lambda text: {"enhance": _parse_enhance(text)},
        "corners": lambda text: {"corners": _parse_corners(text, max_side)},
        "crop_margin": _parse_margin,
        "aspect": lambda text: {"aspect": _parse_aspect(text)},
        "bg_color": lambda text: {"bg_color": _parse_colour(text)},
        "keep_shadow": lambda text: {"keep_shadow": _flag(text)},
        "model": lambda text: {"model": check_model_name(text, list(models))},
    }
    changes: dict[str, Any] = {}
    for name, text in given.items():
        changes |= parsers[name](text)
    return changes


# EXIF orientations that swap width and height (a quarter turn, or a transpose).
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)


def check_corners_fit(options: TaskOptions, info: ImageInfo) -> None:
    """At create time, for an upload: its corners (if any) lie within its upright frame, as
    `pipelines.CORNERS_OUTSIDE` allows (the worker checks an image_url's once decoded)."""
    if options.corners is None:
        return
    turned = info.exif_orientation in _TRANSPOSING_ORIENTATIONS
    width, height = (info.height, info.width) if turned else (info.width, info.height)
    check_corners_in_frame(options.corners, width, height)


def _base_options(sync: int, type: int, return_type: int, output_format: str | None) -> TaskOptions:
    if sync not in (0, 1):
        raise BadRequest("sync must be 0 or 1", field="sync")
    if type not in PROCESSING_TYPES:
        raise BadRequest("type must be one of 0, 1, 2, 3, 4", field="type")
    if return_type not in (1, 2, 3):
        raise BadRequest("return_type must be 1, 2 or 3", field="return_type")
    if return_type == 3 and sync != 1:
        raise BadRequest("return_type 3 (raw bytes) needs sync=1", field="return_type")
    fmt = None
    if output_format:
        fmt = OUTPUT_FORMATS.get(output_format.lower())
        if fmt is None:
            raise BadRequest("format must be png, jpg or webp", field="format")
    return TaskOptions(type=type, return_type=return_type, output_format=fmt)


_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
_ASPECT = re.compile(r"(\d{1,3})\s*[:x/]\s*(\d{1,3})")
MAX_MARGIN_PX = 4096


def _parse_enhance(text: str) -> str:
    if text not in ENHANCE_MODES:
        raise BadRequest(f"enhance must be one of {', '.join(ENHANCE_MODES)}", field="enhance")
    return text


def _flag(text: str) -> bool:
    value = _FLAGS.get(text.strip().lower())
    if value is None:
        raise BadRequest("keep_shadow must be 0 or 1", field="keep_shadow")
    return value


def _parse_margin(text: str) -> dict[str, Any]:
    value = text.strip()
    try:
        if value.endswith("%"):
            percent = float(value[:-1])
            if 0 <= percent <= 50:
                return {"margin": percent / 100.0}
        elif 0 <= int(value) <= MAX_MARGIN_PX:
            return {"margin_px": int(value)}
    except ValueError:
        pass
    raise BadRequest(
        f"crop_margin must be pixels (0-{MAX_MARGIN_PX}) or a percentage (0%-50%)",
        field="crop_margin",
    )


def _parse_aspect(text: str) -> float | str:
    value = text.strip().lower()
    if value == "original":
        return value
    match = _ASPECT.fullmatch(value)
    if match and int(match[1]) > 0 and int(match[2]) > 0:
        ratio = int(match[1]) / int(match[2])
        if 0.1 <= ratio <= 10:
            return ratio
    raise BadRequest("aspect must be W:H (e.g. 1:1, 4:5) or 'original'", field="aspect")


def _parse_colour(text: str) -> tuple[int, int, int]:
    value = text.strip()
    match = _HEX_COLOUR.fullmatch(value)
    if match:
        digits = match[1]
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    parts = value.split(",")
    if len(parts) == 3 and all(p.strip().isdigit() and int(p) <= 255 for p in parts):
        r, g, b = (int(p) for p in parts)
        return (r, g, b)
    raise BadRequest("bg_color must be #RRGGBB or r,g,b", field="bg_color")


# A corners field longer than this is not 8 numbers (and a deeply nested one is refused
# before any parser recurses into it).
MAX_CORNERS_TEXT = 512
# The smallest page a user's quad may outline, and the narrowest and widest corner angles
# (degrees): anything less is no page a perspective warp can flatten (collinear corners make
# it divide by zero).
MIN_CORNER_SIDE = 16
MIN_CORNER_AREA = 32 * 32
MIN_CORNER_ANGLE = 10.0
_CORNERS_SHAPE = (
    "corners must be 8 numbers: x,y of the top-left, top-right, bottom-right and bottom-left "
    "corner, as a JSON array (flat or [[x, y], ...]) or separated by commas"
)


def _parse_corners(text: str, max_side: int) -> tuple[float, ...]:
    """A user's page quad: 8 finite numbers within an image of at most `max_side` px a side
    (as far outside it as CORNERS_OUTSIDE allows), outlining a convex page of some size."""
    numbers = _corner_numbers(text)
    slack = CORNERS_OUTSIDE * max_side
    low, high = -0.5 - slack, max_side - 0.5 + slack
    if not all(math.isfinite(n) and low <= n <= high for n in numbers):
        raise BadRequest(
            f"corners must be finite pixel positions within a {max_side}x{max_side} image",
            field="corners",
        )
    _check_quad(np.array(numbers, np.float64).reshape(4, 2))
    return numbers


def _corner_numbers(text: str) -> tuple[float, ...]:
    if len(text) > MAX_CORNERS_TEXT:
        raise BadRequest(_CORNERS_SHAPE, field="corners")
    try:
        if text.startswith("["):
            values = json.loads(text, parse_constant=_no_constant)
            numbers = _json_corners(values)
        else:
            numbers = tuple(float(part) for part in re.split(r"[,\s]+", text) if part)
    except (ValueError, TypeError, OverflowError, RecursionError):
        numbers = None
    if numbers is None or len(numbers) != 8:
        raise BadRequest(_CORNERS_SHAPE, field="corners")
    return numbers


def _json_corners(values: Any) -> tuple[float, ...] | None:
    """[x, y, ...] x 8 or [[x, y], ...] x 4, numbers only; None for any other shape."""
    if isinstance(values, list) and all(isinstance(v, list) and len(v) == 2 for v in values):
        values = [number for pair in values for number in pair]
    if not isinstance(values, list) or not all(_is_number(v) for v in values):
        return None
    return tuple(float(v) for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")  # JSON's NaN and Infinity


def _check_quad(quad: np.ndarray) -> None:
    """Refuse a quad that is no page: crossing sides, a dent, corners (nearly) in a line, or
    too small. Corners may run clockwise or counter-clockwise."""
    sides = np.roll(quad, -1, axis=0) - quad  # side i runs from corner i to corner i + 1
    before = np.roll(sides, 1, axis=0)  # the side that ends at each corner
    turns = before[:, 0] * sides[:, 1] - before[:, 1] * sides[:, 0]  # cross product
    lengths = np.hypot(sides[:, 0], sides[:, 1])
    sines = np.abs(turns) / np.maximum(np.roll(lengths, 1) * lengths, 1e-12)
    convex = bool(np.all(turns > 0) or np.all(turns < 0))
    # A convex corner's angle lies in (0, 180) degrees, and is as degenerate near either end.
    if not convex or np.any(sines < math.sin(math.radians(MIN_CORNER_ANGLE))):
        raise BadRequest(
            "corners must outline a convex page: no crossing sides, no corner inside the "
            f"others, every corner angle between {MIN_CORNER_ANGLE:g} and "
            f"{180 - MIN_CORNER_ANGLE:g} degrees",
            field="corners",
        )
    if lengths.min() < MIN_CORNER_SIDE or _area(quad) < MIN_CORNER_AREA:
        raise BadRequest(
            f"corners outline too small a page: at least {MIN_CORNER_SIDE} px a side and "
            f"{MIN_CORNER_AREA} px² in area",
            field="corners",
        )


def _area(quad: np.ndarray) -> float:
    x, y = quad[:, 0], quad[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))

"""Request options from their wire form (strings and ints, as the API and the CLI get them),
checked field by field: a bad value raises BadRequest naming the field."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

from photofix.errors import BadRequest
from photofix.models.catalog import BUILTIN_MODEL, check_model_name
from photofix.pipelines import ENHANCE_MODES, PROCESSING_TYPES
from photofix.tasks.model import TaskOptions

OUTPUT_FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}


def parse_options(
    *,
    sync: int = 0,
    type: int = 1,
    return_type: int = 1,
    output_format: str | None = None,
    enhance: str = "color",
    corners: str | None = None,
    crop_margin: str | None = None,
    aspect: str | None = None,
    bg_color: str | None = None,
    keep_shadow: str | None = None,
    model: str | None = None,
    models: Sequence[str] = (BUILTIN_MODEL,),
) -> TaskOptions:
    """`models`: the segmentation model names this deployment offers (`model` must be one)."""
    options = _base_options(sync, type, return_type, output_format, enhance, corners)
    options = _with_framing(options, crop_margin, aspect, bg_color, keep_shadow)
    return _with_model(options, model, models)


def _base_options(
    sync: int,
    type: int,
    return_type: int,
    output_format: str | None,
    enhance: str,
    corners: str | None,
) -> TaskOptions:
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
    if enhance not in ENHANCE_MODES:
        raise BadRequest(f"enhance must be one of {', '.join(ENHANCE_MODES)}", field="enhance")
    return TaskOptions(
        type=type,
        return_type=return_type,
        output_format=fmt,
        enhance=enhance,
        corners=_parse_corners(corners) if corners else None,
    )


_PRODUCT_FIELDS = {"crop_margin": (3, 4), "aspect": (3, 4), "bg_color": (4,), "keep_shadow": (4,)}
_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
_ASPECT = re.compile(r"(\d{1,3})\s*[:x/]\s*(\d{1,3})")
MAX_MARGIN_PX = 4096


def _with_framing(
    options: TaskOptions,
    crop_margin: str | None,
    aspect: str | None,
    bg_color: str | None,
    keep_shadow: str | None,
) -> TaskOptions:
    """The product fields (beyond PicWish), checked and folded into the options."""
    given = {
        "crop_margin": crop_margin,
        "aspect": aspect,
        "bg_color": bg_color,
        "keep_shadow": keep_shadow if keep_shadow and _flag(keep_shadow) else None,
    }
    for name, value in given.items():
        if value and options.type not in _PRODUCT_FIELDS[name]:
            types = " and ".join(str(t) for t in _PRODUCT_FIELDS[name])
            raise BadRequest(f"{name} applies to type {types} only", field=name)
    changes: dict[str, Any] = {}
    if crop_margin:
        changes |= _parse_margin(crop_margin)
    if aspect:
        changes["aspect"] = _parse_aspect(aspect)
    if bg_color:
        changes["bg_color"] = _parse_colour(bg_color)
    if given["keep_shadow"]:
        changes["keep_shadow"] = True
    return dataclasses.replace(options, **changes) if changes else options


def _with_model(options: TaskOptions, model: str | None, models: Sequence[str]) -> TaskOptions:
    if not model:
        return options
    if options.type not in (3, 4):
        raise BadRequest("model applies to type 3 and 4 only", field="model")
    return dataclasses.replace(options, model=check_model_name(model.strip(), list(models)))


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


def _parse_corners(text: str) -> tuple[float, ...]:
    """8 numbers, as a JSON array (flat or [[x, y], ...]) or separated by commas/spaces."""
    try:
        values = json.loads(text) if text.lstrip().startswith("[") else re.split(r"[,\s]+", text)
        numbers = tuple(float(v) for v in _flatten(values) if v != "")
    except (ValueError, TypeError):
        raise BadRequest("corners must be 8 numbers", field="corners") from None
    if len(numbers) != 8 or any(n != n or n < 0 for n in numbers):
        raise BadRequest("corners must be 8 non-negative numbers", field="corners")
    return numbers


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list):
        return [item for value in values for item in _flatten(value)]
    return [values]

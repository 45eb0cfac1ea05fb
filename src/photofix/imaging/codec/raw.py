"""Camera RAW (DNG, CR2, NEF, ARW, ...) through LibRaw, which reads the sizes before unpacking."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import rawpy

from photofix.errors import ImageTooLarge, InvalidImage, PhotofixError, UnsupportedFormat
from photofix.imaging.codec.limits import ImageLimits, check_size

# LibRaw's flip code -> EXIF orientation (bit 4: transpose, 2: flip rows, 1: flip columns).
_LIBRAW_FLIP_TO_EXIF = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


def validate(data: bytes, limits: ImageLimits) -> tuple[int, int, int, bool]:
    """(width, height, orientation, half_size) after reading the whole sensor stream."""
    with _raw_errors(), rawpy.imread(io.BytesIO(data)) as raw:
        width, height, half = _plan(raw.sizes, limits)
        raw.unpack()  # reads the whole sensor stream: truncation shows up here
        return width, height, _orientation(raw), half


def decode(data: bytes, limits: ImageLimits) -> tuple[np.ndarray, int, bool]:
    """(sRGB uint8 pixels with the orientation applied, orientation, half_size)."""
    with _raw_errors(), rawpy.imread(io.BytesIO(data)) as raw:
        _, _, half = _plan(raw.sizes, limits)
        orientation = _orientation(raw)
        rgb = raw.postprocess(use_camera_wb=True, output_bps=8, half_size=half)  # sRGB out
    height, width = rgb.shape[:2]
    check_size(width, height, limits)  # pixel-aspect stretching can still grow the output
    return _as_rgb(rgb), orientation, half


def _as_rgb(developed: np.ndarray) -> np.ndarray:
    """LibRaw's output as (H, W, 3) uint8: a one-channel result (a monochrome sensor, or what
    a broken file made of one) becomes gray RGB; anything else is refused."""
    if developed.ndim == 2:
        developed = developed[:, :, None]
    if developed.dtype != np.uint8 or developed.ndim != 3 or developed.shape[2] not in (1, 3):
        raise InvalidImage(f"camera RAW developed to an unusable {developed.shape} array")
    if developed.shape[2] == 1:
        return np.repeat(developed, 3, axis=2)
    return np.ascontiguousarray(developed)


def _orientation(raw: rawpy.RawPy) -> int:
    return _LIBRAW_FLIP_TO_EXIF.get(raw.sizes.flip, 1)


def _plan(sizes: rawpy.ImageSizes, limits: ImageLimits) -> tuple[int, int, bool]:
    """(width, height, half_size): sensors often exceed the side limit, half size may fit."""
    width, height = int(sizes.width), int(sizes.height)
    side = limits.max_side
    if max(width, height) <= side:
        check_size(width, height, limits)
        return width, height, False
    half_w, half_h = (width + 1) // 2, (height + 1) // 2
    if max(half_w, half_h) <= side:
        return half_w, half_h, True
    raise ImageTooLarge(
        f"camera RAW is {width}x{height} pixels; even at half size it exceeds {side}x{side}"
    )


@contextmanager
def _raw_errors() -> Iterator[None]:
    try:
        yield
    except PhotofixError:
        raise
    except rawpy.LibRawFileUnsupportedError as exc:
        raise UnsupportedFormat("this camera RAW variant is not supported by LibRaw") from exc
    except (rawpy.LibRawTooBigError, rawpy.LibRawUnsufficientMemoryError, MemoryError) as exc:
        raise ImageTooLarge("camera RAW needs more memory than is allowed to decode") from exc
    except Exception as exc:  # any bytes reach LibRaw: every failure is the input's
        raise InvalidImage(f"camera RAW is corrupt or truncated: {exc}") from exc

"""EXIF orientation: read it (as ImageOps.exif_transpose does) and turn the pixels upright."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

_ORIENTATION_TAG = 0x0112

# EXIF orientation -> the OpenCV operation that makes the pixels upright (ImageOps.exif_transpose).
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def orientation(im: Image.Image) -> int:
    """EXIF (or XMP) orientation 1..8 of an opened image; 1 if absent or bogus."""
    try:
        return _valid(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block must not reject an otherwise good image
        return 1


def orientation_of_block(exif: bytes | None) -> int:
    """Orientation from a raw EXIF (TIFF-structured) block, e.g. a PNG eXIf chunk."""
    if not exif:
        return 1
    try:
        block = Image.Exif()
        block.load(exif)
        return _valid(block.get(_ORIENTATION_TAG, 1))
    except Exception:  # broken metadata does not make the image invalid
        return 1


def _valid(value: object) -> int:
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels turned as EXIF orientation says (a new array unless already upright)."""
    turn = _UPRIGHT.get(orientation)
    return pixels if turn is None else turn(pixels)

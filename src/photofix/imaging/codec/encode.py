"""Fast output: uint8 gray, RGB or RGBA (sRGB) pixels as PNG, JPEG or WebP, no metadata."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from photofix.errors import UnsupportedFormat

OUTPUT_FORMATS = ("png", "jpeg", "webp")
_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_PNG_PARAMS = [
    # Measured on 12 MP: ~0.3 s vs ~1.4 s for Pillow's defaults, and smaller than compress_level=1.
    cv2.IMWRITE_PNG_COMPRESSION,
    1,
    cv2.IMWRITE_PNG_STRATEGY,
    cv2.IMWRITE_PNG_STRATEGY_RLE,
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_SUB,
]


def encode(pixels: np.ndarray, fmt: str, *, quality: int = 92) -> bytes:
    """Encode uint8 gray, RGB or RGBA pixels (sRGB) as PNG, JPEG (`jpg` too) or WebP.

    Tuned for speed; nothing but pixels is embedded. JPEG flattens alpha on white; WebP keeps
    alpha losslessly.
    """
    fmt = _output_format(fmt)
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1..100, got {quality}")
    pixels = _check_pixels(pixels)
    if fmt == "png":
        return _encode_png(pixels)
    if fmt == "jpeg":
        return _encode_jpeg(pixels, quality)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        # method 0 is ~20x faster than the default for lossless and barely larger.
        return _encode_pillow(pixels, "WEBP", lossless=True, method=0)
    return _encode_pillow(pixels, "WEBP", quality=quality, method=2)


def content_type(fmt: str) -> str:
    """The MIME type of an output format (`png`, `jpeg`/`jpg`, `webp`)."""
    return _CONTENT_TYPES[_output_format(fmt)]


def _output_format(fmt: str) -> str:
    name = fmt.lower()
    name = "jpeg" if name == "jpg" else name
    if name not in _CONTENT_TYPES:
        raise UnsupportedFormat(f"cannot write {fmt!r}; output formats are png, jpeg and webp")
    return name


def _check_pixels(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))):
        raise ValueError(f"pixels must be (H, W), (H, W, 3) or (H, W, 4), got {pixels.shape}")
    if 0 in pixels.shape[:2]:
        raise ValueError("cannot encode an empty image")
    return np.ascontiguousarray(pixels)


def _encode_png(pixels: np.ndarray) -> bytes:
    if pixels.ndim == 3:
        code = cv2.COLOR_RGB2BGR if pixels.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
        pixels = cv2.cvtColor(pixels, code)
    ok, buf = cv2.imencode(".png", pixels, _PNG_PARAMS)
    if not ok:
        raise RuntimeError("OpenCV failed to encode PNG")
    return buf.tobytes()


def _encode_pillow(pixels: np.ndarray | Image.Image, pil_format: str, **options: object) -> bytes:
    im = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    out = io.BytesIO()
    im.save(out, pil_format, **options)
    return out.getvalue()


def _encode_jpeg(pixels: np.ndarray, quality: int) -> bytes:
    im = Image.fromarray(pixels)
    if im.mode == "RGBA":  # JPEG has no alpha: flatten on white (Pillow's paste: ~7x numpy's speed)
        flat = Image.new("RGB", im.size, (255, 255, 255))
        flat.paste(im, mask=im.getchannel("A"))
        im = flat
    return _encode_pillow(im, "JPEG", quality=quality)

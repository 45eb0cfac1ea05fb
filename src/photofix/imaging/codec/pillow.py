"""Pillow behind the codec's rules: only the sniffed format's plugin, its errors made typed."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pillow_heif
from PIL import AvifImagePlugin, Image, ImageFile, UnidentifiedImageError

from photofix.errors import ImageTooLarge, InvalidImage, PhotofixError, UnsupportedFormat
from photofix.imaging.codec.limits import ImageLimits, check_size
from photofix.imaging.codec.tiff import describe_layout

_PIL_NAMES = {
    "jpeg": "JPEG",
    "png": "PNG",
    "bmp": "BMP",
    "webp": "WEBP",
    "tiff": "TIFF",
    "sgi": "SGI",
}
# Opened by their plugin class, not Image.open: pillow-heif's opener would be registered for the
# whole process, and Pillow's AVIF check of the major brand alone refuses files libavif reads
# (sniff has checked the brands).
_PLUGIN_CLASSES: dict[str, type[ImageFile.ImageFile]] = {
    "heif": pillow_heif.HeifImageFile,
    "avif": AvifImagePlugin.AvifImageFile,
}
# How Pillow words "a valid file of a kind it does not decode" (as against broken bytes).
_UNSUPPORTED_WORDING = (
    "unsupported",
    "not supported",
    "cannot handle",
    "unknown pixel mode",
    "unknown raw mode",
    "has not been built in",  # libheif: a codec its build lacks (AV1 in pillow-heif's wheel)
)
# libheif's words for a decode its security limits (the header's size, memory) refuse.
_TOO_LARGE_WORDING = ("security limit exceeded", "memory allocation error")
# ...but some header values no writer uses get the same words: those files are broken. BMP
# depths are 1, 2, 4, 8, 16, 24, 32, 64 (0: embedded JPEG/PNG), compressions 0-6 and 11-13
# (OS/2 CMYK), and a palette holds at most 65536 colours.
_NONSENSE = re.compile(
    r"BMP Palette size"
    r"|BMP pixel depth \((?!(?:0|1|2|4|8|16|24|32|64)\))"
    r"|BMP compression \((?!(?:[0-6]|1[1-3])\))"
)


@contextmanager
def pillow_errors(fmt: str) -> Iterator[None]:
    """Pillow reports malformed input through many exception types: map them all to ours."""
    try:
        yield
    except PhotofixError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except MemoryError as exc:
        raise ImageTooLarge("image needs more memory than is available to decode") from exc
    except Exception as exc:  # any bytes reach Pillow: every failure is the input's
        text = str(exc)
        if any(words in text.lower() for words in _TOO_LARGE_WORDING):
            raise ImageTooLarge(f"{fmt} image is larger than allowed to decode ({text})") from exc
        if _names_a_variant(text):
            raise UnsupportedFormat(f"this {fmt} variant is not supported ({text})") from exc
        raise InvalidImage(f"{fmt} image is corrupt or truncated: {text}") from exc


def _names_a_variant(text: str) -> bool:
    """Pillow's message says the file is valid but of a kind it does not decode."""
    lowered = text.lower()
    return any(words in lowered for words in _UNSUPPORTED_WORDING) and not _NONSENSE.search(text)


def _unidentified(data: bytes, fmt: str) -> PhotofixError:
    """Why Image.open refused the bytes: its own message hides the plugin's ("cannot identify
    image file"), so run the plugin alone to learn whether they are broken or a variant."""
    try:
        Image.OPEN[_PIL_NAMES[fmt]][0](io.BytesIO(data), None)
    except Exception as exc:
        text = str(exc)
    else:
        text = "unknown reason"
    if _names_a_variant(text):
        layout = f": {describe_layout(data)}" if fmt == "tiff" else ""
        return UnsupportedFormat(f"this {fmt} pixel layout is not supported ({text}{layout})")
    return InvalidImage(f"{fmt} image is corrupt or truncated: {text}")


def open_image(data: bytes, fmt: str, limits: ImageLimits) -> Image.Image:
    """Image.open restricted to the sniffed format (no plugin guessing): headers only, nothing
    decoded. Its size is checked against the limits before anything is."""
    with pillow_errors(fmt):
        try:
            im = _open(data, fmt, limits.max_pixels)
        except UnidentifiedImageError as exc:
            raise _unidentified(data, fmt) from exc
        check_size(*im.size, limits)
    return im


def _open(data: bytes, fmt: str, max_pixels: int) -> Image.Image:
    plugin = _PLUGIN_CLASSES.get(fmt)
    if plugin is not None:  # header only: both libraries parse the boxes, decode on load()
        return plugin(io.BytesIO(data))
    threshold = Image.MAX_IMAGE_PIXELS
    if threshold is None or max_pixels <= threshold:
        return Image.open(io.BytesIO(data), formats=[_PIL_NAMES[fmt]])
    # Only reachable when the operator's limits exceed Pillow's bomb threshold: our own size
    # check follows, so Pillow's warning is noise. (Its hard error at 2x still holds.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=[_PIL_NAMES[fmt]])

"""TIFF's first directory (IFD0), read by Pillow's own parser, which skips entries that point
outside the file: enough to tell camera RAW from plain TIFF, and to name a layout Pillow does
not decode."""

from __future__ import annotations

import functools
import io

from PIL import Image, TiffImagePlugin

from photofix.errors import InvalidImage, UnsupportedFormat

_BITS, _PHOTOMETRIC, _SAMPLES, _PLANAR, _EXTRA, _SAMPLE_FORMAT = 258, 262, 277, 284, 338, 339
_PHOTOMETRIC_NAMES = {
    0: "gray (white is zero)",
    1: "gray",
    2: "RGB",
    3: "palette",
    4: "mask",
    5: "CMYK",
    6: "YCbCr",
    8: "CIELab",
    32803: "CFA",
    34892: "linear raw",
}
_SAMPLE_FORMAT_NAMES = {1: "unsigned", 2: "signed", 3: "float", 5: "complex int", 6: "complex"}
# Compressions whose libtiff codec is optional at build time (Pillow's own build may lack it).
_OPTIONAL_CODECS = frozenset({"lzma", "zstd", "webp"})


def first_ifd(data: bytes) -> TiffImagePlugin.ImageFileDirectory_v2:
    """IFD0 of a TIFF or BigTIFF; InvalidImage if it cannot be read at all."""
    try:
        header = bytes(data[:16] if data[2:4] in (b"+\x00", b"\x00+") else data[:8])
        ifd = TiffImagePlugin.ImageFileDirectory_v2(header)
        stream = io.BytesIO(data)
        stream.seek(ifd.next)
        ifd.load(stream)
    except Exception as exc:  # any bytes may follow the magic: every failure is a broken file
        raise InvalidImage(f"corrupt TIFF: its first directory cannot be read ({exc})") from exc
    return ifd


def describe_layout(data: bytes) -> str:
    """The pixel layout IFD0 declares, in words: "4 samples of 16-bit unsigned, RGB, planar"."""
    try:
        ifd = first_ifd(data)
        bits = _first(ifd.get(_BITS, 1))
        kind = _SAMPLE_FORMAT_NAMES.get(_first(ifd.get(_SAMPLE_FORMAT, 1)), "unknown")
        photometric = _first(ifd.get(_PHOTOMETRIC))
        words = [
            f"{ifd.get(_SAMPLES, 1)} samples of {bits}-bit {kind}",
            _PHOTOMETRIC_NAMES.get(photometric, f"photometric {photometric}"),
        ]
        if ifd.get(_EXTRA):
            words.append(f"extra samples {ifd.get(_EXTRA)}")
        if ifd.get(_PLANAR) == 2:
            words.append("planar")
        return ", ".join(words)
    except Exception:  # only used to word an error message: never fail on it
        return "an unknown layout"


def _first(value: object) -> object:
    return value[0] if isinstance(value, tuple) and value else value


def check_codec(im: Image.Image) -> None:
    """After a TIFF failed to decode: if its compression is one this libtiff was built without,
    the file is a valid variant that is not supported (415), not a corrupt one."""
    name = im.info.get("compression")
    if name in _OPTIONAL_CODECS and not _libtiff_has(name):
        raise UnsupportedFormat(
            f"TIFF with {name} compression is not supported (the libtiff here has no {name} codec)"
        )


@functools.cache
def _libtiff_has(compression: str) -> bool:
    """Whether libtiff writes and reads back a tiny image with this compression."""
    try:
        out = io.BytesIO()
        Image.new("RGB", (8, 8)).save(out, "TIFF", compression=compression)
        with Image.open(out) as im:
            im.load()
    except Exception:  # the codec is missing (libtiff: "... support is not configured")
        return False
    return True

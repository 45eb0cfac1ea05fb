"""JPEG pixels through libjpeg-turbo (simplejpeg) in strict mode.

libjpeg repairs broken data silently: a file cut short with its end marker put back, or a frame
header that claims more rows than the scans hold, decodes to grey where the data ran out, and
Pillow and OpenCV only print the warning. In strict mode its corrupt-data warnings ("premature
end of data segment", "bad Huffman code", "extraneous bytes before marker", ...) are errors, so
such a file is refused as broken. The same decoder gives the pixels straight into an array,
which is also faster than Pillow's or OpenCV's path.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np
import simplejpeg

from photofix.errors import ImageTooLarge, InvalidImage, UnsupportedFormat
from photofix.imaging.codec.limits import ImageLimits, check_size

_MAX_SCANS = 1000  # real progressive files have ~10; thousands make a CPU bomb
# Frame types whose decoder honours DCT scaling. A scaled decode of any other (lossless JPEG)
# is written at full size into simplejpeg's scaled buffer: heap corruption, so never scaled.
_SCALABLE_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC: no frame
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: no length field
_UNKNOWN_SAMPLING = "Could not determine subsampling level"
# Pillow modes -> the libjpeg output colour space that keeps every channel.
_COLORSPACES = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}


def check_frame(data: bytes, limits: ImageLimits) -> None:
    """The frame header's size against the limits, before anything else reads the file (an
    oversized claim is 413 whatever follows it), and the scan count."""
    _, width, height = _frame(data)
    check_size(width, height, limits)
    # Byte stuffing keeps FF DA out of entropy-coded data, so counting it counts scans.
    scans = data.count(b"\xff\xda")
    if scans > _MAX_SCANS:
        raise ImageTooLarge(f"JPEG has {scans} scans; at most {_MAX_SCANS} are decoded")


def check_integrity(data: bytes, mode: str) -> None:
    """Entropy-decode every block at the smallest DCT scale (1/8: 1/64 of the pixel memory and
    about half the time of a full decode), failing on any corrupt-data warning."""
    scaled = _frame(data)[0] in _SCALABLE_FRAMES
    _decode(data, mode, smallest=scaled)


def pixels(data: bytes, mode: str) -> np.ndarray:
    """Full-size pixels as Pillow would give them for `mode`: (H, W) for "L", (H, W, 3) for
    "RGB", (H, W, 4) for "CMYK" (inverted, as Adobe writes it and Pillow assumes)."""
    out = _decode(data, mode, smallest=False)
    if mode == "CMYK":
        cv2.bitwise_not(out, dst=out)
    return out[:, :, 0] if mode == "L" else out


def _decode(data: bytes, mode: str, *, smallest: bool) -> np.ndarray:
    colorspace = _COLORSPACES.get(mode)
    if colorspace is None:
        raise UnsupportedFormat(f"JPEG pixel mode {mode} is not supported")
    size = {"min_height": 1, "min_width": 1} if smallest else {}
    try:
        # Every warning fails, header oddities included: retrying those leniently would let
        # a cut file that also carries, say, an unknown JFIF revision through.
        return simplejpeg.decode_jpeg(data, colorspace, strict=True, **size)
    except ValueError as exc:
        raise _typed(exc) from exc


def _typed(exc: ValueError) -> InvalidImage | UnsupportedFormat | ImageTooLarge:
    text = str(exc)
    if _UNKNOWN_SAMPLING in text:
        # Only Pillow's lenient decode takes these (e.g. CMYK written with subsampling), and
        # it would pass a cut file: refuse rather than decode unchecked.
        return UnsupportedFormat("JPEG with unusual chroma sampling factors is not supported")
    if "Unsupported JPEG data precision" in text or "Unsupported JPEG process" in text:
        return UnsupportedFormat(f"this JPEG variant is not supported ({text})")
    if "Insufficient memory" in text or "Maximum supported image dimension" in text:
        return ImageTooLarge(f"JPEG needs more memory than is allowed to decode ({text})")
    return InvalidImage(f"jpeg image is corrupt or truncated: {text}")


def _frame(data: bytes) -> tuple[int, int, int]:
    """(SOFn marker, width, height) of the frame, walking the segments before it: Pillow does
    not say which frame type it read (lossless must not be scaled), and its open fails on a
    file cut before the scan, where the size alone already answers 413."""
    pos = 2
    try:
        while pos + 4 <= len(data):
            if data[pos] != 0xFF:
                break
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
            elif marker in _STANDALONE_MARKERS:
                pos += 2
            elif marker in _FRAME_MARKERS:
                height, width = struct.unpack_from(">HH", data, pos + 5)
                return marker, width, height
            elif marker in (0xD9, 0xDA):  # end of image, or scan data, before any frame
                break
            else:
                pos += 2 + max(2, struct.unpack_from(">H", data, pos + 2)[0])
    except struct.error:
        pass
    raise InvalidImage("JPEG has no frame header (truncated or corrupt)")

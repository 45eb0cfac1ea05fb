"""Valid files in every input format and pixel mode, and the places in them worth breaking.

Shared by the codec's fuzz suite and its regression files. Each sample knows what a correct
decode must give: its stored size, EXIF orientation, whether it has transparent pixels and,
for lossless 8-bit sources, the exact pixels.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
import tifffile
from PIL import Image


@dataclass(frozen=True)
class Sample:
    data: bytes
    fmt: str  # what sniff_format must say
    width: int  # as stored, before orientation
    height: int
    orientation: int = 1
    transparent: bool | None = False  # some pixel is not opaque; None: the format may change it
    exact: np.ndarray | None = None  # the upright RGB(A) pixels a lossless decode must give
    # A valid file of a variant the codec may refuse, naming it (Pillow decodes some of them).
    may_refuse: type[Exception] | None = None


def save(im: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im.save(out, fmt, **options)
    return out.getvalue()


def pixels(rng: np.random.Generator, width: int, height: int, channels: int) -> np.ndarray:
    """Random blocks (so lossy codecs keep them apart) of random colours."""
    small = rng.integers(0, 256, (max(1, height // 4), max(1, width // 4), channels), np.uint8)
    big = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)[:height, :width]
    pad = ((0, height - big.shape[0]), (0, width - big.shape[1]), (0, 0))
    return np.pad(big, pad, mode="edge")


def with_alpha(rgb: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Append an alpha channel: "opaque" (all 255), "binary" (0/255), or "soft" (any value)."""
    height, width = rgb.shape[:2]
    if kind == "opaque":
        alpha = np.full((height, width), 255, np.uint8)
    elif kind == "binary":
        alpha = np.where(rng.random((height, width)) < 0.5, 0, 255).astype(np.uint8)
    else:
        alpha = rng.integers(0, 256, (height, width), np.uint8)
    return np.dstack([rgb, alpha])


def exif_block(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """What ImageOps.exif_transpose does to these pixels (Pillow's transpose as the oracle)."""
    method = _TRANSPOSE.get(orientation)
    if method is None:
        return pixels
    return np.asarray(Image.fromarray(pixels).transpose(method))


# --------------------------------------------------------------------------- hand-made files


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_16bit(values: np.ndarray, color_type: int, *extra: bytes) -> bytes:
    """A 16-bit PNG written by hand (gray 0, RGB 2, gray+alpha 4, RGBA 6)."""
    height, width = values.shape[:2]
    rows = values.astype(">u2").reshape(height, -1).view(np.uint8)
    raw = np.hstack([np.zeros((height, 1), np.uint8), rows]).tobytes()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def png_gray_bits(values: np.ndarray, depth: int, *extra: bytes) -> bytes:
    """A 1, 2 or 4-bit gray PNG written by hand (values < 2**depth)."""
    height, width = values.shape
    per_byte = 8 // depth
    padded = np.zeros((height, -(-width // per_byte) * per_byte), np.uint16)
    padded[:, :width] = values
    shifts = np.arange(per_byte - 1, -1, -1, dtype=np.uint16) * depth
    rows = (padded.reshape(height, -1, per_byte) << shifts).sum(axis=2).astype(np.uint8)
    raw = np.hstack([np.zeros((height, 1), np.uint8), rows]).tobytes()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def bmp_with_alpha_mask(rgba: np.ndarray) -> bytes:
    """A 32-bit BITMAPV4 BMP whose BI_BITFIELDS masks include an alpha mask."""
    height, width = rgba.shape[:2]
    bgra = rgba[::-1, :, [2, 1, 0, 3]].tobytes()  # bottom-up rows
    header = struct.pack(
        "<IiiHHIIiiII4I",
        108,
        width,
        height,
        1,
        32,
        3,  # BI_BITFIELDS
        len(bgra),
        2835,
        2835,
        0,
        0,
        0x00FF0000,
        0x0000FF00,
        0x000000FF,
        0xFF000000,
    )
    header += b"BGRs" + bytes(36) + bytes(12)  # colour space type, endpoints, gamma
    offset = 14 + len(header)
    return b"BM" + struct.pack("<IHHI", offset + len(bgra), 0, 0, offset) + header + bgra


def tiff_file(array: np.ndarray, **options: object) -> bytes:
    out = io.BytesIO()
    tifffile.imwrite(out, array, metadata=None, **options)
    return out.getvalue()


def encode_16bit_png_with_opencv(values: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", values[..., ::-1].copy() if values.ndim == 3 else values)
    assert ok
    return buf.tobytes()


# --------------------------------------------------------------------------- JPEG oddities

# Header oddities libjpeg only warns about and Pillow reads past: none changes a pixel.
JPEG_ODDITIES = (
    "junk",  # bytes that are no marker between two header segments
    "stuffed-zero",  # FF 00 pairs between header segments
    "fill",  # extra FF bytes before a marker (legal padding)
    "bad-icc",  # ICC APP2 chunks numbered inconsistently, one of them after the frame header
    "short-app14",  # an Adobe APP14 whose length leaves its transform byte outside it
    "short-app13",  # a Photoshop APP13 whose length is short of its data
    "jfif-2",  # JFIF major version 2
    "sos-zeros",  # a sequential scan with Ss = Se = Ah/Al = 0 (only in baseline files)
)


def jpeg_header_markers(data: bytes) -> list[tuple[int, int]]:
    """(marker, offset) of each segment after SOI, up to and including the first SOS, walked
    by their lengths (a clean file)."""
    found, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        found.append((marker, pos))
        if marker == 0xDA:
            break
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
    return found


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def no_ff(rng: np.random.Generator, size: int) -> bytes:
    """Random bytes without FF, so they cannot be taken for a marker."""
    return rng.integers(0, 255, size, dtype=np.uint8).tobytes()


def with_jpeg_oddity(data: bytes, oddity: str, rng: np.random.Generator) -> bytes | None:
    """The clean JPEG `data` with one header oddity from JPEG_ODDITIES, or None when it does
    not apply to this file (no JFIF marker, a progressive frame)."""
    markers = jpeg_header_markers(data)
    frame = next(pos for marker, pos in markers if marker in (0xC0, 0xC1, 0xC2))
    anywhere = int(rng.choice([pos for _, pos in markers]))  # before any header segment
    before_frame = int(rng.choice([pos for _, pos in markers if pos <= frame]))
    if oddity == "junk":  # not right after SOI: that is no JPEG to Pillow (nor to us)
        at = int(rng.choice([pos for _, pos in markers[1:]]))
        return _insert(data, at, no_ff(rng, int(rng.integers(1, 40))))
    if oddity == "stuffed-zero":
        return _insert(data, anywhere, b"\xff\x00" * int(rng.integers(1, 4)))
    if oddity == "fill":
        return _insert(data, anywhere, b"\xff" * int(rng.integers(1, 8)))
    if oddity == "bad-icc":
        count = int(rng.integers(1, 4))
        chunk = jpeg_segment(0xE2, b"ICC_PROFILE\0" + bytes([count + 1, count]) + no_ff(rng, 20))
        after_frame = frame + 2 + struct.unpack_from(">H", data, frame + 2)[0]
        return _insert(_insert(data, after_frame, chunk), before_frame, chunk)
    if oddity == "short-app14":
        transform = b"\x00" if data[frame + 9] == 4 else b"\x01"  # CMYK, YCbCr
        adobe = jpeg_segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00")  # one byte short
        return _insert(data, before_frame, adobe + transform)
    if oddity == "short-app13":
        body = b"Photoshop 3.0\0" + no_ff(rng, int(rng.integers(8, 60)))
        cut = int(rng.integers(1, len(body) - 14))
        segment = jpeg_segment(0xED, body)
        lying = segment[:2] + struct.pack(">H", len(body) + 2 - cut) + segment[4:]
        return _insert(data, before_frame, lying)
    if oddity == "jfif-2":
        app0 = next((pos for marker, pos in markers if marker == 0xE0), None)
        if app0 is None or data[app0 + 4 : app0 + 9] != b"JFIF\0":
            return None
        return data[: app0 + 9] + b"\x02" + data[app0 + 10 :]
    if oddity == "sos-zeros":
        if data[frame + 1] != 0xC0:
            return None
        sos = markers[-1][1]
        at = sos + 5 + 2 * data[sos + 4]
        return data[:at] + b"\x00\x00\x00" + data[at + 3 :]
    raise ValueError(oddity)


def _insert(data: bytes, at: int, extra: bytes) -> bytes:
    return data[:at] + extra + data[at:]


# --------------------------------------------------------------------------- PNG chunk lists


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of each chunk of a well-formed PNG."""
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_of_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(ctype, body) for ctype, body in chunks)


def apng(frames: list[np.ndarray]) -> bytes:
    """An APNG whose default image (IDAT) is the first of `frames` (RGBA), animated too."""
    images = [Image.fromarray(frame) for frame in frames]
    return save(images[0], "PNG", save_all=True, append_images=images[1:])

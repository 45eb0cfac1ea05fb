"""PNG structure, checked by hand because neither Pillow nor OpenCV does it before decoding whole.

Pillow decodes a PNG whose IDAT lost its tail, its IEND or its CRCs without complaint, and reads
chunks after the first IDAT only while decoding. This walk sees every chunk (bounds, CRCs, IEND,
compressed metadata bombs) and inflates the pixel stream without keeping it, counting the
scanline bytes against what IHDR promises and checking each scanline's filter byte: what it
accepts, Pillow decodes.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from photofix.errors import ImageTooLarge, InvalidImage
from photofix.imaging.codec.limits import MB, ImageLimits, check_size
from photofix.imaging.codec.sniff import PNG_SIGNATURE

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
_ADAM7 += ((0, 1, 1, 2),)  # (x0, y0, dx, dy) of each interlace pass
_MAX_FILTER = 4  # None, Sub, Up, Average, Paeth
_MAX_CHUNKS = 100_000  # far above real files; bounds the walk over hostile ones
_TEXT_CHUNK_LIMIT = 1 * MB  # Pillow's own per-chunk cap (PngImagePlugin.MAX_TEXT_CHUNK)
_TEXT_TOTAL_LIMIT = 8 * MB
_INFLATE_IN = 64 * 1024  # input slice: keeps zlib's unconsumed tail (a copy) small
_INFLATE_OUT = 1 * MB  # output per call: the pixel stream is counted, never kept
_CHUNK_TYPE = re.compile(rb"\w{4}")  # Pillow's rule (libpng allows letters only)
_ANIMATION_CHUNKS = frozenset({b"acTL", b"fcTL", b"fdAT"})  # APNG; IDAT stays the default image


@dataclass(frozen=True)
class PngLayout:
    width: int
    height: int
    bit_depth: int
    color_type: int
    interlaced: bool
    idat: tuple[memoryview, ...]
    exif: bytes | None  # the last eXIf chunk, wherever it is (the one Pillow keeps)
    animation: tuple[tuple[int, int], ...] = ()  # (start, end) of each APNG chunk in the file


def read_layout(data: bytes, limits: ImageLimits) -> PngLayout:
    """Walk every chunk: bounds, CRCs, IHDR sanity and size (first: an oversized claim is 413
    whatever follows), IEND present, compressed metadata bounded."""
    header: tuple[int, ...] | None = None
    idat: list[memoryview] = []
    exif: bytes | None = None
    animation: list[tuple[int, int]] = []
    text_total = 0
    for ctype, start, body in _chunks(memoryview(data)):
        if header is None:
            header = _header(ctype, body)
            check_size(header[0], header[1], limits)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype in (b"zTXt", b"iCCP", b"iTXt"):
            text_total += _inflated_size(ctype, body)
            if text_total > _TEXT_TOTAL_LIMIT:
                raise ImageTooLarge("PNG metadata inflates past 8 MB (decompression bomb)")
        elif ctype == b"eXIf":
            exif = bytes(body)
        elif ctype in _ANIMATION_CHUNKS:
            animation.append((start, start + 12 + len(body)))
    if header is None or not idat:
        raise InvalidImage("PNG has no image data")
    width, height, depth, color, interlace = header
    return PngLayout(
        width, height, depth, color, bool(interlace), tuple(idat), exif, tuple(animation)
    )


def default_image(data: bytes, layout: PngLayout) -> bytes:
    """The PNG without its APNG chunks: the default image (IDAT), which is all photofix uses
    (an APNG's first frame, when that is animated too, has the same pixels). Pillow refuses an
    APNG whose animation chunks are out of order or missing, though that image is intact."""
    if not layout.animation:
        return data
    pieces, pos = [], 0
    for start, end in layout.animation:
        pieces.append(data[pos:start])
        pos = end
    pieces.append(data[pos:])
    return b"".join(pieces)


def check_pixel_stream(layout: PngLayout) -> None:
    """Inflate the whole IDAT stream: as many scanline bytes as IHDR promises, each scanline
    with a valid filter type, then the zlib stream's end (surplus bytes are ignored, as by
    libpng)."""
    runs = _scanline_runs(layout)
    expected = runs[-1][2] if runs else 0
    inflater = zlib.decompressobj()
    produced = 0
    try:
        for piece in _slices(layout.idat, _INFLATE_IN):
            while piece and produced <= expected and not inflater.eof:
                out = inflater.decompress(piece, _INFLATE_OUT)
                _check_filters(out, produced, runs)
                produced += len(out)
                piece = inflater.unconsumed_tail
            if produced > expected or inflater.eof:
                break
    except zlib.error as exc:
        raise InvalidImage(f"PNG image data is corrupt: {exc}") from exc
    if produced < expected or (produced == expected and not inflater.eof):
        raise InvalidImage("PNG image data is truncated")


def with_usable_colour_key(im: Image.Image, layout: PngLayout, data: bytes) -> Image.Image:
    """The decoded image with its tRNS colour key in terms of its pixels.

    Pillow keeps the key as stored while it rescales 2/4-bit gray samples to 8 bits and keeps
    only the high byte of 16-bit RGB, so no pixel would match it and the alpha would be lost.
    """
    key = im.info.get("transparency")
    if key is None or layout.color_type not in (0, 2):
        return im
    if layout.color_type == 0 and layout.bit_depth in (2, 4) and isinstance(key, int):
        im.info["transparency"] = key * (255 // ((1 << layout.bit_depth) - 1))
    elif layout.color_type == 2 and layout.bit_depth == 16:
        # libpng (through OpenCV) compares the full 16-bit samples and gives the alpha.
        bgra = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if bgra is None or bgra.shape[:2] != (layout.height, layout.width) or bgra.ndim != 3:
            raise InvalidImage("PNG image data is corrupt")
        rgba = (bgra[..., [2, 1, 0, 3]] >> 8).astype(np.uint8)
        keyed = Image.fromarray(rgba, "RGBA")
        keyed.info.update({k: v for k, v in im.info.items() if k != "transparency"})
        return keyed
    return im


def _scanline_runs(layout: PngLayout) -> list[tuple[int, int, int]]:
    """(start, stride, end) in the inflated stream of each pass's scanlines (one pass unless
    Adam7-interlaced); each scanline is a filter byte and its pixel bytes."""
    bits = layout.bit_depth * _CHANNELS[layout.color_type]
    passes = ((0, 0, 1, 1),) if not layout.interlaced else _ADAM7
    runs, pos = [], 0
    for x0, y0, dx, dy in passes:
        width, height = _pass_len(layout.width, x0, dx), _pass_len(layout.height, y0, dy)
        if width and height:
            stride = 1 + (width * bits + 7) // 8
            runs.append((pos, stride, pos + stride * height))
            pos += stride * height
    return runs


def _pass_len(size: int, start: int, step: int) -> int:
    return (size - start + step - 1) // step if size > start else 0


def _check_filters(out: bytes, offset: int, runs: list[tuple[int, int, int]]) -> None:
    """Every scanline starting inside `out` (which begins at `offset`) has a known filter."""
    block = np.frombuffer(out, np.uint8)
    end = offset + len(block)
    for start, stride, stop in runs:
        lo, hi = max(start, offset), min(stop, end)
        if lo < hi:
            first = start + -(-(lo - start) // stride) * stride  # first scanline at or after lo
            if (
                first < hi
                and int(block[first - offset : hi - offset : stride].max(initial=0)) > _MAX_FILTER
            ):
                raise InvalidImage("PNG image data is corrupt: unknown scanline filter type")


def _slices(views: tuple[memoryview, ...], size: int) -> Iterator[memoryview]:
    for view in views:
        for start in range(0, len(view), size):
            yield view[start : start + size]


def _chunks(view: memoryview) -> Iterator[tuple[bytes, int, memoryview]]:
    """(type, offset, body) of each chunk, bounds and CRC checked, up to IEND."""
    pos = len(PNG_SIGNATURE)
    for _ in range(_MAX_CHUNKS):
        if pos + 12 > len(view):
            raise InvalidImage("PNG is truncated (no IEND chunk)")
        length, ctype = struct.unpack_from(">I4s", view, pos)
        if not _CHUNK_TYPE.fullmatch(ctype):
            raise InvalidImage(f"PNG is corrupt: invalid chunk type 0x{ctype.hex()} at byte {pos}")
        end = pos + 12 + length
        if end > len(view):
            raise InvalidImage(f"PNG is truncated inside its {ctype.decode()} chunk")
        (crc,) = struct.unpack_from(">I", view, end - 4)
        if zlib.crc32(view[pos + 4 : end - 4]) != crc:
            raise InvalidImage(f"PNG is corrupt: bad CRC in {ctype.decode()} chunk")
        yield ctype, pos, view[pos + 8 : end - 4]
        if ctype == b"IEND":
            return
        pos = end
    raise InvalidImage(f"PNG has more than {_MAX_CHUNKS} chunks")


def _header(ctype: bytes, body: memoryview) -> tuple[int, ...]:
    if ctype != b"IHDR" or len(body) != 13:
        raise InvalidImage("corrupt PNG: IHDR is not the first chunk or has the wrong length")
    width, height, depth, color, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
    if depth not in _DEPTHS.get(color, ()) or compression or filtering or interlace > 1:
        raise InvalidImage(f"corrupt PNG: invalid IHDR (bit depth {depth}, colour type {color})")
    return width, height, depth, color, interlace


def _inflated_size(ctype: bytes, body: memoryview) -> int:
    """Inflate a compressed metadata chunk up to the cap; refuse a bomb, ignore junk."""
    payload = _compressed_payload(ctype, bytes(body))
    if payload is None:
        return 0
    try:
        inflated = zlib.decompressobj().decompress(payload, _TEXT_CHUNK_LIMIT + 1)
    except zlib.error:
        return 0  # Pillow drops undecodable text chunks too
    if len(inflated) > _TEXT_CHUNK_LIMIT:
        name = ctype.decode("latin-1")
        raise ImageTooLarge(f"PNG {name} chunk inflates past 1 MB (decompression bomb)")
    return len(inflated)


def _compressed_payload(ctype: bytes, body: bytes) -> bytes | None:
    keyword_end = body.find(b"\0")
    if keyword_end < 0:
        return None
    if ctype != b"iTXt":  # zTXt, iCCP: keyword, NUL, method, data
        return body[keyword_end + 2 :]
    if body[keyword_end + 1 : keyword_end + 2] != b"\x01":
        return None  # uncompressed international text
    language_end = body.find(b"\0", keyword_end + 3)
    translated_end = body.find(b"\0", language_end + 1) if language_end >= 0 else -1
    return body[translated_end + 1 :] if translated_end >= 0 else None

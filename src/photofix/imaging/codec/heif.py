"""HEIC/HEIF and AVIF (ISO-BMFF image files): the primary image's size from the boxes, and
what libheif applies by itself.

The size is read from the primary item's `ispe` property (meta > pitm, iprp > ipco + ipma)
before any library sees the file, so a header claiming a huge image is 413 whatever follows it.
HEIC is decoded by pillow-heif's libheif, AVIF by Pillow's own libavif plugin; both are opened
by their plugin class (pillow.py), so no Pillow opener is registered globally. libheif applies
the container's rotation and mirroring (irot, imir) itself, as LibRaw does for RAW; libavif
leaves them to us, as EXIF orientation (Pillow writes them into the image's EXIF).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np
from PIL import Image

from photofix.imaging.codec import exif
from photofix.imaging.codec.limits import ImageLimits, check_size

_MAX_BOXES = 4096  # per level; real files have tens (a 48 MP grid: a few hundred items)
_TRANSPOSING = frozenset({5, 6, 7, 8})
# HEVC and AV1 code whole blocks: an encoder's ispe may be the coded size, up to a 64-pixel
# block past the image its clap box crops out (libheif pads a 4104x16 image to 4104x64).
_CODED_BLOCK = 64


def check_header(data: bytes, limits: ImageLimits) -> None:
    """The primary image's stored size (its `ispe`) against the limits, with a coded block's
    slack (the decoder's header-only open then gives the exact size, which is checked too). A
    file whose boxes do not lead to an ispe is left to the decoder, which refuses it as broken."""
    size = primary_size(data)
    if size is not None and (min(size) <= 0 or max(size) > limits.max_side + _CODED_BLOCK):
        check_size(*size, limits)


def primary_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of the primary item as its `ispe` property gives it, or None."""
    meta = _child(data, 0, len(data), b"meta")
    if meta is None:
        return None
    body = meta[0] + 4, meta[1]  # meta is a full box: version and flags first
    pitm, iprp = _child(data, *body, b"pitm"), _child(data, *body, b"iprp")
    if pitm is None or iprp is None:
        return None
    ipco, ipma = _child(data, *iprp, b"ipco"), _child(data, *iprp, b"ipma")
    if ipco is None or ipma is None:
        return None
    try:
        item = _primary_item(data, pitm[0])
        properties = list(_boxes(data, *ipco))
        for index in _associations(data, ipma[0], item):
            kind, start, end = properties[index - 1]
            if kind == b"ispe" and end - start >= 12:
                width, height = struct.unpack_from(">II", data, start + 4)
                return width, height
    except (struct.error, IndexError):
        return None
    return None


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) of each box from start to end; stops at a box that does not
    fit (the decoder reports the file broken)."""
    pos = start
    for _ in range(_MAX_BOXES):
        if pos + 8 > end:
            return
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1 and pos + 16 <= end:  # a 64-bit size follows the type
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:  # to the end of its parent
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, body, body_end in _boxes(data, start, end):
        if found == kind:
            return body, body_end
    return None


def _primary_item(data: bytes, at: int) -> int:
    version = data[at]
    return struct.unpack_from(">I" if version else ">H", data, at + 4)[0]


def _associations(data: bytes, at: int, item: int) -> list[int]:
    """The 1-based ipco indexes of the properties associated with `item` (ipma, ISO 23008-12)."""
    version, flags = data[at], int.from_bytes(data[at + 1 : at + 4], "big")
    pos = at + 4
    (count,) = struct.unpack_from(">I", data, pos)
    pos += 4
    for _ in range(min(count, 1 << 16)):
        entry = struct.unpack_from(">I" if version else ">H", data, pos)[0]
        pos += 4 if version else 2
        n = data[pos]
        pos += 1
        wide = flags & 1
        if wide:
            indexes = [v & 0x7FFF for v in struct.unpack_from(f">{n}H", data, pos)]
        else:
            indexes = [v & 0x7F for v in data[pos : pos + n]]
        pos += n * (2 if wide else 1)
        if entry == item:
            return indexes
    return []


def orientation(im: Image.Image) -> int:
    """The EXIF orientation equal to the rotations and mirrorings libheif applied (irot, imir;
    the clap crop is not one)."""
    heif_file = getattr(im, "_heif_file", None)
    if heif_file is None:
        return 1
    # pillow-heif's record of them (pinned: a private attribute, read as its own plugin does)
    steps = getattr(heif_file[im.tell()]._c_image, "transformations", ())
    probe = np.arange(6, dtype=np.uint8).reshape(2, 3)
    turned = probe
    for step in steps:
        if step[0] == "irot":  # anti-clockwise, in degrees
            turned = np.rot90(turned, int(step[1]) // 90)
        elif step[0] == "imir":  # 1: about the vertical axis (left-right), 0: top-bottom
            turned = turned[:, ::-1] if step[1] == 1 else turned[::-1]
    return next(o for o in range(1, 9) if np.array_equal(exif.upright(probe, o), turned))


def stored_size(upright_size: tuple[int, int], turned: int) -> tuple[int, int]:
    """The size before orientation `turned` of an image libheif gave upright."""
    width, height = upright_size
    return (height, width) if turned in _TRANSPOSING else (width, height)

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

from photofix.errors import ImageTooLarge
from photofix.imaging.codec import av1, exif
from photofix.imaging.codec.limits import ImageLimits, check_size

_MAX_BOXES = 4096  # per level; real files have tens (a 48 MP grid: a few hundred items)
_TRANSPOSING = frozenset({5, 6, 7, 8})
# HEVC and AV1 code whole blocks: an encoder's ispe may be the coded size, up to a 64-pixel
# block past the image its clap box crops out (libheif pads a 4104x16 image to 4104x64).
_CODED_BLOCK = 64


_AV1_HEAD = 4096  # bytes of an AV1 item read for its sequence header (tens in practice)


def check_header(data: bytes, limits: ImageLimits) -> None:
    """The primary image's stored size (its `ispe`) against the limits, with a coded block's
    slack (the decoder's header-only open then gives the exact size, which is checked too), and
    the frame size every AV1 item codes (libavif decodes that, whatever the ispe says). A file
    whose boxes do not lead to them is left to the decoder, which refuses it as broken."""
    meta = _meta(data)
    size = primary_size(data, meta)
    if size is not None and (min(size) <= 0 or max(size) > limits.max_side + _CODED_BLOCK):
        check_size(*size, limits)
    for stream in _av1_items(data, meta):
        coded = av1.max_frame_size(stream)
        if coded is not None and max(coded) > limits.max_side:
            raise ImageTooLarge(
                f"AVIF codes a {coded[0]}x{coded[1]}-pixel frame (its header says "
                f"{_size_text(size)}); the limit is {limits.max_side}x{limits.max_side}"
            )


def _size_text(size: tuple[int, int] | None) -> str:
    return "no size" if size is None else f"{size[0]}x{size[1]}"


def _meta(data: bytes) -> dict[bytes, tuple[int, int]]:
    """The meta box's children (the first of each type), as (body start, body end)."""
    meta = _child(data, 0, len(data), b"meta")
    if meta is None:
        return {}
    children: dict[bytes, tuple[int, int]] = {}
    for kind, start, end in _boxes(data, meta[0] + 4, meta[1]):  # meta: a full box
        children.setdefault(kind, (start, end))
    return children


def primary_size(data: bytes, meta: dict[bytes, tuple[int, int]]) -> tuple[int, int] | None:
    """(width, height) of the primary item as its `ispe` property gives it, or None."""
    pitm, iprp = meta.get(b"pitm"), meta.get(b"iprp")
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


def _av1_items(data: bytes, meta: dict[bytes, tuple[int, int]]) -> list[bytes]:
    """The first bytes of each AV1 ('av01') item's data, found through iinf and iloc."""
    iinf, iloc = meta.get(b"iinf"), meta.get(b"iloc")
    if iinf is None or iloc is None:
        return []
    try:
        av1_ids = _items_of_type(data, iinf, b"av01")
        idat = meta.get(b"idat", (0, 0))
        return [
            data[start : start + min(length, _AV1_HEAD)]
            for item, start, length in _first_extents(data, iloc[0], idat[0])
            if item in av1_ids
        ]
    except (struct.error, IndexError):
        return []


def _items_of_type(data: bytes, iinf: tuple[int, int], kind: bytes) -> set[int]:
    version = data[iinf[0]]
    first = iinf[0] + (8 if version else 6)  # full box header, then the entry count
    found = set()
    for box, start, _ in _boxes(data, first, iinf[1]):
        infe_version = data[start]
        if box != b"infe" or infe_version < 2:
            continue
        id_size = 4 if infe_version >= 3 else 2
        item = int.from_bytes(data[start + 4 : start + 4 + id_size], "big")
        if data[start + 6 + id_size : start + 10 + id_size] == kind:  # after the protection
            found.add(item)
    return found


def _first_extents(data: bytes, at: int, idat: int) -> Iterator[tuple[int, int, int]]:
    """(item id, file offset, length) of each item's first extent (iloc, ISO 14496-12 8.11.3):
    stored in the file (construction method 0) or in the idat box (1)."""
    version = data[at]
    offset_size, length_size = data[at + 4] >> 4, data[at + 4] & 0x0F
    base_size, index_size = data[at + 5] >> 4, (data[at + 5] & 0x0F) if version else 0
    pos = at + 6
    wide = version >= 2
    count = _uint(data, pos, 4 if wide else 2)
    pos += 4 if wide else 2
    for _ in range(min(count, _MAX_BOXES)):
        item = _uint(data, pos, 4 if wide else 2)
        pos += 4 if wide else 2
        method = _uint(data, pos, 2) & 0x0F if version else 0
        pos += (2 if version else 0) + 2  # construction method, data reference index
        base = _uint(data, pos, base_size)
        pos += base_size
        extents = _uint(data, pos, 2)
        pos += 2
        firsts = []
        for _ in range(extents):
            pos += index_size
            offset, length = (
                _uint(data, pos, offset_size),
                _uint(data, pos + offset_size, length_size),
            )
            pos += offset_size + length_size
            firsts.append((offset, length))
        if firsts and method in (0, 1):
            offset, length = firsts[0]
            start = base + offset + (idat if method == 1 else 0)
            yield item, start, length or len(data) - start  # length 0: to the end


def _uint(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise IndexError("box cut short")
    return int.from_bytes(data[pos : pos + size], "big")


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

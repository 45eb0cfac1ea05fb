"""JPEG pixels through libjpeg-turbo (simplejpeg) in strict mode, and the JPEG segment walk.

libjpeg repairs broken data silently: a file cut short with its end marker put back, or a frame
header that claims more rows than the scans hold, decodes to grey where the data ran out, and
Pillow and OpenCV only print the warning. In strict mode its first warning is an error, so such
a file is refused as broken. The same decoder gives the pixels straight into an array, which is
also faster than Pillow's or OpenCV's path.

libjpeg's warnings (jerror.h, JWRN_*) are of two kinds:

- header oddities, which change no pixel: junk between header segments or a stuffed FF 00 there
  (JWRN_EXTRANEOUS_DATA), an unknown JFIF major version (JWRN_JFIF_MAJOR), an unknown Adobe
  colour transform code (JWRN_ADOBE_XFORM: libjpeg assumes YCbCr, or YCCK for four channels),
  inconsistent ICC chunk numbering in APP2 (JWRN_BOGUS_ICC: metadata), and the unused Ss/Se/Ah/Al
  bytes of a sequential scan (JWRN_NOT_SEQUENTIAL: some encoders write zeros there). A stream
  with one is decoded again, strictly, from a copy without them (`_without_header_oddities`),
  so a file that carries one AND is cut or corrupt further on still fails on that;
- data loss, always refused: premature end of file (JWRN_JPEG_EOF) or of a data segment
  (JWRN_HIT_MARKER), bad Huffman or arithmetic codes (JWRN_HUFF_BAD_CODE, JWRN_ARITH_BAD_CODE), a
  restart marker out of sequence (JWRN_MUST_RESYNC), a progression that refines coefficients it
  never started (JWRN_BOGUS_PROGRESSION), and extraneous bytes inside a scan's entropy-coded
  data, before a restart or end marker: the blocks before them decoded from fewer bytes than the
  encoder wrote, which is what bytes spliced into the stream look like (random bytes inserted
  mid-interval give only that warning and wrong pixels). JWRN_TOO_MUCH_DATA is an API misuse
  that cannot happen here.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import NamedTuple

import cv2
import numpy as np
import simplejpeg

from photofix.errors import ImageTooLarge, InvalidImage, UnsupportedFormat
from photofix.imaging.codec.limits import ImageLimits, check_size

_MAX_SCANS = 1000  # real progressive files have ~10; thousands make a CPU bomb
# Frame types whose decoder honours DCT scaling. A scaled decode of any other (lossless JPEG)
# is written at full size into simplejpeg's scaled buffer: heap corruption, so never scaled.
_SCALABLE_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
_SEQUENTIAL_FRAMES = frozenset({0xC0, 0xC1, 0xC9})  # DCT, one pass per scan (no progression)
_PROGRESSIVE_FRAMES = frozenset({0xC2, 0xCA})
_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC: no frame
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xDA)})  # TEM, RSTn, SOI, EOI: no length
_SOS, _EOI, _APP0, _APP14 = 0xDA, 0xD9, 0xE0, 0xEE
# Segments libjpeg skips unread (APP1-APP13, APP15, COM) or reads as metadata only (APP2 ICC).
_METADATA_MARKERS = frozenset({*range(0xE1, 0xEE), 0xEF, 0xFE})
# Channels: (the Adobe transform codes libjpeg knows, what it assumes for others: YCbCr, YCCK).
_ADOBE_TRANSFORMS = {3: ((0, 1), 1), 4: ((0, 2), 2)}
# Inside entropy-coded data FF is followed by 00 (stuffing), a restart marker or more FF fill.
_END_OF_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# How libjpeg words the header oddities above (the data-loss warnings are everything else).
_HEADER_ODDITIES = (
    "extraneous bytes before marker",  # also inside a scan: the strict retry decides
    "unknown JFIF revision",
    "Unknown Adobe color transform",
    "bad ICC marker",
    "Invalid SOS parameters for sequential JPEG",
)
_UNKNOWN_SAMPLING = "Could not determine subsampling level"
# Pillow modes -> the libjpeg output colour space that keeps every channel.
_COLORSPACES = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}


class _Segment(NamedTuple):
    marker: int
    start: int  # the FF right before the marker byte (fill FFs before it are not counted)
    end: int  # past its body; for SOS, past the entropy-coded data that follows it


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
    about half the time of a full decode), failing on any data-loss warning."""
    _decode(data, mode, smallest=True)


def pixels(data: bytes, mode: str) -> np.ndarray:
    """Full-size pixels as Pillow would give them for `mode`: (H, W) for "L", (H, W, 3) for
    "RGB", (H, W, 4) for "CMYK" (inverted, as Adobe writes it and Pillow assumes)."""
    out = _decode(data, mode, smallest=False)
    if mode == "CMYK":
        cv2.bitwise_not(out, dst=out)
    return out[:, :, 0] if mode == "L" else out


def _decode(data: bytes, mode: str, *, smallest: bool) -> np.ndarray:
    """Strict decode; after a header-oddity warning, strict again without the oddities (the
    common, clean file pays nothing for this)."""
    colorspace = _COLORSPACES.get(mode)
    if colorspace is None:
        raise UnsupportedFormat(f"JPEG pixel mode {mode} is not supported")
    frame_type = _frame(data)[0]
    if frame_type in _PROGRESSIVE_FRAMES:
        _check_progression_complete(data)
    scaled = smallest and frame_type in _SCALABLE_FRAMES
    size = {"min_height": 1, "min_width": 1} if scaled else {}
    try:
        return simplejpeg.decode_jpeg(data, colorspace, strict=True, **size)
    except ValueError as exc:
        oddity = any(text in str(exc) for text in _HEADER_ODDITIES)
        clean = _without_header_oddities(data) if oddity else data
        if clean == data:
            raise _typed(exc) from exc
    try:
        return simplejpeg.decode_jpeg(clean, colorspace, strict=True, **size)
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


def _segments(data: bytes) -> Iterator[_Segment]:
    """Every segment after SOI up to EOI, found as libjpeg (next_marker) and Pillow find them:
    bytes before a marker that are not one (junk, a stuffed FF 00) are skipped, extra FF bytes
    are fill. A segment may end past the data (a cut file): the walk stops there."""
    pos, size = 2, len(data)
    while (pos := data.find(b"\xff", pos)) >= 0:
        while pos < size and data[pos] == 0xFF:
            pos += 1
        if pos >= size:
            return
        marker = data[pos]
        start, pos = pos - 1, pos + 1
        if marker == 0x00:  # FF 00 outside a scan: junk
            continue
        end = pos
        if marker not in _STANDALONE_MARKERS:
            # libjpeg reads a length under 2 as no body
            end += max(2, int.from_bytes(data[pos : pos + 2], "big"))
            if marker == _SOS:
                found = _END_OF_SCAN.search(data, end)
                end = found.start() if found else size
        yield _Segment(marker, start, end)
        if marker == _EOI or end >= size:
            return
        pos = end


def _frame(data: bytes) -> tuple[int, int, int]:
    """(SOFn marker, width, height) of the frame: Pillow does not say which frame type it read
    (lossless must not be scaled), and its open fails on a file cut before the scan, where the
    size alone already answers 413."""
    for segment in _segments(data):
        if segment.marker in _FRAME_MARKERS and segment.start + 9 <= len(data):
            height, width = struct.unpack_from(">HH", data, segment.start + 5)
            return segment.marker, width, height
        if segment.marker in (_SOS, _EOI):
            break
    raise InvalidImage("JPEG has no frame header (truncated or corrupt)")


def _check_progression_complete(data: bytes) -> None:
    """A progressive file cut between two scans, its end marker put back, decodes without a
    warning: the scans that are left are all valid, the detail and colour of the missing ones
    silently lost. Every real encoder sends each coefficient of each component down to its
    last bit (a scan with Al = 0); a file that does not is refused as cut."""
    segments = list(_segments(data))
    frame = next(s for s in segments if s.marker in _FRAME_MARKERS)
    unfinished = {channel: set(range(64)) for channel in _selectors(data, frame.start + 9, 3)}
    for marker, start, _ in segments:
        channels = _selectors(data, start + 4, 2) if marker == _SOS else b""
        after = start + 5 + 2 * len(channels)
        if not channels or after + 3 > len(data):
            continue
        first, last, approximation = data[after : after + 3]
        if approximation & 0x0F == 0:  # Al = 0: these coefficients are complete
            for channel in channels:
                unfinished.get(channel, set()).difference_update(range(first, last + 1))
    if any(unfinished.values()):
        raise InvalidImage(
            "JPEG is truncated: its progressive scans end before every coefficient is complete "
            "(a file cut between two scans)"
        )


def _selectors(data: bytes, count_at: int, stride: int) -> bytes:
    """The component ids of a frame (stride 3) or scan (stride 2) header, whose count is at
    `count_at`; empty when the header is cut."""
    count = data[count_at] if count_at < len(data) else 0
    ids = data[count_at + 1 : count_at + 1 + stride * count : stride]
    return ids if len(ids) == count else b""


def _without_header_oddities(data: bytes) -> bytes:
    """The stream minus what libjpeg only warns about: junk between segments and metadata
    segments dropped; the JFIF version, an unknown Adobe transform and a sequential scan's
    unused parameters set to what libjpeg assumes for them. The pixels it decodes to are the
    same; the entropy-coded data is copied untouched, so what is wrong there still fails."""
    segments = list(_segments(data))
    frame = next((s for s in segments if s.marker in _FRAME_MARKERS), None)
    frame_type = frame.marker if frame else None
    channels = data[frame.start + 9] if frame and frame.start + 9 < len(data) else 0
    pieces = [data[:2]]
    for marker, start, end in segments:
        if marker in _METADATA_MARKERS:
            continue
        segment = data[start:end]
        if marker == _APP0:
            segment = _jfif_version_one(segment)
        elif marker == _APP14:
            segment = _adobe_transform_known(segment, channels)
        elif marker == _SOS and frame_type in _SEQUENTIAL_FRAMES:
            segment = _sequential_scan_parameters(segment)
        pieces.append(segment)
    return b"".join(pieces)


def _patched(segment: bytes, at: int, values: bytes) -> bytes:
    if segment[at : at + len(values)] == values:
        return segment
    out = bytearray(segment)
    out[at : at + len(values)] = values
    return bytes(out)


def _jfif_version_one(segment: bytes) -> bytes:
    """libjpeg warns on a JFIF major version other than 1 and reads the marker the same."""
    if segment[4:9] == b"JFIF\0" and len(segment) >= 18:
        return _patched(segment, 9, b"\x01")
    return segment


def _adobe_transform_known(segment: bytes, channels: int) -> bytes:
    """An unknown Adobe transform code as the one libjpeg assumes for it."""
    if segment[4:9] != b"Adobe" or len(segment) < 16 or channels not in _ADOBE_TRANSFORMS:
        return segment  # libjpeg ignores a short or foreign APP14, and any other channel count
    known, assumed = _ADOBE_TRANSFORMS[channels]
    return segment if segment[15] in known else _patched(segment, 15, bytes([assumed]))


def _sequential_scan_parameters(segment: bytes) -> bytes:
    """Ss=0, Se=63, Ah=Al=0: a sequential decoder reads every coefficient whatever they say."""
    if len(segment) < 5:
        return segment
    at = 5 + 2 * segment[4]  # after the component count and its selectors
    return _patched(segment, at, b"\x00\x3f\x00") if at + 3 <= len(segment) else segment

"""Valid files with the oddities real ones carry, which Pillow reads past, and the broken files
that look like them.

Issue 17: what Pillow decodes, the codec decodes, to the same pixels: JPEG header junk and
malformed metadata, APNG animation chunks out of order. Issue 22.6: a file cut short stays
refused whatever oddity it carries before the cut. Every file is made here.
"""

from __future__ import annotations

import io
import re
import struct

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from photofix.errors import ImageTooLarge, InvalidImage, UnsupportedFormat
from photofix.imaging import codec
from photofix.imaging.codec import tiff
from tests.imaging.codec_samples import (
    JPEG_ODDITIES,
    apng,
    jpeg_header_markers,
    jpeg_segment,
    no_ff,
    pixels,
    png_chunk,
    png_chunks,
    png_of_chunks,
    save,
    with_alpha,
    with_jpeg_oddity,
)

LIMITS = codec.ImageLimits()
ODDITIES_LIBJPEG_WARNS_ABOUT = set(JPEG_ODDITIES) - {"fill"}  # extra FF fill bytes are legal


def photo_jpeg(mode: str = "RGB", seed: int = 0, **options: object) -> bytes:
    rng = np.random.default_rng(seed)
    im = Image.fromarray(pixels(rng, 96, 64, 3)).convert(mode)
    return save(im, "JPEG", quality=85, **options)


def cut_in_scan_data(data: bytes, fraction: float = 0.5) -> bytes:
    """Cut inside the last scan's entropy-coded data, the end marker put back."""
    scan = data.rindex(b"\xff\xda")
    start = scan + 2 + struct.unpack_from(">H", data, scan + 2)[0]
    return data[: start + int((len(data) - 2 - start) * fraction)] + b"\xff\xd9"


def pillow_rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def refused(data: bytes, error: type[Exception] = InvalidImage, match: str = "") -> None:
    for call in (codec.validate, codec.decode):
        with pytest.raises(error, match=match):
            call(data, LIMITS)


# --------------------------------------------------------------------------- JPEG headers


JPEG_FILES = [("L", False), ("RGB", True), ("CMYK", False)]  # (mode, progressive)
# Not every oddity applies to every file: Pillow writes no JFIF marker for CMYK, and only a
# sequential scan has parameters that libjpeg ignores (the RGB file is progressive).
INAPPLICABLE = {("jfif-2", "CMYK"), ("sos-zeros", "RGB")}
ODDITY_CASES = [
    (oddity, mode, progressive)
    for oddity in JPEG_ODDITIES
    for mode, progressive in JPEG_FILES
    if (oddity, mode) not in INAPPLICABLE
]


@pytest.mark.parametrize(("oddity", "mode", "progressive"), ODDITY_CASES)
def test_jpeg_header_oddity_decodes_to_the_pixels_of_the_clean_file(
    oddity: str, mode: str, progressive: bool
) -> None:
    clean = photo_jpeg(mode, progressive=progressive)
    odd = with_jpeg_oddity(clean, oddity, np.random.default_rng(7))
    assert odd is not None
    if oddity in ODDITIES_LIBJPEG_WARNS_ABOUT:  # the file does take the oddity path
        with pytest.raises(ValueError):
            simplejpeg.decode_jpeg(odd, strict=True)
    info = codec.validate(odd, LIMITS)
    decoded = codec.decode(odd, LIMITS)
    assert (info.width, info.height) == (96, 64)
    assert np.array_equal(decoded.pixels, codec.decode(clean, LIMITS).pixels)
    assert np.array_equal(decoded.pixels, pillow_rgb(odd))


@pytest.mark.parametrize("oddity", JPEG_ODDITIES)
def test_cut_jpeg_carrying_an_oddity_before_the_cut_is_still_refused(oddity: str) -> None:
    """Strict libjpeg stops at the first warning: the oddity's. The retry without it is
    strict too, so the cut further on is what refuses the file."""
    odd = with_jpeg_oddity(photo_jpeg("L"), oddity, np.random.default_rng(3))
    assert odd is not None
    refused(cut_in_scan_data(odd), match="premature end|Premature end")


@pytest.mark.parametrize(("channels", "code"), [(3, 5), (3, 2), (4, 1), (4, 7)])
def test_unknown_adobe_transform_decodes_as_libjpeg_assumes(channels: int, code: int) -> None:
    """libjpeg takes an unknown code as YCbCr (3 channels) or YCCK (4), and so does Pillow."""
    if channels == 3:  # no JFIF marker, else libjpeg never looks at the transform
        data = photo_jpeg("RGB")
        app0 = data.index(b"\xff\xe0")
        data = data[:app0] + data[app0 + 2 + struct.unpack_from(">H", data, app0 + 2)[0] :]
        adobe = jpeg_segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00" + bytes([code]))
        data = data[:2] + adobe + data[2:]
    else:
        data = bytearray(photo_jpeg("CMYK"))
        data[data.index(b"\xff\xee\x00\x0eAdobe") + 15] = code
        data = bytes(data)
    with pytest.raises(ValueError, match="Unknown Adobe color transform"):
        simplejpeg.decode_jpeg(data, strict=True)
    codec.validate(data, LIMITS)
    assert np.array_equal(codec.decode(data, LIMITS).pixels, pillow_rgb(data))


def test_junk_bytes_spliced_into_a_restart_interval_are_data_loss_and_refused() -> None:
    """Extraneous bytes inside entropy-coded data (Pillow's hopper_bad_exif.jpg has 1214 of
    them before RST0, and decodes to stripes) cannot be told from a spliced stream: random
    bytes put in the middle of an interval often give only that warning, and other pixels."""
    clean = photo_jpeg("RGB", restart_marker_rows=1)
    middle = (clean.index(b"\xff\xd0") + 2 + clean.index(b"\xff\xd1")) // 2
    only_extraneous = 0
    for seed in range(20):
        spliced = clean[:middle] + no_ff(np.random.default_rng(seed), 50) + clean[middle:]
        refused(spliced)
        with pytest.raises(ValueError) as warning:
            simplejpeg.decode_jpeg(spliced, strict=True)
        if re.match(r"Corrupt JPEG data: \d+ extraneous bytes before", str(warning.value)):
            only_extraneous += 1
            assert not np.array_equal(pillow_rgb(spliced), pillow_rgb(clean))  # pixels lost
    assert only_extraneous >= 3


def test_progressive_jpeg_cut_between_two_scans_is_refused() -> None:
    """Cut right before a scan, the end marker put back: no warning from libjpeg at all, the
    remaining scans decode, the missing ones' detail and colour are gone."""
    data = photo_jpeg("RGB", progressive=True)
    scans = [m.start() for m in re.finditer(b"\xff\xda", data)]
    assert len(scans) > 3
    for scan in scans[1:]:
        cut = data[:scan] + b"\xff\xd9"
        simplejpeg.decode_jpeg(cut, strict=True)  # libjpeg itself sees nothing wrong
        refused(cut, match="progressive scans end before every coefficient")
    codec.validate(data, LIMITS)  # the whole file is fine


@pytest.mark.parametrize("junk", [b"hello", b"\xff\x00\x00\x02", b"\x01"])
def test_frame_past_junk_is_found_and_an_oversized_one_is_413_even_when_cut(junk: bytes) -> None:
    """The frame walk skips junk as libjpeg and Pillow do, and the size still comes first."""
    data = photo_jpeg("RGB")
    sof = next(pos for marker, pos in jpeg_header_markers(data) if marker == 0xC0)
    odd = data[:sof] + junk + data[sof:]
    assert codec.validate(odd, LIMITS).width == 96
    huge = bytearray(odd)
    struct.pack_into(">H", huge, sof + len(junk) + 7, 5000)  # width
    for cut in (sof + len(junk) + 19, len(huge) // 2, len(huge)):
        refused(bytes(huge[:cut]), ImageTooLarge, match="5000x64")


# --------------------------------------------------------------------------- APNG


def half_transparent_frames(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    first = with_alpha(pixels(rng, 32, 16, 3), rng, "opaque")
    first[:, :16, 3] = 0
    return [first, with_alpha(pixels(rng, 32, 16, 3), rng, "soft")]


def without(chunks: list[tuple[bytes, bytes]], ctype: bytes) -> list[tuple[bytes, bytes]]:
    return [chunk for chunk in chunks if chunk[0] != ctype]


def renumbered(chunks: list[tuple[bytes, bytes]], offset: int) -> list[tuple[bytes, bytes]]:
    """Every fcTL/fdAT sequence number shifted: a gap where frame 0's control should be."""
    return [
        (ctype, struct.pack(">I", struct.unpack_from(">I", body)[0] + offset) + body[4:])
        if ctype in (b"fcTL", b"fdAT")
        else (ctype, body)
        for ctype, body in chunks
    ]


BROKEN_ANIMATIONS = {
    "no fcTL": lambda chunks: without(chunks, b"fcTL"),
    "no fdAT": lambda chunks: without(chunks, b"fdAT"),
    "sequence gap": lambda chunks: renumbered(chunks, 5),
    "acTL after the frames": lambda chunks: [*without(chunks[:-1], b"acTL"), chunks[1], chunks[-1]],
}


@pytest.mark.parametrize("case", sorted(BROKEN_ANIMATIONS))
def test_apng_with_broken_animation_chunks_decodes_its_default_image(case: str) -> None:
    frames = half_transparent_frames()
    chunks = png_chunks(apng(frames))
    assert [ctype for ctype, _ in chunks][:2] == [b"IHDR", b"acTL"]
    data = png_of_chunks(BROKEN_ANIMATIONS[case](chunks))
    info = codec.validate(data, LIMITS)
    decoded = codec.decode(data, LIMITS)
    assert (info.width, info.height) == (32, 16)
    assert np.array_equal(decoded.pixels[..., 3], frames[0][..., 3])
    visible = frames[0][..., 3] > 0
    assert np.array_equal(decoded.pixels[visible], frames[0][visible])


def test_apng_with_a_cut_default_image_is_refused() -> None:
    chunks = png_chunks(apng(half_transparent_frames()))
    cut = [(ctype, body[: len(body) // 2] if ctype == b"IDAT" else body) for ctype, body in chunks]
    refused(png_of_chunks(cut), match="PNG image data")


def test_png_chunk_type_that_is_no_name_is_named_in_hex() -> None:
    """Pillow's broken.png printed as "truncated inside its ô¨á chunk"."""
    data = save(Image.new("L", (4, 4)), "PNG")
    garbage = data[:8] + b"\x2f\xc5\x7d\x50\xf4\xa8\x81\xe1" + data[16:]
    refused(garbage, match=r"^PNG is corrupt: invalid chunk type 0xf4a881e1 at byte 8$")
    odd_name = data[:33] + png_chunk(b"ab_1", b"x") + data[33:]  # Pillow's rule: \w{4}
    assert codec.decode(odd_name, LIMITS).pixels.shape == (4, 4, 3)


# --------------------------------------------------------------------------- BMP and TIFF


def bmp_with(info_size: int | None = None, depth: int | None = None) -> bytes:
    data = bytearray(save(Image.new("RGB", (4, 4), (10, 20, 30)), "BMP"))
    if info_size is not None:
        struct.pack_into("<I", data, 14, info_size)
    if depth is not None:
        struct.pack_into("<H", data, 28, depth)
    return bytes(data)


@pytest.mark.parametrize("info_size", [16, 66])
def test_bmp_with_an_info_header_size_pillow_does_not_read_is_a_named_bmp_variant(
    info_size: int,
) -> None:
    refused(bmp_with(info_size=info_size), UnsupportedFormat, match=f"BMP with a {info_size}-byte")


@pytest.mark.parametrize(
    ("depth", "error"), [(2, UnsupportedFormat), (64, UnsupportedFormat), (30000, InvalidImage)]
)
def test_bmp_depth_no_writer_uses_is_broken_and_a_real_one_pillow_lacks_is_a_variant(
    depth: int, error: type[Exception]
) -> None:
    data = bmp_with(depth=depth)
    for call in (codec.validate, codec.decode):
        with pytest.raises(error, match=f"pixel depth \\({depth}\\)") as raised:
            call(data, LIMITS)
        assert type(raised.value) is error


def test_tiff_in_a_compression_this_libtiff_lacks_is_a_variant_not_corrupt() -> None:
    """A TIFF whose compression tag says WebP: 415 where libtiff has no WebP codec (Pillow's
    hopper_webp.tif), and a broken file (raw bytes are no WebP stream) where it has one."""
    data = bytearray(save(Image.new("RGB", (8, 8), (200, 10, 10)), "TIFF"))
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    entry = next(
        at
        for at in range(ifd + 2, ifd + 2 + 12 * count, 12)
        if struct.unpack_from("<H", data, at)[0] == 259
    )
    struct.pack_into("<H", data, entry + 8, 50001)
    expected = InvalidImage if tiff._libtiff_has("webp") else UnsupportedFormat
    refused(bytes(data), expected, match="corrupt" if expected is InvalidImage else "webp")

"""codec: sniffing, limits, bombs, truncation, modes, EXIF, ICC, RAW and encoding.

Every image is generated here; nothing is read from disk.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from photofix.errors import ImageTooLarge, InvalidImage, UnsupportedFormat
from photofix.imaging import codec
from photofix.imaging.codec import ImageLimits

LIMITS = ImageLimits()
MB = 1024 * 1024

RED, GREEN, BLUE, WHITE = (220, 30, 30), (30, 200, 40), (30, 40, 220), (250, 250, 250)


# --------------------------------------------------------------------------- helpers


def quadrants(width: int = 64, height: int = 32) -> np.ndarray:
    """TL red, TR green, BL blue, BR white: placement survives any flip or turn."""
    img = np.empty((height, width, 3), np.uint8)
    h2, w2 = height // 2, width // 2
    img[:h2, :w2], img[:h2, w2:], img[h2:, :w2], img[h2:, w2:] = RED, GREEN, BLUE, WHITE
    return img


def save(im: Image.Image | np.ndarray, fmt: str, **options: object) -> bytes:
    if isinstance(im, np.ndarray):
        im = Image.fromarray(im)
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def crafted_png(width: int, height: int, raw: bytes, *extra: bytes, color_type: int = 0) -> bytes:
    """A PNG assembled by hand: IHDR, extra chunks, one IDAT holding zlib(raw), IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def dominant(pixel: np.ndarray) -> str:
    """Which of the quadrant colours a decoded pixel is closest to."""
    names = {"red": RED, "green": GREEN, "blue": BLUE, "white": WHITE}
    return min(names, key=lambda n: np.abs(np.array(names[n]) - pixel[:3].astype(int)).sum())


def corners(pixels: np.ndarray) -> tuple[str, str, str, str]:
    """Colour names at TL, TR, BL, BR (sampled inset from the edges)."""
    h, w = pixels.shape[:2]
    dy, dx = h // 4, w // 4
    points = ((dy, dx), (dy, w - dx), (h - dy, dx), (h - dy, w - dx))
    return tuple(dominant(pixels[y, x]) for y, x in points)  # type: ignore[return-value]


# --------------------------------------------------------------------------- sniffing


FORMAT_CASES: dict[str, Callable[[np.ndarray], bytes]] = {
    "jpeg": lambda a: save(a, "JPEG", quality=95),
    "png": lambda a: save(a, "PNG"),
    "bmp": lambda a: save(a, "BMP"),
    "webp": lambda a: save(a, "WEBP", lossless=True),
    "tiff": lambda a: save(a, "TIFF", compression="tiff_lzw"),
    "sgi": lambda a: save(a, "SGI"),
}


@pytest.mark.parametrize("fmt", sorted(FORMAT_CASES))
def test_round_trip_every_input_format(fmt: str) -> None:
    src = quadrants()
    data = FORMAT_CASES[fmt](src)
    assert codec.sniff_format(data) == fmt
    info = codec.validate(data, LIMITS)
    assert (info.format, info.width, info.height, info.exif_orientation) == (fmt, 64, 32, 1)
    decoded = codec.decode(data, LIMITS)
    assert decoded.format == fmt
    assert decoded.pixels.shape == (32, 64, 3) and decoded.pixels.dtype == np.uint8
    assert not decoded.pixels.flags.writeable  # shared with the decoder, never modified
    assert decoded.exif_orientation == 1
    if fmt == "jpeg":  # lossy: must equal a plain Pillow decode, and keep the layout
        src = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(decoded.pixels, src)
    assert corners(decoded.pixels) == ("red", "green", "blue", "white")


def test_uncompressed_and_big_endian_tiff() -> None:
    for options in ({}, {"tiffinfo": {}, "big_endian": True}):
        data = save(quadrants(), "TIFF", **options)
        assert codec.sniff_format(data) == "tiff"
        assert codec.decode(data, LIMITS).pixels.shape == (32, 64, 3)


def test_sniffing_uses_bytes_not_names() -> None:
    """The codec never sees a file name: JPEG bytes "named" .png are JPEG, and vice versa."""
    uploads = {"photo.png": save(quadrants(), "JPEG"), "scan.jpg": save(quadrants(), "PNG")}
    assert [codec.sniff_format(data) for data in uploads.values()] == ["jpeg", "png"]
    with pytest.raises(UnsupportedFormat):
        codec.sniff_format(b"this is a .png, honest" * 4)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(save(Image.new("P", (8, 8)), "GIF"), id="gif"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", id="pdf"),
        pytest.param(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", id="mp4"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', id="svg"),
        pytest.param(b"hello, world; definitely not an image", id="text"),
        pytest.param(b"BM this is text that starts like a bitmap", id="bm-text"),
    ],
)
def test_unsupported_formats_are_415(data: bytes) -> None:
    with pytest.raises(UnsupportedFormat) as err:
        codec.validate(data, LIMITS)
    assert err.value.http_status == 415
    with pytest.raises(UnsupportedFormat):
        codec.decode(data, LIMITS)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\x89PNG\r\n"])
def test_empty_or_tiny_input_is_invalid(data: bytes) -> None:
    with pytest.raises(InvalidImage):
        codec.validate(data, LIMITS)


# --------------------------------------------------------------------------- size limits


@pytest.mark.parametrize("fmt", sorted(FORMAT_CASES))
@pytest.mark.parametrize("size", [(4097, 2), (2, 4097)])
def test_side_over_4096_is_refused_from_the_header(fmt: str, size: tuple[int, int]) -> None:
    data = FORMAT_CASES[fmt](np.zeros((size[1], size[0], 3), np.uint8))
    with pytest.raises(ImageTooLarge) as err:
        codec.validate(data, LIMITS)
    assert f"{size[0]}x{size[1]}" in err.value.message and err.value.http_status == 413
    with pytest.raises(ImageTooLarge):
        codec.decode(data, LIMITS)


def test_exactly_4096_is_accepted() -> None:
    data = save(np.zeros((1, 4096, 3), np.uint8), "PNG")
    assert codec.validate(data, LIMITS).width == 4096


def test_byte_cap_is_20_mb() -> None:
    over = b"\xff\xd8\xff\xe0" + bytes(20 * MB - 3)
    assert len(over) == 20 * MB + 1
    with pytest.raises(ImageTooLarge) as err:
        codec.validate(over, LIMITS)
    assert "20 MB" in err.value.message
    with pytest.raises(ImageTooLarge):
        codec.decode(over, LIMITS)


def test_png_header_bomb_is_refused_fast_without_allocating() -> None:
    bomb = crafted_png(50_000, 50_000, bytes(50_001 * 64))  # 2.5 Gpx claimed, ~3 KB of data
    assert len(bomb) < 10_000
    tracemalloc.start()
    started = time.perf_counter()
    for call in (codec.validate, codec.decode):
        with pytest.raises(ImageTooLarge) as err:
            call(bomb, LIMITS)
        assert "50000x50000" in err.value.message
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 2 * MB


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small valid JPEG whose frame header is patched to claim another size."""
    data = bytearray(save(quadrants(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def test_pillow_bomb_guard_is_mapped_when_limits_exceed_it() -> None:
    """With operator limits above Pillow's own thresholds, its error still maps to 413."""
    huge_limits = ImageLimits(max_side=100_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Pillow warning may escape either
        with pytest.raises(ImageTooLarge):
            codec.decode(jpeg_claiming(50_000, 50_000), huge_limits)
        # 10000x10000 lies between Pillow's warning and error thresholds: the warning stays
        # inside, and the stream check then finds the pixel data missing.
        with pytest.raises(InvalidImage, match="truncated"):
            codec.validate(crafted_png(10_000, 10_000, bytes(1000)), huge_limits)


def test_patched_jpeg_header_over_the_limit_is_refused() -> None:
    with pytest.raises(ImageTooLarge, match="5000x300"):
        codec.validate(jpeg_claiming(5000, 300), LIMITS)


def test_jpeg_with_thousands_of_scans_is_refused() -> None:
    data = save(quadrants(16, 16), "JPEG", progressive=True)
    end = data.rindex(b"\xff\xd9")
    scan = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00" * 4  # a tiny refinement scan
    bomb = data[:end] + scan * 2000 + data[end:]
    with pytest.raises(ImageTooLarge, match="scans"):
        codec.validate(bomb, LIMITS)


@pytest.mark.parametrize("ctype", [b"zTXt", b"iCCP", b"iTXt"])
def test_png_metadata_bomb_is_refused(ctype: bytes) -> None:
    payload = zlib.compress(bytes(64 * MB), 9)  # ~64 KB that inflates to 64 MB
    header = b"Comment\x00\x01\x00\x00\x00" if ctype == b"iTXt" else b"Comment\x00\x00"
    data = crafted_png(8, 8, bytes(8 * 9), png_chunk(ctype, header + payload))
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="decompression bomb"):
        codec.validate(data, LIMITS)
    with pytest.raises(ImageTooLarge):
        codec.decode(data, LIMITS)
    assert time.perf_counter() - started < 1.0


def test_small_png_metadata_is_fine() -> None:
    text = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"hello" * 100))
    data = crafted_png(8, 8, bytes(8 * 9), text)
    assert codec.validate(data, LIMITS).format == "png"
    assert codec.decode(data, LIMITS).pixels.shape == (8, 8, 3)


# --------------------------------------------------------------------------- broken files


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_jpeg_is_invalid(fraction: float) -> None:
    rng = np.random.default_rng(0)
    data = save(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8), "JPEG", quality=90)
    cut = data[: int(len(data) * fraction)]
    with pytest.raises(InvalidImage) as err:
        codec.validate(cut, LIMITS)
    assert err.value.http_status == 400
    with pytest.raises(InvalidImage):
        codec.decode(cut, LIMITS)


def test_truncated_progressive_jpeg_is_invalid() -> None:
    rng = np.random.default_rng(1)
    data = save(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8), "JPEG", progressive=True)
    with pytest.raises(InvalidImage):
        codec.validate(data[: len(data) * 2 // 3], LIMITS)


@pytest.mark.parametrize("missing", [12, 20, 500])
def test_truncated_png_is_invalid(missing: int) -> None:
    """12: IEND gone; 20: also the IDAT's CRC and adler32 (Pillow alone decodes that)."""
    rng = np.random.default_rng(0)
    data = save(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), "PNG")
    cut = data[:-missing]
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage, match="truncated"):
            call(cut, LIMITS)


def test_png_with_short_but_well_formed_idat_is_invalid() -> None:
    """Chunks, CRCs and zlib stream all valid, but fewer scanlines than IHDR promises."""
    data = crafted_png(16, 16, bytes(17 * 10))
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage):
            call(data, LIMITS)


def test_png_idat_stream_without_its_end_is_invalid() -> None:
    raw = bytes(17 * 16)
    stream = zlib.compressobj()
    unterminated = stream.compress(raw) + stream.flush(zlib.Z_SYNC_FLUSH)
    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", unterminated)
        + png_chunk(b"IEND", b"")
    )
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage, match="truncated"):
            call(data, LIMITS)


def test_png_with_bad_crc_is_invalid() -> None:
    data = bytearray(save(quadrants(), "PNG"))
    data[data.index(b"IDAT") + 8] ^= 0xFF  # a byte of compressed pixel data
    with pytest.raises(InvalidImage, match="CRC"):
        codec.validate(bytes(data), LIMITS)


@pytest.mark.parametrize("fmt", ["bmp", "webp", "tiff", "sgi"])
def test_truncated_other_formats_are_invalid(fmt: str) -> None:
    rng = np.random.default_rng(2)
    data = FORMAT_CASES[fmt](rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    cut = data[: len(data) // 2]
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage):
            call(cut, LIMITS)


def test_garbage_after_a_valid_magic_is_invalid() -> None:
    with pytest.raises(InvalidImage):
        codec.validate(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, LIMITS)
    with pytest.raises(InvalidImage):
        codec.decode(b"II*\x00" + b"\xff" * 64, LIMITS)


# --------------------------------------------------------------------------- EXIF orientation


def exif_jpeg(orientation: int, pixels: np.ndarray) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(pixels, "JPEG", quality=95, exif=exif.tobytes())


@pytest.mark.parametrize(
    ("orientation", "expected_corners", "shape"),
    [
        (1, ("red", "green", "blue", "white"), (32, 64)),
        (3, ("white", "blue", "green", "red"), (32, 64)),  # turned 180
        (6, ("blue", "red", "white", "green"), (64, 32)),  # turned 90 clockwise
        (8, ("green", "white", "red", "blue"), (64, 32)),  # turned 90 counter-clockwise
    ],
)
def test_exif_orientation_is_applied(
    orientation: int, expected_corners: tuple[str, ...], shape: tuple[int, int]
) -> None:
    data = exif_jpeg(orientation, quadrants())
    assert codec.validate(data, LIMITS).exif_orientation == orientation
    decoded = codec.decode(data, LIMITS)
    assert decoded.exif_orientation == orientation
    assert decoded.pixels.shape[:2] == shape
    assert corners(decoded.pixels) == expected_corners


def test_exif_orientation_matches_pillow_exif_transpose_for_all_eight() -> None:
    from PIL import ImageOps

    for orientation in range(1, 9):
        data = exif_jpeg(orientation, quadrants())
        expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
        assert np.array_equal(codec.decode(data, LIMITS).pixels, expected), orientation


@pytest.mark.parametrize("orientation", [1, 6])
@pytest.mark.parametrize("progressive", [False, True])
def test_plain_jpeg_fast_path_equals_the_pillow_path(orientation: int, progressive: bool) -> None:
    """libjpeg-turbo decodes a plain sRGB JPEG straight into an array (no packing copies); its
    pixels and orientation are exactly what Pillow's decode and exif_transpose give."""
    from PIL import ImageOps

    rng = np.random.default_rng(orientation)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8), (0, 0), 2)
    im = Image.fromarray(photo)
    exif = im.getexif()
    exif[0x0112] = orientation
    data = save(im, "JPEG", quality=90, exif=exif.tobytes(), progressive=progressive)
    fast = codec.decode(data, LIMITS)
    slow = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    assert np.array_equal(fast.pixels, slow)
    assert (fast.exif_orientation, fast.icc_converted) == (orientation, False)
    assert not fast.pixels.flags.writeable


def test_jpeg_with_data_after_its_end_still_decodes() -> None:
    """Some cameras append a trailer after the end-of-image marker; such files take
    Pillow's path and decode as before."""
    data = save(Image.fromarray(quadrants()), "JPEG", quality=95) + b"TRAILER" * 10
    assert corners(codec.decode(data, LIMITS).pixels) == ("red", "green", "blue", "white")


def test_png_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = save(quadrants(), "PNG", exif=exif.tobytes())
    assert codec.validate(data, LIMITS).exif_orientation == 6
    decoded = codec.decode(data, LIMITS)
    assert decoded.pixels.shape == (64, 32, 3)
    assert corners(decoded.pixels) == ("blue", "red", "white", "green")


def test_bogus_orientation_value_is_ignored() -> None:
    data = exif_jpeg(42, quadrants())
    assert codec.decode(data, LIMITS).exif_orientation == 1


# --------------------------------------------------------------------------- colour management


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def icc_profile(space: bytes, name: str, tags: list[tuple[bytes, bytes]]) -> bytes:
    """A minimal ICC v2 display profile, built byte by byte (header, tag table, tag data)."""
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(name) + 1) + name.encode() + b"\0" + bytes(79)
    tags = [
        (b"desc", desc),
        (b"cprt", b"text\0\0\0\0public domain\0"),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        *tags,
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, blob = b"", b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(blob), len(body))
        blob += body
    header = struct.pack(
        ">I4sI4s4s4s", offset + len(blob), b"none", 0x02100000, b"mntr", space, b"XYZ "
    )
    header += bytes(12) + b"acsp" + bytes(28) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    return header + bytes(128 - len(header)) + struct.pack(">I", len(tags)) + table + blob


def rgb_icc_profile(name: str, gamma: float, red: tuple, green: tuple, blue: tuple) -> bytes:
    """A matrix/TRC RGB profile: D50-adapted primaries and one gamma for all channels."""
    colorants = [(b"rXYZ", _xyz(*red)), (b"gXYZ", _xyz(*green)), (b"bXYZ", _xyz(*blue))]
    curves = [(b"rTRC", _curve(gamma)), (b"gTRC", _curve(gamma)), (b"bTRC", _curve(gamma))]
    return icc_profile(b"RGB ", name, colorants + curves)


# Adobe RGB (1998): gamma 563/256 and its D50-adapted primaries.
ADOBE_RGB = rgb_icc_profile(
    "Adobe RGB (1998) compatible",
    563 / 256,
    (0.60974, 0.31111, 0.01947),
    (0.20528, 0.62567, 0.06087),
    (0.14919, 0.06322, 0.74457),
)


def adobe_to_srgb(rgb: tuple[int, int, int]) -> np.ndarray:
    """Reference maths: Adobe RGB -> linear -> XYZ (D65) -> linear sRGB -> sRGB."""
    linear = (np.asarray(rgb, float) / 255) ** (563 / 256)
    adobe_to_xyz = np.array(
        [[0.5767309, 0.1855540, 0.1881852], [0.2973769, 0.6273491, 0.0752741],
         [0.0270343, 0.0706872, 0.9911085]]
    )  # fmt: skip
    xyz_to_srgb = np.array(
        [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
         [0.0556434, -0.2040259, 1.0572252]]
    )  # fmt: skip
    lin = np.clip(xyz_to_srgb @ adobe_to_xyz @ linear, 0, 1)
    encoded = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.round(encoded * 255)


@pytest.mark.parametrize("color", [(100, 150, 100), (200, 60, 40), (30, 60, 200)])
def test_adobe_rgb_profile_is_converted_to_srgb(color: tuple[int, int, int]) -> None:
    data = save(Image.new("RGB", (8, 8), color), "PNG", icc_profile=ADOBE_RGB)
    decoded = codec.decode(data, LIMITS)
    assert decoded.icc_converted
    assert np.abs(decoded.pixels[0, 0].astype(int) - adobe_to_srgb(color)).max() <= 2
    assert np.abs(decoded.pixels[0, 0].astype(int) - color).max() > 10  # it did change


def test_icc_conversion_keeps_alpha_and_works_for_jpeg() -> None:
    rgba = Image.new("RGBA", (8, 8), (200, 60, 40, 128))
    decoded = codec.decode(save(rgba, "PNG", icc_profile=ADOBE_RGB), LIMITS)
    assert decoded.pixels.shape == (8, 8, 4) and decoded.icc_converted
    assert decoded.pixels[0, 0, 3] == 128
    jpeg = save(Image.new("RGB", (16, 16), (200, 60, 40)), "JPEG", icc_profile=ADOBE_RGB)
    assert codec.decode(jpeg, LIMITS).icc_converted


def test_srgb_profile_is_left_alone() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = save(Image.new("RGB", (8, 8), (200, 60, 40)), "PNG", icc_profile=srgb)
    decoded = codec.decode(data, LIMITS)
    assert not decoded.icc_converted
    assert tuple(decoded.pixels[0, 0]) == (200, 60, 40)


def test_broken_or_mismatched_profile_is_ignored() -> None:
    junk = save(Image.new("RGB", (8, 8), (1, 2, 3)), "PNG", icc_profile=b"not a profile" * 20)
    decoded = codec.decode(junk, LIMITS)
    assert not decoded.icc_converted and tuple(decoded.pixels[0, 0]) == (1, 2, 3)
    gray_with_rgb_profile = save(Image.new("L", (8, 8), 90), "PNG", icc_profile=ADOBE_RGB)
    assert tuple(codec.decode(gray_with_rgb_profile, LIMITS).pixels[0, 0]) == (90, 90, 90)


def test_gray_profile_is_converted_and_alpha_kept() -> None:
    linear_gray = icc_profile(b"GRAY", "Linear gray", [(b"kTRC", _curve(1.0))])
    for mode, value in (("L", 100), ("LA", (100, 50))):
        data = save(Image.new(mode, (4, 4), value), "PNG", icc_profile=linear_gray)
        decoded = codec.decode(data, LIMITS)
        assert decoded.icc_converted
        assert tuple(decoded.pixels[0, 0, :3]) == (168, 168, 168)  # linear 0.39 is sRGB 0.66
        if mode == "LA":
            assert decoded.pixels[0, 0, 3] == 50


# --------------------------------------------------------------------------- pixel modes


def test_16_bit_gray_png_keeps_its_tonal_range() -> None:
    ramp = np.array([[0, 257 * 64, 257 * 128, 65535]], np.uint16)
    data = save(Image.fromarray(ramp), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    pixels = codec.decode(data, LIMITS).pixels
    assert pixels.shape == (1, 4, 3)
    assert pixels[0, :, 0].tolist() == [0, 64, 128, 255]


def test_16_bit_rgb_png_and_tiff() -> None:
    deep = np.zeros((4, 6, 3), np.uint16)
    deep[..., 0], deep[..., 1], deep[..., 2] = 65535, 257 * 128, 257 * 10
    ok, png = cv2.imencode(".png", deep[..., ::-1].copy())  # OpenCV writes BGR
    assert ok
    assert tuple(codec.decode(png.tobytes(), LIMITS).pixels[0, 0]) == (255, 128, 10)
    ramp16 = np.linspace(0, 65535, 24, dtype=np.uint16).reshape(4, 6)
    tiff = save(Image.fromarray(ramp16), "TIFF")
    pixels = codec.decode(tiff, LIMITS).pixels
    assert pixels[0, 0, 0] == 0 and pixels[-1, -1, 0] == 255


def test_palette_with_transparency_becomes_rgba() -> None:
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (0, 0, 4, 8))
    data = save(pal, "PNG", transparency=0)
    pixels = codec.decode(data, LIMITS).pixels
    assert pixels.shape == (8, 8, 4)
    assert tuple(pixels[0, 0]) == (0, 0, 255, 255) and pixels[0, 7, 3] == 0


def test_palette_without_transparency_is_rgb_and_opaque_alpha_is_dropped() -> None:
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    assert codec.decode(save(pal, "PNG"), LIMITS).pixels.shape == (8, 8, 3)
    opaque = Image.new("RGBA", (8, 8), (5, 6, 7, 255))
    assert codec.decode(save(opaque, "PNG"), LIMITS).pixels.shape == (8, 8, 3)


@pytest.mark.parametrize(
    ("mode", "fmt", "channels"),
    [
        ("1", "PNG", 3),
        ("L", "PNG", 3),
        ("LA", "PNG", 4),
        ("I", "TIFF", 3),
        ("F", "TIFF", 3),
        ("CMYK", "TIFF", 3),
        ("CMYK", "JPEG", 3),
        ("LAB", "TIFF", 3),
        ("RGBA", "TIFF", 4),
        ("RGBA", "WEBP", 4),
    ],
)
def test_every_mode_becomes_8_bit_rgb_or_rgba(mode: str, fmt: str, channels: int) -> None:
    im = Image.new(mode, (6, 4))
    if mode in ("LA", "RGBA"):
        im.putalpha(100)
    pixels = codec.decode(save(im, fmt), LIMITS).pixels
    assert pixels.shape == (4, 6, channels) and pixels.dtype == np.uint8


def test_gray_tiff_with_transparent_colour_key() -> None:
    gray = Image.new("L", (4, 4), 7)
    pixels = codec.decode(save(gray, "PNG", transparency=7), LIMITS).pixels
    assert pixels.shape == (4, 4, 4) and pixels[0, 0, 3] == 0


# --------------------------------------------------------------------------- encoding


@pytest.mark.parametrize("channels", [3, 4])
def test_png_and_webp_round_trip_exactly(channels: int) -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (40, 50, channels), dtype=np.uint8)
    if channels == 4:
        pixels[..., 3] = rng.integers(0, 255, (40, 50), dtype=np.uint8)  # real alpha
    png = codec.encode(pixels, "png")
    assert np.array_equal(codec.decode(png, LIMITS).pixels, pixels)
    if channels == 4:  # WebP with alpha is lossless (colour under alpha 0 is free to change)
        webp = codec.decode(codec.encode(pixels, "webp"), LIMITS).pixels
        visible = pixels[..., 3] > 0
        assert np.array_equal(webp[..., 3], pixels[..., 3])
        assert np.array_equal(webp[visible], pixels[visible])


def test_jpeg_round_trip_and_alias() -> None:
    src = quadrants()
    for fmt in ("jpeg", "jpg", "JPEG"):
        data = codec.encode(src, fmt, quality=95)
        assert codec.sniff_format(data) == "jpeg"
        assert corners(codec.decode(data, LIMITS).pixels) == ("red", "green", "blue", "white")


def test_jpeg_of_rgba_flattens_on_white() -> None:
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., :3] = (200, 0, 0)
    rgba[:, 8:, 3] = 255  # left half transparent, right half opaque red
    pixels = codec.decode(codec.encode(rgba, "jpeg"), LIMITS).pixels
    assert pixels.shape == (16, 16, 3)
    assert pixels[8, 2].min() >= 245  # white where it was transparent
    assert dominant(pixels[8, 13]) == "red"


def test_lossy_webp_and_gray_outputs() -> None:
    src = quadrants()
    webp = codec.encode(src, "webp", quality=90)
    assert codec.sniff_format(webp) == "webp"
    assert corners(codec.decode(webp, LIMITS).pixels) == ("red", "green", "blue", "white")
    gray = np.full((10, 12), 77, np.uint8)
    for fmt in ("png", "jpeg", "webp"):
        assert codec.decode(codec.encode(gray, fmt), LIMITS).pixels.shape == (10, 12, 3)


def test_outputs_embed_no_metadata() -> None:
    for fmt in ("png", "jpeg", "webp"):
        info = Image.open(io.BytesIO(codec.encode(quadrants(), fmt))).info
        assert "icc_profile" not in info and "exif" not in info, fmt


def test_content_types_and_bad_output_requests() -> None:
    assert codec.content_type("png") == "image/png"
    assert codec.content_type("jpg") == codec.content_type("jpeg") == "image/jpeg"
    assert codec.content_type("webp") == "image/webp"
    with pytest.raises(UnsupportedFormat):
        codec.content_type("gif")
    with pytest.raises(UnsupportedFormat):
        codec.encode(quadrants(), "tiff")
    with pytest.raises(ValueError):
        codec.encode(quadrants().astype(np.float32), "png")
    with pytest.raises(ValueError):
        codec.encode(quadrants(), "jpeg", quality=0)


# --------------------------------------------------------------------------- camera RAW


def tiff_with_tags(entries: list[tuple[int, int, int, int]]) -> bytes:
    """A little-endian TIFF whose IFD0 holds (tag, type, count, inline value) entries."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in sorted(entries):
        ifd += struct.pack("<HHII", tag, kind, count, value)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00" * 4 + bytes(64)


SHORT, LONG, BYTE, ASCII = 3, 4, 1, 2


def test_sniff_canon_cr2_header() -> None:
    cr2 = b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64)
    assert codec.sniff_format(cr2) == "raw"


def test_sniff_dng_and_nef_like_tiffs_as_raw_and_plain_tiff_as_tiff() -> None:
    size = [(256, SHORT, 1, 64), (257, SHORT, 1, 48)]
    dng = tiff_with_tags([*size, (50706, BYTE, 4, 0x00000401)])
    assert codec.sniff_format(dng) == "raw"
    nef_like = tiff_with_tags(
        [*size, (254, LONG, 1, 1), (271, ASCII, 4, 0x4E494B), (330, LONG, 1, 0)]
    )
    assert codec.sniff_format(nef_like) == "raw"
    cfa = tiff_with_tags([*size, (262, SHORT, 1, 32803)])
    assert codec.sniff_format(cfa) == "raw"
    scanner = tiff_with_tags([*size, (262, SHORT, 1, 2), (271, ASCII, 4, 0x4E494B)])
    assert codec.sniff_format(scanner) == "tiff"


def test_sniff_other_raw_containers() -> None:
    assert codec.sniff_format(b"FUJIFILMCCD-RAW 0201" + bytes(32)) == "raw"
    assert codec.sniff_format(b"IIRO\x08\x00\x00\x00" + bytes(32)) == "raw"
    assert codec.sniff_format(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01" + bytes(16)) == "raw"


def make_dng(width: int = 64, height: int = 48, orientation: int = 1) -> bytes:
    """A real, tiny DNG (RGGB CFA, 12-bit): left half reddish, right half bluish."""
    tf = pytest.importorskip("tifffile")
    scene = np.zeros((height, width, 3))
    scene[:, : width // 2] = (0.8, 0.2, 0.1)
    scene[:, width // 2 :] = (0.1, 0.2, 0.8)
    cfa = np.empty((height, width), np.uint16)
    cfa[0::2, 0::2] = scene[0::2, 0::2, 0] * 4000
    cfa[0::2, 1::2] = scene[0::2, 1::2, 1] * 4000
    cfa[1::2, 0::2] = scene[1::2, 0::2, 1] * 4000
    cfa[1::2, 1::2] = scene[1::2, 1::2, 2] * 4000
    cfa += 64
    identity = [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1]
    tags = [
        (271, "s", 0, "Photofix", True),
        (272, "s", 0, "Synthetic", True),
        (274, "H", 1, orientation, True),
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "Photofix Synthetic", True),  # UniqueCameraModel
        (50714, "H", 1, 64, True),  # BlackLevel
        (50717, "H", 1, 4095, True),  # WhiteLevel
        (50721, "2i", 9, identity, True),  # ColorMatrix1
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
    ]
    out = io.BytesIO()
    tf.imwrite(out, cfa, photometric=32803, extratags=tags, subfiletype=0, metadata=None)
    return out.getvalue()


def test_real_dng_decodes_via_rawpy() -> None:
    dng = make_dng()
    assert codec.sniff_format(dng) == "raw"
    info = codec.validate(dng, LIMITS)
    assert (info.format, info.width, info.height, info.downscaled) == ("raw", 64, 48, False)
    decoded = codec.decode(dng, LIMITS)
    assert decoded.format == "raw" and decoded.pixels.shape == (48, 64, 3)
    left, right = decoded.pixels[24, 8].astype(int), decoded.pixels[24, 56].astype(int)
    assert left[0] > left[2] + 50 and right[2] > right[0] + 50


def test_dng_orientation_is_applied_by_libraw() -> None:
    dng = make_dng(orientation=6)
    assert codec.validate(dng, LIMITS).exif_orientation == 6
    decoded = codec.decode(dng, LIMITS)
    assert decoded.exif_orientation == 6 and decoded.pixels.shape == (64, 48, 3)
    top, bottom = decoded.pixels[8, 24].astype(int), decoded.pixels[56, 24].astype(int)
    assert top[0] > top[2] and bottom[2] > bottom[0]  # the red half went to the top


def test_raw_over_the_limit_is_developed_at_half_size() -> None:
    dng = make_dng()
    limits = ImageLimits(max_side=40)
    info = codec.validate(dng, limits)
    assert (info.width, info.height, info.downscaled) == (32, 24, True)
    decoded = codec.decode(dng, limits)
    assert decoded.downscaled and decoded.pixels.shape == (24, 32, 3)
    with pytest.raises(ImageTooLarge, match="half size"):
        codec.decode(dng, ImageLimits(max_side=20))


def test_truncated_dng_is_invalid() -> None:
    dng = make_dng()
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage):
            call(dng[: len(dng) // 2], LIMITS)

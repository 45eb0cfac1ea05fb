"""Property-based and fuzz tests of the codec (issue 17.2).

Generated images in every pixel mode, with and without transparency, at degenerate sizes, in
every input format Pillow, tifffile or a hand-written encoder here can make; then the same files
broken byte-wise: cut at structure boundaries and at random, bytes flipped, headers lying about
sizes, offsets, counts and chunk lengths. For every input, `validate` and `decode` either succeed
with sane pixels (uint8, 3 or 4 channels, the header's size after orientation) or raise a
PhotofixError with status 400, 413 or 415; and what `validate` accepts, `decode` decodes.

Bounded and derandomized by default (CI); HYPOTHESIS_PROFILE=deep runs many more, randomized.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pillow_heif
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from PIL import Image

from photofix.errors import ImageTooLarge, InvalidImage, PhotofixError, UnsupportedFormat
from photofix.imaging import codec
from tests.imaging.codec_samples import (
    JPEG_ODDITIES,
    Sample,
    bmp_with_alpha_mask,
    exif_block,
    pixels,
    png_16bit,
    png_chunk,
    png_gray_bits,
    save,
    tiff_file,
    upright,
    with_alpha,
    with_jpeg_oddity,
)
from tests.imaging.test_codec import make_dng

LIMITS = codec.ImageLimits()
DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def fuzz_settings(ci_examples: int) -> settings:
    return settings(
        max_examples=ci_examples * 50 if DEEP else ci_examples,
        deadline=None,
        derandomize=not DEEP,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Pillow and libtiff warn about the broken files this suite makes on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


# --------------------------------------------------------------------------- valid samples

Draw = Callable[[st.SearchStrategy], object]
SIDES = st.one_of(st.integers(1, 24), st.sampled_from([31, 32, 33, 64, 65]))
EXTREME_SIZES = [(1, 1), (4096, 1), (1, 4096), (4096, 2), (2, 3000), (1000, 1), (1, 1000)]
ORIENTATIONS = st.integers(1, 8)
ALPHA_KINDS = st.sampled_from(["opaque", "binary", "soft"])


def rgb_sample(data: bytes, fmt: str, src: np.ndarray, orientation: int = 1) -> Sample:
    """A lossless sample whose decode must equal `src` (RGB, RGBA, or gray as (H, W))."""
    if src.ndim == 2:
        src = np.dstack([src] * 3)
    transparent = src.shape[2] == 4 and bool((src[..., 3] < 255).any())
    exact = src if transparent or src.shape[2] == 3 else src[..., :3]
    height, width = src.shape[:2]
    return Sample(data, fmt, width, height, orientation, transparent, upright(exact, orientation))


def png_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    modes = ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "16-bit", "low-depth", "APNG"]
    mode = draw(st.sampled_from(modes))
    orientation = draw(ORIENTATIONS)
    exif = {"exif": exif_block(orientation)} if orientation != 1 else {}
    rgb = pixels(rng, width, height, 3)
    if mode in ("L", "RGB"):
        src = rgb[..., 0] if mode == "L" else rgb
        im = Image.fromarray(src)
        if draw(st.booleans()):  # a tRNS colour key that the first pixel carries
            key = int(src[0, 0]) if mode == "L" else tuple(int(v) for v in src[0, 0])
            keyed = np.all((src if mode == "RGB" else src[..., None]) == src[0, 0], axis=-1)
            rgba = np.dstack([src] * 3 if mode == "L" else [src])
            rgba = np.dstack([rgba, np.where(keyed, 0, 255).astype(np.uint8)])
            return rgb_sample(save(im, "PNG", transparency=key, **exif), "png", rgba, orientation)
        return rgb_sample(save(im, "PNG", **exif), "png", src, orientation)
    if mode in ("LA", "RGBA"):
        rgba = with_alpha(rgb, rng, draw(ALPHA_KINDS))
        src = rgba if mode == "RGBA" else rgba[..., [0, 0, 0, 3]]
        im = Image.fromarray(rgba if mode == "RGBA" else rgba[..., [0, 3]], mode)
        return rgb_sample(save(im, "PNG", **exif), "png", src, orientation)
    if mode == "1":
        src = np.where(rgb[..., 0] > 127, 255, 0).astype(np.uint8)
        data = save(Image.fromarray(src > 127), "PNG", **exif)
        return rgb_sample(data, "png", src, orientation)
    if mode == "P":
        im = Image.fromarray(rgb).quantize(draw(st.integers(2, 256)))
        options = {"transparency": int(np.asarray(im)[0, 0])} if draw(st.booleans()) else {}
        data = save(im, "PNG", **options, **exif)
        src = np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))
        return rgb_sample(data, "png", src, orientation)
    if mode == "I;16":
        values = rng.integers(0, 65536, (height, width), dtype=np.uint16)
        data = save(Image.fromarray(values), "PNG", **exif)
        return Sample(data, "png", width, height, orientation)
    if mode == "16-bit":
        color_type = draw(st.sampled_from([0, 2, 4, 6]))
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
        values = rng.integers(0, 65536, (height, width, channels), dtype=np.uint16)
        has_alpha = color_type in (4, 6)
        if has_alpha and draw(st.booleans()):
            values[..., -1] = 65535
        transparent = has_alpha and bool((values[..., -1] < 65280).any())  # < 255 in 8 bits
        extra = []
        if not has_alpha and draw(st.booleans()):  # a 16-bit colour key the first pixel has
            extra.append(png_chunk(b"tRNS", values[0, 0].astype(">u2").tobytes()))
            transparent = True
        data = png_16bit(values, color_type, *extra)
        return Sample(data, "png", width, height, 1, transparent)
    if mode == "low-depth":
        depth = draw(st.sampled_from([1, 2, 4]))
        values = rng.integers(0, 1 << depth, (height, width), dtype=np.uint8)
        gray = (values * (255 // ((1 << depth) - 1))).astype(np.uint8)
        if draw(st.booleans()):
            key = int(values[0, 0])
            alpha = np.where(values == key, 0, 255).astype(np.uint8)
            data = png_gray_bits(values, depth, png_chunk(b"tRNS", struct.pack(">H", key)))
            return rgb_sample(data, "png", np.dstack([gray, gray, gray, alpha]))
        return rgb_sample(png_gray_bits(values, depth), "png", gray)
    frames = [Image.fromarray(with_alpha(rgb, rng, "soft")) for _ in range(2)]  # APNG
    data = save(frames[0], "PNG", save_all=True, append_images=frames[1:])
    return rgb_sample(data, "png", np.asarray(frames[0]))


def jpeg_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    mode = draw(st.sampled_from(["L", "RGB", "CMYK"]))
    orientation = draw(ORIENTATIONS)
    options: dict[str, object] = {
        "quality": draw(st.integers(1, 100)),
        "progressive": draw(st.booleans()),
        "exif": exif_block(orientation),
    }
    if mode != "L":
        options["subsampling"] = draw(st.sampled_from([0, 1, 2]))
    im = Image.fromarray(pixels(rng, width, height, 3)).convert(mode)
    # Pillow subsamples CMYK with factors libjpeg-turbo has no name for: refused, by name.
    odd = UnsupportedFormat if mode == "CMYK" and options.get("subsampling") else None
    return Sample(save(im, "JPEG", **options), "jpeg", width, height, orientation, may_refuse=odd)


def bmp_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    mode = draw(st.sampled_from(["1", "L", "P", "RGB", "alpha mask"]))
    rgb = pixels(rng, width, height, 3)
    if mode == "alpha mask":
        rgba = with_alpha(rgb, rng, draw(ALPHA_KINDS))
        return rgb_sample(bmp_with_alpha_mask(rgba), "bmp", rgba)
    im = Image.fromarray(rgb).convert(mode) if mode != "P" else Image.fromarray(rgb).quantize(16)
    data = save(im, "BMP")
    return rgb_sample(data, "bmp", np.asarray(im.convert("RGB")))


def webp_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    if width > 16383 or height > 16383:
        reject()
    alpha = draw(st.sampled_from([None, "opaque", "binary", "soft"]))
    lossless = draw(st.booleans())
    rgb = pixels(rng, width, height, 3)
    src = rgb if alpha is None else with_alpha(rgb, rng, alpha)
    options = (
        {"lossless": True, "exact": True} if lossless else {"quality": draw(st.integers(0, 100))}
    )
    frames = [Image.fromarray(src)]
    if draw(st.booleans()):  # animated: the first frame is the image
        frames.append(Image.fromarray(pixels(rng, width, height, src.shape[2])))
        options.update(save_all=True, append_images=frames[1:])
    data = save(frames[0], "WEBP", **options)
    if lossless:
        return rgb_sample(data, "webp", src)
    transparent = alpha is not None and bool((src[..., 3] < 255).any())
    return Sample(data, "webp", width, height, 1, transparent)


TIFF_PILLOW_MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB"]
TIFF_PILLOW_MODES += ["I;16", "I;16B", "I", "F"]
TIFF_COMPRESSIONS = [None, "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg"]


def tiff_pillow_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    mode = draw(st.sampled_from(TIFF_PILLOW_MODES))
    compression = draw(st.sampled_from(TIFF_COMPRESSIONS))
    rgb = pixels(rng, width, height, 3)
    if mode in ("I;16", "I;16B", "I", "F"):
        wide = {"I;16": np.uint16, "I;16B": np.uint16, "I": np.int32, "F": np.float32}[mode]
        values = (rng.random((height, width)) * 60000).astype(wide)
        im = Image.fromarray(values)
        im = im.convert(mode) if mode == "I;16B" else im
    elif mode in ("LA", "PA", "RGBA"):
        im = Image.fromarray(with_alpha(rgb, rng, draw(ALPHA_KINDS))).convert(mode)
    else:
        im = Image.fromarray(rgb).convert(mode)
    options: dict[str, object] = {"compression": compression} if compression else {}
    if draw(st.booleans()):
        options.update(save_all=True, append_images=[Image.new(im.mode, (3, 5))])
    try:
        data = save(im, "TIFF", **options)
    except Exception:  # libtiff cannot write every mode with every compression
        reject()
    lossless = compression != "jpeg"
    if lossless and mode in ("L", "RGB", "RGBA", "1"):
        src = np.asarray(im.convert("RGBA" if mode == "RGBA" else "RGB"))
        return rgb_sample(data, "tiff", src)
    transparent = None if mode in ("LA", "PA", "RGBA") else False
    return Sample(data, "tiff", width, height, 1, transparent)


def tiff_tifffile_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    """Layouts Pillow cannot write: 16-bit RGBA tiled or planar, associated alpha, BigTIFF."""
    kind = draw(st.sampled_from(["rgba16", "rgb16", "la8", "int16", "uint32", "float32", "rgba8"]))
    planar = draw(st.booleans()) and kind in ("rgba16", "rgb16", "rgba8")
    tiled = draw(st.booleans())
    options: dict[str, object] = {"bigtiff": draw(st.booleans())}
    if tiled:
        options["tile"] = (16, 16)
    if draw(st.booleans()):
        options["compression"] = "zlib"
    channels = {"rgba16": 4, "rgb16": 3, "la8": 2, "rgba8": 4}.get(kind, 1)
    depth = {"rgba16": np.uint16, "rgb16": np.uint16, "int16": np.int16, "uint32": np.uint32}
    dtype = depth.get(kind, np.float32 if kind == "float32" else np.uint8)
    top = np.iinfo(dtype).max if dtype != np.float32 else 1.0
    values = (rng.random((height, width, channels)) * top).astype(dtype)
    alpha = channels in (2, 4)
    if alpha and draw(st.booleans()):
        values[..., -1] = top
    opaque = 65280 if dtype == np.uint16 else top  # 16-bit alpha at or over it is 255 in 8 bits
    transparent = alpha and bool((values[..., -1] < opaque).any())
    if alpha:
        options["extrasamples"] = [draw(st.sampled_from([1, 2]))]  # associated / unassociated
    options["photometric"] = "rgb" if channels >= 3 else "minisblack"
    array = values if channels > 1 else values[..., 0]
    if planar:
        array, options["planarconfig"] = np.moveaxis(array, -1, 0).copy(), "separate"
    data = tiff_file(array, **options)
    # Pillow has no raw mode for some planar layouts with alpha: refused, naming the layout.
    refusable = UnsupportedFormat if planar and alpha else None
    return Sample(data, "tiff", width, height, 1, transparent, may_refuse=refusable)


def sgi_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    mode = draw(st.sampled_from(["L", "RGB", "RGBA"]))
    rgb = pixels(rng, width, height, 3)
    src = with_alpha(rgb, rng, draw(ALPHA_KINDS)) if mode == "RGBA" else rgb
    src = src[..., 0] if mode == "L" else src
    return rgb_sample(save(Image.fromarray(src), "SGI"), "sgi", src)


def dng_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    del rng
    width, height = draw(st.sampled_from([(32, 24), (64, 48)]))  # LibRaw refuses tinier
    data = make_dng(width, height, draw(st.sampled_from([1, 3, 6, 8])))
    return Sample(data, "raw", 0, 0, 0, False)  # LibRaw reports the size and orientation


def iso_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    """HEIC (pillow-heif, libheif's irot/imir for the orientation) or AVIF (Pillow, EXIF
    orientation): lossy, so sizes, orientation and transparency are what must hold."""
    fmt = draw(st.sampled_from(["heif", "avif"]))
    orientation = draw(ORIENTATIONS)
    alpha = draw(st.sampled_from([None, "binary", "soft"]))
    rgb = pixels(rng, width, height, 3)
    im = Image.fromarray(rgb if alpha is None else with_alpha(rgb, rng, alpha))
    quality = draw(st.sampled_from([10, 50, 90]))
    exif = exif_block(orientation) if orientation != 1 else None
    if fmt == "avif":
        data = save(im, "AVIF", quality=quality, speed=10, **({"exif": exif} if exif else {}))
    else:
        heif_file = pillow_heif.from_pillow(im)
        if exif:
            heif_file.info["exif"] = exif
        out = io.BytesIO()
        heif_file.save(out, quality=quality)
        data = out.getvalue()
    return Sample(data, fmt, width, height, orientation, None if alpha else False)


def mpo_sample(draw: Draw, rng: np.random.Generator, width: int, height: int) -> Sample:
    """A phone's dual-camera JPEG: the first frame is the image, the second another size."""
    orientation = draw(ORIENTATIONS)
    frames = [Image.fromarray(pixels(rng, w, h, 3)) for w, h in ((width, height), (9, 7))]
    data = save(
        frames[0], "MPO", save_all=True, append_images=frames[1:], exif=exif_block(orientation)
    )
    return Sample(data, "jpeg", width, height, orientation)


WRITERS = {
    "png": png_sample,
    "jpeg": jpeg_sample,
    "bmp": bmp_sample,
    "webp": webp_sample,
    "tiff": tiff_pillow_sample,
    "tiff-tifffile": tiff_tifffile_sample,
    "sgi": sgi_sample,
    "dng": dng_sample,
    "heif-avif": iso_sample,
    "mpo": mpo_sample,
}


@st.composite
def samples(draw: Draw, *, small: bool = False, writers: tuple[str, ...] = tuple(WRITERS)):
    writer = draw(st.sampled_from(writers))
    sizes = st.tuples(SIDES, SIDES)
    if not small:
        sizes = st.one_of(sizes, st.sampled_from(EXTREME_SIZES))
    width, height = draw(sizes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return WRITERS[writer](draw, rng, width, height)


# --------------------------------------------------------------------------- the oracle


def outcome(data: bytes) -> tuple[codec.ImageInfo | None, codec.DecodedImage | None]:
    """validate and decode the bytes; only typed 4xx errors may escape either, and they agree."""
    info = decoded = None
    try:
        info = codec.validate(data, LIMITS)
    except PhotofixError as exc:
        assert exc.http_status in (400, 413, 415), exc
    try:
        decoded = codec.decode(data, LIMITS)
    except PhotofixError as exc:
        assert exc.http_status in (400, 413, 415), exc
        assert info is None, f"validate accepted what decode refuses: {exc!r}"
    if decoded is not None:
        pixels = decoded.pixels
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] in (3, 4)
        assert not pixels.flags.writeable
        if info is not None:
            assert decoded.format == info.format
            assert decoded.exif_orientation == info.exif_orientation
            assert decoded.downscaled == info.downscaled
            size = (info.width, info.height)
            if info.exif_orientation >= 5:
                size = size[::-1]
            assert (decoded.width, decoded.height) == size
    return info, decoded


# --------------------------------------------------------------------------- valid files


@fuzz_settings(300)
@given(samples())
def test_every_mode_and_format_decodes_to_8_bit_rgb_or_rgba(sample: Sample) -> None:
    assert codec.sniff_format(sample.data) == sample.fmt
    if sample.may_refuse is not None:
        try:
            codec.validate(sample.data, LIMITS)
        except sample.may_refuse as exc:
            assert "not supported" in exc.message
            with pytest.raises(sample.may_refuse, match="not supported"):
                codec.decode(sample.data, LIMITS)
            return
    info, decoded = outcome(sample.data)
    assert info is not None and decoded is not None
    if sample.width:  # RAW: LibRaw decides the developed size
        assert (info.width, info.height) == (sample.width, sample.height)
        assert info.exif_orientation == sample.orientation
    if sample.transparent is not None:
        assert (decoded.pixels.shape[2] == 4) == sample.transparent
    if sample.exact is not None:
        assert_same_pixels(decoded.pixels, sample.exact)


def assert_same_pixels(got: np.ndarray, want: np.ndarray) -> None:
    """Equal, except for the colour under fully transparent pixels (which encoders may drop)."""
    assert got.shape == want.shape
    if want.shape[2] == 4:
        assert np.array_equal(got[..., 3], want[..., 3])
        visible = want[..., 3] > 0
        assert np.array_equal(got[visible], want[visible])
    else:
        assert np.array_equal(got, want)


# --------------------------------------------------------------------------- broken files

LIES = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 4097, 65500, 0x7FFFFFFF, 0x80000000)
LIES += (0xFFFFFFFF,)


def png_fields(data: bytes) -> tuple[list[int], list[int]]:
    """(chunk starts, offsets of length/size fields) of a PNG, walked leniently."""
    starts, fields, pos = [], [16, 20, 24, 25, 28], 8
    while pos + 8 <= len(data):
        starts.append(pos)
        fields.append(pos)
        pos += 12 + struct.unpack_from(">I", data, pos)[0]
    return starts, fields


def jpeg_fields(data: bytes) -> tuple[list[int], list[int]]:
    """(marker positions, offsets of length and frame-size fields): header segments walked by
    their lengths (tables may hold FF bytes), then the markers inside the scan data."""
    starts, fields, pos = [], [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        starts.append(pos)
        fields.append(pos + 2)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            fields += [pos + 4, pos + 5, pos + 7, pos + 9]  # precision, height, width, components
        if marker == 0xDA:
            break
        pos += 2 + max(2, struct.unpack_from(">H", data, pos + 2)[0])
    scan = starts[-1] + 2 if starts else len(data)
    starts += [i for i in range(scan, len(data) - 1) if data[i] == 0xFF and data[i + 1] > 0]
    return starts, fields


def sof_position(data: bytes) -> int:
    starts, _ = jpeg_fields(data)
    return next(i for i in starts if data[i + 1] in (0xC0, 0xC1, 0xC2))


def tiff_fields(data: bytes) -> tuple[list[int], list[int]]:
    order = "<" if data[:2] == b"II" else ">"
    if data[2:4] in (b"+\x00", b"\x00+"):  # BigTIFF: only the header is walked
        return [8, 16], [4, 8]
    starts, fields = [4], [4]
    try:
        ifd = struct.unpack_from(order + "I", data, 4)[0]
        count = struct.unpack_from(order + "H", data, ifd)[0]
        for entry in range(ifd + 2, ifd + 2 + 12 * min(count, 64), 12):
            starts.append(entry)
            fields += [entry + 2, entry + 4, entry + 8]  # type, count, value or offset
            kind, number, value = struct.unpack_from(order + "HII", data, entry + 2)
            if number * {3: 2, 4: 4}.get(kind, 1) > 4 and value < len(data):
                starts.append(value)
                fields.append(value)  # first out-of-line value (often a strip offset)
    except struct.error:
        pass
    return starts, fields


FIXED_FIELDS = {
    "bmp": [2, 10, 14, 18, 22, 26, 28, 30, 34, 46, 54, 58, 62, 66],
    "webp": [4, 12, 16, 20, 21, 22, 24, 26, 27, 28, 30],
    "sgi": [2, 3, 4, 6, 8, 10, 12, 16, 104, 512, 516],
}


ISO_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"iinf": 6, b"dinf": 0}


def iso_fields(data: bytes, start: int = 0, end: int | None = None) -> tuple[list[int], list[int]]:
    """(box starts, offsets of box sizes and of the ispe, pitm and iloc fields): the box tree
    walked by its sizes."""
    end = len(data) if end is None else end
    starts, fields, pos = [], [], start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        if size < 8 or pos + size > end:
            break
        starts.append(pos)
        fields.append(pos)
        if kind in ISO_CONTAINERS:
            inner = iso_fields(data, pos + 8 + ISO_CONTAINERS[kind], pos + size)
            starts += inner[0]
            fields += inner[1]
        elif kind == b"ispe":
            fields += [pos + 12, pos + 16]  # width, height
        elif kind in (b"pitm", b"iloc", b"ipma", b"infe"):
            fields += list(range(pos + 8, min(pos + size, pos + 40), 2))
        pos += size
    return starts, fields


def structure(data: bytes, fmt: str) -> tuple[list[int], list[int]]:
    if fmt in ("heif", "avif"):
        return iso_fields(data)
    if fmt == "png":
        return png_fields(data)
    if fmt == "jpeg":
        return jpeg_fields(data)
    if fmt in ("tiff", "raw"):
        return tiff_fields(data)
    fields = [f for f in FIXED_FIELDS[fmt] if f < len(data)]
    return fields, fields


@st.composite
def broken(draw: Draw) -> tuple[bytes, str]:
    """A valid small file, then one to three mutations that break it in a way decoders meet."""
    sample = draw(samples(small=True))
    data = bytearray(sample.data)
    for _ in range(draw(st.integers(1, 3))):
        starts, fields = structure(bytes(data), sample.fmt)
        starts = [s for s in starts if s < len(data)] or [len(data) // 2]
        fields = [f for f in fields if f < len(data)] or [len(data) // 2]
        kinds = ["cut", "cut-random", "flip", "lie", "end-restored", "insert", "oddity"]
        kind = draw(st.sampled_from(kinds))
        if kind == "cut":
            at = draw(st.sampled_from(starts)) + draw(st.integers(-2, 12))
            del data[max(0, at) :]
        elif kind == "cut-random":
            del data[draw(st.integers(0, max(0, len(data) - 1))) :]
        elif kind == "flip":
            for _ in range(draw(st.integers(1, 8))):
                at = draw(st.integers(0, max(0, len(data) - 1)))
                if data:
                    data[at] ^= draw(st.integers(1, 255))
        elif kind == "lie":
            at = draw(st.sampled_from(fields))
            width = draw(st.sampled_from([1, 2, 4]))
            value = draw(st.sampled_from([*LIES, len(data), 2 * len(data)])) % (1 << (8 * width))
            order = draw(st.sampled_from(["<", ">"]))
            packed = struct.pack(order + {1: "B", 2: "H", 4: "I"}[width], value)
            data[at : at + width] = packed
        elif kind == "end-restored":  # cut, then the end marker put back
            del data[draw(st.integers(len(data) // 4, max(len(data) // 4, len(data) - 1))) :]
            data += {"jpeg": b"\xff\xd9", "png": b"\0\0\0\0IEND\xaeB`\x82"}.get(sample.fmt, b"")
        elif kind == "oddity":  # a header oddity Pillow reads past (JPEG; else an insert)
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            odd, name = None, draw(st.sampled_from(JPEG_ODDITIES))
            broken_header = (StopIteration, ValueError, IndexError, struct.error)
            if sample.fmt == "jpeg":
                with contextlib.suppress(*broken_header):  # an earlier mutation broke it
                    odd = with_jpeg_oddity(bytes(data), name, rng)
            data = bytearray(odd) if odd else data
        else:
            at = draw(st.sampled_from(starts))
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data), sample.fmt


@fuzz_settings(700)
@given(broken())
def test_broken_files_are_typed_errors_and_validate_agrees_with_decode(
    case: tuple[bytes, str],
) -> None:
    data, _ = case
    outcome(data)


@fuzz_settings(300)
@given(st.sampled_from(sorted(set(WRITERS) - {"dng"})), st.binary(min_size=0, max_size=300))
def test_any_bytes_after_a_magic_are_typed_errors(writer: str, tail: bytes) -> None:
    magic = {
        "png": b"\x89PNG\r\n\x1a\n",
        "jpeg": b"\xff\xd8\xff",
        "bmp": b"BM" + bytes(12) + b"\x28\0\0\0",
        "webp": b"RIFF\0\0\0\0WEBP",
        "tiff": b"II*\x00",
        "tiff-tifffile": b"MM\x00*",
        "sgi": b"\x01\xda\x01\x01",
        "heif-avif": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        "mpo": b"\xff\xd8\xff",
    }[writer]
    outcome(magic + tail)


# --------------------------------------------------------------------------- cut files


def jpeg_entropy_segments(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each scan's entropy-coded data: from its SOS header to the next marker."""
    segments, pos = [], data.find(b"\xff\xda")
    while pos >= 0:
        start = pos + 2 + struct.unpack_from(">H", data, pos + 2)[0]
        end = start
        while end + 1 < len(data) and not (
            data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8))
        ):
            end += 1
        segments.append((start, end))
        pos = data.find(b"\xff\xda", end)
    return segments


def png_cut_in_idat(data: bytes, fraction: float) -> bytes:
    """The PNG with its IDAT data cut short, the chunk's length and CRC fixed, IEND put back."""
    pos = data.index(b"IDAT") - 4
    length = struct.unpack_from(">I", data, pos)[0]
    body = data[pos + 8 : pos + 8 + max(1, int(length * fraction))]
    return data[:pos] + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


@fuzz_settings(200)
@given(samples(small=True, writers=("jpeg", "png", "bmp", "sgi", "webp")), st.floats(0.05, 0.9))
def test_files_cut_inside_their_pixel_data_are_refused(sample: Sample, fraction: float) -> None:
    """Issue 22.6: a file cut short is broken even with its end marker put back (libjpeg and
    Pillow would fill the missing rows with grey)."""
    if sample.may_refuse:
        reject()
    data = sample.data
    if sample.fmt == "jpeg":
        start, end = max(jpeg_entropy_segments(data), key=lambda s: s[1] - s[0])
        if end - start < 64:
            reject()  # too little entropy data to cut inside it for sure
        data = data[: start + int((end - start) * fraction)] + b"\xff\xd9"
    elif sample.fmt == "png":
        if sample.data.count(b"IDAT") != 1 or b"acTL" in sample.data:
            reject()
        data = png_cut_in_idat(data, fraction)
    else:
        data = data[: int(len(data) * (0.3 + 0.6 * fraction))]
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage):
            call(data, LIMITS)


@fuzz_settings(150)
@given(
    samples(small=True, writers=("jpeg",)),
    st.sampled_from(JPEG_ODDITIES),
    st.integers(0, 2**32 - 1),
    st.floats(0.05, 0.9),
)
def test_jpeg_header_oddities_change_no_pixel_and_a_cut_after_one_is_still_refused(
    sample: Sample, oddity: str, seed: int, fraction: float
) -> None:
    """Issue 17: junk between header segments, malformed metadata, odd header values that
    libjpeg only warns about decode to the clean file's pixels; issue 22.6: the same file cut
    inside its pixel data is refused (strict decoding stops at the oddity's warning first)."""
    if sample.may_refuse:
        reject()
    odd = with_jpeg_oddity(sample.data, oddity, np.random.default_rng(seed))
    if odd is None:
        reject()
    info, decoded = outcome(odd)
    assert info is not None and decoded is not None
    assert np.array_equal(decoded.pixels, codec.decode(sample.data, LIMITS).pixels)
    start, end = max(jpeg_entropy_segments(odd), key=lambda s: s[1] - s[0])
    if end - start >= 64:  # enough entropy data to cut inside it for sure
        cut = odd[: start + int((end - start) * fraction)] + b"\xff\xd9"
        for call in (codec.validate, codec.decode):
            with pytest.raises(InvalidImage):
                call(cut, LIMITS)


@fuzz_settings(60)
@given(samples(small=True, writers=("jpeg",)), st.data())
def test_progressive_jpeg_cut_between_two_scans_is_refused(
    sample: Sample, data: st.DataObject
) -> None:
    """libjpeg decodes the scans before the cut without a warning; the rest are lost."""
    scans = [s for s in jpeg_fields(sample.data)[0] if sample.data[s + 1] == 0xDA]
    if sample.may_refuse or len(scans) < 2:
        reject()  # baseline: one scan
    scan = data.draw(st.sampled_from(scans[1:]))
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage, match="progressive"):
            call(sample.data[:scan] + b"\xff\xd9", LIMITS)


@fuzz_settings(100)
@given(samples(small=True, writers=("jpeg",)), st.integers(2, 64))
def test_jpeg_frame_claiming_more_rows_than_its_scans_hold_is_refused(
    sample: Sample, factor: int
) -> None:
    if sample.may_refuse:
        reject()
    data = bytearray(sample.data)
    sof = sof_position(sample.data)
    height = struct.unpack_from(">H", data, sof + 5)[0]
    claimed = min(4096, height * factor + 16)
    struct.pack_into(">H", data, sof + 5, claimed)
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage):
            call(bytes(data), LIMITS)


@fuzz_settings(100)
@given(
    samples(small=True, writers=("jpeg", "png", "heif-avif")), st.integers(4097, 65535), st.data()
)
def test_a_header_over_the_limit_is_413_whatever_follows_it(
    sample: Sample, side: int, data: st.DataObject
) -> None:
    """Size first: an oversized claim is refused as too large even when the rest is cut."""
    raw = bytearray(sample.data)
    if sample.fmt == "png":
        struct.pack_into(">I", raw, 16, side)
        struct.pack_into(">I", raw, 29, zlib.crc32(raw[12:29]))
        header_end = 33
    elif sample.fmt in ("heif", "avif"):
        side += 64  # over the coded-block slack the ispe check allows
        at = sample.data.index(b"ispe") + 8
        struct.pack_into(">I", raw, at, side)
        meta = sample.data.index(b"meta") - 4
        header_end = meta + struct.unpack_from(">I", raw, meta)[0]  # the ispe is in there
    else:
        sof = sof_position(sample.data)
        struct.pack_into(">H", raw, sof + 7, side)  # width
        header_end = sof + 9
    cut = data.draw(st.integers(header_end, len(raw)))
    for call in (codec.validate, codec.decode):
        with pytest.raises(ImageTooLarge, match=f"{side}x"):
            call(bytes(raw[:cut]), LIMITS)

"""Every input that ever crashed the codec, or that it answered wrongly, replayed from files.

The files in tests/imaging/regressions/ are small and committed. Most are built by the functions
below; regenerate them with

    PYTHONPATH=src python -m tests.imaging.test_codec_regressions

The rest (FIXED_FILES) were made once by tools the suite does not depend on: the lossless and
12-bit JPEGs by imagecodecs 2026.3.6 (libjpeg-turbo 3.1), the arithmetic-coded one by Debian's
cjpeg 2.1.5 (-arithmetic). Each file's expected outcome is the second part of its entry: the typed
error both validate and decode must raise, or None for a file that must decode.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from photofix.errors import ImageTooLarge, InvalidImage, PhotofixError, UnsupportedFormat
from photofix.imaging import codec
from tests.imaging.codec_samples import (
    apng,
    jpeg_segment,
    no_ff,
    png_16bit,
    png_chunk,
    png_chunks,
    png_gray_bits,
    png_of_chunks,
    save,
    tiff_file,
)

FOLDER = Path(__file__).parent / "regressions"
LIMITS = codec.ImageLimits()


def photo(width: int = 64, height: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8, width // 8, 3), np.uint8)
    return np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)


def jpeg(pixels: np.ndarray, **options: object) -> bytes:
    return save(Image.fromarray(pixels), "JPEG", quality=90, **options)


def bigtiff_ifd_past_any_size() -> bytes:
    """Issue 17: an IFD offset of 2**64 - 1 made the old tag reader raise OverflowError (500)."""
    return b"II+\x00\x08\x00\x00\x00" + b"\xff" * 8 + bytes(32)


def tiff_entry_offset_past_any_size() -> bytes:
    """A plain TIFF whose IFD0 entries point 4 GB past the file (strips, sizes, counts)."""
    data = bytearray(tiff_file(photo(16, 16)))
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        struct.pack_into("<II", data, entry + 4, 0xFFFFFFFF, 0xFFFFFFF0)  # count, offset
    return bytes(data)


def jpeg_cut_in_half_end_restored() -> bytes:
    """Issue 22.6: accepted with a grey lower half before libjpeg's warnings counted."""
    data = jpeg(photo(256, 192))
    return data[: len(data) // 2] + b"\xff\xd9"


def jpeg_progressive_cut_end_restored() -> bytes:
    data = jpeg(photo(256, 192), progressive=True)
    return data[: len(data) * 2 // 3] + b"\xff\xd9"


def jpeg_frame_claims_4096_square() -> bytes:
    """Issue 22.6: a 640x480 photo whose frame header says 4096x4096 decoded grey below."""
    ramp = np.linspace(0, 255, 640, dtype=np.uint8)
    data = bytearray(jpeg(np.dstack([np.tile(ramp, (480, 1))] * 3)))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 4096, 4096)
    return bytes(data)


def jpeg_cmyk_subsampled_cut() -> bytes:
    """Fuzzer: Pillow's lenient path (for sampling factors TurboJPEG cannot name) took a cut
    CMYK file with its end marker put back."""
    data = save(Image.fromarray(photo()).convert("CMYK"), "JPEG", subsampling=2)
    return data[: len(data) // 2] + b"\xff\xd9"


def png_unknown_filter_type() -> bytes:
    """Fuzzer: a scanline filter byte of 5 passed validate (CRCs and zlib fine) and failed in
    decode: validate and decode disagreed."""
    raw = b"".join(bytes([5 if row == 3 else 0]) + bytes(8) for row in range(8))
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def tiff_float_rgb() -> bytes:
    """Fuzzer: a valid float32 RGB TIFF was "corrupt or truncated: cannot identify image file"
    (400, the wrong reason): it is a layout Pillow does not decode (415, named)."""
    return tiff_file(np.random.default_rng(1).random((8, 8, 3), dtype=np.float32))


def tiff_planar_associated_alpha_16_bit() -> bytes:
    """Fuzzer: 16-bit RGBA, planar, associated alpha: Pillow has no raw mode for it."""
    values = np.random.default_rng(2).integers(0, 65535, (4, 8, 8), dtype=np.uint16)
    return tiff_file(values, photometric="rgb", planarconfig="separate", extrasamples=[1])


def png_gray_2_bit_colour_key() -> bytes:
    """Fuzzer: Pillow rescales 2-bit gray to 8 bits but keeps the tRNS key as stored, so the
    transparent pixels came out opaque (alpha lost; type 4 would cut the wrong background)."""
    values = np.ones((4, 8), np.uint8)
    values[:, :4] = 3
    return png_gray_bits(values, 2, png_chunk(b"tRNS", struct.pack(">H", 3)))


def png_rgb_16_bit_colour_key() -> bytes:
    """Fuzzer: a 16-bit RGB tRNS key never matched Pillow's 8-bit pixels (alpha lost)."""
    values = np.zeros((4, 8, 3), np.uint16)
    values[:, :4] = (1000, 2000, 3000)
    return png_16bit(values, 2, png_chunk(b"tRNS", struct.pack(">HHH", 1000, 2000, 3000)))


def png_header_bomb() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    body = png_chunk(b"IDAT", b"x\x9c\x03\x00\x00\x00\x00\x01")
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + body + png_chunk(b"IEND", b"")


def png_header_bomb_without_end() -> bytes:
    """Found when the walk ran before the size check: 50000x50000 with no IEND was "truncated"
    (400) where the header already says too large (413)."""
    return png_header_bomb()[:-12]


def _insert_before(data: bytes, marker: bytes, extra: bytes) -> bytes:
    at = data.index(marker)
    return data[:at] + extra + data[at:]


def jpeg_junk_between_header_segments() -> bytes:
    """Corpus (Pillow's junk_jpeg_header.jpg, jpeg_ff00_header.jpg): junk and a stuffed FF 00
    between two header segments were refused (libjpeg's "extraneous bytes" warning, and the
    frame walk stopped at the junk); Pillow decodes them."""
    return _insert_before(jpeg(photo()), b"\xff\xdb", b"hello\xff\x00\x00\x02")


def jpeg_icc_chunks_misnumbered() -> bytes:
    """Corpus (icc-after-SOF.jpg): ICC chunks numbered "2 of 1", one after the frame header:
    libjpeg's "bad ICC marker" refused a file whose pixels are intact."""
    chunk = jpeg_segment(0xE2, b"ICC_PROFILE\0\x02\x01" + bytes(9))
    return _insert_before(_insert_before(jpeg(photo()), b"\xff\xdb", chunk), b"\xff\xc4", chunk)


def jpeg_adobe_segment_one_byte_short() -> bytes:
    """Corpus (truncated_app14.jpg): an APP14 whose length leaves its last byte outside it."""
    adobe = jpeg_segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00") + b"\x01"
    return _insert_before(jpeg(photo()), b"\xff\xdb", adobe)


def jpeg_photoshop_segment_length_short() -> bytes:
    """Corpus (photoshop-200dpi-broken.jpg): an APP13 whose length is 16 bytes short: the
    frame walk stopped at the first of them ("no frame header")."""
    segment = jpeg_segment(0xED, b"Photoshop 3.0\0" + bytes(range(1, 41)))
    lying = segment[:2] + struct.pack(">H", len(segment) - 2 - 16) + segment[4:]
    return _insert_before(jpeg(photo()), b"\xff\xdb", lying)


def jpeg_jfif_2_cut_end_restored() -> bytes:
    """A header oddity (JFIF 2.01) before a cut: the retry without the oddity is strict, so
    the cut is still refused (a lenient retry would have let it through)."""
    data = bytearray(jpeg(photo(256, 192)))
    data[data.index(b"JFIF\0") + 5] = 2
    return bytes(data[: len(data) // 2]) + b"\xff\xd9"


def jpeg_bytes_spliced_into_restart_interval() -> bytes:
    """Corpus (hopper_bad_exif.jpg, which decodes to stripes): bytes inside entropy-coded data
    that no block uses. 50 random ones spliced into an interval give libjpeg's "extraneous
    bytes" warning alone (the first seed for which that holds) and other pixels: data loss."""
    clean = jpeg(photo(256, 192), restart_marker_rows=1)
    middle = (clean.index(b"\xff\xd0") + 2 + clean.index(b"\xff\xd1")) // 2
    for seed in range(100):
        spliced = clean[:middle] + no_ff(np.random.default_rng(seed), 50) + clean[middle:]
        try:
            simplejpeg.decode_jpeg(spliced, strict=True)
        except ValueError as exc:
            if "extraneous bytes" in str(exc):
                return spliced
    raise AssertionError("no seed gave the extraneous-bytes warning alone")


def jpeg_progressive_cut_between_scans() -> bytes:
    """Found writing the oddity tests: a progressive JPEG cut right before its third scan,
    the end marker put back, decoded with no libjpeg warning at all (detail and colour lost)."""
    data = jpeg(photo(256, 192), progressive=True)
    third_scan = [m.start() for m in re.finditer(b"\xff\xda", data)][2]
    return data[:third_scan] + b"\xff\xd9"


def apng_frames_without_fctl() -> bytes:
    """Corpus (apng/chunk_no_fctl.png): validate accepted, decode refused ("APNG contains
    frame sequence errors"); the default image, all photofix uses, is intact."""
    first = np.zeros((8, 16, 4), np.uint8)
    first[:, 8:] = (200, 100, 50, 255)
    second = np.full((8, 16, 4), 255, np.uint8)
    chunks = png_chunks(apng([first, second]))
    return png_of_chunks([chunk for chunk in chunks if chunk[0] != b"fcTL"])


def png_chunk_type_not_a_name() -> bytes:
    """Corpus (broken.png): "PNG is truncated inside its \xf4\xa8\x81\xe1 chunk" printed
    garbage; a chunk type that is no name is corruption, named in hex."""
    data = save(Image.new("L", (4, 4)), "PNG")
    return data[:8] + bytes.fromhex("2fc57d50f4a881e1") + data[16:]


def bmp_with_header_values(info_size: int = 40, depth: int = 24) -> bytes:
    data = bytearray(save(Image.new("RGB", (4, 4), (10, 20, 30)), "BMP"))
    struct.pack_into("<IiiHH", data, 14, info_size, 4, 4, 1, depth)
    return bytes(data)


def bmp_16_byte_info_header() -> bytes:
    """Corpus (bmp/q/pal8os2v2-16.bmp, bmp/b/badheadersize.bmp): a BMP with an info header
    Pillow does not read was "this file type is not supported"; it is a BMP variant (415)."""
    return bmp_with_header_values(info_size=16)


def bmp_bit_depth_30000() -> bytes:
    """Corpus (bmp/b/badbitcount.bmp): a depth no writer uses was "variant not supported"
    (415); it is a broken file (400)."""
    return bmp_with_header_values(depth=30000)


Builder = Callable[[], bytes]
HALF_TRANSPARENT = "half transparent"  # must decode to RGBA, its left half alpha 0
CASES: dict[str, tuple[Builder, type[PhotofixError] | str | None]] = {
    "tiff-bigtiff-ifd-offset-overflow.tif": (bigtiff_ifd_past_any_size, InvalidImage),
    "tiff-entries-point-past-the-file.tif": (tiff_entry_offset_past_any_size, InvalidImage),
    "jpeg-cut-in-half-end-restored.jpg": (jpeg_cut_in_half_end_restored, InvalidImage),
    "jpeg-progressive-cut-end-restored.jpg": (jpeg_progressive_cut_end_restored, InvalidImage),
    "jpeg-frame-claims-4096x4096.jpg": (jpeg_frame_claims_4096_square, InvalidImage),
    "jpeg-cmyk-subsampled-cut.jpg": (jpeg_cmyk_subsampled_cut, UnsupportedFormat),
    "png-unknown-filter-type.png": (png_unknown_filter_type, InvalidImage),
    "tiff-float32-rgb.tif": (tiff_float_rgb, UnsupportedFormat),
    "tiff-rgba16-planar-associated.tif": (tiff_planar_associated_alpha_16_bit, UnsupportedFormat),
    "png-header-claims-50000x50000.png": (png_header_bomb, ImageTooLarge),
    "png-header-claims-50000x50000-no-end.png": (png_header_bomb_without_end, ImageTooLarge),
    "png-gray-2-bit-colour-key.png": (png_gray_2_bit_colour_key, HALF_TRANSPARENT),
    "png-rgb-16-bit-colour-key.png": (png_rgb_16_bit_colour_key, HALF_TRANSPARENT),
    "jpeg-junk-between-header-segments.jpg": (jpeg_junk_between_header_segments, None),
    "jpeg-icc-chunks-misnumbered.jpg": (jpeg_icc_chunks_misnumbered, None),
    "jpeg-adobe-segment-one-byte-short.jpg": (jpeg_adobe_segment_one_byte_short, None),
    "jpeg-photoshop-segment-length-short.jpg": (jpeg_photoshop_segment_length_short, None),
    "jpeg-jfif-2-cut-end-restored.jpg": (jpeg_jfif_2_cut_end_restored, InvalidImage),
    "jpeg-bytes-spliced-into-restart-interval.jpg": (
        jpeg_bytes_spliced_into_restart_interval,
        InvalidImage,
    ),
    "jpeg-progressive-cut-between-scans.jpg": (jpeg_progressive_cut_between_scans, InvalidImage),
    "apng-frames-without-fctl.png": (apng_frames_without_fctl, HALF_TRANSPARENT),
    "png-chunk-type-not-a-name.png": (png_chunk_type_not_a_name, InvalidImage),
    "bmp-16-byte-info-header.bmp": (bmp_16_byte_info_header, UnsupportedFormat),
    "bmp-bit-depth-30000.bmp": (bmp_bit_depth_30000, InvalidImage),
}
# Made once by other tools (see the module docstring): expected outcome and why it is here.
FIXED_FILES: dict[str, type[PhotofixError] | None] = {
    # A 1/8-scale integrity pass over a lossless JPEG wrote full-size rows into simplejpeg's
    # scaled buffer (heap corruption, abort at exit): lossless frames are never scaled.
    "jpeg-lossless.jpg": None,
    # 12-bit samples: no decoder here takes them; was "corrupt" (400), is "not supported" (415).
    "jpeg-12-bit.jpg": UnsupportedFormat,
    # Arithmetic coding: a defined path (libjpeg-turbo decodes it strictly).
    "jpeg-arithmetic.jpg": None,
}


def expected(name: str) -> type[PhotofixError] | str | None:
    return CASES[name][1] if name in CASES else FIXED_FILES[name]


def test_every_regression_file_is_listed_and_every_case_has_its_file() -> None:
    on_disk = {path.name for path in FOLDER.iterdir() if path.suffix != ".md"}
    assert on_disk == set(CASES) | set(FIXED_FILES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_regression_files_are_what_their_builders_make(name: str) -> None:
    assert (FOLDER / name).read_bytes() == CASES[name][0]()


@pytest.mark.parametrize("name", sorted({*CASES, *FIXED_FILES}))
def test_regression_file_gets_its_typed_answer(name: str) -> None:
    data = (FOLDER / name).read_bytes()
    error = expected(name)
    if error == HALF_TRANSPARENT:
        alpha = codec.decode(data, LIMITS).pixels[..., 3]
        assert (alpha[:, : alpha.shape[1] // 2] == 0).all()
        assert (alpha[:, alpha.shape[1] // 2 :] == 255).all()
        return
    if error is None:
        info = codec.validate(data, LIMITS)
        decoded = codec.decode(data, LIMITS)
        assert decoded.pixels.shape == (info.height, info.width, 3)
        assert decoded.pixels.dtype == np.uint8
        reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert np.array_equal(decoded.pixels, reference)  # as Pillow's own decode
        return
    for call in (codec.validate, codec.decode):
        with pytest.raises(error) as raised:
            call(data, LIMITS)
        assert type(raised.value) is error


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for name, (build, _) in sorted(CASES.items()):
        (FOLDER / name).write_bytes(build())
        print(f"wrote {name}")


if __name__ == "__main__":
    main()


def test_libraw_one_channel_output_becomes_gray_rgb() -> None:
    """Deep fuzzing once saw LibRaw develop a mutated DNG to (H, W, 1) (state-dependent, so it
    has no replayable file): such output becomes RGB, and anything else is refused."""
    from photofix.imaging.codec.raw import _as_rgb

    mono = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    rgb = _as_rgb(mono)
    assert rgb.shape == (3, 4, 3) and np.array_equal(rgb[..., 2], mono[..., 0])
    assert _as_rgb(mono[..., 0]).shape == (3, 4, 3)
    with pytest.raises(InvalidImage):
        _as_rgb(np.zeros((3, 4, 2), np.uint8))

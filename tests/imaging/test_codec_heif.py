"""HEIC/HEIF and AVIF input (issue 18.4), and MPO read as its first frame.

Every file is made here: pillow-heif writes HEIC (libheif with x265), Pillow writes AVIF and MPO.
Nothing registers pillow-heif as a Pillow opener: the codec does not need it, and neither do
these tests.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from photofix.errors import ImageTooLarge, InvalidImage, PhotofixError, UnsupportedFormat
from photofix.imaging import codec
from photofix.pipelines import PipelineOptions
from photofix.process import process_image
from tests.imaging.codec_samples import exif_block
from tests.imaging.test_codec import LIMITS, corners, quadrants, save
from tests.synth import document_scene, product_scene

ISO_FORMATS = ("heif", "avif")


def heic(pixels: np.ndarray, *, orientation: int = 1, quality: int = 95) -> bytes:
    """A HEIC of the pixels (RGB or RGBA); quality -1 is lossless (chroma 4:4:4)."""
    heif_file = pillow_heif.from_pillow(Image.fromarray(pixels))
    if orientation != 1:  # pillow-heif writes it as the container's irot/imir, as phones do
        heif_file.info["exif"] = exif_block(orientation)
    out = io.BytesIO()
    extra = {"chroma": 444} if quality == -1 else {}
    heif_file.save(out, quality=quality, **extra)
    return out.getvalue()


def avif(pixels: np.ndarray, *, orientation: int = 1, quality: int = 95) -> bytes:
    exif = {"exif": exif_block(orientation)} if orientation != 1 else {}
    return save(pixels, "AVIF", quality=quality, **exif)


WRITE = {"heif": heic, "avif": avif}


def with_ispe(data: bytes, width: int, height: int) -> bytes:
    """The file with its (first, the primary's) ispe property claiming another size."""
    at = data.index(b"ispe") + 8  # after the type and the full box's version and flags
    return data[:at] + struct.pack(">II", width, height) + data[at + 8 :]


def close_to(got: np.ndarray, want: np.ndarray, tolerance: float = 6.0) -> bool:
    return float(np.abs(got.astype(np.int16) - want.astype(np.int16)).mean()) <= tolerance


# --------------------------------------------------------------------------- sniff and decode


@pytest.mark.parametrize("fmt", ISO_FORMATS)
def test_heic_and_avif_decode_to_their_pixels(fmt: str) -> None:
    src = quadrants()
    data = WRITE[fmt](src)
    assert codec.sniff_format(data) == fmt
    info = codec.validate(data, LIMITS)
    assert (info.format, info.width, info.height, info.exif_orientation) == (fmt, 64, 32, 1)
    decoded = codec.decode(data, LIMITS)
    assert decoded.format == fmt and decoded.pixels.shape == (32, 64, 3)
    assert not decoded.pixels.flags.writeable
    assert close_to(decoded.pixels, src)
    assert corners(decoded.pixels) == ("red", "green", "blue", "white")


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + bytes(4) + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body


@pytest.mark.parametrize(
    ("brands", "fmt"),
    [
        ((b"heic", b"mif1", b"heic"), "heif"),  # iPhone
        ((b"mif1", b"heic"), "heif"),
        ((b"heix", b"mif1"), "heif"),
        ((b"msf1", b"hevc"), "heif"),
        ((b"mif1", b"miaf"), "heif"),  # HEIF of any codec: libheif names the codec it lacks
        ((b"avif", b"avif", b"mif1", b"miaf"), "avif"),
        ((b"mif1", b"avif", b"miaf"), "avif"),  # AVIF lists mif1 too: avif decides
        ((b"avis", b"msf1"), "avif"),
        ((b"MA1B", b"avif"), "avif"),
    ],
)
def test_iso_media_images_are_sniffed_by_their_brands(brands: tuple[bytes, ...], fmt: str) -> None:
    assert codec.sniff_format(ftyp(*brands) + bytes(16)) == fmt


@pytest.mark.parametrize("brands", [(b"isom", b"iso2", b"mp41"), (b"qt  ",), (b"M4A ", b"mp42")])
def test_other_iso_media_is_415_naming_what_is_accepted(brands: tuple[bytes, ...]) -> None:
    with pytest.raises(UnsupportedFormat) as err:
        codec.validate(ftyp(*brands) + bytes(16), LIMITS)
    assert "also HEIC/HEIF and AVIF" in err.value.message
    assert "JPEG, PNG, BMP, WebP, TIFF, SGI or camera RAW" in err.value.message


@pytest.mark.parametrize("fmt", ISO_FORMATS)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_applied_as_for_every_format(fmt: str, orientation: int) -> None:
    """HEIC: libheif applies the irot/imir boxes pillow-heif wrote for the EXIF orientation, and
    the codec reports which; AVIF: Pillow gives them as EXIF orientation, the codec applies it.
    Either way the pixels are the same as a PNG's with that EXIF orientation."""
    src = quadrants()
    data = WRITE[fmt](src, orientation=orientation)
    info = codec.validate(data, LIMITS)
    assert (info.width, info.height, info.exif_orientation) == (64, 32, orientation)
    decoded = codec.decode(data, LIMITS)
    reference = codec.decode(save(src, "PNG", exif=exif_block(orientation)), LIMITS).pixels
    assert decoded.exif_orientation == orientation
    assert decoded.pixels.shape == reference.shape
    assert corners(decoded.pixels) == corners(reference)
    assert close_to(decoded.pixels, reference)


def test_heic_alpha_is_kept() -> None:
    rgba = np.dstack([quadrants(), np.full((32, 64), 255, np.uint8)])
    rgba[:, :16, 3] = 0
    rgba[:, 16:24, 3] = 128
    decoded = codec.decode(heic(rgba, quality=-1), LIMITS)
    assert decoded.pixels.shape == (32, 64, 4)
    np.testing.assert_array_equal(decoded.pixels[..., 3], rgba[..., 3])


def test_opaque_heic_alpha_is_dropped() -> None:
    rgba = np.dstack([quadrants(), np.full((32, 64), 255, np.uint8)])
    assert codec.decode(heic(rgba, quality=-1), LIMITS).pixels.shape == (32, 64, 3)


# --------------------------------------------------------------------------- limits and bombs


@pytest.mark.parametrize("fmt", ISO_FORMATS)
@pytest.mark.parametrize("size", [(4200, 32), (32, 4200), (20000, 20000), (0xFFFFFFFF, 1)])
def test_a_header_claiming_a_huge_size_is_413_before_any_decoding(
    fmt: str, size: tuple[int, int]
) -> None:
    """Read from the ispe box: the rest of the file (cut here) is never looked at."""
    data = with_ispe(WRITE[fmt](quadrants()), *size)
    cut = data[: len(data) - 40]  # the coded image is at the end, in mdat
    for call in (codec.validate, codec.decode):
        for candidate in (data, cut):
            with pytest.raises(ImageTooLarge) as err:
                call(candidate, LIMITS)
            assert f"{size[0]}x{size[1]}" in err.value.message
            assert err.value.http_status == 413


@pytest.mark.parametrize("fmt", ISO_FORMATS)
def test_a_real_side_over_the_limit_is_413(fmt: str) -> None:
    data = WRITE[fmt](np.zeros((16, 4104, 3), np.uint8), quality=30)
    with pytest.raises(ImageTooLarge, match="4104x16"):
        codec.validate(data, LIMITS)


def test_heic_whose_stream_is_larger_than_its_header_is_413() -> None:
    """libheif's security limit is the header's size: the coded frame is never accepted."""
    data = with_ispe(heic(np.zeros((512, 1024, 3), np.uint8), quality=30), 64, 64)
    for call in (codec.validate, codec.decode):
        with pytest.raises(ImageTooLarge, match="Security limit"):
            call(data, LIMITS)


def test_avif_whose_stream_is_larger_than_its_header_is_413() -> None:
    """libavif would decode the whole AV1 frame and scale it to the header's size (a 1 KB file
    can code 16384 x 16384): the sequence header's frame size is checked before it runs."""
    data = with_ispe(avif(np.zeros((16, 4160, 3), np.uint8), quality=30), 64, 64)
    for call in (codec.validate, codec.decode):
        with pytest.raises(ImageTooLarge, match="codes a 4160x16-pixel frame"):
            call(data, LIMITS)


@pytest.mark.parametrize("fmt", ISO_FORMATS)
def test_a_header_smaller_than_the_image_is_never_a_500(fmt: str) -> None:
    data = with_ispe(WRITE[fmt](quadrants(128, 64)), 100, 50)
    try:
        decoded = codec.decode(data, LIMITS)
    except PhotofixError as exc:
        assert exc.http_status in (400, 413)
    else:  # libavif scales the frame to the header's size
        assert decoded.pixels.shape == (50, 100, 3)


# --------------------------------------------------------------------------- broken files


@pytest.mark.parametrize("fmt", ISO_FORMATS)
@pytest.mark.parametrize("fraction", [0.1, 0.4, 0.7, 0.95])
def test_truncated_heic_and_avif_are_invalid(fmt: str, fraction: float) -> None:
    data = WRITE[fmt](quadrants(256, 128))
    cut = data[: int(len(data) * fraction)]
    for call in (codec.validate, codec.decode):
        with pytest.raises(InvalidImage) as err:
            call(cut, LIMITS)
        assert err.value.http_status == 400


@pytest.mark.parametrize("fmt", ISO_FORMATS)
def test_bit_flipped_heic_and_avif_are_typed_errors(fmt: str) -> None:
    data = WRITE[fmt](quadrants(128, 64))
    rng = np.random.default_rng(18)
    refused = 0
    for _ in range(60):
        flipped = bytearray(data)
        for at in rng.integers(0, len(data), 4):
            flipped[at] ^= int(rng.integers(1, 256))
        try:
            decoded = codec.decode(bytes(flipped), LIMITS)
        except PhotofixError as exc:
            assert exc.http_status in (400, 413, 415), exc
            refused += 1
        else:  # a flip in the coded pixels can decode to other pixels, never to another size
            assert decoded.pixels.shape == (64, 128, 3)
    assert refused > 0


def test_heif_of_a_codec_libheif_lacks_is_415() -> None:
    """An AV1 image in a HEIF without the avif brand goes to libheif, which has no AV1 decoder
    in pillow-heif's wheel: a valid file of a variant not read, not a broken one."""
    data = avif(quadrants())
    size = int.from_bytes(data[:4], "big")
    plain_heif = data[:size].replace(b"avif", b"mif1") + data[size:]
    assert codec.sniff_format(plain_heif) == "heif"
    for call in (codec.validate, codec.decode):
        with pytest.raises(UnsupportedFormat, match="not supported"):
            call(plain_heif, LIMITS)


# --------------------------------------------------------------------------- MPO


def mpo(*frames: np.ndarray, **options: object) -> bytes:
    images = [Image.fromarray(frame) for frame in frames]
    out = io.BytesIO()
    images[0].save(out, "MPO", save_all=True, append_images=images[1:], quality=95, **options)
    return out.getvalue()


def test_mpo_reads_its_first_frame() -> None:
    """A phone's dual-camera JPEG: Pillow opens it as MPO, libjpeg decodes the first frame."""
    second = np.full((48, 80, 3), (30, 40, 220), np.uint8)  # another size and colour
    data = mpo(quadrants(), second)
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert codec.sniff_format(data) == "jpeg"
    info = codec.validate(data, LIMITS)
    assert (info.format, info.width, info.height) == ("jpeg", 64, 32)
    decoded = codec.decode(data, LIMITS)
    assert decoded.pixels.shape == (32, 64, 3)
    assert corners(decoded.pixels) == ("red", "green", "blue", "white")


def test_mpo_orientation_and_a_cut_second_frame() -> None:
    data = mpo(quadrants(), quadrants(), exif=exif_block(6))
    decoded = codec.decode(data, LIMITS)
    assert decoded.exif_orientation == 6 and decoded.pixels.shape == (64, 32, 3)
    first_end = data.index(b"\xff\xd9") + 2
    cut_in_second = data[: first_end + (len(data) - first_end) // 2]
    assert codec.decode(cut_in_second, LIMITS).pixels.shape == (64, 32, 3)  # never read


# --------------------------------------------------------------------------- the pipeline


@pytest.fixture(scope="module")
def document() -> np.ndarray:
    return document_scene(rotation=0, size=(800, 600))[0]


@pytest.fixture(scope="module")
def product() -> tuple[np.ndarray, np.ndarray]:
    return product_scene(size=(640, 480))


def run(data: bytes, kind: int, models) -> tuple[np.ndarray, dict]:
    result = process_image(data, PipelineOptions(type=kind), models, LIMITS)
    return np.asarray(Image.open(io.BytesIO(result.data))), result.meta


@pytest.mark.parametrize("fmt", ISO_FORMATS)
@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
def test_every_type_runs_on_heic_and_avif_as_on_png(models, document, product, fmt, kind):
    scene = document if kind < 3 else product[0]
    out, meta = run(WRITE[fmt](scene, quality=90), kind, models)
    reference, reference_meta = run(save(scene, "PNG"), kind, models)
    assert meta["exif_orientation"] == 1
    if kind in (0, 2):
        assert meta["document"]["found"] and reference_meta["document"]["found"]
        got, want = meta["document"]["corners"], reference_meta["document"]["corners"]
        assert np.abs(np.array(got) - np.array(want)).max() <= 6
    if kind >= 3:
        assert meta["subject"]["found"]
        assert np.abs(np.array(meta["crop_box"]) - reference_meta["crop_box"]).max() <= 6
    assert out.shape[2:] == reference.shape[2:]
    assert np.abs(np.array(out.shape[:2]) - reference.shape[:2]).max() <= 6
    if out.shape == reference.shape:  # the same picture, give or take the lossy coding
        assert close_to(out, reference, tolerance=12.0)


def test_a_turned_phone_heic_is_scanned_upright(models, document):
    """The phone held sideways: the stored pixels turned, the irot box saying so."""
    stored = np.ascontiguousarray(np.rot90(document, k=1))  # what orientation 6 turns back
    out, meta = run(heic(stored, orientation=6, quality=90), 0, models)
    reference, _ = run(save(document, "PNG"), 0, models)
    assert meta["exif_orientation"] == 6 and meta["document"]["found"]
    assert (
        abs(out.shape[0] - reference.shape[0]) <= 6 and abs(out.shape[1] - reference.shape[1]) <= 6
    )


def test_a_cut_out_heic_keeps_its_alpha_for_type_4(models, product):
    rgb, mask = product
    rgba = np.dstack([rgb, np.where(mask, 255, 0).astype(np.uint8)])
    result = process_image(heic(rgba, quality=-1), PipelineOptions(type=4), models, LIMITS)
    assert result.meta["subject"]["source"] == "alpha"
    out = np.asarray(Image.open(io.BytesIO(result.data)))
    assert out.shape[2] == 4
    x0, y0, x1, y1 = result.meta["crop_box"]
    truth = np.pad(
        mask, ((max(-y0, 0), max(y1 - mask.shape[0], 0)), (max(-x0, 0), max(x1 - mask.shape[1], 0)))
    )
    truth = truth[max(y0, 0) :, max(x0, 0) :][: y1 - y0, : x1 - x0]
    alpha = out[..., 3] > 127
    assert (alpha & truth).sum() / (alpha | truth).sum() >= 0.99

"""Accept or refuse untrusted bytes (`validate`) and decode them to upright 8-bit sRGB (`decode`).

Checks run cheap-first: byte size, magic bytes, the header's pixel size, container structure.
Oversized, bomb-like and truncated inputs are refused before any full-size pixel buffer exists,
and every failure is a typed photofix error. What `validate` accepts, `decode` decodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from photofix.errors import InvalidImage
from photofix.imaging.codec import colour, exif, heif, jpeg, png, raw, tiff
from photofix.imaging.codec.limits import ImageLimits, check_byte_size
from photofix.imaging.codec.pillow import open_image, pillow_errors
from photofix.imaging.codec.sniff import sniff_format


@dataclass(frozen=True)
class ImageInfo:
    """What `validate` learned. Sizes are as stored, before EXIF orientation is applied."""

    format: str
    width: int
    height: int
    exif_orientation: int = 1
    downscaled: bool = False  # camera RAW that decode() will develop at half size


@dataclass(frozen=True, eq=False)
class DecodedImage:
    """Upright 8-bit sRGB pixels: uint8 (H, W, 3), or (H, W, 4) when the source has real alpha."""

    pixels: np.ndarray
    format: str
    exif_orientation: int  # 1..8, already applied to `pixels`
    icc_converted: bool  # an embedded non-sRGB profile was converted to sRGB
    downscaled: bool = False  # camera RAW developed at half size to fit the limits

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def validate(data: bytes, limits: ImageLimits) -> ImageInfo:
    """Accept or refuse an upload cheaply: limits, header, structure, one pass over the stream.

    Never allocates a full-resolution pixel buffer for JPEG and PNG (the common uploads).
    """
    fmt = _sniff_within_limits(data, limits)
    if fmt == "raw":
        width, height, orientation, half = raw.validate(data, limits)
        return ImageInfo(fmt, width, height, orientation, downscaled=half)
    layout = png.read_layout(data, limits) if fmt == "png" else None
    if layout is not None:
        data = png.default_image(data, layout)
    _check_header(data, fmt, limits)
    im = open_image(data, fmt, limits)
    turned = _turned_by_decoder(im, fmt)
    colour.check_mode(im)
    if layout is not None:
        png.check_pixel_stream(layout)
        return ImageInfo(fmt, layout.width, layout.height, _png_orientation(layout))
    if fmt == "jpeg":
        jpeg.check_integrity(data, im.mode)
    else:
        with pillow_errors(fmt):
            _load(im)
    if turned is not None:
        return ImageInfo(fmt, *heif.stored_size(im.size, turned), turned)
    return ImageInfo(fmt, im.width, im.height, exif.orientation(im))


def decode(data: bytes, limits: ImageLimits) -> DecodedImage:
    """Decode to upright 8-bit sRGB RGB/RGBA pixels after the same checks as `validate`."""
    fmt = _sniff_within_limits(data, limits)
    if fmt == "raw":
        rgb, orientation, half = raw.decode(data, limits)
        return _decoded(rgb, fmt, orientation, False, downscaled=half)
    layout = png.read_layout(data, limits) if fmt == "png" else None
    if layout is not None:
        png.check_pixel_stream(layout)
        data = png.default_image(data, layout)
    _check_header(data, fmt, limits)
    im = open_image(data, fmt, limits)
    turned = _turned_by_decoder(im, fmt)
    colour.check_mode(im)
    size = im.size
    if fmt == "jpeg":
        pixels, orientation, converted = _decode_jpeg(data, im)
    else:
        with pillow_errors(fmt):
            _load(im)
            if layout is not None:
                im = png.with_usable_colour_key(im, layout, data)
            # PNG: the eXIf chunk validate read (XMP or text-chunk orientation is not EXIF).
            orientation = exif.orientation(im) if layout is None else _png_orientation(layout)
            pixels, converted = _to_srgb_array(im)
    if pixels.shape[1::-1] != size:
        raise InvalidImage(f"{fmt} image decodes to another size than its header gives")
    if turned is not None:
        return _decoded(pixels, fmt, turned, converted)
    return _decoded(exif.upright(pixels, orientation), fmt, orientation, converted)


def _sniff_within_limits(data: bytes, limits: ImageLimits) -> str:
    check_byte_size(data, limits)
    return sniff_format(data)


def _check_header(data: bytes, fmt: str, limits: ImageLimits) -> None:
    """The stored size against the limits where Pillow's open would not say it first."""
    if fmt == "jpeg":
        jpeg.check_frame(data, limits)
    elif fmt in ("heif", "avif"):
        heif.check_header(data, limits)


def _turned_by_decoder(im: Image.Image, fmt: str) -> int | None:
    """The orientation the decoder itself applies (libheif: irot/imir), read before load(),
    after which pillow-heif drops its record; None where the codec applies EXIF's."""
    return heif.orientation(im) if fmt == "heif" else None


def _load(im: Image.Image) -> None:
    try:
        im.load()
    except Exception:
        if im.format == "TIFF":
            tiff.check_codec(im)  # a codec this build lacks: a variant, not a broken file
        raise


def _png_orientation(layout: png.PngLayout) -> int:
    return exif.orientation_of_block(layout.exif)


def _decode_jpeg(data: bytes, im: Image.Image) -> tuple[np.ndarray, int, bool]:
    """libjpeg-turbo decodes every JPEG straight into an array, strictly (a broken file fails);
    Pillow's colour management runs only when there is a profile to convert or CMYK."""
    orientation = exif.orientation(im)
    icc = im.info.get("icc_profile")
    pixels = jpeg.pixels(data, im.mode)
    if im.mode != "CMYK" and colour.embedded_profile(icc) is None:  # the common case
        if pixels.ndim == 2:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
        return pixels, orientation, False
    decoded = Image.fromarray(pixels, im.mode)
    decoded.info["icc_profile"] = icc
    with pillow_errors("jpeg"):
        pixels, converted = _to_srgb_array(decoded)
    return pixels, orientation, converted


def _to_srgb_array(im: Image.Image) -> tuple[np.ndarray, bool]:
    out, converted = colour.to_srgb_8bit(im)
    return np.asarray(out), converted


def _decoded(
    pixels: np.ndarray, fmt: str, orientation: int, converted: bool, *, downscaled: bool = False
) -> DecodedImage:
    pixels.flags.writeable = False  # the pipeline never writes to its input
    return DecodedImage(pixels, fmt, orientation, converted, downscaled)

"""Pixel modes and colour: any Pillow mode and embedded profile -> 8-bit sRGB RGB or RGBA."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageCms

from photofix.errors import UnsupportedFormat

# Modes Pillow converts without losing what we keep (alpha stays alpha, premultiplied undone).
_SIMPLE_CONVERSIONS = {
    "1": "L",
    "La": "LA",
    "PA": "RGBA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "YCbCr": "RGB",
    "HSV": "RGB",
}
_WIDE_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_READY_MODES = frozenset({"L", "LA", "RGB", "RGBA", "CMYK"})  # what colour management reads
_PROFILE_SPACES = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}
SUPPORTED_MODES = frozenset({*_SIMPLE_CONVERSIONS, *_WIDE_MODES, *_READY_MODES, "P", "LAB"})


def check_mode(im: Image.Image) -> None:
    """Refuse, before decoding, a pixel mode that to_srgb_8bit cannot convert."""
    if im.mode not in SUPPORTED_MODES:
        raise UnsupportedFormat(f"pixel mode {im.mode} is not supported")


def to_srgb_8bit(im: Image.Image) -> tuple[Image.Image, bool]:
    """Any Pillow mode -> 8-bit sRGB "RGB" or "RGBA" (alpha kept only when it is used), and
    whether an embedded profile was converted."""
    check_mode(im)
    icc = im.info.get("icc_profile")
    if im.mode == "LAB":
        return _convert_profile(im, _lab_profile(), "LAB"), True
    im = _to_8bit(im)
    im, converted = _apply_icc(im, icc)
    target = "RGBA" if "A" in im.getbands() else "RGB"
    if im.mode != target:  # Pillow's convert to the same mode is a full copy
        im = im.convert(target)
    if im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255):
        im = im.convert("RGB")  # an opaque alpha channel is not real alpha
    return im, converted


def _to_8bit(im: Image.Image) -> Image.Image:
    """Into one of _READY_MODES, a transparent colour key (tRNS) becoming alpha."""
    mode = im.mode
    keyed = im.has_transparency_data
    if mode in _WIDE_MODES:
        im = _wide_to_l(im)  # keeps the colour key as Pillow's "transparency" of the new image
    elif mode == "P":
        return im.convert("RGBA" if keyed else "RGB")
    elif mode in _SIMPLE_CONVERSIONS:
        im = im.convert(_SIMPLE_CONVERSIONS[mode])
    if keyed and im.mode in ("L", "RGB"):
        return im.convert("LA" if im.mode == "L" else "RGBA")  # tRNS colour key -> alpha
    return im


def _wide_to_l(im: Image.Image) -> Image.Image:
    """16/32-bit integer or float gray -> 8-bit, keeping the tonal range rather than clipping."""
    arr = np.asarray(im)
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float32), posinf=0.0, neginf=0.0)
        lo, hi = float(arr.min()), float(arr.max())
        if lo >= 0.0 and hi <= 1.0:  # normalised float data
            lo, hi = 0.0, 1.0
    else:
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 0xFFFF:  # 16-bit samples (also what Pillow's "I" holds for PNG)
            lo, hi = 0, 0xFFFF
    scale = np.float32(255.0 / (hi - lo) if hi > lo else 0.0)
    out = ((arr.astype(np.float32) - np.float32(lo)) * scale + np.float32(0.5)).clip(0, 255)
    out = out.astype(np.uint8)
    gray = Image.fromarray(out, "L")
    key = im.info.get("transparency")
    if isinstance(key, int) and im.has_transparency_data:
        alpha = np.where(arr == key, 0, 255).astype(np.uint8)
        gray = Image.merge("LA", (gray, Image.fromarray(alpha, "L")))
    return gray


def _apply_icc(im: Image.Image, icc: object) -> tuple[Image.Image, bool]:
    """Convert through an embedded profile to sRGB; skip sRGB, broken or mismatched profiles."""
    profile = embedded_profile(icc)
    if profile is None:
        return im, False
    alpha = im.getchannel("A") if "A" in im.getbands() else None
    base = im.convert(im.mode.rstrip("A")) if alpha is not None else im
    if _PROFILE_SPACES.get(base.mode) != profile.profile.xcolor_space.strip():
        return im, False  # e.g. an RGB profile on a CMYK image: the pixels win
    try:
        out = _convert_profile(base, profile, base.mode)
    except ImageCms.PyCMSError:
        return im, False
    if alpha is not None:
        out.putalpha(alpha)
    return out, True


def embedded_profile(icc: object) -> ImageCms.ImageCmsProfile | None:
    """The embedded ICC profile when it needs converting: None for none, sRGB or unreadable."""
    if not isinstance(icc, bytes) or not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile)
    except (OSError, ImageCms.PyCMSError):
        return None  # an unreadable profile: treat the pixels as sRGB, as browsers do
    # sRGB -> sRGB is an identity costing ~0.1 s per 12 MP: skip it.
    return None if "srgb" in description.lower() else profile


def _convert_profile(im: Image.Image, profile: object, in_mode: str) -> Image.Image:
    transform = ImageCms.buildTransform(profile, _srgb_profile(), in_mode, "RGB")
    return ImageCms.applyTransform(im, transform)


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def _lab_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))

"""What an input's alpha says, for the processing types to use.

The decoder hands over RGBA only when the alpha is real. An alpha is information: a transparent
region is background, an opaque one may be subject. The colour under fully transparent pixels
is undefined (often black, sometimes whatever the exporter left there), so no step may read it
as if it were part of the photo: documents are laid on white paper, and what the product steps
show a model there is the photo's own colours continued into it (`continued`).

A clean cut-out (`is_cutout`) needs no model at all: its alpha is the subject's mask.
"""

from __future__ import annotations

import cv2
import numpy as np

from photofix.imaging.geometry import fit_size, shrink

Box = tuple[int, int, int, int]

WHITE = (255, 255, 255)
# Alpha at or below TRANSPARENT is see-through, at or above OPAQUE solid (8-bit levels):
# exporters and resamplers leave a level or two of noise on both ends.
TRANSPARENT = 5
OPAQUE = 250
# A cut-out is at least MIN_CLEAR fully transparent and at most MAX_SOFT in between (a
# feathered edge, hair); more in between is a soft alpha (a vignette, a watermark, noise).
MIN_CLEAR = 0.01
MAX_SOFT = 0.25
# An opaque part filling this much of its (turned) bounding rectangle is a photo with
# transparent margins or corners (exported turned, or padded), not a cut-out subject.
PHOTO_FILL = 0.95
# Transparent regions are filled in at this long side: a continuation is smooth anyway.
FILL_SIDE = 256
INPAINT_RADIUS = 3
# Fills that stand apart from a light (or a dark) opaque rim, for finding its outline.
DARK_FILL = (40, 40, 40)
LIGHT_FILL = (215, 215, 215)


def has_alpha(image: np.ndarray) -> bool:
    return image.ndim == 3 and image.shape[2] == 4


def split(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The colour channels of a uint8 RGB or RGBA image, and its alpha (None without one);
    an RGB image is returned as it is."""
    if has_alpha(image):  # OpenCV: ~10x as fast as numpy's strided copies
        return cv2.cvtColor(image, cv2.COLOR_RGBA2RGB), cv2.extractChannel(image, 3)
    return image, None


def joined(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGBA from colour channels and an alpha (the inverse of `split`)."""
    rgba = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
    return cv2.insertChannel(alpha, rgba, 3)


def opaque_box(alpha: np.ndarray) -> Box | None:
    """(x0, y0, x1, y1) around every pixel that is not fully transparent; None if none is."""
    shown = alpha > TRANSPARENT
    cols = np.flatnonzero(shown.any(axis=0))
    if len(cols) == 0:
        return None
    rows = np.flatnonzero(shown.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def has_clear(alpha: np.ndarray) -> bool:
    """Whether any pixel is fully transparent (an alpha of all mid values has none)."""
    return bool((alpha <= TRANSPARENT).any())


def is_cutout(alpha: np.ndarray) -> bool:
    """Whether `alpha` is a clean cut-out: partly fully transparent, mostly decided (opaque or
    transparent, a soft edge allowed), and its opaque part no filled rectangle (see
    PHOTO_FILL)."""
    clear = alpha <= TRANSPARENT
    soft = ~clear & (alpha < OPAQUE)
    if clear.mean() < MIN_CLEAR or soft.mean() > MAX_SOFT:
        return False
    return not _rectangular(alpha)


def _rectangular(alpha: np.ndarray) -> bool:
    height, width = alpha.shape
    small = shrink(alpha, fit_size(width, height, FILL_SIDE))
    points = cv2.findNonZero((small >= 128).view(np.uint8))
    if points is None:
        return False
    (_, _), (rect_w, rect_h), _ = cv2.minAreaRect(points)
    # minAreaRect runs through pixel centres: the pixels themselves reach half a pixel further.
    area = (rect_w + 1.0) * (rect_h + 1.0)
    return len(points) >= PHOTO_FILL * area


def continued(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`rgb` where anything of it shows, and its colours continued smoothly into the fully
    transparent parts (inpainted at FILL_SIDE): no undefined colour, and no edge where the
    transparency begins for a model to take as an object's outline."""
    clear = alpha <= TRANSPARENT
    if not clear.any():
        return rgb
    height, width = alpha.shape
    if clear.all():
        return np.zeros_like(rgb)
    size = fit_size(width, height, FILL_SIDE)
    hidden = clear.view(np.uint8) * np.uint8(255)
    shows = cv2.bitwise_not(hidden)
    # Area averages of the colour where it shows and of how much shows: their ratio is the
    # colour of what shows in each small pixel.
    sums = shrink(cv2.bitwise_and(rgb, rgb, mask=shows), size).astype(np.float32)
    shown = shrink(shows, size).astype(np.float32) * np.float32(1.0 / 255.0)
    colour = np.clip(sums / np.maximum(shown, 1e-3)[..., None] + 0.5, 0, 255).astype(np.uint8)
    hole = (shown < 0.5).view(np.uint8)
    if hole.all():  # nothing shows at the small size: the mean of what shows
        fill = np.empty_like(colour)
        fill[:] = np.round(cv2.mean(rgb, mask=shows)[:3]).astype(np.uint8)
    else:
        fill = cv2.inpaint(colour, hole, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    up = cv2.resize(fill, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.copyTo(up.reshape(height, width, -1), hidden, rgb.copy())


def contrasting_fill(rgb: np.ndarray, alpha: np.ndarray) -> tuple[int, int, int]:
    """A grey that stands apart from the colours along the opaque part's outline, so that
    laid on it the outline (a cut-out page's edge) is a clear edge."""
    opaque = (alpha >= 128).view(np.uint8)
    rim = opaque.view(bool) & ~cv2.erode(opaque, np.ones((3, 3), np.uint8)).view(bool)
    if not rim.any():
        return WHITE
    luma = cv2.cvtColor(rgb[rim].reshape(-1, 1, 3), cv2.COLOR_RGB2GRAY)
    return DARK_FILL if float(np.median(luma)) >= 128 else LIGHT_FILL

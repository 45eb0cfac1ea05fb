"""Studio backdrops: a smooth model of the background colour behind a product.

White sweeps, grey paper, seamless colour paper and light gradients are smooth: a quadratic in
x and y per colour channel explains them to within sensor noise, where wood, fabric or a shelf
leave residuals ten times larger. When the model fits, the matting knows the true background
colour at every pixel, which the saliency mask alone cannot tell it: an enclosed region of exact
backdrop colour is a hole (a mug's handle, a necklace's loop), the colour a soft edge mixes in
is known (exact de-spill), and a shadow is the backdrop darkened (`keep_shadow`). It also tells
which parts of the product the model half-missed: next to the object, whatever is neither the
backdrop nor its shadow (`unexplained_parts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from photofix.imaging.geometry import fit_size, shrink

# The fit runs on the photo shrunk to this long side: smooth models need few pixels.
FIT_SIDE = 256
# Pixels this far (fraction of FIT_SIDE) outside the mask's faint (> FAR_LEVEL) extent are
# backdrop candidates: out of reach of the product's soft rim and most of its shadow.
CLEAR_MARGIN = 0.03
FAR_LEVEL = 0.1
# A studio needs this fraction of the frame as candidates, and a robust residual (levels of
# 255, at FIT_SIDE) under MAX_NOISE; textures and clutter sit at 5-80.
MIN_BACKDROP_FRACTION = 0.08
MAX_NOISE = 4.0
# ...and the fit must explain this fraction of the candidates (the rest: shadows, props).
MIN_INLIERS = 0.8
FIT_ROUNDS = 3
# Normal equations worse conditioned than this leave the quadratic undetermined (the real
# product samples measure 7e2-6e3; exactly rank-deficient ones 1e16 and up).
MAX_CONDITION = 1e10
# Backdrop noise is taken as at least this (levels of 255): a clean render has none at all.
NOISE_FLOOR = 0.86
# Unexplained parts: off the backdrop by more than PART_NOISE x its noise, and off the backdrop
# darkened (a shadow) by more than SHADE_MARGIN x that; wider than the object's soft rim
# (RIM_OPEN px, for a ~1024 px image: the subject mask's), touching the object, and within
# PART_REACH x the object's longer side of it (further out, a part would merge with the
# shadow it casts). On the bench a shadow measured 0.0-0.3 x, the pale parts of white products
# 0.4-1.4 x.
PART_NOISE = 6.0
SHADE_MARGIN = 0.35
RIM_OPEN = 7
PART_REACH = 0.1
# ...and at least this fraction of the object's area: smaller ones are specks of a shadow
# tinted by the object's reflected light (0.2 % under a lemon).
PART_MIN_AREA = 0.005
# A shadow darkens the backdrop to no less than this fraction of its brightness; anything
# darker is the object's own colour.
SHADOW_FLOOR = 0.6


@dataclass(frozen=True)
class Backdrop:
    """Background colour as a quadratic in (u, v), the photo's coordinates scaled to [0, 1].

    `to_fit` maps pixel centres (x, y) of the image the backdrop is used on to (u, v): the
    photo itself at first, a crop of it after `in_crop`.
    """

    coef: np.ndarray  # (6, 3) float64: terms 1, u, v, u^2, uv, v^2 per RGB channel
    noise: float  # robust residual of the backdrop pixels at FIT_SIDE, levels of 255
    to_fit: np.ndarray  # (2, 3) affine

    def in_crop(self, crop_to_photo: np.ndarray) -> Backdrop:
        """The same backdrop seen from a crop; `crop_to_photo` (2 x 3) maps crop pixels to
        photo pixels (a shift, or a turn for a straightened crop)."""
        matrix = np.vstack([crop_to_photo, [0.0, 0.0, 1.0]])
        return Backdrop(self.coef, self.noise, self.to_fit @ matrix)

    def render(self, shape: tuple[int, int], factor: float = 1.0) -> np.ndarray:
        """Backdrop colour (float32 RGB, 0-255) on a grid of `shape` (rows, columns) whose
        pixels are `factor` x `factor` blocks of the image's pixels."""
        rows, cols = shape
        xs = (np.arange(cols, dtype=np.float64) + 0.5) * factor - 0.5
        ys = (np.arange(rows, dtype=np.float64) + 0.5) * factor - 0.5
        (a, b, c), (d, e, f) = self.to_fit
        u = a * xs[None, :] + b * ys[:, None] + c
        v = d * xs[None, :] + e * ys[:, None] + f
        out = np.empty((rows, cols, 3), np.float32)
        for channel in range(3):
            k = self.coef[:, channel]
            out[..., channel] = k[0] + u * (k[1] + k[3] * u + k[4] * v) + v * (k[2] + k[5] * v)
        return out


def fit_backdrop(rgb: np.ndarray, mask: np.ndarray) -> Backdrop | None:
    """The backdrop behind the subject of soft `mask` (`rgb`'s shape, or smaller: it is
    stretched over the photo), or None when the background is not a smooth studio backdrop."""
    height, width = rgb.shape[:2]
    size = fit_size(width, height, FIT_SIDE)
    small = shrink(rgb[..., :3], size).astype(np.float32)
    far = cv2.resize(mask.astype(np.float32, copy=False), size, interpolation=cv2.INTER_AREA)
    radius = max(2, round(CLEAR_MARGIN * max(size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    candidates = cv2.erode((far < FAR_LEVEL).view(np.uint8), kernel).view(bool)
    if candidates.mean() < MIN_BACKDROP_FRACTION:
        return None
    ys, xs = np.nonzero(candidates)
    # Photo pixel centres (x, y) -> (u, v) = ((x + 0.5) / width, (y + 0.5) / height).
    to_fit = np.array([[1.0 / width, 0.0, 0.5 / width], [0.0, 1.0 / height, 0.5 / height]])
    u = (xs + 0.5) / size[0]
    v = (ys + 0.5) / size[1]
    design = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)
    colours = small[ys, xs].astype(np.float64)
    inliers = np.ones(len(xs), bool)
    for _ in range(FIT_ROUNDS):
        coef = _least_squares(design[inliers], colours[inliers])
        if coef is None:  # candidates too few or too aligned to pin down a quadratic
            return None
        residual = np.linalg.norm(colours - design @ coef, axis=1)
        noise = 1.4826 * float(np.median(residual[inliers]))
        inliers = residual < max(3.0 * noise, 3.0)
    if noise > MAX_NOISE or inliers.mean() < MIN_INLIERS:
        return None
    return Backdrop(coef, noise, to_fit)


def _least_squares(design: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """Least-squares coefficients by the normal equations: six well-scaled terms (u, v in
    [0, 1]) spread over a backdrop are far from ill-conditioned, and this is 10x faster than
    an SVD of 40k rows. None when the candidates do not determine the six terms (a tiny or
    1-3 px thin image, candidates only in a few rows or at the corners): a quadratic through
    them says nothing about the rest of the photo."""
    gram = design.T @ design
    with np.errstate(divide="ignore", invalid="ignore"):  # no candidates at all: 0 / 0
        condition = np.linalg.cond(gram)
    if not condition <= MAX_CONDITION:
        return None
    return np.linalg.solve(gram, design.T @ values)


def unexplained_parts(
    image: np.ndarray, mask: np.ndarray, behind: np.ndarray, noise: float, shown: np.ndarray
) -> np.ndarray:
    """Where, next to the object of soft `mask` (>= 0.5), the `image` (float RGB in [0, 1])
    is neither the backdrop `behind` it nor a shadow on it: parts of the object the model
    half-missed, such as a white cap or a pale sole on a white sweep. `noise`: the backdrop's,
    levels of 255; `shown`: where the image is the backdrop (`shows_backdrop`). A bool map of
    `mask`'s shape."""
    core = (mask >= 0.5).view(np.uint8)
    if not core.any():
        return np.zeros(mask.shape, bool)
    level = _part_level(noise)
    far = ~shown
    # Anything beyond reach of the object is left alone (another prop, a reflection's tail).
    width, height = cv2.boundingRect(core)[2:]
    reach = cv2.distanceTransform(1 - core, cv2.DIST_L2, 3) <= PART_REACH * max(width, height)
    candidates = (far & reach & (core == 0)).view(np.uint8)
    opening = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (RIM_OPEN, RIM_OPEN))
    candidates = cv2.morphologyEx(candidates, cv2.MORPH_OPEN, opening)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    touching = np.zeros(count, bool)
    touching[labels[cv2.dilate(core, np.ones((3, 3), np.uint8)) > 0]] = True
    touching[0] = False
    touching &= stats[:, cv2.CC_STAT_AREA] >= PART_MIN_AREA * float(core.sum())
    # A shadow is the backdrop darkened: same colour, less light. A part is off that colour.
    # (Decided per region: a shadow's pixels are not told from a pale part's one by one.)
    shade = cv2.GaussianBlur(shadow_fit(image, behind)[1], (0, 0), 1.0)
    for label in np.flatnonzero(touching):
        touching[label] = np.median(shade[labels == label]) >= SHADE_MARGIN * level
    return touching[labels]


def shows_backdrop(image: np.ndarray, behind: np.ndarray, noise: float) -> np.ndarray:
    """Where `image` (float RGB in [0, 1]) is the backdrop `behind` it, to within PART_NOISE x
    its `noise` (levels of 255)."""
    distance = cv2.GaussianBlur(pixel_length(image - behind), (0, 0), 1.0)
    return distance <= _part_level(noise)


def in_shadow(image: np.ndarray, behind: np.ndarray, noise: float) -> np.ndarray:
    """Where `image` (float RGB in [0, 1]) is the backdrop `behind` it darkened, as by a
    shadow: by more than PART_NOISE x its `noise` (levels of 255), in no other hue, and no
    deeper than SHADOW_FLOOR."""
    gain, off_colour = shadow_fit(image, behind)
    level = _part_level(noise)
    darker = (1.0 - gain) * pixel_length(behind) > level
    return darker & (gain >= SHADOW_FLOOR) & (off_colour <= level)


def _part_level(noise: float) -> float:
    return PART_NOISE * max(noise, NOISE_FLOOR) / 255.0


def shadow_fit(image: np.ndarray, behind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the factor the backdrop `behind` is darkened (or brightened) by that best
    explains `image` (least squares over RGB), and the distance of the pixel from the backdrop
    darkened by it (clipped to [SHADOW_FLOOR, 1]: no deeper than a shadow goes)."""
    gain = np.einsum("hwc,hwc->hw", image, behind) / np.maximum(
        np.einsum("hwc,hwc->hw", behind, behind), 1e-6
    )
    shaded = behind * np.clip(gain, SHADOW_FLOOR, 1.0)[..., None]
    return gain, pixel_length(image - shaded)


def pixel_length(vectors: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean length of an H x W x 3 float image (np.linalg.norm, 3x faster)."""
    return np.sqrt(np.einsum("hwc,hwc->hw", vectors, vectors))

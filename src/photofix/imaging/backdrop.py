"""Studio backdrops: a smooth model of the background colour behind a product.

White sweeps, grey paper, seamless colour paper and light gradients are smooth: a quadratic in
x and y per colour channel explains them to within sensor noise, where wood, fabric or a shelf
leave residuals ten times larger. When the model fits, the matting knows the true background
colour at every pixel, which the saliency mask alone cannot tell it: an enclosed region of exact
backdrop colour is a hole (a mug's handle, a necklace's loop), the colour a soft edge mixes in
is known (exact de-spill), and a shadow is the backdrop darkened (`keep_shadow`).
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
        coef, *_ = np.linalg.lstsq(design[inliers], colours[inliers], rcond=None)
        residual = np.linalg.norm(colours - design @ coef, axis=1)
        noise = 1.4826 * float(np.median(residual[inliers]))
        inliers = residual < max(3.0 * noise, 3.0)
    if noise > MAX_NOISE or inliers.mean() < MIN_INLIERS:
        return None
    return Backdrop(coef, noise, to_fit)

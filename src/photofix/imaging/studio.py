"""Studio backdrops: a smooth model of the background colour behind a product, and what it
explains.

White sweeps, grey paper, seamless colour paper and light gradients are smooth: a quadratic in
x and y per colour channel explains them to within sensor noise, where wood, fabric or a shelf
leave residuals ten times larger. When the model fits (`fit_backdrop`), the background colour
is known at every pixel, which the saliency mask alone cannot tell:

- for the matting (`Backdrop.correct_prior`, which imaging/matting.py calls through its
  `KnownBackground` protocol): a region of the mask showing exactly the backdrop is a hole
  (a mug's handle, a necklace's loop), reopened with the shadow cast into it; a gap the mask
  leaves inside the object where no backdrop shows is filled; a thin strand left standing
  between holes keeps an alpha of its own; and the colour a soft edge mixes in is known;
- for the subject (`BackdropView`, which imaging/subject.py asks about a patch of the photo):
  where the photo plainly shows the backdrop, where it is the backdrop darkened (a shadow),
  and which parts next to the object are neither (`unexplained_parts`: what the model
  half-missed);
- for `keep_shadow` (`cast_shadow`): how much the object darkens the backdrop around it.

One unit throughout: colours, the backdrop's noise and every threshold on them are fractions
of full scale (float RGB in [0, 1]); thresholds measured in 8-bit levels are written n * LEVEL.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from photofix.imaging.geometry import fit_size, shrink
from photofix.imaging.matting import Prior, WorkGrid, check_alpha, to_alpha, to_float

# One level of an 8-bit channel, in the unit used here.
LEVEL = 1.0 / 255.0

# --- the fit ---------------------------------------------------------------------------------
# The fit runs on the photo shrunk to this long side: smooth models need few pixels.
FIT_SIDE = 256
# Pixels this far (fraction of FIT_SIDE) outside the mask's faint (> FAR_LEVEL) extent are
# backdrop candidates: out of reach of the product's soft rim and most of its shadow.
CLEAR_MARGIN = 0.03
FAR_LEVEL = 0.1
# A studio needs this fraction of the frame as candidates, and a robust residual (at
# FIT_SIDE) under MAX_NOISE; textures and clutter sit at 5-80 levels.
MIN_BACKDROP_FRACTION = 0.08
MAX_NOISE = 4.0 * LEVEL
# ...and the fit must explain this fraction of the candidates (the rest: shadows, props).
MIN_INLIERS = 0.8
# Each round refits on the candidates within INLIER_NOISE x the last round's noise of it (at
# least INLIER_FLOOR: a clean render has no noise to scale by).
FIT_ROUNDS = 3
INLIER_NOISE = 3.0
INLIER_FLOOR = 3.0 * LEVEL
# The noise is the residuals' median absolute value scaled to a Gaussian's sigma.
MAD_TO_SIGMA = 1.4826
# Normal equations worse conditioned than this leave the quadratic undetermined (well-spread
# candidates measure around 1e3; exactly rank-deficient ones 1e16 and up).
MAX_CONDITION = 1e10

# --- the shadow model: the backdrop darkened, same colour, less light -------------------------
# A shadow darkens the backdrop to no less than this fraction of its brightness; anything
# darker is the object's own colour.
SHADOW_FLOOR = 0.6
# A backdrop is taken as at least this bright when a shadow's gain is measured against it:
# darker, there is no light left for a shadow to take away.
BLACK_LEVEL = 1.0 * LEVEL

# --- holes the model's mask blurred shut (for the matting) -----------------------------------
# Backdrop-like means within HOLE_NOISE x the backdrop's noise (at least HOLE_FLOOR) of it; a
# hole is a region of the model's object at least MIN_HOLE_AREA of the working image whose
# median distance is within HOLE_MATCH x the backdrop's own (measured HOLE_CLEARANCE px clear
# of the object), or HOLE_SLACK above it on a nearly noiseless backdrop. Real holes (necklace
# loops, a carton's slot on a clean render) sit just under these; the band of a white mug where
# its shading passes through the sweep's colour sits well above.
HOLE_NOISE = 3.5
HOLE_FLOOR = 3.0 * LEVEL
MIN_HOLE_AREA = 0.0005
HOLE_MATCH = 1.15
HOLE_SLACK = 0.2 * LEVEL
HOLE_CLEARANCE = 7
# Working-grid regions fewer than this many pixels tell neither the backdrop's typical distance
# nor the holes' typical detail.
MIN_SAMPLE = 100
# A hole also takes the shadow cast into it, down to SHADOW_FLOOR x the backdrop's brightness
# and up to 2 x SHADOW_REACH working pixels from where the backdrop shows (a necklace lying
# flat casts its drop shadow 30-40 px into its loop).
SHADOW_REACH = 40

# --- gaps the model half-missed inside the object (for the matting) --------------------------
# A gap in the model's object (mask < 0.5, enclosed by it) is filled when at least KEY_SHARE of
# it is faint in the mask (>= KEY_FAINT) and further than KEY_NOISE x the backdrop's noise from
# it; its mask is raised to KEY_RAISE, so the guided filter still places the edges.
KEY_FAINT = 0.15
KEY_NOISE = 6.0
KEY_SHARE = 0.8
KEY_RAISE = 0.75

# --- strands standing between reopened holes (for the matting) -------------------------------
# A strand (chain, cable) is at most this wide (working px)...
STRAND_WIDTH = 4
# ...stands out from its blur by STRAND_CONTRAST x the holes' typical detail (pixel noise) and
# runs for at least STRAND_MIN_AREA px.
STRAND_CONTRAST = 4.0
STRAND_MIN_AREA = 30

# --- parts next to the object that the model half-missed (for the subject) -------------------
# Off the backdrop by more than PART_NOISE x its noise (taken as at least NOISE_FLOOR: a clean
# render has none at all), and off the backdrop darkened (a shadow) by more than SHADE_MARGIN x
# that; wider than the object's soft rim (RIM_OPEN px, for a ~1024 px image: the subject
# mask's), touching the object, and within PART_REACH x the object's longer side of it
# (further out, a part would merge with the shadow it casts). A shadow stays well under
# SHADE_MARGIN; the pale parts of white products reach it and beyond.
PART_NOISE = 6.0
NOISE_FLOOR = 0.86 * LEVEL
SHADE_MARGIN = 0.35
RIM_OPEN = 7
PART_REACH = 0.1
# ...and at least this fraction of the object's area: smaller ones are specks of a shadow
# tinted by the object's reflected light (a fraction of a percent under a lemon).
PART_MIN_AREA = 0.005

# --- the shadow kept for keep_shadow ---------------------------------------------------------
# Measured at this long side (whole blocks of the crop): a shadow is smooth.
SHADOW_SIDE = 1024
# Darkening under SHADOW_NOISE x the backdrop's noise is not shadow; a shadow reaches at most
# SHADOW_SPREAD x the object's longer side from it.
SHADOW_NOISE = 3.0
SHADOW_SPREAD = 0.3


@dataclass(frozen=True)
class Backdrop:
    """Background colour as a quadratic in (u, v), the photo's coordinates scaled to [0, 1].

    `to_fit` maps pixel centres (x, y) of the image the backdrop is used on to (u, v): the
    photo itself at first, a crop of it after `in_crop`.
    """

    coef: np.ndarray  # (6, 3) float64: terms 1, u, v, u^2, uv, v^2 per RGB channel, [0, 1]
    noise: float  # robust residual of the backdrop pixels at FIT_SIDE, in [0, 1] units
    to_fit: np.ndarray  # (2, 3) affine

    def in_crop(self, crop_to_photo: np.ndarray) -> Backdrop:
        """The same backdrop seen from a crop; `crop_to_photo` (2 x 3) maps crop pixels to
        photo pixels (a shift, or a turn for a straightened crop)."""
        matrix = np.vstack([crop_to_photo, [0.0, 0.0, 1.0]])
        return Backdrop(self.coef, self.noise, self.to_fit @ matrix)

    def render(self, shape: tuple[int, int], factor: float = 1.0) -> np.ndarray:
        """Backdrop colour (float32 RGB in [0, 1]) on a grid of `shape` (rows, columns) whose
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

    def view(self, rgb: np.ndarray) -> BackdropView:
        """The uint8 `rgb` this backdrop is seen from (its pixels are what `to_fit` maps),
        with the backdrop behind it."""
        return BackdropView(to_float(rgb), self.render(rgb.shape[:2]), self.noise)

    def correct_prior(self, image: np.ndarray, mask: np.ndarray, factor: int) -> Prior:
        """The model's soft `mask` corrected by what the backdrop explains of `image` (float
        RGB in [0, 1]), both on a grid of `factor` x `factor` blocks of the image this
        backdrop is seen from: faint parts that cannot be backdrop become object, solid parts
        that show the backdrop become holes, and the thin strands left standing between those
        holes get an alpha floor (0 elsewhere)."""
        view = BackdropView(image, self.render(mask.shape, factor), self.noise)
        return view.corrected_prior(mask)


def fit_backdrop(rgb: np.ndarray, mask: np.ndarray) -> Backdrop | None:
    """The backdrop behind the subject of soft `mask` (`rgb`'s shape, or smaller: it is
    stretched over the photo), or None when the background is not a smooth studio backdrop."""
    height, width = rgb.shape[:2]
    size = fit_size(width, height, FIT_SIDE)
    candidates = _candidates(mask, size)
    if candidates.mean() < MIN_BACKDROP_FRACTION:
        return None
    ys, xs = np.nonzero(candidates)
    u = (xs + 0.5) / size[0]
    v = (ys + 0.5) / size[1]
    design = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)
    colours = shrink(rgb[..., :3], size)[ys, xs].astype(np.float64) * LEVEL
    inliers = np.ones(len(xs), bool)
    for _ in range(FIT_ROUNDS):
        coef = _least_squares(design[inliers], colours[inliers])
        if coef is None:  # candidates too few or too aligned to pin down a quadratic
            return None
        residual = np.linalg.norm(colours - design @ coef, axis=1)
        noise = MAD_TO_SIGMA * float(np.median(residual[inliers]))
        inliers = residual < max(INLIER_NOISE * noise, INLIER_FLOOR)
    if noise > MAX_NOISE or inliers.mean() < MIN_INLIERS:
        return None
    # Photo pixel centres (x, y) -> (u, v) = ((x + 0.5) / width, (y + 0.5) / height).
    to_fit = np.array([[1.0 / width, 0.0, 0.5 / width], [0.0, 1.0 / height, 0.5 / height]])
    return Backdrop(coef, noise, to_fit)


def _candidates(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Where, on a `size` grid, the photo is clear of the subject of soft `mask`: backdrop,
    if anything is."""
    far = cv2.resize(mask.astype(np.float32, copy=False), size, interpolation=cv2.INTER_AREA)
    radius = max(2, round(CLEAR_MARGIN * max(size)))
    return cv2.erode((far < FAR_LEVEL).view(np.uint8), _disk(radius)).view(bool)


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


@dataclass(frozen=True)
class BackdropView:
    """A patch of the photo (`image`) and the backdrop `behind` it, float32 RGB in [0, 1] on
    the same grid, with the backdrop's `noise`: the questions the backdrop answers there."""

    image: np.ndarray
    behind: np.ndarray
    noise: float

    def distance(self) -> np.ndarray:
        """How far each pixel is from the backdrop (lightly smoothed: noise averages out)."""
        return cv2.GaussianBlur(_length(self.image - self.behind), (0, 0), 1.0)

    def shows_backdrop(self) -> np.ndarray:
        """Where the photo is the backdrop, to within PART_NOISE x its noise."""
        return self.distance() <= self._part_level()

    def in_shadow(self) -> np.ndarray:
        """Where the photo is the backdrop darkened, as by a shadow: by more than PART_NOISE
        x its noise, in no other hue, and no deeper than SHADOW_FLOOR."""
        gain, off_colour = self.shadow_fit()
        level = self._part_level()
        darker = (1.0 - gain) * _length(self.behind) > level
        return darker & (gain >= SHADOW_FLOOR) & (off_colour <= level)

    def shadow_fit(self, deepest: float = SHADOW_FLOOR) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel, the factor the backdrop is darkened (or brightened) by that best
        explains the photo (least squares over RGB), and the distance of the pixel from the
        backdrop darkened by it (clipped to [`deepest`, 1]: no deeper than a shadow goes)."""
        image, behind = self.image, self.behind
        brightness = np.einsum("hwc,hwc->hw", behind, behind)
        gain = np.einsum("hwc,hwc->hw", image, behind) / np.maximum(brightness, BLACK_LEVEL**2)
        shaded = behind * np.clip(gain, deepest, 1.0)[..., None]
        return gain, _length(image - shaded)

    def unexplained_parts(self, mask: np.ndarray, shown: np.ndarray) -> np.ndarray:
        """Where, next to the object of soft `mask` (>= 0.5, this view's grid), the photo is
        neither the backdrop nor a shadow on it: parts of the object the model half-missed,
        such as a white cap or a pale sole on a white sweep. `shown`: `shows_backdrop()`.
        A bool map of `mask`'s shape."""
        core = (mask >= 0.5).view(np.uint8)
        if not core.any():
            return np.zeros(mask.shape, bool)
        # Anything beyond reach of the object is left alone (another prop, a reflection's tail).
        width, height = cv2.boundingRect(core)[2:]
        reach = cv2.distanceTransform(1 - core, cv2.DIST_L2, 3) <= PART_REACH * max(width, height)
        candidates = (~shown & reach & (core == 0)).view(np.uint8)
        opening = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (RIM_OPEN, RIM_OPEN))
        candidates = cv2.morphologyEx(candidates, cv2.MORPH_OPEN, opening)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
        if count <= 1:
            return np.zeros(mask.shape, bool)
        touching = np.zeros(count, bool)
        touching[labels[cv2.dilate(core, np.ones((3, 3), np.uint8)) > 0]] = True
        touching[0] = False
        touching &= stats[:, cv2.CC_STAT_AREA] >= PART_MIN_AREA * float(core.sum())
        # A part is off the shadow model's colour. (Decided per region: a shadow's pixels are
        # not told from a pale part's one by one.)
        shade = cv2.GaussianBlur(self.shadow_fit()[1], (0, 0), 1.0)
        level = self._part_level()
        for label in np.flatnonzero(touching):
            touching[label] = np.median(shade[labels == label]) >= SHADE_MARGIN * level
        return touching[labels]

    def corrected_prior(self, mask: np.ndarray) -> Prior:
        """`Backdrop.correct_prior` on this view's grid."""
        distance = self.distance()
        # How much each pixel stands out from its own blur: a shadow has no detail of its own.
        detail = _length(self.image - cv2.GaussianBlur(self.image, (0, 0), 2.0))
        filled = _fill_unexplained(mask, distance, self.noise)
        opened = _reopen_holes(self, filled, distance, detail)
        reopened = (filled >= 0.5) & (opened == 0.0)
        return Prior(opened, _strands(self, opened, reopened, distance, detail))

    def _part_level(self) -> float:
        return PART_NOISE * max(self.noise, NOISE_FLOOR)


def part_room(longer_side: int) -> int:
    """How far (px of a ~1024 px grid) from an object of `longer_side` px the parts
    `BackdropView.unexplained_parts` adds may reach."""
    return int(np.ceil(PART_REACH * longer_side)) + RIM_OPEN


def cast_shadow(rgb: np.ndarray, alpha: np.ndarray, backdrop: Backdrop) -> np.ndarray:
    """The object's shadow on a studio backdrop as a uint8 alpha of the image's size: how much
    darker than the backdrop each pixel near the object is, where it has the backdrop's
    chromaticity. Black at this alpha over the backdrop gives the photo back."""
    check_alpha(rgb, alpha)
    grid = WorkGrid.for_shape(alpha.shape, SHADOW_SIDE)
    behind = backdrop.render(grid.shape, grid.factor)
    view = BackdropView(to_float(grid.down(rgb)), behind, backdrop.noise)
    solid = (grid.down(alpha) >= 128).view(np.uint8)
    if not solid.any():
        return np.zeros_like(alpha)
    ys, xs = np.nonzero(solid)
    reach = SHADOW_SPREAD * max(np.ptp(xs), np.ptp(ys), 1)
    near = cv2.distanceTransform(1 - solid, cv2.DIST_L2, 5) <= reach
    darkness = cv2.GaussianBlur(_darkness(view) * near, (0, 0), 1.0)
    return to_alpha(cv2.resize(darkness, alpha.shape[::-1], interpolation=cv2.INTER_LINEAR))


def _darkness(view: BackdropView) -> np.ndarray:
    """How much of the backdrop's light each pixel of `view` lacks, in [0, 1]: 0 within the
    backdrop's noise and wherever the pixel is of another hue (no shadow: the object). Unlike
    the shadow model's, this gain may go below SHADOW_FLOOR: a deep shadow is kept too."""
    noise = view.noise
    gain, off_colour = view.shadow_fit(deepest=0.0)
    gain = np.clip(gain, 0.0, 1.0)
    floor = SHADOW_NOISE * noise / np.maximum(_length(view.behind), BLACK_LEVEL)
    darkness = np.clip((1.0 - gain - floor) / np.maximum(1.0 - floor, 1e-3), 0.0, 1.0)
    darkness[off_colour > max(SHADOW_NOISE * noise, HOLE_FLOOR)] = 0.0
    return darkness


# --- what the backdrop says about the model's mask, on the matting's working grid -------------


def _fill_unexplained(prior: np.ndarray, distance: np.ndarray, noise: float) -> np.ndarray:
    """Fill the gaps the model leaves inside an object where no backdrop shows: a white car
    or shoe on a light sweep, whose body the low-resolution model half misses. A gap is filled
    when nearly all of it is faint in the model yet clearly not the backdrop; a gap showing
    the backdrop (a mug's handle) stays, and so does anything open to the outside (a contact
    shadow differs from the backdrop too)."""
    level = KEY_NOISE * max(noise, HOLE_FLOOR / HOLE_NOISE)
    gaps = (prior < 0.5).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(gaps, connectivity=4)
    if count <= 2:
        return prior
    unexplained = ((prior >= KEY_FAINT) & (distance > level)).ravel()
    share = np.bincount(labels.ravel(), weights=unexplained, minlength=count)
    share /= np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
    filled = share >= KEY_SHARE
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    filled[np.unique(border)] = False
    filled[0] = False  # the object itself
    if not filled.any():
        return prior
    return np.where(filled[labels], np.maximum(prior, np.float32(KEY_RAISE)), prior)


def _reopen_holes(
    view: BackdropView, prior: np.ndarray, distance: np.ndarray, detail: np.ndarray
) -> np.ndarray:
    """Clear the parts of the model's object that show the backdrop itself: its colour there,
    and its noise (a white label on a white sweep differs from it by its shading, so its
    typical distance to the backdrop is well above the backdrop's own)."""
    level = _hole_level(view.noise)
    clear = cv2.erode((prior < 0.1).view(np.uint8), _disk(HOLE_CLEARANCE)).view(bool)
    typical = float(np.median(distance[clear])) if clear.sum() >= MIN_SAMPLE else view.noise
    candidates = ((distance < level) & (prior >= 0.5)).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=4)
    min_area = MIN_HOLE_AREA * prior.size
    match = max(HOLE_MATCH * typical, typical + HOLE_SLACK)
    holes = np.zeros(count, bool)
    for label in np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= min_area):
        if label:
            holes[label] = np.median(distance[labels == label]) <= match
    if not holes.any():
        return prior
    hole = _with_shadows(holes[labels], view, detail, level, prior >= 0.5)
    return np.where(hole, np.float32(0.0), prior)


def _with_shadows(
    hole: np.ndarray, view: BackdropView, detail: np.ndarray, level: float, inside: np.ndarray
) -> np.ndarray:
    """Grow holes over the shadow the object casts into them: the backdrop darkened (same
    chromaticity, at least SHADOW_FLOOR of its brightness) and smooth, unlike a thin dark
    strand of the object itself, which stands out from its own blur."""
    gain, off_colour = view.shadow_fit()
    shadow = (off_colour < level) & (detail < level) & (gain >= SHADOW_FLOOR) & inside
    grown = hole.view(np.uint8)
    reach = shadow.view(np.uint8) | grown
    for _ in range(SHADOW_REACH):
        grown = cv2.dilate(grown, np.ones((5, 5), np.uint8)) & reach
    return grown.view(bool)


def _strands(
    view: BackdropView,
    prior: np.ndarray,
    reopened: np.ndarray,
    distance: np.ndarray,
    detail: np.ndarray,
) -> np.ndarray:
    """The alpha of the parts of the object at most STRAND_WIDTH px thin, next to a reopened
    hole, that differ from the backdrop and stand out from their own blur well above the
    pixel noise seen in the holes (a shadow does not); specks are left out."""
    if reopened.sum() < MIN_SAMPLE:
        return np.zeros_like(prior)
    level = _hole_level(view.noise)
    # The holes' typical detail is pixel noise; a sample of them tells it.
    sharp = max(level, STRAND_CONTRAST * float(np.median(detail[reopened][::7])))
    marked = ((prior >= 0.5) & (distance > level) & (detail > sharp)).view(np.uint8)
    wide = cv2.morphologyEx(marked, cv2.MORPH_OPEN, _disk(STRAND_WIDTH // 2 + 1))
    near = cv2.dilate(reopened.view(np.uint8), _disk(STRAND_WIDTH))
    thin = (marked > wide) & (near > 0)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(thin.view(np.uint8), 8)
    lut = (stats[:, cv2.CC_STAT_AREA] >= STRAND_MIN_AREA).astype(np.float32)
    lut[0] = 0.0
    strand = cv2.dilate(lut[labels], np.ones((3, 3), np.uint8))
    return strand * _strand_contrast(view.image, strand)


def _strand_contrast(image: np.ndarray, strand: np.ndarray) -> np.ndarray:
    """How far each pixel is from what lies around the `strand` (the backdrop, or the shadow
    on it) against the strand's own core, in [0, 1]: its anti-aliased sides come out soft."""
    around = np.float32(1.0) - strand
    sigma = float(STRAND_WIDTH)
    behind_it = (
        cv2.GaussianBlur(image * around[..., None], (0, 0), sigma)
        / np.maximum(cv2.GaussianBlur(around, (0, 0), sigma), 1e-3)[..., None]
    )
    contrast = _length(image - behind_it)
    core = cv2.dilate(contrast, np.ones((2 * STRAND_WIDTH + 1,) * 2, np.uint8))
    return np.clip(contrast / np.maximum(core, 1e-6), 0.0, 1.0)


def _hole_level(noise: float) -> float:
    return max(HOLE_NOISE * noise, HOLE_FLOOR)


def _length(vectors: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean length of an H x W x 3 float image (3x faster than np.linalg.norm)."""
    return np.sqrt(np.einsum("hwc,hwc->hw", vectors, vectors))


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))

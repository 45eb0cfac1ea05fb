"""Background removal: refine a coarse saliency mask into a clean alpha matte, de-spill colours.

The saliency model sees the image at ~320 px, so its mask is soft and blocky at full
resolution. `refine_alpha` snaps it to the real object edges with a colour guided filter
(He et al.) solved at a working resolution and evaluated at full resolution only in the thin
band where the matte is actually soft, so 12 MP costs about as much as 1 MP.
`estimate_foreground` removes background colour bleeding from those soft edge pixels with
blur-fusion (Forte & Pitie, "Approximate fast foreground colour estimation", 2021), computed
the same way: statistics at working resolution, the per-pixel update at full resolution.

A background whose colour is known at every pixel (`KnownBackground`: a studio backdrop,
imaging/studio.py) may correct the mask the matte starts from (`Prior`: holes, gaps, an alpha
floor for thin strands) and gives the exact colour a soft edge mixes in. How it is known is no
concern of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

# Target long side of the working resolution (the image is area-averaged by a whole factor,
# which is 3x faster than an arbitrary one). The model mask carries ~320 px of information;
# ~1000 px leaves the image room to sharpen it while keeping every filter pass cheap.
WORK_SIDE = 1024
# Blur-fusion statistics are smooth colour averages: a coarser grid is enough.
FOREGROUND_SIDE = 768
# Guided filter window radius (at a 1024 px working side; scaled with it) and regulariser.
# eps is for colours in [0, 1]: small enough to follow real edges, large enough not to print
# texture into the alpha.
GUIDE_RADIUS = 6
GUIDE_EPS = 2e-3
# The model mask's ramp is steepened by this factor around 0.5 before filtering: its width
# comes from the model's low resolution, not from the object, and would print as a haze.
PRIOR_SHARPEN = 2.0
# The filtered mask is stretched from [LOW, HIGH] to [0, 1]: the guided filter leaves the
# interior and background a few percent off 0/1; they must end up exactly solid / clear.
STRETCH_LOW = 0.2
STRETCH_HIGH = 0.8
# The model mask is trusted outright this far from its 0.5 contour (px at a 1024 side).
TRUST_MARGIN = 8
# Parts of the matte smaller than this fraction of the largest part are specks.
MIN_PART_FRACTION = 0.005
# Enclosed background smaller than this fraction of the object is noise, not a real hole.
MAX_HOLE_FRACTION = 0.0002
# With a known background, the exact foreground colour takes over from blur-fusion's estimate
# between these alphas.
EXACT_FROM = 0.15
EXACT_FULL = 0.5
# Alpha within this distance of 0 or 255 snaps to it (removes a faint haze and pinholes).
SNAP = 4


@dataclass(frozen=True)
class Prior:
    """The soft [0, 1] mask a matte starts from, on the working grid, and an alpha `floor`
    the matte may not go under there (None: no floor)."""

    mask: np.ndarray
    floor: np.ndarray | None = None


class KnownBackground(Protocol):
    """A background whose colour is known at every pixel of the image being matted (a studio
    backdrop: imaging/studio.py's `Backdrop`)."""

    def render(self, shape: tuple[int, int], factor: float = 1.0) -> np.ndarray:
        """Its colour, float32 RGB in [0, 1], on a grid of `shape` (rows, columns) whose
        pixels are `factor` x `factor` blocks of the image's pixels."""
        ...

    def correct_prior(self, image: np.ndarray, mask: np.ndarray, factor: int) -> Prior:
        """The model's soft `mask` corrected by what the background explains of `image`
        (float32 RGB in [0, 1]), both on such a grid."""
        ...


def refine_alpha(
    rgb: np.ndarray, coarse: np.ndarray, background: KnownBackground | None = None
) -> np.ndarray:
    """A full-resolution uint8 alpha from a soft [0, 1] mask of the same size.

    Solid 255 inside, 0 in the background, soft only along the object's edge; small
    disconnected specks removed, thin attached parts kept. A known `background` corrects the
    mask first (regions of it that show the background are holes).
    """
    if coarse.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {coarse.shape} does not match image {rgb.shape[:2]}")
    grid = WorkGrid.for_shape(coarse.shape, WORK_SIDE)
    guide = to_float(grid.down(rgb))
    prior = Prior(grid.down(coarse.astype(np.float32, copy=False)))
    if background is not None:
        prior = background.correct_prior(guide, prior.mask, grid.factor)
    radius = grid.scaled(GUIDE_RADIUS)

    # Two rounds: the first snaps the model's edge to the image, the second re-fits the now
    # crisper matte and removes most of the haze the first leaves over flat background. The
    # second round's coefficients are the ones evaluated at full resolution.
    alpha = _stretch(_snap_to_edges(guide, prior.mask, radius))
    coef = _guided_coefficients(guide, alpha, radius)
    alpha = _stretch(_apply_coefficients(coef, guide))
    alpha = _trust_prior(alpha, prior.mask, grid.scaled(TRUST_MARGIN))
    keep = _significant_parts(alpha, 2 * radius)
    alpha = _fill_small_holes(alpha * keep)
    if prior.floor is not None:
        # The filter fades a thin strand of low contrast once the background is cleared on
        # both sides of it (a grey chain on a grey sweep), and its broken links would go as
        # specks; the floor says it is object.
        alpha = np.maximum(alpha, prior.floor)
    if grid.factor == 1:
        return to_alpha(alpha)
    return _upsample_alpha(rgb, alpha, coef, keep, grid, prior.floor)


def estimate_foreground(
    rgb: np.ndarray, alpha: np.ndarray, background: KnownBackground | None = None
) -> np.ndarray:
    """The foreground colour of each pixel, with the background's colour taken out of the
    semi-transparent edge pixels (where it shows as a halo on any new background). With a
    known `background` that colour is known exactly instead of estimated.

    Opaque pixels are returned unchanged; fully transparent ones are left as they are (their
    colour is irrelevant, `cutout` clears it).
    """
    check_alpha(rgb, alpha)
    out = rgb.copy()
    # alpha - 1 wraps 0 to 255, so one comparison finds 1..254: the soft band.
    index = np.flatnonzero((alpha.ravel() - np.uint8(1)) < 254)
    if len(index) == 0:
        return out
    grid = WorkGrid.for_shape(alpha.shape, FOREGROUND_SIDE)
    image = to_float(grid.down(rgb))
    a = grid.down(alpha).astype(np.float32) * (1.0 / 255.0)
    behind = None if background is None else background.render(grid.shape, grid.factor)
    fg_mean, bg_mean = _blur_fusion_means(image, a, behind)

    ys, xs = np.divmod(index, alpha.shape[1])
    f, b = _sample([fg_mean, bg_mean], xs, ys, grid)
    a_px = alpha.ravel()[index].astype(np.float32)[:, None] * (1.0 / 255.0)
    i_px = out.reshape(-1, 3)[index].astype(np.float32) * (1.0 / 255.0)
    # Forte & Pitie's update: give the compositing residual to the foreground in proportion
    # to alpha, so pixels that are mostly background borrow their colour from the object.
    fg = f + a_px * (i_px - a_px * f - (1.0 - a_px) * b)
    if background is not None:
        # The background is known, so the compositing equation solves for the foreground
        # outright; trusted where the object dominates (noise grows as 1 / alpha).
        exact = np.clip((i_px - (1.0 - a_px) * b) / np.maximum(a_px, 1e-3), 0.0, 1.0)
        trust = np.clip((a_px - EXACT_FROM) * (1.0 / (EXACT_FULL - EXACT_FROM)), 0.0, 1.0)
        fg = trust * exact + (1.0 - trust) * fg
    out.reshape(-1, 3)[index] = _to_uint8(fg)
    return out


def cutout(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGBA image; fully transparent pixels get colour 0 (smaller files, no hidden content)."""
    check_alpha(rgb, alpha)
    rgba = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2RGBA)
    rgba[..., 3] = alpha
    return cv2.bitwise_and(rgba, rgba, mask=(alpha > 0).view(np.uint8))


def with_shadow(rgba: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """The cut-out over a black shadow of alpha `shadow` (object colour wins where opaque)."""
    alpha = rgba[..., 3].astype(np.float32) * (1.0 / 255.0)
    cast = shadow.astype(np.float32) * (1.0 / 255.0)
    total = alpha + (1.0 - alpha) * cast
    out = rgba.copy()
    share = np.divide(alpha, total, out=np.zeros_like(alpha), where=total > 0)
    out[..., :3] = np.clip(rgba[..., :3] * share[..., None] + 0.5, 0, 255).astype(np.uint8)
    out[..., 3] = _to_uint8(total)
    return out


def composite(rgba: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """The cut-out laid over a solid `colour`: an opaque RGB image. Opaque and transparent
    pixels are copied; only the soft ones are blended, in float (a float copy of a whole
    16 MP image would take 200 MB)."""
    background = np.asarray(colour, np.float32)
    out = np.empty((*rgba.shape[:2], 3), np.uint8)
    out[:] = np.clip(background + 0.5, 0, 255).astype(np.uint8)
    alpha = cv2.extractChannel(rgba, 3)
    cv2.copyTo(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), (alpha == 255).view(np.uint8), out)
    # alpha - 1 wraps 0 to 255, so one comparison finds 1..254: the soft ones.
    index = np.flatnonzero((alpha.ravel() - np.uint8(1)) < 254)
    a = alpha.ravel()[index].astype(np.float32)[:, None] / 255.0
    soft = rgba.reshape(-1, 4)[index, :3].astype(np.float32) * a + background * (1.0 - a)
    out.reshape(-1, 3)[index] = np.clip(soft + 0.5, 0, 255).astype(np.uint8)
    return out


@dataclass(frozen=True)
class WorkGrid:
    """A working grid whose pixels are whole `factor` x `factor` blocks of the full image
    (a remainder of fewer than `factor` rows / columns joins the last block)."""

    factor: int
    full: tuple[int, int]  # full (height, width)

    @classmethod
    def for_shape(cls, shape: tuple[int, ...], side: int) -> WorkGrid:
        return cls(max(1, round(max(shape[:2]) / side)), (shape[0], shape[1]))

    @property
    def shape(self) -> tuple[int, int]:
        return max(1, self.full[0] // self.factor), max(1, self.full[1] // self.factor)

    def scaled(self, length: int) -> int:
        """A length given for a 1024 px working side, at this grid's size (at least 2)."""
        return max(2, round(length * max(self.shape) / 1024))

    def down(self, image: np.ndarray) -> np.ndarray:
        if self.factor == 1:
            return image
        h, w = self.shape
        whole = image[: h * self.factor, : w * self.factor]
        return cv2.resize(whole, (w, h), interpolation=cv2.INTER_AREA)

    def up_nearest(self, small: np.ndarray) -> np.ndarray:
        h, w = self.shape
        up = cv2.resize(small, (w * self.factor, h * self.factor), interpolation=cv2.INTER_NEAREST)
        up = up[: self.full[0], : self.full[1]]  # only differs for images thinner than a block
        bottom, right = self.full[0] - up.shape[0], self.full[1] - up.shape[1]
        if bottom or right:
            up = cv2.copyMakeBorder(up, 0, bottom, 0, right, cv2.BORDER_REPLICATE)
        return up


# --- guided filter -------------------------------------------------------------------------


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    k = 2 * radius + 1
    return cv2.boxFilter(x, -1, (k, k), normalize=True, borderType=cv2.BORDER_REFLECT)


def _guided_coefficients(
    guide: np.ndarray, p: np.ndarray, radius: int, eps: float = GUIDE_EPS
) -> np.ndarray:
    """Window-averaged coefficients (a_r, a_g, a_b, b) of the colour guided filter, stacked as
    4 channels: the output at any resolution is a . I + b with the guide I there."""
    mean_i = _box(guide, radius)
    mean_p = _box(p, radius)
    cov_ip = _box(guide * p[..., None], radius) - mean_i * mean_p[..., None]
    # Covariance of the three colour channels in each window, plus eps on the diagonal.
    var = {}
    for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)):
        v = _box(guide[..., i] * guide[..., j], radius) - mean_i[..., i] * mean_i[..., j]
        var[i, j] = v + eps if i == j else v
    a = _solve_sym3(var, cov_ip)
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return _box(np.dstack([a, b]).astype(np.float32), radius)


def _snap_to_edges(guide: np.ndarray, prior: np.ndarray, radius: int) -> np.ndarray:
    """First round, as He's fast guided filter: coefficients on a half-size grid (the model's
    edge is blurry anyway), applied with the working-resolution guide."""
    steep = np.clip((prior - 0.5) * PRIOR_SHARPEN + 0.5, 0.0, 1.0)
    height, width = prior.shape
    half = (max(1, width // 2), max(1, height // 2))
    coef = _guided_coefficients(
        cv2.resize(guide, half, interpolation=cv2.INTER_AREA),
        cv2.resize(steep, half, interpolation=cv2.INTER_AREA),
        max(2, radius // 2),
    )
    coef = cv2.resize(coef, (width, height), interpolation=cv2.INTER_LINEAR)
    return _apply_coefficients(coef, guide)


def _solve_sym3(s: dict[tuple[int, int], np.ndarray], rhs: np.ndarray) -> np.ndarray:
    """Per-pixel solve of a symmetric 3x3 system via the adjugate (vectorised, no loops)."""
    c00 = s[1, 1] * s[2, 2] - s[1, 2] * s[1, 2]
    c01 = s[0, 2] * s[1, 2] - s[0, 1] * s[2, 2]
    c02 = s[0, 1] * s[1, 2] - s[0, 2] * s[1, 1]
    c11 = s[0, 0] * s[2, 2] - s[0, 2] * s[0, 2]
    c12 = s[0, 2] * s[0, 1] - s[0, 0] * s[1, 2]
    c22 = s[0, 0] * s[1, 1] - s[0, 1] * s[0, 1]
    det = s[0, 0] * c00 + s[0, 1] * c01 + s[0, 2] * c02
    r0, r1, r2 = rhs[..., 0], rhs[..., 1], rhs[..., 2]
    return (
        np.dstack(
            [
                c00 * r0 + c01 * r1 + c02 * r2,
                c01 * r0 + c11 * r1 + c12 * r2,
                c02 * r0 + c12 * r1 + c22 * r2,
            ]
        )
        / det[..., None]
    )


def _apply_coefficients(coef: np.ndarray, guide: np.ndarray) -> np.ndarray:
    return np.einsum("...c,...c->...", coef[..., :3], guide) + coef[..., 3]


# --- clean-up at working resolution --------------------------------------------------------


def _stretch(q: np.ndarray) -> np.ndarray:
    return np.clip((q - STRETCH_LOW) * (1.0 / (STRETCH_HIGH - STRETCH_LOW)), 0.0, 1.0)


def _trust_prior(alpha: np.ndarray, prior: np.ndarray, margin: int) -> np.ndarray:
    """Deep inside the model's object it is solid, far outside it is clear: the guided filter
    may only move the edge, never punch holes in a label that matches the backdrop."""
    kernel = _disk(margin)
    inside = cv2.erode((prior >= 0.5).view(np.uint8), kernel).view(bool)
    outside = cv2.erode((prior < 0.5).view(np.uint8), kernel).view(bool)
    alpha[inside] = 1.0
    alpha[outside] = 0.0
    return alpha


def _significant_parts(alpha: np.ndarray, rim: int) -> np.ndarray:
    """A 0/1 float map of the parts worth keeping, with their soft rims: components of the
    opaque core smaller than MIN_PART_FRACTION of the largest are dropped with their halo.
    Thin parts attached to the object are part of its component, so they stay."""
    core = (alpha >= 0.5).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    if count <= 1:
        return np.zeros_like(alpha)
    areas = stats[1:, cv2.CC_STAT_AREA]
    lut = np.zeros(count, np.uint8)
    lut[np.flatnonzero(areas >= MIN_PART_FRACTION * areas.max()) + 1] = 1
    # The soft rim around a kept part belongs to it; reach out past the guided filter window.
    return cv2.dilate(lut[labels], _disk(rim)).astype(np.float32)


def _fill_small_holes(alpha: np.ndarray) -> np.ndarray:
    clear = (alpha < 0.5).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(clear, connectivity=4)
    if count <= 2:
        return alpha
    height, width = alpha.shape
    x, y, w, h, area = (stats[:, i] for i in range(5))
    inner = (x > 0) & (y > 0) & (x + w < width) & (y + h < height)
    holes = inner & (area <= MAX_HOLE_FRACTION * float((alpha >= 0.5).sum()))
    holes[0] = False
    if holes.any():
        alpha = np.where(holes[labels], np.float32(1.0), alpha)
    return alpha


# --- back to full resolution ---------------------------------------------------------------


def _upsample_alpha(
    rgb: np.ndarray,
    alpha: np.ndarray,
    coef: np.ndarray,
    keep: np.ndarray,
    grid: WorkGrid,
    floor: np.ndarray | None = None,
) -> np.ndarray:
    """Evaluate the guided filter at full resolution where the matte is soft; elsewhere the
    working-resolution matte is exactly 0 or 1 and nearest upsampling is exact."""
    soft = ((alpha > 0.0) & (alpha < 1.0)).view(np.uint8)
    # One working pixel of slack: the full-resolution edge may sit anywhere inside it.
    band = grid.up_nearest(cv2.dilate(soft, np.ones((3, 3), np.uint8)))
    out = grid.up_nearest((alpha >= 0.5).view(np.uint8) * np.uint8(255))
    index = np.flatnonzero(band.ravel())
    if len(index) == 0:
        return out
    ys, xs = np.divmod(index, out.shape[1])
    # keep is 0/1 with a hard edge; sampling it bilinearly gives the dropped specks' rims a
    # soft fade instead of a blocky cut.
    coef_px, keep_px = _sample([coef, keep], xs, ys, grid)
    colours = rgb[ys, xs].astype(np.float32) * (1.0 / 255.0)
    q = np.einsum("nc,nc->n", coef_px[:, :3], colours) + coef_px[:, 3]
    q = _stretch(q) * np.clip(keep_px[:, 0], 0.0, 1.0)
    if floor is not None:
        q = np.maximum(q, _sample([floor], xs, ys, grid)[0][:, 0])
    out.ravel()[index] = to_alpha(q)
    return out


def _sample(
    maps: list[np.ndarray], xs: np.ndarray, ys: np.ndarray, grid: WorkGrid
) -> list[np.ndarray]:
    """Bilinear samples of working-grid float maps (each H x W or H x W x c, c <= 4) at the
    full-resolution pixel centres (xs, ys); one (N, c) array per map."""
    count = len(xs)
    # cv2.remap wants maps under 32767 px per side: lay the points out in rows of 1024.
    cols = 1024
    rows = -(-count // cols)
    map_x = np.zeros(rows * cols, np.float32)
    map_y = np.zeros(rows * cols, np.float32)
    map_x[:count] = (xs + 0.5) * (1.0 / grid.factor) - 0.5
    map_y[:count] = (ys + 0.5) * (1.0 / grid.factor) - 0.5
    map_x, map_y = map_x.reshape(rows, cols), map_y.reshape(rows, cols)
    out = []
    for image in maps:
        sampled = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out.append(sampled.reshape(rows * cols, -1)[:count])
    return out


# --- foreground colour ---------------------------------------------------------------------


def _blur_fusion_means(
    image: np.ndarray, alpha: np.ndarray, behind: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Local mean foreground and background colours after Forte & Pitie's two passes (a wide
    window to reach solid colour across the edge band, then a narrow one for local detail).
    A known background (`behind`) replaces their estimate of it."""
    side = max(image.shape[:2])
    wide = max(9, round(side * 0.09))
    narrow = max(3, round(side / 170))
    a = alpha[..., None]
    fg_mean, bg_mean = _blur_fusion_means_pass(image, image, a, wide)
    if behind is not None:
        bg_mean = behind
    fg = np.clip(fg_mean + a * (image - a * fg_mean - (1.0 - a) * bg_mean), 0.0, 1.0)
    fg_mean, bg_mean = _blur_fusion_means_pass(fg, bg_mean, a, narrow)
    return fg_mean, bg_mean if behind is None else behind


def _blur_fusion_means_pass(
    fg: np.ndarray, bg: np.ndarray, a: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    k = (window, window)
    blurred_a = cv2.blur(a[..., 0], k)[..., None]
    fg_mean = cv2.blur(fg * a, k) / (blurred_a + 1e-5)
    bg_mean = cv2.blur(bg * (1.0 - a), k) / (1.0 - blurred_a + 1e-5)
    return fg_mean.astype(np.float32), bg_mean.astype(np.float32)


# --- small helpers -------------------------------------------------------------------------


def check_alpha(rgb: np.ndarray, alpha: np.ndarray) -> None:
    """Refuse (ValueError) an alpha that is not uint8 of `rgb`'s size."""
    if alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]:
        raise ValueError(
            f"alpha must be uint8 of the image's size {rgb.shape[:2]}, got {alpha.dtype} "
            f"{alpha.shape}"
        )


def to_float(rgb: np.ndarray) -> np.ndarray:
    """uint8 colours as float32 in [0, 1]."""
    return rgb.astype(np.float32) * np.float32(1.0 / 255.0)


def to_alpha(x: np.ndarray) -> np.ndarray:
    """A [0, 1] float map as a uint8 alpha, within SNAP of 0 or 255 snapped to it."""
    return _snap(_to_uint8(x))


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _snap(alpha: np.ndarray) -> np.ndarray:
    alpha[alpha <= SNAP] = 0
    alpha[alpha >= 255 - SNAP] = 255
    return alpha


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))

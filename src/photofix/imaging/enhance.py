"""Scanner look for photographed documents: even lighting, clean paper, crisp ink, colour kept.

The paper's colour under the photo's light (its "background") is estimated on a small copy:
a morphological closing wipes out the ink (text, lines, stamps are thin), pictures and other
large printed areas are recognised by the texture they keep after closing and filled in from
the surrounding paper. The background is upscaled once; dividing the photo by it removes
shadows, gradients and the paper's tint in one step while ink keeps its colour relative to the
paper. White and black points come from the flattened paper's own statistics, and a gentle
unsharp mask crisps the ink. Paper that is clearly coloured (a sticky note, a pink form, a
legal pad) gets its colour back, evened out: only a faint tint is taken for the light's cast.
Everything heavy runs small; full-resolution work is a handful of uint8 OpenCV passes (a
12 MP photo takes about 0.1-0.15 s on one core).
"""

from __future__ import annotations

import cv2
import numpy as np

MODES = ("color", "gray", "bw", "none")
WORK_SIDE = 512  # background estimation resolution (long side)
CLOSE_FRACTION = 0.022  # closing kernel / long side: removes ink up to ~2 % of the page
TEXTURE_LIMIT = 4.0  # mean |Laplacian| (grey levels) above which a closed area is a picture
CHROMA_LIMIT = 15.0  # Lab a/b distance from the paper's colour that makes a pixel colourful
NOISE_HEADROOM = 2.5  # background lowered by this many noise sigmas before dividing
BLACK_LIMIT = 90.0  # the black point never goes above this (grey level of the flattened page)
INK_GAMMA = 1.15  # >1 deepens mid-tone ink a little without crushing faint pencil
SHARPEN_AMOUNT = 0.6
# Flat fills: islands at least FILL_DEPTH grey levels below paper, up to FILL_REACH closing
# kernels across, whose edges rise by at least FILL_SHARPNESS of their depth per pixel.
FILL_DEPTH = 12.0
FILL_REACH = 4
FILL_SHARPNESS = 0.2
# Lab chroma of the paper up to which its tint is the light's cast (white balance is never
# perfect: white pages measure 1-12 on real photos), and from which it is all the paper's own
# (sticky notes 20-30, a pink prescription 17, a yellow legal pad 19); linear in between.
PAPER_TINT_FROM = 12.0
PAPER_TINT_FULL = 22.0
PAPER_BRIGHTEST = 250.0  # coloured paper's brightest channel in the output
PAPER_MIN_FRACTION = 0.05  # with less bare paper than this, the image is a photo, not a page
WHITER_MARGIN = 3.0  # Lab L above the paper's at which a neutral area is whiter paper
SAUVOLA_K = 0.2
SAUVOLA_R = 128.0


def enhance_document(rgb: np.ndarray, mode: str = "color") -> np.ndarray:
    """`rgb` (uint8, H x W x 3; grey or RGBA accepted) with lighting evened out and a clean
    scan look. Modes: "color" (default), "gray", "bw" (adaptive black and white), "none"."""
    if mode not in MODES:
        raise ValueError(f"unknown enhance mode {mode!r}; expected one of {MODES}")
    if mode == "none":
        return rgb
    image, alpha = _split(rgb)
    flat, paper = flatten(image)
    if mode == "bw":
        out = binarize(cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY))
    elif mode == "gray":
        gray = cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY)
        out = sharpen(cv2.LUT(gray, levels_lut(gray), dst=gray))
    else:
        lut = levels_lut(cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY))
        out = cv2.LUT(flat, lut, dst=flat)
        tint = paper_tint(paper)
        if tint is not None:  # ink on coloured paper is darkened by it too: multiply
            out = cv2.multiply(out, (*(tint / 255.0), 0.0), dst=out)
        out = sharpen(out)
    if out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
    return out if alpha is None else np.dstack([out, alpha])


def _split(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if rgb.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {rgb.dtype}")
    if rgb.ndim == 2:
        return cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB), None
    if rgb.shape[2] == 4:
        return np.ascontiguousarray(rgb[..., :3]), rgb[..., 3]
    return np.ascontiguousarray(rgb), None


# --- background ------------------------------------------------------------------------------


def flatten(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The image divided by its paper background (paper ~255 everywhere, ink keeps its ratio),
    and the paper's colour in the photo (RGB; None when there is hardly any bare paper).

    The background is first lowered by a few noise sigmas, so paper grain clips to white
    uniformly: in a shadow the division amplifies noise, and a fixed white point would leave
    shadowed paper speckled."""
    background, paper = estimate_background(image, lower=NOISE_HEADROOM * noise_sigma(image))
    # Into the background's own buffer: a fresh 12 MP array costs ~8 ms in page faults alone.
    return cv2.divide(image, background, dst=background, scale=255.0), paper


def paper_tint(paper: np.ndarray | None) -> np.ndarray | None:
    """The colour (RGB, 0-255) that flattened white paper should take back, or None for white.

    The tint keeps the paper's hue and saturation at full exposure (brightest channel at
    PAPER_BRIGHTEST), in proportion to how surely its chroma is the paper's own."""
    if paper is None:
        return None
    pixel = np.asarray(paper, np.float32).reshape(1, 1, 3) / 255.0
    _, a, b = cv2.cvtColor(pixel, cv2.COLOR_RGB2Lab)[0, 0]
    weight = (float(np.hypot(a, b)) - PAPER_TINT_FROM) / (PAPER_TINT_FULL - PAPER_TINT_FROM)
    if weight <= 0.0:
        return None
    colour = np.asarray(paper, np.float64) * PAPER_BRIGHTEST / max(float(np.max(paper)), 1.0)
    return 255.0 - min(weight, 1.0) * (255.0 - np.minimum(colour, 255.0))


def noise_sigma(image: np.ndarray) -> float:
    """Robust per-pixel noise (grey levels) from horizontal neighbour differences (MAD)."""
    rows = cv2.cvtColor(image[:: max(image.shape[0] // 400, 1)], cv2.COLOR_RGB2GRAY)
    diff = np.diff(rows.astype(np.int16), axis=1).ravel()
    if diff.size == 0:  # a single column: no neighbours to compare
        return 0.0
    return float(1.4826 * np.median(np.abs(diff)) / np.sqrt(2.0))


def estimate_background(
    image: np.ndarray, lower: float = 0.0
) -> tuple[np.ndarray, np.ndarray | None]:
    """Full-resolution uint8 estimate of the bare paper's colour under the photo's light,
    minus `lower` grey levels (never below 1); and the lit paper's median colour (RGB), None
    when there is hardly any bare paper."""
    height, width = image.shape[:2]
    small = _shrink(image, WORK_SIDE)
    k = _odd(max(3, round(CLOSE_FRACTION * max(small.shape[:2]))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    closed = cv2.medianBlur(closed, 5)
    paper = _paper_mask(small, closed, k)
    background = _fill_from_paper(closed, paper)
    background = cv2.GaussianBlur(background, (0, 0), 1.0)
    background = np.maximum(cv2.subtract(background, (lower, lower, lower, 0)), 1)
    full = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    return full, _lit_paper_colour(closed, paper)


def _lit_paper_colour(closed: np.ndarray, paper: np.ndarray) -> np.ndarray | None:
    """Median colour of the brighter half of the bare paper (what is in shadow is darker).

    None when there is hardly any bare paper, or when something lighter and neutral covers
    PAPER_MIN_FRACTION of the image beside it: then the "paper" is a coloured desk around a
    white page (a whole photo enhanced without a crop), and the page is what must be white."""
    if paper.mean() < PAPER_MIN_FRACTION:
        return None
    lab = cv2.cvtColor(closed.astype(np.float32) * np.float32(1.0 / 255.0), cv2.COLOR_RGB2Lab)
    lightness = lab[..., 0]
    lit = paper & (lightness >= np.median(lightness[paper]))
    neutral = np.hypot(lab[..., 1], lab[..., 2]) < PAPER_TINT_FROM
    whiter = neutral & (lightness > np.median(lightness[lit]) + WHITER_MARGIN)
    if whiter.mean() >= PAPER_MIN_FRACTION:
        return None
    return np.median(closed[lit], axis=0)


def _paper_mask(small: np.ndarray, closed: np.ndarray, k: int) -> np.ndarray:
    """True where the closed image is bare (possibly shaded) paper, False on pictures.

    Large dark print and grey pictures keep texture through the closing, while shadows and
    gradients are smooth (a hard shadow edge is textured only along a thin band, which the
    opening below removes). Colour pictures are dense areas of colourful pixels in the image
    itself: coloured handwriting, stamps and highlighter strokes are too thin to be dense."""
    gray = cv2.cvtColor(closed, cv2.COLOR_RGB2GRAY)
    laplacian = np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=3))
    textured = cv2.blur(laplacian, (k, k)) > TEXTURE_LIMIT
    busy = (textured | _colour_areas(small, closed, gray, k)).astype(np.uint8)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    wide = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    busy = cv2.morphologyEx(busy, cv2.MORPH_OPEN, wide)  # drop edge bands, keep blobs
    busy = cv2.morphologyEx(busy, cv2.MORPH_CLOSE, wide)  # smooth areas inside pictures
    busy = cv2.dilate(busy, disk)  # and the pictures' own borders
    paper = (busy == 0) & ~_flat_fills(gray, k)
    return _drop_islands(paper, min_fraction=0.01)


def _flat_fills(gray: np.ndarray, k: int) -> np.ndarray:
    """Printed flat fills (a table's grey header row, a shaded box) in the closed image: dark
    islands narrower than a few ink-kernels, with sharp edges all round. A shadow is either
    wider (the closing below restores it exactly), soft-edged, or runs off the image."""
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (FILL_REACH * k + 1,) * 2)
    source = gray.astype(np.float32)
    # Closed on the uint8 image: the same values, 4x faster than on floats.
    depth = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, reach).astype(np.float32) - source
    candidates = (depth > FILL_DEPTH).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    if count <= 1:
        return np.zeros(gray.shape, bool)
    height, width = gray.shape
    gradient = cv2.magnitude(
        cv2.Sobel(source, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(source, cv2.CV_32F, 0, 1, ksize=3)
    ) * np.float32(1.0 / 8.0)  # grey levels per pixel
    fills = np.zeros(count, bool)
    ring_kernel = np.ones((3, 3), np.uint8)
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        if x == 0 or y == 0 or x + w >= width or y + h >= height or area < 4 * k:
            continue  # off the image (a shadow coming in) or a speck
        y0, y1, x0, x1 = max(y - 2, 0), min(y + h + 2, height), max(x - 2, 0), min(x + w + 2, width)
        region = (labels[y0:y1, x0:x1] == label).view(np.uint8)
        ring = (cv2.dilate(region, ring_kernel) - cv2.erode(region, ring_kernel)).view(bool)
        step = float(depth[y0:y1, x0:x1][region.view(bool)].mean())
        sharpness = float(gradient[y0:y1, x0:x1][ring].mean()) / max(step, 1e-3)
        fills[label] = sharpness >= FILL_SHARPNESS
    return fills[labels]


def _colour_areas(small: np.ndarray, closed: np.ndarray, gray: np.ndarray, k: int) -> np.ndarray:
    """Where most pixels differ in hue/chroma (Lab a, b) from the paper's. Light and shadow
    change lightness, not a and b, so shaded paper is not colourful."""
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    paper_lab = cv2.cvtColor(closed.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    reference = np.median(paper_lab[gray >= np.median(gray)][:, 1:], axis=0)
    distance = np.sqrt(((lab[..., 1:] - reference) ** 2).sum(axis=2))
    colourful = (distance > CHROMA_LIMIT).astype(np.float32)
    return cv2.blur(colourful, (2 * k + 1, 2 * k + 1)) > 0.4


def _drop_islands(paper: np.ndarray, min_fraction: float) -> np.ndarray:
    """Small paper patches enclosed by pictures are pale picture parts, not paper."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(paper.astype(np.uint8), 4)
    if count <= 2:
        return paper
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    keep[1:] = (areas >= min_fraction * paper.size) | (areas == areas.max())
    return keep[labels]


def _fill_from_paper(closed: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """Keep the paper pixels; fill the rest from the nearest paper around them (push-pull:
    coarser levels supply what finer ones miss, so holes get a smooth, local fill)."""
    if paper.all():
        return closed
    if paper.mean() < PAPER_MIN_FRACTION:  # a photo, not a document; leave it be
        return np.full_like(closed, 255)
    weight = paper.astype(np.float32)
    filled = _push_pull(closed.astype(np.float32) * weight[..., None], weight)
    out = np.where(paper[..., None], closed.astype(np.float32), filled)
    return np.clip(out, 0, 255).astype(np.uint8)


def _push_pull(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fill `values` (premultiplied by `weight` in [0, 1]) where the weight is low."""
    height, width = weight.shape
    if min(height, width) <= 2 or weight.sum() <= 0:
        total = max(float(weight.sum()), 1e-6)
        mean = values.reshape(-1, values.shape[-1]).sum(axis=0) / total
        return np.broadcast_to(mean, values.shape).astype(np.float32)
    size = ((width + 1) // 2, (height + 1) // 2)
    coarse_weight = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    coarse_values = cv2.resize(values, size, interpolation=cv2.INTER_AREA)
    # A coarse pixel counts as fully known once a quarter of its children are.
    boost = np.minimum(4.0 * coarse_weight, 1.0) / np.maximum(coarse_weight, 1e-6)
    coarse = _push_pull(coarse_values * boost[..., None], coarse_weight * boost)
    up = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
    own = values / np.maximum(weight, 1e-6)[..., None]
    w = weight[..., None]
    return own * w + up * (1.0 - w)


# --- tone ------------------------------------------------------------------------------------


def levels_lut(flat_gray: np.ndarray) -> np.ndarray:
    """256-entry LUT: paper to pure white, dark ink to black, mild gamma for the tones between.

    The paper is the bright mode of the flattened image (whatever else is in the frame);
    the black point is a low percentile of the clearly-not-paper pixels, capped so that a
    page of faint pencil is darkened but not turned into marker."""
    hist = np.bincount(flat_gray[::4, ::4].ravel(), minlength=256).astype(np.float64)
    bright = hist.copy()
    bright[:128] = 0.0
    if bright.sum() < 0.05 * hist.sum():
        bright = hist
    median = _hist_percentile(bright, 50.0)
    spread = np.bincount(np.abs(np.arange(256) - int(median)), weights=bright, minlength=256)
    mad = _hist_percentile(spread, 50.0)
    white = float(np.clip(median - 3.0 * 1.4826 * mad - 4.0, 170.0, 250.0))
    ink = hist.copy()
    ink[int(0.8 * white) :] = 0.0
    black = _hist_percentile(ink, 5.0) if ink.sum() >= 0.002 * hist.sum() else 0.0
    black = float(np.clip(black, 0.0, min(BLACK_LIMIT, white - 60.0)))
    x = (np.arange(256, dtype=np.float32) - black) / (white - black)
    curve = np.clip(x, 0.0, 1.0) ** INK_GAMMA
    return np.round(curve * 255.0).astype(np.uint8)


def _hist_percentile(hist: np.ndarray, percent: float) -> float:
    cumulative = np.cumsum(hist)
    return float(np.searchsorted(cumulative, cumulative[-1] * percent / 100.0))


def sharpen(image: np.ndarray) -> np.ndarray:
    """Gentle unsharp mask against a 3 x 3 Gaussian, folded into one 3 x 3 filter pass: it
    steepens the 1-3 px transitions at stroke edges without ringing around the strokes."""
    gauss = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0
    kernel = -SHARPEN_AMOUNT * gauss
    kernel[1, 1] += 1.0 + SHARPEN_AMOUNT
    return cv2.filter2D(image, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REPLICATE)


def binarize(flat_gray: np.ndarray) -> np.ndarray:
    """Sauvola threshold on the flattened page (0 or 255). The local statistics are smooth at
    the window's scale, so they are computed at half resolution and upscaled."""
    height, width = flat_gray.shape
    half = cv2.resize(
        flat_gray, (max(width // 2, 1), max(height // 2, 1)), interpolation=cv2.INTER_AREA
    )
    window = _odd(max(7, max(half.shape) // 50))
    values = half.astype(np.float32)
    mean = cv2.boxFilter(values, -1, (window, window))
    mean_sq = cv2.boxFilter(values * values, -1, (window, window))
    std = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))
    threshold = mean * (1.0 + SAUVOLA_K * (std / SAUVOLA_R - 1.0))
    threshold = np.clip(np.ceil(threshold), 0, 255).astype(np.uint8)
    threshold = cv2.resize(threshold, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.compare(flat_gray, threshold, cv2.CMP_GT)  # 255 where paper, 0 where ink


# --- helpers ---------------------------------------------------------------------------------


def _shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Shrink by an integer factor to about `side` on the long side (OpenCV's area resampling
    has a fast path for integer factors; the few cut-off edge pixels do not matter here)."""
    height, width = image.shape[:2]
    factor = int(np.ceil(max(height, width) / side))
    if factor <= 1:
        return image
    crop = image[: height - height % factor or height, : width - width % factor or width]
    size = (max(crop.shape[1] // factor, 1), max(crop.shape[0] // factor, 1))
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)


def _odd(value: int) -> int:
    return value if value % 2 == 1 else value + 1

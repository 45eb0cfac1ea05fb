"""Quads, perspective rectification and rotations.

Conventions: points are (x, y) in pixels with OpenCV's centre-of-pixel origin, y grows
downwards, so "clockwise" is clockwise as seen on screen. Corner order is TL, TR, BR, BL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# A phone's main camera is about 26 mm (35 mm equivalent): focal length ~0.6 x the image
# diagonal. Used when the quad itself cannot tell the focal length.
DEFAULT_FOCAL_PER_DIAGONAL = 0.6
# Focal lengths outside this range (x diagonal) are taken as a failed estimate.
FOCAL_RANGE = (0.25, 4.0)
QUARTER_TURNS = {0: 0, 90: 1, 180: 2, 270: 3}


def order_corners(pts: np.ndarray) -> np.ndarray:
    """The 4 points as TL, TR, BR, BL (clockwise on screen, starting nearest the top-left)."""
    pts = np.asarray(pts, np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    ring = pts[np.argsort(angles)]  # ascending angle = clockwise on screen
    start = int(np.argmin(ring.sum(axis=1)))
    return np.roll(ring, -start, axis=0).astype(np.float32)


def rectified_size(corners: np.ndarray, image_shape: tuple[int, ...]) -> tuple[int, int]:
    """(width, height) of the flattened quad: the page's true aspect ratio, at a scale that
    keeps the photo's resolution along both of its axes.

    The aspect comes from Zhang & He, "Whiteboard scanning and image enhancement" (2007): with
    a pinhole camera whose principal point is the image centre, the quad's vanishing geometry
    gives the focal length and then the rectangle's aspect. When the quad cannot give a sane
    focal length (nearly fronto-parallel, or a cropped photo), a typical phone focal length is
    used instead; the formula then still corrects most of the foreshortening.
    """
    quad = order_corners(corners).astype(np.float64)
    aspect = perspective_aspect(quad, image_shape)
    width_px = max(_dist(quad[0], quad[1]), _dist(quad[3], quad[2]))
    height_px = max(_dist(quad[0], quad[3]), _dist(quad[1], quad[2]))
    # Whichever side is the more foreshortened gets stretched to the aspect, never shrunk.
    if width_px / aspect >= height_px:
        width, height = width_px, width_px / aspect
    else:
        width, height = height_px * aspect, height_px
    return max(round(width), 1), max(round(height), 1)


def perspective_aspect(quad: np.ndarray, image_shape: tuple[int, ...]) -> float:
    """Width / height of the real rectangle imaged as `quad` (TL, TR, BR, BL)."""
    height, width = image_shape[:2]
    u0, v0 = (width - 1) / 2.0, (height - 1) / 2.0
    diagonal = math.hypot(width, height)
    m1, m2, m4, m3 = (np.array([x, y, 1.0]) for x, y in quad)  # paper: m1 TL m2 TR m3 BL m4 BR
    k2 = np.dot(np.cross(m1, m4), m3) / np.dot(np.cross(m2, m4), m3)
    k3 = np.dot(np.cross(m1, m4), m2) / np.dot(np.cross(m3, m4), m2)
    n2 = k2 * m2 - m1
    n3 = k3 * m3 - m1
    focal = _focal_length(n2, n3, u0, v0)
    if focal is None or not FOCAL_RANGE[0] * diagonal <= focal <= FOCAL_RANGE[1] * diagonal:
        focal = DEFAULT_FOCAL_PER_DIAGONAL * diagonal
    a_inv = np.linalg.inv(np.array([[focal, 0, u0], [0, focal, v0], [0, 0, 1.0]]))
    w2, h2 = a_inv @ n2, a_inv @ n3
    aspect = math.sqrt(float(w2 @ w2) / float(h2 @ h2))
    if not math.isfinite(aspect) or aspect <= 0:
        return _dist(quad[0], quad[1]) / max(_dist(quad[0], quad[3]), 1e-6)
    return aspect


def _focal_length(n2: np.ndarray, n3: np.ndarray, u0: float, v0: float) -> float | None:
    """Focal length (px) from the two vanishing directions, or None when it is undetermined
    (a side pair is parallel in the image, so the vanishing point is at infinity)."""
    if abs(n2[2]) < 1e-9 or abs(n3[2]) < 1e-9:
        return None
    first = n2[0] * n3[0] - (n2[0] * n3[2] + n2[2] * n3[0]) * u0 + n2[2] * n3[2] * u0 * u0
    second = n2[1] * n3[1] - (n2[1] * n3[2] + n2[2] * n3[1]) * v0 + n2[2] * n3[2] * v0 * v0
    f2 = -(first + second) / (n2[2] * n3[2])
    if not math.isfinite(f2) or f2 <= 0:
        return None
    # With one pair of sides (nearly) parallel the estimate is numerically meaningless.
    if min(abs(n2[2]) * np.linalg.norm(n2[:2]), abs(n3[2]) * np.linalg.norm(n3[:2])) < 1e-12:
        return None
    return math.sqrt(f2)


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.hypot(*(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def warp_quad(rgb: np.ndarray, corners: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The quad (TL, TR, BR, BL) flattened to `size` = (width, height) in one bicubic resample."""
    plan = plan_page(corners, size)
    return warp_page(rgb, plan)


def fit_size(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) scaled down so the long side is at most `side` (never up), >= 1 px."""
    factor = min(1.0, side / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` area-averaged down to `size` = (width, height). Halved exactly while it is at
    least twice as large (OpenCV's fast path: a 12 MP photo in 1.6 ms, against ~15 ms for one
    arbitrary-ratio INTER_AREA pass), then the rest in one INTER_AREA pass. An odd last row
    or column is dropped before a halving; it moves the result by under half a target pixel."""
    width, height = size
    while image.shape[1] // 2 >= width and image.shape[0] // 2 >= height:
        half_w, half_h = image.shape[1] // 2, image.shape[0] // 2
        even = image[: 2 * half_h, : 2 * half_w]
        image = cv2.resize(even, (half_w, half_h), interpolation=cv2.INTER_AREA)
    if (image.shape[1], image.shape[0]) == (width, height):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def frame_corners(width: int, height: int) -> np.ndarray:
    """The outer corners (TL, TR, BR, BL) of a width x height image: its pixels' outer edges."""
    return np.float32(
        [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]]
    )


def flatten_preview(
    rgb: np.ndarray, corners: np.ndarray, size: tuple[int, int], max_side: int
) -> np.ndarray:
    """The quad flattened as `warp_quad` would to `size`, but at most `max_side` px on its long
    side: the photo is area-shrunk first, so the small page is not aliased."""
    factor = min(1.0, max_side / max(size))
    if factor >= 1.0:
        return warp_quad(rgb, corners, size)
    # Only the quad's bounding box is shrunk (by exact halvings first, as `shrink` does).
    corners = np.asarray(corners, np.float64)
    height, width = rgb.shape[:2]
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int) - 1, 0, None)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 2
    x1, y1 = max(min(x1, width), x0 + 1), max(min(y1, height), y0 + 1)
    region = rgb[y0:y1, x0:x1]
    small = shrink(
        region,
        (max(round(region.shape[1] * factor), 1), max(round(region.shape[0] * factor), 1)),
    )
    scale = np.array([small.shape[1] / region.shape[1], small.shape[0] / region.shape[0]])
    small_corners = (corners - (x0, y0) + 0.5) * scale - 0.5
    small_size = (max(round(size[0] * factor), 1), max(round(size[1] * factor), 1))
    return warp_quad(small, small_corners.astype(np.float32), small_size)


@dataclass(frozen=True)
class PagePlan:
    """Where every output pixel of the flattened, upright, deskewed page comes from: one
    homography from input pixels to output pixels, so the page is resampled exactly once."""

    matrix: np.ndarray  # 3 x 3, input (x, y) -> output (x, y)
    size: tuple[int, int]  # output (width, height)
    outline: np.ndarray  # (4, 2) the flattened page's outer corners in output pixels


def plan_page(
    corners: np.ndarray, size: tuple[int, int], quarter_turn: int = 0, skew: float = 0.0
) -> PagePlan:
    """Flatten the quad `corners` to `size` = (width, height), then turn it `quarter_turn`
    degrees clockwise (a multiple of 90), then by `skew` degrees clockwise about its centre on
    a canvas grown to hold it all (as `rotate_small` does).

    Corners are the outer edges of the page, so they map to the outer edges of the output
    pixels (-0.5 and size - 0.5), not to the first and last pixel centres.
    """
    width, height = size
    rect = frame_corners(width, height)
    flatten = cv2.getPerspectiveTransform(order_corners(corners), rect).astype(np.float64)
    turn, (width, height) = _quarter_turn_matrix(quarter_turn, width, height)
    tilt, out_size = _small_rotation_matrix(skew, width, height, expand=True)
    matrix = tilt @ turn @ flatten
    outline = cv2.perspectiveTransform(rect[None].astype(np.float64), tilt @ turn)[0]
    return PagePlan(matrix=matrix, size=out_size, outline=outline.astype(np.float32))


def fit_plan(plan: PagePlan, max_side: int) -> PagePlan:
    """`plan` with its output scaled down (never up) to at most `max_side` px a side."""
    size = fit_size(*plan.size, max_side)
    if size == plan.size:
        return plan
    scale = _resize_matrix(plan.size, size)
    outline = cv2.perspectiveTransform(plan.outline[None].astype(np.float64), scale)[0]
    return PagePlan(matrix=scale @ plan.matrix, size=size, outline=outline.astype(np.float32))


def _resize_matrix(size: tuple[int, int], new_size: tuple[int, int]) -> np.ndarray:
    """3 x 3 map from the pixels of a `size` = (width, height) grid to those of a `new_size`
    one covering the same area (outer edges onto outer edges)."""
    sx, sy = new_size[0] / size[0], new_size[1] / size[1]
    return np.array([[sx, 0.0, (sx - 1) / 2], [0.0, sy, (sy - 1) / 2], [0.0, 0.0, 1.0]])


def warp_page(
    rgb: np.ndarray,
    plan: PagePlan,
    fill: float | tuple[float, ...] | None = None,
    *,
    bicubic: bool = True,
) -> np.ndarray:
    """Resample `rgb` by `plan`, bicubic (crisper) or bilinear (4x faster: at 12 MP 0.026 s
    against 0.100 s here). Outside the page outline (the wedges a skew correction opens) the
    output is `fill` when given, else the page's replicated edge."""
    flags = cv2.INTER_CUBIC if bicubic else cv2.INTER_LINEAR
    out = cv2.warpPerspective(
        rgb, plan.matrix, plan.size, flags=flags, borderMode=cv2.BORDER_REPLICATE
    )
    if fill is not None and not _covers(plan.outline, plan.size):
        outside = np.full(out.shape[:2], 255, np.uint8)
        cv2.fillPoly(outside, [np.round(plan.outline * 16).astype(np.int32)], 0, cv2.LINE_AA, 4)
        channels = 1 if out.ndim == 2 else out.shape[2]
        out[outside > 127] = _fill_value(fill, channels)[:channels]
    return out


def _covers(outline: np.ndarray, size: tuple[int, int]) -> bool:
    """True when the outline is the output's own rectangle (no wedges to fill)."""
    return bool(np.abs(outline - frame_corners(*size)).max() < 0.5)


def _quarter_turn_matrix(
    degrees: int, width: int, height: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """3 x 3 map of a clockwise quarter turn on a width x height canvas (as cv2.rotate does),
    and the turned canvas size."""
    turns = _quarter_turns(degrees)
    w, h = width - 1.0, height - 1.0
    matrices = {
        0: [[1, 0, 0], [0, 1, 0]],
        1: [[0, -1, h], [1, 0, 0]],
        2: [[-1, 0, w], [0, -1, h]],
        3: [[0, 1, 0], [-1, 0, w]],
    }
    matrix = np.vstack([np.array(matrices[turns], np.float64), [0.0, 0.0, 1.0]])
    size = (width, height) if turns % 2 == 0 else (height, width)
    return matrix, size


def _small_rotation_matrix(
    angle_deg: float, width: int, height: int, *, expand: bool
) -> tuple[np.ndarray, tuple[int, int]]:
    """3 x 3 map of a clockwise rotation about the canvas centre, and the output size (grown
    to hold the whole rotated canvas when `expand`)."""
    if abs(angle_deg) < 1e-6:
        return np.eye(3), (width, height)
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), -angle_deg, 1.0)
    out_w, out_h = width, height
    if expand:
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        out_w = math.ceil(width * cos + height * sin - 1e-6)
        out_h = math.ceil(width * sin + height * cos - 1e-6)
        matrix[0, 2] += (out_w - width) / 2.0
        matrix[1, 2] += (out_h - height) / 2.0
    return np.vstack([matrix, [0.0, 0.0, 1.0]]), (out_w, out_h)


def rotate_clockwise(image: np.ndarray, degrees: int) -> np.ndarray:
    """Turn by a multiple of 90 degrees clockwise (lossless)."""
    turns = _quarter_turns(degrees)
    if turns == 0:
        return image
    codes = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}
    if image.dtype in (np.uint8, np.float32) and image.ndim in (2, 3) and image.shape[-1] <= 4:
        return cv2.rotate(image, codes[turns])
    return np.ascontiguousarray(np.rot90(image, k=-turns))


def corners_for_rotation(corners: np.ndarray, degrees: int) -> np.ndarray:
    """Re-label the quad's corners after the flattened page is turned `degrees` clockwise, so
    that corners[0] is the top-left of the upright document (points themselves unchanged).

    Turning clockwise by 90 brings the old bottom-left to the top-left, hence the roll."""
    return np.roll(np.asarray(corners), _quarter_turns(degrees), axis=0)


def _quarter_turns(degrees: int) -> int:
    turns = QUARTER_TURNS.get(int(degrees) % 360)
    if turns is None:
        raise ValueError(f"rotation must be a multiple of 90 degrees, got {degrees}")
    return turns


def rotate_small(
    image: np.ndarray,
    angle_deg: float,
    fill: float | tuple[float, ...] = 255,
    *,
    expand: bool = True,
) -> np.ndarray:
    """Rotate by `angle_deg` clockwise (positive = clockwise on screen) about the centre.

    With `expand` (the default) the canvas grows to hold the whole rotated image, so no content
    is lost; the new corner wedges are filled with `fill` (pass the paper or background colour).
    With `expand=False` the size is kept and the corners are cropped. Images of the same shape
    rotated by the same angle get the same geometry, so a mask can follow its image. uint8
    images are resampled bicubically, anything else (masks) bilinearly.
    """
    if abs(angle_deg) < 1e-6:
        return image
    height, width = image.shape[:2]
    matrix, (out_w, out_h) = _small_rotation_matrix(angle_deg, width, height, expand=expand)
    flags = cv2.INTER_CUBIC if image.dtype == np.uint8 else cv2.INTER_LINEAR
    channels = 1 if image.ndim == 2 else image.shape[2]
    border = _fill_value(fill, channels)
    return cv2.warpAffine(
        image,
        matrix[:2],
        (out_w, out_h),
        flags=flags,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )


def crop_padded(
    image: np.ndarray, box: tuple[int, int, int, int], fill: float | tuple[float, ...]
) -> np.ndarray:
    """`image[y0:y1, x0:x1]` for a box that may reach past the image: the outside is `fill`."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    inner = image[max(y0, 0) : max(min(y1, height), 0), max(x0, 0) : max(min(x1, width), 0)]
    pads = (max(-y0, 0), max(y1 - height, 0), max(-x0, 0), max(x1 - width, 0))
    if not any(pads):
        return inner
    channels = 1 if image.ndim == 2 else image.shape[2]
    value = _fill_value(fill, channels)
    return cv2.copyMakeBorder(inner, *pads, cv2.BORDER_CONSTANT, value=value)


def rotated_size(width: int, height: int, angle_deg: float) -> tuple[int, int]:
    """(width, height) of the canvas `rotate_small` makes for a width x height image."""
    return _small_rotation_matrix(angle_deg, width, height, expand=True)[1]


def rotated_crop(
    image: np.ndarray,
    angle_deg: float,
    box: tuple[int, int, int, int],
    fill: float | tuple[float, ...] = 255,
    *,
    max_side: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`rotate_small(image, angle_deg, fill)[y0:y1, x0:x1]` for `box` = (x0, y0, x1, y1),
    computed without rotating the rest of the image, and shrunk to at most `max_side` px a
    side when given; also the crop's outer corners (TL, TR, BR, BL) in `image` pixels."""
    height, width = image.shape[:2]
    matrix, _ = _small_rotation_matrix(angle_deg, width, height, expand=True)
    x0, y0, x1, y1 = box
    box_size = (x1 - x0, y1 - y0)
    size = fit_size(*box_size, max_side) if max_side else box_size
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    crop_matrix = _resize_matrix(box_size, size) @ shift @ matrix
    source, sample = image, crop_matrix
    factor = size[0] / box_size[0]
    if factor < 0.5:
        # Far smaller: resample an area-averaged copy, or the detail would alias.
        source = shrink(image, fit_size(width, height, round(max(width, height) * factor)))
        to_source = _resize_matrix((width, height), (source.shape[1], source.shape[0]))
        sample = crop_matrix @ np.linalg.inv(to_source)
    flags = cv2.INTER_CUBIC if image.dtype == np.uint8 else cv2.INTER_LINEAR
    channels = 1 if image.ndim == 2 else image.shape[2]
    crop = cv2.warpAffine(
        source,
        sample[:2],
        size,
        flags=flags,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_fill_value(fill, channels),
    )
    outline = frame_corners(*size)[None].astype(np.float64)
    corners = cv2.perspectiveTransform(outline, np.linalg.inv(crop_matrix))[0]
    return crop, corners.astype(np.float32)


def _fill_value(fill: float | tuple[float, ...], channels: int) -> tuple[float, ...]:
    values = (float(fill),) * channels if np.isscalar(fill) else tuple(float(v) for v in fill)
    while len(values) < channels:  # e.g. an RGB fill for an RGBA image: opaque alpha
        values = (*values, 255.0 if len(values) == 3 else values[-1])
    return (*values, 0.0, 0.0, 0.0, 0.0)[:4]

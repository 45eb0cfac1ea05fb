"""Quads, perspective rectification and rotations.

Conventions: points are (x, y) in pixels with OpenCV's centre-of-pixel origin, y grows
downwards, so "clockwise" is clockwise as seen on screen. Corner order is TL, TR, BR, BL.
"""

from __future__ import annotations

import math

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
    """The quad (TL, TR, BR, BL) flattened to `size` = (width, height) in one bicubic resample.

    Corners are the outer edges of the page, so they map to the outer edges of the output
    pixels (-0.5 and size - 0.5), not to the first and last pixel centres.
    """
    width, height = size
    source = order_corners(corners)
    target = np.float32(
        [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]]
    )
    matrix = cv2.getPerspectiveTransform(source, target)
    return cv2.warpPerspective(
        rgb, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


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
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), -angle_deg, 1.0)
    out_w, out_h = width, height
    if expand:
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        out_w = math.ceil(width * cos + height * sin - 1e-6)
        out_h = math.ceil(width * sin + height * cos - 1e-6)
        matrix[0, 2] += (out_w - width) / 2.0
        matrix[1, 2] += (out_h - height) / 2.0
    flags = cv2.INTER_CUBIC if image.dtype == np.uint8 else cv2.INTER_LINEAR
    channels = 1 if image.ndim == 2 else image.shape[2]
    border = _fill_value(fill, channels)
    return cv2.warpAffine(
        image,
        matrix,
        (out_w, out_h),
        flags=flags,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )


def _fill_value(fill: float | tuple[float, ...], channels: int) -> tuple[float, ...]:
    values = (float(fill),) * channels if np.isscalar(fill) else tuple(float(v) for v in fill)
    while len(values) < channels:  # e.g. an RGB fill for an RGBA image: opaque alpha
        values = (*values, 255.0 if len(values) == 3 else values[-1])
    return (*values, 0.0, 0.0, 0.0, 0.0)[:4]

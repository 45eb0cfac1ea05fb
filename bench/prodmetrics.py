"""Alpha-matte and crop metrics for bench/products.py. Alphas are float arrays in [0, 1];
boxes are (x0, y0, x1, y1) with x1, y1 exclusive, as in photofix meta."""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]

LEVEL = 0.5  # alpha above this is "object" for IoU, boundaries and boxes
BOUNDARY_TOLERANCE = 2.0  # px


def binary(alpha: np.ndarray) -> np.ndarray:
    return alpha > LEVEL


def box_of(alpha: np.ndarray) -> Box | None:
    ys, xs = np.nonzero(binary(alpha))
    if xs.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def alpha_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    p, g = binary(pred), binary(gt)
    union = np.count_nonzero(p | g)
    return np.count_nonzero(p & g) / union if union else 1.0


def alpha_mae(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - gt)))


def boundary_f(pred: np.ndarray, gt: np.ndarray, tolerance: float = BOUNDARY_TOLERANCE) -> float:
    """Boundary F-measure (Martin et al. 2004, as in DAVIS): the harmonic mean of the share of
    predicted boundary pixels within `tolerance` of the true boundary and the reverse."""
    pb, gb = _boundary(binary(pred)), _boundary(binary(gt))
    if not pb.any() or not gb.any():
        return float(pb.any() == gb.any())
    precision = float(np.mean(_distance_to(gb)[pb] <= tolerance))
    recall = float(np.mean(_distance_to(pb)[gb] <= tolerance))
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` with a 4-neighbour outside it (image edges count as outside)."""
    inner = cv2.erode(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)))
    return mask & ~inner.astype(bool)


def _distance_to(points: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((~points).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def box_iou(a: Box | None, b: Box | None) -> float:
    if a is None or b is None:
        return float(a is None and b is None)
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = _area(a) + _area(b) - inter
    return inter / union if union else 0.0


def _area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def inside(room: tuple[float, float, float, float]) -> bool:
    """Whether the product is whole in a crop with these margins (left, top, right, bottom,
    px; negative: cut). Half a pixel is rounding of a turned crop, not a cut."""
    return min(room) > -0.5


def evenness(room: tuple[float, float, float, float]) -> float:
    """Smallest margin over largest: 1 is perfectly even, 0 when the product touches or is cut."""
    return max(min(room), 0) / max(room) if max(room) > 0 else 0.0


def near_frame(product: Box, shape: tuple[int, ...], margin: float) -> bool:
    """Whether the frame leaves less than `margin` x the product's longer side on some side:
    then no crop can be even and evenness is not scored."""
    height, width = shape[:2]
    want = margin * max(product[2] - product[0], product[3] - product[1])
    room = (product[0], product[1], width - product[2], height - product[3])
    return min(room) < want

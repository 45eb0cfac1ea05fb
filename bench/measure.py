"""Ground-truth metrics that do not use photofix code: quad IoU and text-line skew."""

from __future__ import annotations

import math

import cv2
import numpy as np

SUBPIXEL_BITS = 4  # fillPoly's fixed-point shift: corners rasterised to 1/16 px
SKEW_WORK_SIDE = 1200
MIN_ELONGATION = 6.0  # a blob this much longer than wide is a text line or a rule
MIN_LINE_SHARE = 0.06  # ... and at least this share of the page's width long
MIN_LINES = 3


def quad_iou(found: np.ndarray, truth: np.ndarray, frame: tuple[int, int]) -> float:
    """Intersection over union of two quads, both clipped to the photo (`frame` = width,
    height): a page cut by the frame edge can only be found as far as it is visible."""
    a, b = _quad_mask(found, frame), _quad_mask(truth, frame)
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def _quad_mask(quad: np.ndarray, frame: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((frame[1], frame[0]), np.uint8)
    points = np.round(np.asarray(quad, np.float64) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [points], 1, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    return mask.astype(bool)


def text_skew(rgb: np.ndarray) -> float | None:
    """Residual skew (degrees, folded into [-45, 45)) of a page image, measured on its text:
    dark ink relative to the local paper, smeared along rows (or columns, whichever yields more
    line length, so a page left sideways is still measured) into line blobs, whose orientations
    from second moments are combined as a length-weighted median. None: too few lines."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, SKEW_WORK_SIDE / max(gray.shape))
    gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    paper = cv2.GaussianBlur(cv2.dilate(gray, np.ones((15, 15), np.uint8)), (0, 0), 8)
    ink = (gray.astype(np.float32) < 0.75 * paper.astype(np.float32)).astype(np.uint8)
    best: list[tuple[float, float]] = []
    for kernel in ((max(3, gray.shape[1] // 60), 1), (1, max(3, gray.shape[0] // 60))):
        blobs = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones(kernel[::-1], np.uint8))
        lines = _line_angles(blobs)
        if sum(w for _, w in lines) > sum(w for _, w in best):
            best = lines
    if len(best) < MIN_LINES:
        return None
    return _weighted_median(best)


def _line_angles(blobs: np.ndarray) -> list[tuple[float, float]]:
    """(angle folded to [-45, 45), length) of each elongated blob not touching the border."""
    height, width = blobs.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    found = []
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if x == 0 or y == 0 or x + w >= width or y + h >= height or max(w, h) < 10:
            continue
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == i)
        cov = np.cov(np.stack([xs, ys]).astype(np.float64))
        eig_small, eig_large = np.linalg.eigvalsh(cov)
        length = math.sqrt(12 * max(eig_large, 0.0))  # a uniform bar's length from its variance
        if eig_small <= 0 or eig_large / eig_small < MIN_ELONGATION**2:
            continue
        if length < MIN_LINE_SHARE * min(width, height):
            continue
        angle = 0.5 * math.degrees(math.atan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1]))
        found.append(((angle + 45) % 90 - 45, length))
    return found


def _weighted_median(pairs: list[tuple[float, float]]) -> float:
    values = np.array(sorted(pairs))
    cumulative = np.cumsum(values[:, 1])
    return float(values[np.searchsorted(cumulative, cumulative[-1] / 2), 0])

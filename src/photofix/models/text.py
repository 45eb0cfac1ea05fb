"""Text lines from rapidocr's ONNX models: DB text detection plus the 0/180 line classifier.

Only the .onnx files are read from the rapidocr wheel. Pre/post-processing follows rapidocr's
own `ch_ppocr_det` / `ch_ppocr_cls` code and `config.yaml` (BGR input; detection normalised with
mean = std = 0.5, sides rounded to multiples of 32, probability map thresholded at 0.3, boxes
kept at mean score >= 0.5 and grown by unclip_ratio 1.6; classifier input 3 x 48 x 192).
Differences on purpose: the longer side is limited (to 736 px by default) instead of enlarging
the shorter one to 736, since we want page-level line geometry fast, not every tiny glyph (at
736 the detector costs 0.18 s on a 12 MP page here, at 960 0.31 s, with the same orientation
and skew on the 100 document bench cases; at 640 skew went wrong on a bench page and a real
one); and the DB "unclip" of a min-area rectangle is done in closed form
(a rectangle offset by d has the min-area rectangle (w + 2d) x (h + 2d)), so pyclipper and
shapely are not needed.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from photofix.imaging.protocols import TextLine
from photofix.models.base import open_session, verify_sha256, wheel_file

TEXT_DISTRIBUTION = "rapidocr"
DET_PATH = "rapidocr/models/PP-OCRv6_det_small.onnx"
DET_SHA256 = "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"
CLS_PATH = "rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx"
CLS_SHA256 = "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"

DET_THRESH = 0.3
BOX_THRESH = 0.5
UNCLIP_RATIO = 1.6
MIN_SIZE = 3
CLS_SHAPE = (48, 192)  # height, width
CLS_BATCH = 8


def det_resize(shape: tuple[int, ...], limit_side: int) -> tuple[int, int]:
    """(width, height) for the detector: longer side <= limit_side, both multiples of 32."""
    height, width = shape[:2]
    ratio = min(1.0, limit_side / max(height, width))
    return (
        max(32, round(width * ratio / 32) * 32),
        max(32, round(height * ratio / 32) * 32),
    )


def det_input(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    interpolation = cv2.INTER_AREA if size[0] < rgb.shape[1] else cv2.INTER_LINEAR
    bgr = cv2.cvtColor(cv2.resize(rgb, size, interpolation=interpolation), cv2.COLOR_RGB2BGR)
    x = bgr.astype(np.float32) * (2.0 / 255.0) - 1.0  # (x / 255 - 0.5) / 0.5
    return x.transpose(2, 0, 1)[None]


def boxes_from_probability(prob: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """DB post-processing on one probability map: rotated boxes (4, 2) in map pixels + score."""
    mask = cv2.dilate((prob > DET_THRESH).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found = []
    for contour in contours[:1000]:
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        if min(w, h) < MIN_SIZE:
            continue
        score = _box_score(prob, cv2.boxPoints(((cx, cy), (w, h), angle)))
        if score < BOX_THRESH:
            continue
        grow = 2.0 * (w * h * UNCLIP_RATIO / (2.0 * (w + h)))  # DB unclip distance, both sides
        w, h = w + grow, h + grow
        if min(w, h) < MIN_SIZE + 2:
            continue
        found.append((cv2.boxPoints(((cx, cy), (w, h), angle)), score))
    return found


def _box_score(prob: np.ndarray, points: np.ndarray) -> float:
    """Mean probability inside the box (DB 'fast' score)."""
    height, width = prob.shape
    x0, y0 = np.clip(np.floor(points.min(axis=0)).astype(int), 0, [width - 1, height - 1])
    x1, y1 = np.clip(np.ceil(points.max(axis=0)).astype(int), 0, [width - 1, height - 1])
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(mask, [np.round(points - [x0, y0]).astype(np.int32)], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def reading_box(points: np.ndarray) -> np.ndarray:
    """Order a rotated rectangle as the classifier will see its crop: p0 -> p1 along the long
    side (the crop's x axis), p0 -> p3 along the short side (its y axis).

    Mostly-horizontal boxes start at their top-left (like rapidocr); vertical ones are turned a
    quarter counter-clockwise, as rapidocr's `np.rot90` does for crops taller than wide.
    """
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    ring = points[np.argsort(angles)]  # clockwise on screen (y grows downwards)
    start = int(np.argmin(ring.sum(axis=1)))
    ring = np.roll(ring, -start, axis=0)  # TL, TR, BR, BL
    width = np.linalg.norm(ring[1] - ring[0])
    height = np.linalg.norm(ring[3] - ring[0])
    if height > width:
        ring = np.roll(ring, -1, axis=0)  # TR, BR, BL, TL: the crop turned 90 counter-clockwise
    return ring.astype(np.float32)


def crop_line(bgr: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The line's pixels with box[0] -> box[1] horizontal (rapidocr's perspective crop)."""
    width = max(int(np.linalg.norm(box[1] - box[0])), 1)
    height = max(int(np.linalg.norm(box[3] - box[0])), 1)
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), target)
    return cv2.warpPerspective(
        bgr, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def cls_input(crop: np.ndarray) -> np.ndarray:
    """(3, 48, 192): resized to height 48 keeping aspect, right-padded with zeros."""
    target_h, target_w = CLS_SHAPE
    ratio = crop.shape[1] / float(crop.shape[0])
    resized_w = min(target_w, math.ceil(target_h * ratio))
    resized = cv2.resize(crop, (resized_w, target_h), interpolation=cv2.INTER_LINEAR)
    x = resized.astype(np.float32).transpose(2, 0, 1) * (2.0 / 255.0) - 1.0
    padded = np.zeros((3, target_h, target_w), np.float32)
    padded[:, :, :resized_w] = x
    return padded


class TextLines:
    """TextLineModel on rapidocr's detector and 0/180 classifier, both loaded once."""

    name = "rapidocr-det+cls"

    def __init__(
        self, det_path: Path, cls_path: Path, *, threads: int = 1, limit_side: int = 736
    ) -> None:
        self._det = open_session(det_path, threads=threads)
        self._cls = open_session(cls_path, threads=threads)
        self._det_input = self._det.get_inputs()[0].name
        self._cls_input = self._cls.get_inputs()[0].name
        self.limit_side = limit_side

    def detect(
        self, rgb: np.ndarray, max_lines: int = 40, *, directions: bool = True
    ) -> list[TextLine]:
        """The longest `max_lines` text lines, boxes in `rgb` pixels, longest first. Without
        `directions` the 0/180 classifier (~30 ms for 40 lines) is skipped: `upside_down` 0.5."""
        rgb = _as_rgb(rgb)
        size = det_resize(rgb.shape, self.limit_side)
        prob = self._det.run(None, {self._det_input: det_input(rgb, size)})[0][0, 0]
        scale = np.array([rgb.shape[1] / prob.shape[1], rgb.shape[0] / prob.shape[0]])
        found = [
            (reading_box(points * scale), score) for points, score in boxes_from_probability(prob)
        ]
        found.sort(key=lambda item: -float(np.linalg.norm(item[0][1] - item[0][0])))
        found = found[:max_lines]
        if not found:
            return []
        if directions:
            flipped = self._classify(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [b for b, _ in found])
        else:
            flipped = np.full(len(found), 0.5)
        return [
            TextLine(box=box, upside_down=float(p), score=float(score))
            for (box, score), p in zip(found, flipped, strict=True)
        ]

    def _classify(self, bgr: np.ndarray, boxes: list[np.ndarray]) -> np.ndarray:
        """Probability that each line's crop reads upside down."""
        tensors = np.stack([cls_input(crop_line(bgr, box)) for box in boxes])
        out = [
            self._cls.run(None, {self._cls_input: tensors[i : i + CLS_BATCH]})[0]
            for i in range(0, len(tensors), CLS_BATCH)
        ]
        return np.concatenate(out)[:, 1]  # labels ["0", "180"]


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(image[..., :3])


def load_text_lines(threads: int = 1) -> TextLines:
    det_path = wheel_file(TEXT_DISTRIBUTION, DET_PATH)
    cls_path = wheel_file(TEXT_DISTRIBUTION, CLS_PATH)
    verify_sha256(det_path, DET_SHA256)
    verify_sha256(cls_path, CLS_SHA256)
    return TextLines(det_path, cls_path, threads=threads)

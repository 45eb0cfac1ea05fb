"""Text recognition for the benchmark: rapidocr's PP-OCRv6 small det + rec ONNX models.

Only the .onnx files of the installed `rapidocr` wheel are read (its Python package would pull
in a second OpenCV). Detection reuses photofix's DB pre/post-processing (photofix.models.text)
but sizes the input like rapidocr's OCR default (short side at least 736 px, long side at most
2000 px) instead of the pipeline's fast 736 px cap. Recognition follows rapidocr's
`ch_ppocr_rec`: BGR crop, height 48, width scaled (at least 320 per batch), (x/255 - 0.5)/0.5,
greedy CTC decode with blank 0; the dictionary is the model's own `character` metadata, plus
the space rapidocr appends. No angle classifier: lines are read as they lie.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np
from rapidfuzz.distance import Levenshtein

from photofix.models.base import open_session, wheel_file
from photofix.models.text import (
    DET_PATH,
    TEXT_DISTRIBUTION,
    boxes_from_probability,
    crop_line,
    det_input,
    reading_box,
)

REC_PATH = "rapidocr/models/PP-OCRv6_rec_small.onnx"
REC_HEIGHT = 48
REC_MIN_WIDTH = 320
REC_BATCH = 6
MIN_SHORT_SIDE = 736
MAX_LONG_SIDE = 2000
MIN_TEXT_SCORE = 0.5  # rapidocr's text_score: lines read with less confidence are dropped


@dataclass(frozen=True)
class ReadLine:
    box: np.ndarray  # (4, 2): box[0] -> box[1] along the line, in image pixels
    text: str
    score: float


class Reader:
    """Detect and recognise the text lines of an RGB image."""

    def __init__(self, threads: int = 2) -> None:
        self._det = open_session(wheel_file(TEXT_DISTRIBUTION, DET_PATH), threads=threads)
        self._rec = open_session(wheel_file(TEXT_DISTRIBUTION, REC_PATH), threads=threads)
        metadata = self._rec.get_modelmeta().custom_metadata_map
        self._chars = ["", *metadata["character"].splitlines(), " "]

    def read(self, rgb: np.ndarray) -> list[ReadLine]:
        boxes = self._detect(rgb)
        if not boxes:
            return []
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        crops = [crop_line(bgr, box) for box in boxes]
        read = [
            ReadLine(box, text, score)
            for box, (text, score) in zip(boxes, self._recognise(crops), strict=True)
        ]
        return [line for line in read if line.text.strip() and line.score >= MIN_TEXT_SCORE]

    def _detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        height, width = rgb.shape[:2]
        scale = max(1.0, MIN_SHORT_SIDE / min(height, width))
        scale = min(scale, MAX_LONG_SIDE / max(height, width))
        size = (max(32, round(width * scale / 32) * 32), max(32, round(height * scale / 32) * 32))
        prob = self._det.run(None, {self._det.get_inputs()[0].name: det_input(rgb, size)})
        prob = prob[0][0, 0]
        to_image = np.array([width / prob.shape[1], height / prob.shape[0]])
        return [reading_box(points * to_image) for points, _ in boxes_from_probability(prob)]

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Crops batched by aspect ratio, as rapidocr does (less padding per batch)."""
        order = np.argsort([c.shape[1] / c.shape[0] for c in crops])
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for start in range(0, len(order), REC_BATCH):
            batch = order[start : start + REC_BATCH]
            ratio = max(
                REC_MIN_WIDTH / REC_HEIGHT, *(crops[i].shape[1] / crops[i].shape[0] for i in batch)
            )
            width = int(REC_HEIGHT * ratio)
            tensor = np.stack([_rec_input(crops[i], width) for i in batch])
            probs = self._rec.run(None, {self._rec.get_inputs()[0].name: tensor})[0]
            for i, p in zip(batch, probs, strict=True):
                out[i] = self._decode(p)
        return out

    def _decode(self, probs: np.ndarray) -> tuple[str, float]:
        """Greedy CTC: best class per step, repeats merged, blanks (index 0) dropped."""
        best = probs.argmax(axis=1)
        keep = (best != 0) & np.concatenate([[True], best[1:] != best[:-1]])
        if not keep.any():
            return "", 0.0
        text = "".join(self._chars[i] for i in best[keep])
        return text, float(probs.max(axis=1)[keep].mean())


def _rec_input(crop: np.ndarray, width: int) -> np.ndarray:
    """(3, 48, width): resized to height 48 keeping aspect, right-padded with zeros."""
    resized_w = min(width, math.ceil(REC_HEIGHT * crop.shape[1] / crop.shape[0]))
    resized = cv2.resize(crop, (resized_w, REC_HEIGHT)).astype(np.float32)
    padded = np.zeros((3, REC_HEIGHT, width), np.float32)
    padded[:, :, :resized_w] = resized.transpose(2, 0, 1) * (2.0 / 255.0) - 1.0
    return padded


def reading_order(lines: list[ReadLine]) -> str:
    """Lines grouped into rows across the dominant text direction, rows top to bottom, pieces
    left to right. Measuring along the text direction (not the image axes) keeps a tilted or
    skewed photo from interleaving neighbouring rows."""
    if not lines:
        return ""
    along = np.array([line.box[1] - line.box[0] for line in lines], np.float64)
    direction = np.median(along / np.linalg.norm(along, axis=1, keepdims=True), axis=0)
    direction /= max(float(np.linalg.norm(direction)), 1e-9)
    normal = np.array([-direction[1], direction[0]])
    centres = np.array([line.box.mean(axis=0) for line in lines])
    across, position = centres @ normal, centres @ direction
    heights = [float(np.linalg.norm(line.box[3] - line.box[0])) for line in lines]
    tolerance = 0.5 * float(np.median(heights))
    rows: list[list[int]] = []
    for i in np.argsort(across):
        if rows and across[i] - across[rows[-1][-1]] < tolerance:
            rows[-1].append(int(i))
        else:
            rows.append([int(i)])
    return "\n".join(
        " ".join(lines[i].text for i in sorted(row, key=lambda i: position[i])) for row in rows
    )


def normalise(text: str) -> str:
    """NFKC (full-width punctuation to ASCII) and whitespace runs, newlines too, to one space:
    line breaks are layout, not characters to recognise."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def char_error_rate(recognised: str, truth: str) -> float:
    """Levenshtein distance over the truth's length, after `normalise`."""
    reference = normalise(truth)
    return Levenshtein.distance(normalise(recognised), reference) / max(len(reference), 1)

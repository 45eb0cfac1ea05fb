"""What photofix is compared with: the classic OpenCV scanner and Tesseract's OSD."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess

import cv2
import numpy as np
from PIL import Image

NAIVE_WORK_HEIGHT = 500
OSD_TIMEOUT = 60
# One OpenMP thread: tesseract's default team spins and crawls when the cores are busy.
OSD_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


def naive_quad(rgb: np.ndarray) -> np.ndarray | None:
    """The "biggest 4-point contour" scanner of countless tutorials: at 500 px high, grayscale,
    5x5 Gaussian blur, Canny 75/200, the five largest contours, the first whose approxPolyDP
    (2 % of the perimeter) has 4 points. Corners TL, TR, BR, BL in `rgb` pixels, or None."""
    scale = NAIVE_WORK_HEIGHT / rgb.shape[0]
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    contours, _ = cv2.findContours(cv2.Canny(gray, 75, 200), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        approx = cv2.approxPolyDP(contour, 0.02 * cv2.arcLength(contour, True), True)
        if len(approx) == 4:
            return order_corners(approx.reshape(4, 2).astype(np.float32) / scale)
    return None


def order_corners(points: np.ndarray) -> np.ndarray:
    """TL, TR, BR, BL by coordinate sums and differences (the tutorial's way)."""
    sums, diffs = points.sum(axis=1), np.diff(points, axis=1)[:, 0]
    return points[[np.argmin(sums), np.argmin(diffs), np.argmax(sums), np.argmax(diffs)]]


def naive_scan(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The naive scanner's output (the whole photo when it finds no quad) and its quad."""
    quad = naive_quad(rgb)
    if quad is None:
        return rgb, None
    tl, tr, br, bl = quad
    width = int(max(np.linalg.norm(br - bl), np.linalg.norm(tr - tl)))
    height = int(max(np.linalg.norm(tr - br), np.linalg.norm(tl - bl)))
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(rgb, matrix, (max(width, 1), max(height, 1))), quad


def require_tesseract() -> None:
    if shutil.which("tesseract") is None:
        raise SystemExit("tesseract is not installed: run bench/setup.sh")


def osd_rotation(rgb: np.ndarray) -> int | None:
    """Tesseract OSD's "Rotate: N" (the clockwise turn that makes the page upright, the same
    convention as our meta["rotation"]), or None when OSD gives no answer."""
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, "PNG")
    result = subprocess.run(
        ["tesseract", "stdin", "-", "--psm", "0"],
        input=png.getvalue(),
        capture_output=True,
        timeout=OSD_TIMEOUT,
        check=False,
        env=OSD_ENV,
    )
    match = re.search(rb"^Rotate: (\d+)", result.stdout, re.MULTILINE)
    return int(match.group(1)) % 360 if match else None

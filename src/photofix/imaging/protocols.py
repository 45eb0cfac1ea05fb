"""What the imaging core needs from a neural model, as structural types.

`photofix.models` provides onnxruntime implementations; tests may pass tiny fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class SaliencyModel(Protocol):
    """Salient-object segmentation (u2netp and friends)."""

    name: str

    def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """Soft mask for `rgb`: float32 in [0, 1], shape (H, W) of the input image, or of
        `size` = (width, height) when given (the model's output is resampled once)."""
        ...


class OrientationModel(Protocol):
    """Whole-page 0/90/180/270 classifier."""

    def predict(self, rgb: np.ndarray) -> dict[int, float]:
        """Probability per counter-clockwise angle {0, 90, 180, 270} that makes `rgb` upright."""
        ...


@dataclass(frozen=True)
class TextLine:
    """A detected text line: its rotated box (4 corners, px) and its reading direction.

    `box[0] -> box[1]` runs along the line's long side and `box[0] -> box[3]` along its short
    side: the x and y axes of the crop the direction classifier saw. `upside_down` is the
    probability that this crop reads upside down, so the text runs box[0] -> box[1] when it is
    low and box[1] -> box[0] when it is high.
    """

    box: np.ndarray  # (4, 2) float32, corners in image pixels
    upside_down: float  # probability that the line reads upside down (rotated 180)
    score: float = 1.0  # detector confidence in [0, 1]


class TextLineModel(Protocol):
    """Text detection plus a 0/180 direction classifier per line (rapidocr's det + cls)."""

    def detect(
        self, rgb: np.ndarray, max_lines: int = 40, *, directions: bool = True
    ) -> list[TextLine]:
        """The longest `max_lines` lines; without `directions` the classifier is skipped and
        `upside_down` is 0.5 (unknown): enough for slopes."""
        ...


@dataclass(frozen=True)
class ModelSet:
    """The models a pipeline may use. Built once per worker process and kept warm."""

    saliency: SaliencyModel  # finds pages, and products unless `product` is set
    orientation: OrientationModel | None = None
    text: TextLineModel | None = None
    product: SaliencyModel | None = None  # an operator-chosen model for types 3 and 4

    @property
    def product_segmenter(self) -> SaliencyModel:
        return self.product or self.saliency

"""Every crash the pipelines were found to have, one deterministic input per class, through
every type it hit; and the degenerate shapes that must take a defined path.

Add a case here for each new class a fuzz run finds (the name says the class and where it
lived); the inputs are made here, never read from files.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from photofix.pipelines import PROCESSING_TYPES, PRODUCT_MARGIN, PipelineOptions, run_pipeline


def drawn_square_on_a_checkerboard() -> np.ndarray:
    """10 x 10 grey-and-white checkerboard with a black square (a drawing test image): the
    studio backdrop fit's candidates sit at the corners, so its normal equations were
    singular (numpy LinAlgError in studio._least_squares)."""
    image = Image.new("RGB", (10, 10), "white")
    for x in range(10):
        for y in range(x % 2, 10, 2):
            image.putpixel((x, y), (128, 128, 128))
    ImageDraw.Draw(image).polygon([(2, 2), (2, 7), (7, 7), (7, 2)], "black")
    return np.asarray(image)


def one_pixel_wide_strip() -> np.ndarray:
    """56 x 1 with a block of colour: every backdrop candidate in one column (LinAlgError)."""
    strip = np.full((56, 1, 3), 200, np.uint8)
    strip[20:36] = (10, 40, 90)
    return strip


def square_on_transparency(angle: float) -> Callable[[], np.ndarray]:
    def make() -> np.ndarray:
        """A red square (turned `angle` degrees) drawn on a transparent canvas: an RGBA crop
        reached the RGB-only matting (ValueError broadcasting (H,W,4) with (H,W,3) in
        BackdropView.corrected_prior)."""
        image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
        ImageDraw.Draw(image).regular_polygon(((50, 50), 25), 4, rotation=angle, fill="red")
        return np.asarray(image)

    return make


def noise_with_noisy_alpha() -> np.ndarray:
    """RGBA noise: the guided filter got a 4-channel guide (ValueError in an einsum of
    matting._guided_coefficients)."""
    return np.random.default_rng(7).integers(0, 256, (49, 61, 4), dtype=np.uint8)


def nothing_opaque() -> np.ndarray:
    """Fully transparent, black under it: same einsum, and nothing to find."""
    return np.zeros((100, 100, 4), np.uint8)


REGRESSIONS: dict[str, Callable[[], np.ndarray]] = {
    "drawn square, singular backdrop fit": drawn_square_on_a_checkerboard,
    "1 px strip, singular backdrop fit": one_pixel_wide_strip,
    "square on transparency, RGBA into matting": square_on_transparency(0),
    "square turned 45 on transparency, RGBA into matting": square_on_transparency(45),
    "noise with noisy alpha, RGBA guided filter": noise_with_noisy_alpha,
    "nothing opaque, RGBA guided filter": nothing_opaque,
}


@pytest.mark.parametrize("name", REGRESSIONS)
@pytest.mark.parametrize("kind", PROCESSING_TYPES)
def test_each_crash_class_now_takes_a_defined_path(models, name, kind):
    image = REGRESSIONS[name]()
    result = run_pipeline(image, PipelineOptions(type=kind), models)
    assert result.image.dtype == np.uint8 and min(result.image.shape[:2]) >= 1
    assert result.image.shape[2] == (3 if kind < 3 else 4 if kind == 4 else image.shape[2])


@pytest.mark.parametrize(
    "shape",
    [(1, 1), (2, 1), (3, 3), (64, 1), (2, 4096), (4096, 1)],
)
@pytest.mark.parametrize("kind", PROCESSING_TYPES)
def test_tiny_and_extreme_shapes_keep_their_size_when_nothing_is_found(models, shape, kind):
    """Flat images smaller than any model's input, strips, 2048:1: nothing to find, so the
    whole image comes back (a cut-out of it: fully opaque)."""
    image = np.full((*shape, 3), (90, 140, 30), np.uint8)
    result = run_pipeline(image, PipelineOptions(type=kind), models)
    assert result.image.shape[:2] == shape
    if kind == 4:
        assert (result.image[..., 3] == 255).all()


@pytest.mark.parametrize("colour", [0, 255])
@pytest.mark.parametrize("kind", PROCESSING_TYPES)
def test_all_black_and_all_white_images_come_back_whole(models, colour, kind):
    image = np.full((120, 90, 3), colour, np.uint8)
    result = run_pipeline(image, PipelineOptions(type=kind), models)
    assert result.image.shape[:2] == (120, 90)
    assert (result.image[..., :3] == colour).all()


def flat_square(angle: float, size: int = 240, side: int = 90) -> tuple[np.ndarray, tuple]:
    """A flat square of one colour on a plain background, and its bounding box."""
    image = np.full((size, size, 3), (235, 235, 235), np.uint8)
    corners = cv2.boxPoints(((size / 2 - 0.5, size / 2 - 0.5), (side, side), angle))
    cv2.fillPoly(image, [np.round(corners).astype(np.int32)], (200, 30, 30))
    ys, xs = np.nonzero(image[..., 1] < 100)
    return image, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


@pytest.mark.parametrize("angle", [0, 45])
@pytest.mark.parametrize("kind", [3, 4])
def test_a_flat_square_is_found_and_cropped_around(models, angle, kind):
    image, (x0, y0, x1, y1) = flat_square(angle)
    result = run_pipeline(image, PipelineOptions(type=kind), models)
    assert result.meta["subject"]["found"]
    bx0, by0, bx1, by1 = result.meta["bbox"]
    margin = PRODUCT_MARGIN * max(x1 - x0, y1 - y0)
    margins = (x0 - bx0, y0 - by0, bx1 - x1, by1 - y1)
    assert all(abs(got - margin) <= 3 for got in margins), margins
    if kind == 4:
        alpha = result.image[..., 3]
        assert alpha[alpha.shape[0] // 2, alpha.shape[1] // 2] == 255 and alpha[0, 0] == 0

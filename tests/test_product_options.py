"""Product framing options end to end through the pipeline: aspect, margin, background."""

from __future__ import annotations

import numpy as np
import pytest

from photofix.pipelines import PipelineOptions, run_pipeline
from tests.synth import product_scene


@pytest.fixture(scope="module")
def scene():
    return product_scene(size=(900, 700))


def subject_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.mark.parametrize(("aspect", "ratio"), [(1.0, 1.0), (0.8, 0.8), ("original", 900 / 700)])
def test_cutout_has_the_asked_aspect_and_even_margins(models, scene, aspect, ratio):
    rgb, _ = scene
    result = run_pipeline(rgb, PipelineOptions(type=4, aspect=aspect, margin_px=30), models)
    height, width = result.image.shape[:2]
    assert width / height == pytest.approx(ratio, abs=0.01)
    x0, y0, x1, y1 = subject_box(result.image[..., 3] > 128)
    left, right, top, bottom = x0, width - x1, y0, height - y1
    # The margin is 30 px on the tight axis; the other axis is centred.
    assert min(left, right, top, bottom) == pytest.approx(30, abs=4)
    assert abs(left - right) <= 4 and abs(top - bottom) <= 4


def test_cutout_on_a_background_colour_is_opaque(models, scene):
    rgb, _ = scene
    result = run_pipeline(rgb, PipelineOptions(type=4, bg_color=(0, 128, 255)), models)
    assert result.image.ndim == 3 and result.image.shape[2] == 3
    assert tuple(result.image[0, 0]) == (0, 128, 255)


def test_crop_margin_in_pixels(models, scene):
    rgb, truth = scene
    result = run_pipeline(rgb, PipelineOptions(type=3, margin_px=12), models)
    x0, y0, x1, y1 = result.meta["bbox"]
    tx0, ty0, tx1, ty1 = subject_box(truth)
    margins = (tx0 - x0, ty0 - y0, x1 - tx1, y1 - ty1)
    assert all(abs(margin - 12) <= 6 for margin in margins), margins

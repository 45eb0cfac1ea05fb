"""The output of every type stays within the input side limit (issue 22, item 3): corners,
margins, aspect and padding that would make it larger shrink it proportionally, and meta says
so; corners reaching far outside the photo (an image_url's, known only once decoded) are a
BadRequest naming `corners`."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photofix.errors import BadRequest
from photofix.imaging import geometry
from photofix.pipelines import PipelineOptions, run_pipeline
from tests.synth import document_scene, product_scene


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 6)


def test_a_fitted_page_plan_is_the_same_page_smaller():
    image = smooth_image(400, 600)
    plan = geometry.plan_page(geometry.frame_corners(600, 400), (600, 400))
    fitted = geometry.fit_plan(plan, 300)
    assert fitted.size == (300, 200)
    assert np.abs(fitted.outline - geometry.frame_corners(300, 200)).max() < 1e-3
    page = geometry.warp_page(image, fitted)
    expected = cv2.resize(image, (300, 200), interpolation=cv2.INTER_AREA)
    assert np.abs(page.astype(int) - expected.astype(int)).mean() < 1.5
    assert geometry.fit_plan(plan, 600) is plan  # never enlarged, untouched when it fits


@pytest.mark.parametrize("max_side", [200, 80], ids=["resampled", "area-averaged-first"])
def test_a_bounded_rotated_crop_is_the_full_crop_shrunk(max_side):
    image = smooth_image(300, 400, seed=1)
    box = (-40, 20, 360, 280)  # reaches past the image: the outside is the fill
    full, full_corners = geometry.rotated_crop(image, 4.0, box, fill=(9, 9, 9))
    small, corners = geometry.rotated_crop(image, 4.0, box, fill=(9, 9, 9), max_side=max_side)
    assert max(small.shape[:2]) == max_side
    expected = geometry.shrink(full, (small.shape[1], small.shape[0]))
    assert np.abs(small.astype(int) - expected.astype(int)).mean() < 2.5
    # The same part of the photo, so the crop-to-photo map stays right.
    assert np.abs(corners - full_corners).max() < 0.5


def test_a_crop_shrunk_far_is_not_aliased():
    grating = np.zeros((400, 400, 3), np.uint8)
    grating[:, ::2] = 255  # the finest detail: resampled directly at 1/4 it would band
    crop, _ = geometry.rotated_crop(grating, 0.0, (0, 0, 400, 400), max_side=100)
    assert crop.shape[:2] == (100, 100)
    assert abs(float(crop.mean()) - 127.5) < 4 and crop.std() < 8


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    rgb, _ = document_scene(size=(640, 480))
    return rgb


# A page dragged a little past every edge of the 640x480 photo.
OUTSIDE = (-30.0, -30.0, 670.0, -30.0, 670.0, 510.0, -30.0, 510.0)


def test_type_0_with_corners_past_the_photo_is_shrunk_to_the_limit(models, scene):
    free = run_pipeline(scene, PipelineOptions(type=0, corners=OUTSIDE), models)
    bounded = run_pipeline(scene, PipelineOptions(type=0, corners=OUTSIDE, max_side=512), models)
    assert max(free.image.shape[:2]) > 512 and "shrunk" not in free.meta
    height, width = bounded.image.shape[:2]
    assert max(width, height) == 512 and (bounded.meta["width"], bounded.meta["height"]) == (
        width,
        height,
    )
    free_height, free_width = free.image.shape[:2]
    assert width / height == pytest.approx(free_width / free_height, rel=0.01)  # proportional
    assert bounded.meta["shrunk"]["max_side"] == 512
    scale = 512 / max(free_width, free_height)
    assert bounded.meta["shrunk"]["scale"] == pytest.approx(scale, abs=1e-3)
    assert bounded.meta["document"]["method"] == "user"


def test_corners_far_outside_the_decoded_photo_are_refused(models, scene):
    far = (0.0, 0.0, 4000.0, 0.0, 4000.0, 3000.0, 0.0, 3000.0)
    with pytest.raises(BadRequest) as error:
        run_pipeline(scene, PipelineOptions(type=2, corners=far), models)
    assert error.value.field == "corners" and "640x480" in error.value.message


def test_every_output_is_held_to_the_limit_even_one_no_step_planned(models, scene):
    result = run_pipeline(scene, PipelineOptions(type=1, max_side=320), models)
    assert result.image.shape[:2] == (240, 320)
    assert result.meta["shrunk"] == {"max_side": 320, "scale": 0.5}


@pytest.fixture(scope="module")
def big_product() -> np.ndarray:
    rgb, _ = product_scene(size=(1024, 1024))  # drawn small, as drawing 16 MP takes seconds
    return cv2.resize(rgb, (4096, 4096), interpolation=cv2.INTER_LINEAR)


@pytest.mark.parametrize("kind", [3, 4])
def test_a_4096_px_margin_on_a_4096_px_photo_stays_within_4096(models, big_product, kind):
    result = run_pipeline(big_product, PipelineOptions(type=kind, margin_px=4096), models)
    height, width = result.image.shape[:2]
    assert max(width, height) <= 4096 and (result.meta["width"], result.meta["height"]) == (
        width,
        height,
    )
    assert result.meta["subject"]["found"]
    if kind == 4:  # padded past the photo: 4096 px of margin on each side, shrunk to fit
        x0, y0, x1, y1 = result.meta["crop_box"]
        assert max(x1 - x0, y1 - y0) > 2 * 4096
        assert result.meta["shrunk"]["scale"] == pytest.approx(
            max(width, height) / max(x1 - x0, y1 - y0), abs=1e-3
        )
        assert result.image.shape[2] == 4


def test_an_extreme_aspect_is_shrunk_and_kept(models, big_product):
    result = run_pipeline(big_product, PipelineOptions(type=3, aspect=10.0), models)
    height, width = result.image.shape[:2]
    assert width == 4096 and width / height == pytest.approx(10.0, rel=0.01)
    assert 0 < result.meta["shrunk"]["scale"] < 0.25

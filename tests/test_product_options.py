"""Product framing options end to end through the pipeline: aspect, margin, background."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photofix.pipelines import PipelineOptions, run_pipeline
from tests.synth import labelled_box_scene, product_scene


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


def in_crop(result, mask: np.ndarray) -> np.ndarray:
    """`mask` (input pixels) cut the way the cut-out was (its crop may reach past the input)."""
    x0, y0, x1, y1 = result.meta["crop_box"]
    padded = np.pad(mask, ((max(-y0, 0), 0), (max(-x0, 0), 0)))
    return padded[max(y0, 0) :, max(x0, 0) :][: y1 - y0, : x1 - x0]


def handle_hole(size: tuple[int, int] = (900, 700)) -> np.ndarray:
    """Inside the mug's handle (see tests.synth.product_scene), clear of its stroke."""
    width, height = size
    hole = np.zeros((height, width), np.uint8)
    thickness = max(width // 40, 4)
    axes = (int(width * 0.07) - thickness, int(height * 0.15) - thickness)
    cv2.ellipse(hole, (int(width * 0.62), int(height * 0.525)), axes, 0, -90, 90, 255, -1)
    hole[:, : int(width * 0.62) + 6] = 0
    return hole.astype(bool)


def test_a_studio_cutout_sees_through_the_mug_handle(models, scene):
    rgb, _ = scene
    result = run_pipeline(rgb, PipelineOptions(type=4), models)
    assert result.meta["backdrop"] == "studio"
    hole = in_crop(result, handle_hole())
    assert hole.sum() > 2000
    assert result.image[..., 3][hole].mean() < 0.1 * 255


def test_only_a_cutout_takes_a_closer_look(models, scene):
    """A cut-out's edges are worth a second model run (~0.2 s at 12 MP); a crop's box is not."""
    rgb, _ = scene
    cut = run_pipeline(rgb, PipelineOptions(type=4), models).meta["timings"]
    crop = run_pipeline(rgb, PipelineOptions(type=3), models).meta["timings"]
    assert "closer_look" in cut and "closer_look" not in crop
    assert "find_subject" in crop and "backdrop" in crop


def shadowed(scene: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The scene with a soft shadow 35 % dark cast right of and below the mug."""
    rgb, truth = scene
    cast = np.zeros(truth.shape, np.float32)
    ys, xs = np.nonzero(truth)
    cast[ys.min() + 40 : ys.max() + 30, xs.min() + 50 : xs.max() + 60] = 1.0
    darkness = 0.35 * cv2.GaussianBlur(cast, (0, 0), 12) * ~truth
    return (rgb * (1.0 - darkness[..., None])).astype(np.uint8), darkness


def test_keep_shadow_keeps_the_contact_shadow_as_soft_alpha(models, scene):
    image, darkness = shadowed(scene)
    visible = in_crop(run_pipeline(image, PipelineOptions(type=4), models), darkness > 0.2)
    kept = run_pipeline(image, PipelineOptions(type=4, keep_shadow=True), models)
    dropped = run_pipeline(image, PipelineOptions(type=4), models)
    assert kept.meta["shadow"] == "kept" and "shadow" not in dropped.meta
    assert visible.sum() > 1000
    assert 0.2 * 255 < kept.image[..., 3][visible].mean() < 0.45 * 255
    assert kept.image[..., :3][visible].mean() < 15  # a shadow is dark, not the floor's colour
    assert dropped.image[..., 3][visible].mean() < 0.05 * 255


def test_keep_shadow_on_a_busy_background_says_why_it_did_nothing(models):
    rng = np.random.default_rng(3)
    rgb, truth = product_scene(size=(900, 700))
    busy = rng.integers(0, 256, (36, 46, 3)).astype(np.uint8)
    busy = cv2.resize(busy, (900, 700), interpolation=cv2.INTER_NEAREST)
    rgb = np.where(truth[..., None], rgb, busy)
    result = run_pipeline(rgb, PipelineOptions(type=4, keep_shadow=True), models)
    assert result.meta["backdrop"] == "scene"
    assert result.meta["shadow"] == "dropped: no studio backdrop"


@pytest.mark.parametrize("stored_turn", [90, 180, 270])
def test_a_product_stored_turned_is_uprighted_by_its_label(models, stored_turn):
    """A photo saved sideways or upside down (no EXIF to say so): the label text decides."""
    upright, _ = labelled_box_scene()
    turned = np.ascontiguousarray(np.rot90(upright, k=-stored_turn // 90))
    result = run_pipeline(turned, PipelineOptions(type=3), models)
    assert result.meta["rotation"] == (360 - stored_turn) % 360
    assert result.meta["orientation"]["source"] == "text"
    height, width = result.image.shape[:2]
    assert width > 1.2 * height  # the carton lies as it was shot: wider than tall
    # Its top-left corner comes from where the upright carton's top-left went.
    reference = run_pipeline(upright, PipelineOptions(type=3), models)
    assert reference.meta["rotation"] == 0
    assert (
        abs(width - reference.image.shape[1]) <= 4 and abs(height - reference.image.shape[0]) <= 4
    )
    same_size = cv2.resize(result.image, reference.image.shape[1::-1])
    assert np.abs(same_size.astype(int) - reference.image.astype(int)).mean() < 12


def test_a_turned_cutout_is_matted_against_the_backdrop_it_shows(models):
    """The slot in the carton shows the sweep. Stored turned, the carton is cut out exactly as
    upright, slot reopened: the backdrop model is seen from the turned crop."""
    upright, truth = labelled_box_scene(window=True)
    reference = run_pipeline(upright, PipelineOptions(type=4), models)
    bx0, by0, bx1, by1 = subject_box(truth)
    hole = np.zeros_like(truth)
    hole[by0:by1, bx0:bx1] = ~truth[by0:by1, bx0:bx1]  # what the carton's outline encloses
    slot = in_crop(reference, cv2.erode(hole.view(np.uint8), np.ones((5, 5))).view(bool))
    assert slot.sum() > 1000
    assert reference.image[..., 3][slot].mean() < 0.1 * 255

    turned = run_pipeline(
        np.ascontiguousarray(np.rot90(upright, k=-1)), PipelineOptions(type=4), models
    )
    assert turned.meta["rotation"] == 270 and turned.meta["backdrop"] == "studio"
    alpha = cv2.resize(turned.image[..., 3], reference.image.shape[1::-1])
    assert np.abs(alpha.astype(int) - reference.image[..., 3].astype(int)).mean() < 6
    assert alpha[slot].mean() < 0.1 * 255


def test_a_product_without_text_is_never_turned(models, scene):
    rgb, _ = scene
    turned = np.ascontiguousarray(np.rot90(rgb))
    result = run_pipeline(turned, PipelineOptions(type=4), models)
    assert result.meta["rotation"] == 0
    assert result.meta["orientation"]["source"] in ("none", "unsure")

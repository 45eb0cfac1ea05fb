"""Inputs that already carry transparency, through every type, with known ground truth.

What is under a transparent pixel is undefined, so the scenes here put black (and noise) there:
a step that reads it as part of the photo shows up as black in a page or a halo on a cut-out.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photofix.pipelines import PRODUCT_MARGIN, PipelineOptions, run_pipeline
from tests.synth import document_scene, product_scene, text_page


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _with_alpha(rgb: np.ndarray, alpha: np.ndarray, seed: int = 0) -> np.ndarray:
    """RGBA with undefined colour (black and noise) wherever it is fully transparent."""
    junk = np.random.default_rng(seed).integers(0, 40, rgb.shape, dtype=np.uint8)
    return np.dstack([np.where(alpha[..., None] == 0, junk, rgb), alpha])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


def _in_crop(meta: dict, mask: np.ndarray) -> np.ndarray:
    """`mask` (input pixels) cut as the output was (the crop may reach past the input)."""
    x0, y0, x1, y1 = meta["crop_box"]
    pads = ((max(-y0, 0), max(y1 - mask.shape[0], 0)), (max(-x0, 0), max(x1 - mask.shape[1], 0)))
    padded = np.pad(mask, pads)
    return padded[max(y0, 0) :, max(x0, 0) :][: y1 - y0, : x1 - x0]


def _margined(box: tuple[int, int, int, int]) -> list[int]:
    x0, y0, x1, y1 = box
    margin = round(PRODUCT_MARGIN * max(x1 - x0, y1 - y0))
    return [x0 - margin, y0 - margin, x1 + margin, y1 + margin]


# --- products --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cut_out_mug() -> tuple[np.ndarray, np.ndarray]:
    """The synthetic mug already cut out: opaque mug, transparent (junk colour) elsewhere."""
    rgb, mask = product_scene(size=(900, 700))
    return _with_alpha(rgb, mask.astype(np.uint8) * 255), mask


def test_a_cut_out_product_is_framed_by_its_opaque_pixels(models, cut_out_mug):
    rgba, mask = cut_out_mug
    result = run_pipeline(rgba, PipelineOptions(type=3), models)
    assert result.meta["subject"] == {"found": True, "confidence": 1.0, "source": "alpha"}
    assert result.meta["tilt"] == 0.0
    assert result.meta["crop_box"] == _margined(_box(mask))
    out = result.image
    assert out.shape == (*_in_crop(result.meta, mask).shape, 4)
    # The crop keeps the alpha: transparent exactly where the input was (and in the margin
    # past the input), and no hidden colour under it.
    expected = _in_crop(result.meta, rgba[..., 3])
    np.testing.assert_array_equal(out[..., 3], expected)
    assert not out[..., :3][expected == 0].any()


def test_a_cut_out_product_keeps_its_own_alpha(models, cut_out_mug):
    rgba, mask = cut_out_mug
    result = run_pipeline(rgba, PipelineOptions(type=4, keep_shadow=True), models)
    assert result.meta["subject"]["source"] == "alpha"
    assert result.meta["shadow"] == "dropped: the input is already cut out"
    alpha = result.image[..., 3]
    truth = _in_crop(result.meta, mask)
    assert _iou(alpha > 127, truth) >= 0.99
    assert not alpha[~truth].any()  # what was transparent stays transparent
    opaque = alpha == 255
    colours = _in_crop(result.meta, rgba[..., :3].astype(np.int16).max(axis=2))
    assert (colours[opaque] == result.image[..., :3].max(axis=2)[opaque]).all()


def test_a_cut_out_product_on_a_background_colour(models, cut_out_mug):
    rgba, mask = cut_out_mug
    result = run_pipeline(rgba, PipelineOptions(type=4, bg_color=(0, 128, 255)), models)
    out = result.image
    assert out.shape[2] == 3
    outside = ~_in_crop(result.meta, mask)
    assert (out[outside] == (0, 128, 255)).all()


@pytest.fixture(scope="module")
def framed_mug() -> tuple[np.ndarray, np.ndarray]:
    """The mug's studio photo exported turned by 20 degrees on a larger transparent canvas:
    transparent margins and corners, junk colour under them."""
    rgb, mask = product_scene(size=(700, 560))
    pad = 120
    canvas = np.zeros((560 + 2 * pad, 700 + 2 * pad, 3), np.uint8)
    canvas[pad:-pad, pad:-pad] = rgb
    alpha = np.zeros(canvas.shape[:2], np.uint8)
    alpha[pad:-pad, pad:-pad] = 255
    truth = np.zeros(canvas.shape[:2], np.uint8)
    truth[pad:-pad, pad:-pad] = mask
    size = (canvas.shape[1], canvas.shape[0])
    turn = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), 20, 1.0)
    canvas = cv2.warpAffine(canvas, turn, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(alpha, turn, size, flags=cv2.INTER_LINEAR)
    truth = cv2.warpAffine(truth, turn, size, flags=cv2.INTER_NEAREST) > 0
    return _with_alpha(canvas, alpha), truth


def test_a_product_photo_with_transparent_margins_is_cut_out_within_them(models, framed_mug):
    rgba, truth = framed_mug
    result = run_pipeline(rgba, PipelineOptions(type=4), models)
    assert result.meta["subject"]["found"] and result.meta["subject"]["source"] == "model"
    assert "crop_box" in result.meta  # no tilt: the crop maps back by a shift
    alpha = result.image[..., 3]
    assert _iou(alpha > 127, _in_crop(result.meta, truth)) >= 0.9
    # Nothing the input left transparent became opaque.
    assert (alpha <= _in_crop(result.meta, rgba[..., 3])).all()


def test_a_product_photo_with_transparent_margins_is_cropped_to_its_subject(models, framed_mug):
    rgba, truth = framed_mug
    result = run_pipeline(rgba, PipelineOptions(type=3), models)
    x0, y0, x1, y1 = result.meta["bbox"]
    tx0, ty0, tx1, ty1 = _box(truth)
    assert x0 <= tx0 and y0 <= ty0 and x1 >= tx1 and y1 >= ty1
    # The crop is the subject and its margin, not the turned photo around it.
    assert (x1 - x0) * (y1 - y0) <= 1.5 * (tx1 - tx0) * (ty1 - ty0)


def test_an_empty_cut_out_stays_empty(models):
    rgba = _with_alpha(np.zeros((60, 80, 3), np.uint8), np.zeros((60, 80), np.uint8))
    for kind in (3, 4):
        result = run_pipeline(rgba, PipelineOptions(type=kind), models)
        assert result.image.shape == (60, 80, 4)
        assert not result.image.any()
        assert result.meta["subject"]["found"] is False


# --- documents -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page_photo() -> tuple[np.ndarray, np.ndarray]:
    return document_scene(size=(1000, 750))


def _padded(rgb: np.ndarray, pad: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    alpha = np.zeros((height + 2 * pad, width + 2 * pad), np.uint8)
    alpha[pad:-pad, pad:-pad] = 255
    return _with_alpha(np.pad(rgb, ((pad, pad), (pad, pad), (0, 0))), alpha)


def _corner_error(result, corners: np.ndarray) -> float:
    found = np.asarray(result.meta["document"]["corners"])
    return float(np.abs(found - corners).max())


def _turned(rgba: np.ndarray, corners: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """`rgba` exported turned `degrees` counter-clockwise on its own canvas (the corners it
    turns out of it are transparent), and `corners` turned with it."""
    size = (rgba.shape[1], rgba.shape[0])
    turn = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), degrees, 1.0)
    turned = cv2.warpAffine(rgba, turn, size, flags=cv2.INTER_LINEAR)
    return turned, cv2.transform(corners[None].astype(np.float64), turn)[0]


@pytest.mark.parametrize("kind", [0, 2])
@pytest.mark.parametrize("degrees", [0, 8])
def test_a_page_photo_with_a_transparent_margin_is_scanned(models, page_photo, kind, degrees):
    rgb, corners = page_photo
    pad = 90
    rgba, corners = _turned(_padded(rgb, pad), corners + pad, degrees)
    result = run_pipeline(rgba, PipelineOptions(type=kind), models)
    assert result.image.ndim == 3 and result.image.shape[2] == 3
    assert result.meta["document"]["found"]
    assert _corner_error(result, corners) <= 6.0
    # The flattened page is paper: no black from under the transparency at its rim.
    rim = np.concatenate([result.image[:4].reshape(-1, 3), result.image[-4:].reshape(-1, 3)])
    assert np.median(rim) >= 150


def test_enhancing_a_page_with_a_transparent_margin_lays_it_on_white(models, page_photo):
    rgb, _ = page_photo
    pad = 60
    rgba = _padded(rgb, pad)
    result = run_pipeline(rgba, PipelineOptions(type=1), models)
    assert result.image.shape == (*rgba.shape[:2], 3)
    margin = result.image[: pad - 5]
    assert margin.min() >= 240


def test_a_cut_out_page_is_found_by_its_outline(models, page_photo):
    rgb, corners = page_photo
    inside = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(corners).astype(np.int32)], 255)
    result = run_pipeline(_with_alpha(rgb, inside), PipelineOptions(type=0), models)
    assert result.meta["document"]["found"]
    assert _corner_error(result, corners) <= 6.0
    assert result.image.shape[2] == 3 and np.median(result.image[:3]) >= 150


def test_text_on_a_transparent_background_is_dark_ink_on_white_paper(models):
    page = text_page(width=600, height=400)
    ink = np.clip((240 - page.min(axis=2).astype(np.int32)) * 2, 0, 255).astype(np.uint8)
    rgba = np.dstack([np.zeros_like(page), ink])  # black text, its coverage as alpha
    for kind in (0, 1, 2):
        result = run_pipeline(rgba, PipelineOptions(type=kind), models)
        out = result.image
        assert out.shape == (400, 600, 3)
        gray = out.min(axis=2)
        assert np.median(gray[ink == 0]) >= 245  # paper
        assert np.median(gray[ink == 255]) <= 90  # ink


def test_an_empty_page_is_white(models):
    rgba = np.zeros((40, 30, 4), np.uint8)
    for kind in (0, 1, 2):
        result = run_pipeline(rgba, PipelineOptions(type=kind), models)
        assert result.image.shape == (40, 30, 3) and (result.image == 255).all()

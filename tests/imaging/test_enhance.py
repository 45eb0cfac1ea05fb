"""Scanner-look enhancement on a generated page with a known layout under a known shadow."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photofix.imaging import enhance
from tests.synth import text_page

PAPER = (250, 250, 247)


def page_with_marks() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The text page plus a red stamp and a line of faint grey pencil; their masks."""
    page = text_page(width=1000, height=1300, seed=7).copy()
    stamp = np.zeros(page.shape[:2], np.uint8)
    cv2.circle(stamp, (760, 1120), 80, 255, 9)
    page[stamp > 0] = (200, 30, 35)
    pencil = np.zeros(page.shape[:2], np.uint8)
    cv2.line(pencil, (90, 1200), (600, 1200), 255, 3)
    page[pencil > 0] = (175, 175, 175)
    gray = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    ink = (gray < 120) & (stamp == 0)
    paper = cv2.erode((gray > 240).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    return page, {"stamp": stamp > 0, "pencil": pencil > 0, "ink": ink, "paper": paper}


def under_shadow(page: np.ndarray) -> np.ndarray:
    """Light falling off across the page, plus a soft dark shadow over one corner."""
    height, width = page.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.95 - 0.35 * (xx / width) - 0.1 * (yy / height)
    blob = np.exp(-(((xx - 0.2 * width) ** 2 + (yy - 0.25 * height) ** 2) / (0.2 * width) ** 2))
    light = light * (1.0 - 0.45 * blob)
    return np.clip(page.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def scene():
    page, masks = page_with_marks()
    return under_shadow(page), masks


def test_shadows_are_removed_and_paper_is_white(scene):
    photo, masks = scene
    out = enhance.enhance_document(photo, "color")
    paper_in = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[masks["paper"]]
    paper_out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[masks["paper"]]
    assert paper_in.std() > 20  # the shadow really is there
    assert np.percentile(paper_out, 5) >= 235  # even the shadowed paper comes out white
    assert paper_out.std() < 6


def test_ink_stays_dark_and_faint_pencil_survives(scene):
    photo, masks = scene
    out = cv2.cvtColor(enhance.enhance_document(photo, "color"), cv2.COLOR_RGB2GRAY)
    assert np.median(out[masks["ink"]]) < 90
    assert np.median(out[masks["pencil"]]) < 215  # visible against the 255 paper


def test_coloured_stamp_keeps_its_colour(scene):
    photo, masks = scene
    out = enhance.enhance_document(photo, "color").astype(np.int32)
    red, green, blue = (np.median(out[..., c][masks["stamp"]]) for c in range(3))
    assert red - green > 90 and red - blue > 90


def test_no_halo_around_text_blocks(scene):
    photo, masks = scene
    out = cv2.cvtColor(enhance.enhance_document(photo, "color"), cv2.COLOR_RGB2GRAY)
    # Paper right next to the ink (a ring 3-8 px out) is as white as paper far from it.
    ink = masks["ink"].astype(np.uint8)
    near = cv2.dilate(ink, np.ones((17, 17), np.uint8)) & ~cv2.dilate(ink, np.ones((7, 7)))
    ring = (near > 0) & masks["paper"]
    assert ring.sum() > 1000
    assert np.median(out[ring]) >= 245


def test_gray_and_bw_modes(scene):
    photo, masks = scene
    gray = enhance.enhance_document(photo, "gray")
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    bw = enhance.enhance_document(photo, "bw")
    assert set(np.unique(bw)) <= {0, 255}
    assert (bw[..., 0][masks["ink"]] == 0).mean() > 0.9
    assert (bw[..., 0][masks["paper"]] == 255).mean() > 0.99


def test_none_mode_and_alpha_are_kept():
    rgba = np.dstack([text_page(300, 400), np.full((400, 300), 200, np.uint8)])
    assert enhance.enhance_document(rgba, "none") is rgba
    out = enhance.enhance_document(rgba, "color")
    assert out.shape == rgba.shape and np.array_equal(out[..., 3], rgba[..., 3])
    with pytest.raises(ValueError):
        enhance.enhance_document(rgba, "sepia")


def test_a_grey_table_header_keeps_its_fill_while_a_shadow_goes():
    """Flat printed fills look like shadows to a background estimate (smooth, neutral,
    darker); they differ by their sharp edges all round. The soft shadow blob of
    `under_shadow` sits inside the page too, and must still be lifted."""
    page = text_page(width=1000, height=1300, seed=3).copy()
    header = (slice(700, 745), slice(90, 910))
    page[header] = (205, 205, 205)
    cv2.putText(
        page, "Item    Qty    Price", (110, 732), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2
    )
    out = cv2.cvtColor(enhance.enhance_document(under_shadow(page), "color"), cv2.COLOR_RGB2GRAY)
    fill = out[705:712, 600:900]  # the header's grey, right of its text
    assert 170 <= np.median(fill) <= 225 and fill.std() < 8  # still grey, and even
    # Paper right above and below the fill stays white: no halo from the fill.
    assert np.median(out[690:697, 600:900]) >= 240 and np.median(out[752:758, 600:900]) >= 240
    shadowed = out[300:340, 150:250]  # under the soft shadow blob
    paper = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)[300:340, 150:250] > 240
    assert np.percentile(shadowed[paper], 10) >= 235


def _paper_lab(out: np.ndarray, paper: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(out.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return np.median(lab[paper], axis=0)


def test_coloured_paper_keeps_its_colour_and_loses_its_shadow(scene):
    """A yellow sticky-note page under the same shadow: the paper comes out yellow (not blown
    out to white), the same yellow in the shadow as in the light, and the ink stays dark."""
    page, masks = page_with_marks()
    yellow = np.float32([1.0, 0.93, 0.56])  # paper (250, 232, 140): Lab chroma ~50
    photo = under_shadow(np.clip(page * yellow, 0, 255).astype(np.uint8))
    out = enhance.enhance_document(photo, "color")
    lab = cv2.cvtColor(out.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    paper = lab[masks["paper"]]
    assert np.median(paper[:, 2]) > 35  # strongly yellow (b*), as the paper was
    assert abs(np.median(paper[:, 1])) < 8  # and not shifted towards red or green
    assert np.median(paper[:, 0]) > 88  # at full exposure: bright, not the shadow's dull tone
    shaded = masks["paper"].copy()
    shaded[:, 500:] = False  # the left half holds the shadow blob, the right the light
    lit = masks["paper"] & ~shaded
    assert np.linalg.norm(_paper_lab(out, shaded) - _paper_lab(out, lit)) < 4  # evened out
    assert paper[:, 0].std() < 3
    assert np.median(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[masks["ink"]]) < 90


def test_a_light_cast_on_white_paper_is_taken_out(scene):
    """White paper photographed under warm light (Lab chroma ~9) comes out white."""
    page, masks = page_with_marks()
    warm = np.float32([1.0, 0.97, 0.89])
    photo = under_shadow(np.clip(page * warm, 0, 255).astype(np.uint8))
    cast = _paper_lab(photo, masks["paper"])
    assert 6 < np.hypot(cast[1], cast[2]) < enhance.PAPER_TINT_FROM  # the cast is there
    paper = _paper_lab(enhance.enhance_document(photo, "color"), masks["paper"])
    assert np.hypot(paper[1], paper[2]) < 1.5 and paper[0] > 97


@pytest.mark.parametrize("desk", [(170, 120, 80), (90, 110, 160)])
def test_a_white_page_on_a_coloured_desk_stays_white(desk):
    """A whole photo enhanced without a crop: the smooth desk around the page looks like bare
    paper, and its colour must not be taken for the paper's."""
    page = text_page(width=600, height=780, seed=4)
    photo = np.empty((900, 1200, 3), np.uint8)
    photo[:] = desk
    photo[60:840, 300:900] = page
    out = enhance.enhance_document(photo, "color")
    paper = (cv2.cvtColor(page, cv2.COLOR_RGB2GRAY) > 240)[20:-20, 20:-20]
    margin = out[80:820, 320:880][paper]
    assert np.median(margin, axis=0).min() >= 250  # white, not tinted with the desk's colour


def test_a_one_pixel_wide_image_keeps_its_ink():
    """No neighbours to measure noise from: the estimate must not turn into NaN and wash the
    ink out."""
    page = text_page(width=600, height=780, seed=4)
    gray = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    column = np.ascontiguousarray(page[:, [int(np.argmin(gray.sum(axis=0)))]])
    ink = cv2.cvtColor(column, cv2.COLOR_RGB2GRAY)[:, 0] < 100
    assert ink.sum() > 20
    out = cv2.cvtColor(enhance.enhance_document(column, "color"), cv2.COLOR_RGB2GRAY)[:, 0]
    assert np.median(out[ink]) < 100 and np.median(out[~ink]) >= 245

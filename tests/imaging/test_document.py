"""Page finding, flattening and uprighting on generated photos with known page corners.

A text page is warped into a desk scene at a known quad; the detector must find the corners
within 1.5 % of the image diagonal (it typically lands within 0.1 %), and the type 0 pipeline
must flatten it to the page's aspect and turn it upright from each of the four rotations.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photofix.imaging import document, geometry
from photofix.imaging.document import find_document
from photofix.pipelines import PipelineOptions, run_pipeline
from tests.synth import (
    DEFAULT_QUAD,
    desk,
    display_scene,
    document_scene,
    paste,
    slide,
    text_page,
)

TOLERANCE = 0.015  # x image diagonal, per corner

QUADS = {
    "tilted-perspective": DEFAULT_QUAD,
    "fills-95-percent": ((0.02, 0.015), (0.985, 0.02), (0.975, 0.985), (0.015, 0.975)),
    "strong-keystone": ((0.30, 0.10), (0.70, 0.12), (0.92, 0.92), (0.06, 0.90)),
    "small-in-frame": ((0.40, 0.35), (0.62, 0.36), (0.61, 0.66), (0.39, 0.65)),
    "turned-30-degrees": ((0.35, 0.05), (0.90, 0.30), (0.65, 0.95), (0.10, 0.70)),
}


def corner_error(found: np.ndarray, truth: np.ndarray, size: tuple[int, int]) -> float:
    """Largest corner distance, as a fraction of the diagonal (both quads ordered TL first)."""
    found = geometry.order_corners(found)
    truth = geometry.order_corners(truth)
    return float(np.linalg.norm(found - truth, axis=1).max() / np.hypot(*size))


@pytest.mark.parametrize("background", ["desk", "light"])
@pytest.mark.parametrize("name", sorted(QUADS))
def test_page_corners_are_found_within_tolerance(models, name, background):
    size = (1200, 900)
    scene, truth = document_scene(size=size, quad=QUADS[name], background=background, seed=3)
    found = find_document(scene, models.saliency)
    assert found is not None
    assert corner_error(found.corners, truth, size) < TOLERANCE
    assert found.confidence >= 0.5


def quad_iou(a: np.ndarray, b: np.ndarray, shape: tuple[int, int]) -> float:
    masks = [np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)]
    for mask, quad in zip(masks, (a, b), strict=True):
        cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1)
    return float((masks[0] & masks[1]).sum() / (masks[0] | masks[1]).sum())


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("kind", ["monitor", "projector", "whiteboard"])
def test_slides_on_a_screen_and_whiteboards_are_found(models, kind, seed):
    """A monitor's screen (not its bezel), a projected slide, a whiteboard (with or without
    its frame: scanner apps differ, both read the same)."""
    scene, quads = display_scene(kind, seed=seed)
    found = find_document(scene, models.saliency)
    assert found is not None and found.confidence >= 0.5
    shape = scene.shape[:2]
    if kind == "whiteboard":
        assert max(quad_iou(found.corners, q, shape) for q in quads.values()) > 0.97
    else:
        assert quad_iou(found.corners, quads["content"], shape) > 0.97


@pytest.mark.parametrize("seed", [0, 1])
def test_a_screen_is_found_inside_a_wide_bezel(models, seed):
    """With a bezel 14 % wide the page model's blob covers the whole monitor and the bezel's
    outline has edges all round too; the screen inside it, framed by a dark flat band, is the
    document (it scored 0.74 IoU before frames were looked into)."""
    scene, quads = display_scene("monitor", seed=seed, bezel=0.14)
    found = find_document(scene, models.saliency)
    assert found is not None
    assert quad_iou(found.corners, quads["content"], scene.shape[:2]) > 0.97


def test_a_slides_dark_title_bar_is_not_taken_for_a_frame(models):
    """A slide lying on a dark, flat surface: its navy title bar plus the surface around the
    rest would make a dark band round the slide's white body, but not one of one colour."""
    height, width = 900, 1200
    surface = np.full((height, width, 3), (62, 50, 40), np.float32)
    quad = np.float32([[200, 160], [1000, 190], [980, 700], [220, 720]])
    scene = paste(surface, slide(1280, 720, np.random.default_rng(4)), quad).astype(np.uint8)
    scene = np.clip(scene + np.random.default_rng(5).normal(0, 2, scene.shape), 0, 255)
    found = find_document(scene.astype(np.uint8), models.saliency)
    assert found is not None
    assert quad_iou(found.corners, quad, (height, width)) > 0.97


def test_no_page_in_a_plain_photo_is_not_invented(models):
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8), (0, 0), 6)
    found = find_document(noise, models.saliency)
    assert found is None or found.confidence < 0.5


def upright_score(output: np.ndarray, page: np.ndarray) -> dict[int, float]:
    """Normalised correlation of the output with the true page turned by each angle: the
    angle with the best score is how far the output still is from upright."""
    gray = cv2.cvtColor(output, cv2.COLOR_RGB2GRAY).astype(np.float32)
    truth = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY).astype(np.float32)
    scores = {}
    for angle in (0, 90, 180, 270):
        turned = geometry.rotate_clockwise(truth, angle)
        resized = cv2.resize(gray, turned.shape[::-1], interpolation=cv2.INTER_AREA)
        a, b = resized - resized.mean(), turned - turned.mean()
        scores[angle] = float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))
    return scores


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_scan_flattens_and_uprights_every_rotation(models, rotation):
    size = (1200, 900)
    scene, truth = document_scene(rotation=rotation, size=size)
    result = run_pipeline(scene, PipelineOptions(type=0), models)
    meta = result.meta

    assert meta["document"]["found"] is True
    assert meta["rotation"] == (360 - rotation) % 360
    # meta corners are TL, TR, BR, BL of the upright page, in input pixels.
    corners = np.asarray(meta["document"]["corners"], np.float32)
    assert np.linalg.norm(corners - truth, axis=1).max() < TOLERANCE * np.hypot(*size)

    scores = upright_score(result.image, text_page())
    assert max(scores, key=scores.get) == 0, scores
    assert scores[0] > 0.5
    height, width = result.image.shape[:2]
    assert (meta["width"], meta["height"]) == (width, height)


def test_user_corners_are_used_as_given(models):
    scene, truth = document_scene(size=(1000, 800))
    # A deliberately different quad: the pipeline must warp exactly this one.
    user = truth + np.float32([[15, 10], [-12, 8], [-10, -14], [11, -9]])
    result = run_pipeline(
        scene, PipelineOptions(type=0, corners=tuple(user.ravel().tolist())), models
    )
    assert result.meta["document"]["method"] == "user"
    assert np.allclose(result.meta["document"]["corners"], user, atol=0.1)
    width, height = geometry.rectified_size(user, scene.shape)
    # The output is that quad flattened; a deskew may add a few pixels of canvas.
    assert abs(result.image.shape[0] - height) <= 0.02 * height
    assert abs(result.image.shape[1] - width) <= 0.02 * width


def test_low_confidence_keeps_the_whole_image(models):
    rng = np.random.default_rng(1)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (500, 700, 3), dtype=np.uint8), (0, 0), 5)
    result = run_pipeline(noise, PipelineOptions(type=0), models)
    assert result.meta["document"]["found"] is False
    assert result.meta["document"]["reason"]
    assert result.image.shape[:2] in ((500, 700), (700, 500))


def test_scan_and_enhance_whitens_the_flattened_page(models):
    scene, _ = document_scene(size=(1200, 900))
    result = run_pipeline(scene, PipelineOptions(type=2), models)
    gray = cv2.cvtColor(result.image, cv2.COLOR_RGB2GRAY)
    # Mostly paper: its median goes to (near) white; the text stays dark.
    assert np.median(gray) >= 240
    assert np.percentile(gray, 1) < 110
    assert result.meta["document"]["found"] is True and result.meta["enhance"] == "color"


def test_only_a_page_enhanced_next_is_resampled_bilinear(models, monkeypatch):
    """Enhancement sharpens the ink, so its page may be resampled the fast way; a plain scan,
    or a type 2 without enhancement, keeps bicubic (and then is exactly the type 0 page)."""
    resampled = []
    warp = geometry.warp_page

    def spy(*args, **kwargs):
        if "bicubic" in kwargs:  # the full-resolution page (previews use the default)
            resampled.append(kwargs["bicubic"])
        return warp(*args, **kwargs)

    monkeypatch.setattr(geometry, "warp_page", spy)
    scene, _ = document_scene(size=(800, 600))
    scan = run_pipeline(scene, PipelineOptions(type=0), models)
    run_pipeline(scene, PipelineOptions(type=2), models)
    plain = run_pipeline(scene, PipelineOptions(type=2, enhance="none"), models)
    assert resampled == [True, False, True]
    assert np.array_equal(plain.image, scan.image)


def test_bilinear_and_bicubic_page_warps_agree_but_bicubic_is_crisper():
    page = text_page(seed=1)
    quad = np.float32([[30.3, 20.6], [800.2, 35.1], [820.7, 1070.4], [12.5, 1060.9]])
    plan = geometry.plan_page(quad, geometry.rectified_size(quad, page.shape), 0, 0.0)
    fast = geometry.warp_page(page, plan, bicubic=False).astype(np.float32)
    crisp = geometry.warp_page(page, plan).astype(np.float32)
    assert fast.shape == crisp.shape
    assert np.abs(fast - crisp).mean() < 3.0  # the same page, the same place

    def edge_energy(image: np.ndarray) -> float:
        return float(cv2.Laplacian(image.mean(axis=2), cv2.CV_32F).var())

    assert edge_energy(crisp) > 1.1 * edge_energy(fast)


def test_small_dark_rectangle_on_paper_scores_below_a_light_card_on_a_desk():
    # The same box, once a logo printed on a receipt scan (darker than the paper around it),
    # once a card on a desk (lighter than its surroundings): only the card may be the page.
    box = np.float32([[260, 120], [380, 120], [380, 200], [260, 200]])
    logo = np.full((360, 640, 3), (236, 234, 228), np.uint8)
    logo[120:200, 260:380] = (170, 30, 35)
    card = np.full((360, 640, 3), (90, 70, 55), np.uint8)
    card[120:200, 260:380] = (236, 234, 228)
    logo_score = document.score_quad(box, document.EdgeField(logo), None, logo.shape[:2])
    card_score = document.score_quad(box, document.EdgeField(card), None, card.shape[:2])
    assert card_score > 0.5
    assert logo_score < 0.5 * card_score


def test_an_id_card_band_as_dark_as_the_desk_is_part_of_the_card(models):
    """A card whose blue band differs from the dark wooden desk in colour, hardly in
    lightness: the edge between the band and the pale rest of the card is the strongest line,
    but the card ends at the band's outer edge."""
    size = (1200, 900)
    card = np.full((540, 856, 3), (236, 234, 222), np.uint8)
    card[430:] = (30, 70, 170)  # the band: about the desk's lightness
    card[100:380, 40:260] = (140, 140, 150)  # the photo
    quad = np.float32([[300, 260], [940, 190], [990, 620], [330, 700]])
    scene = desk(*size, seed=5)
    cv2.circle(scene, (420, 235), 70, (40, 25, 30), -1, cv2.LINE_AA)  # a coaster under it
    scene = paste(scene, card, quad).astype(np.uint8)
    found = find_document(scene, models.saliency)
    assert found is not None
    assert corner_error(found.corners, quad, size) < 0.005


def gingham(size: tuple[int, int], angle: float, period: float, phase: float) -> np.ndarray:
    """A red-and-white checked tablecloth, its stripes at `angle` degrees: straight edges
    everywhere, some parallel to the page's."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    a = np.radians(angle)
    u = xx * np.cos(a) + yy * np.sin(a) + phase
    v = -xx * np.sin(a) + yy * np.cos(a) + phase
    checks = (np.sin(u * 2 * np.pi / period) > 0).astype(np.float32)
    checks += np.sin(v * 2 * np.pi / period) > 0
    weight = cv2.GaussianBlur(checks / 2, (0, 0), 1.0)[..., None]
    cloth = np.float32([238, 232, 222]) * (1 - weight) + np.float32([180, 40, 50]) * weight
    return cloth.astype(np.uint8)


def test_a_finger_over_a_corner_does_not_bend_the_page_outline(models):
    """A page held down with a finger over its top-left corner, on a checked cloth whose
    stripes run parallel to the page's top side: with a fifth of that side hidden, a stripe
    edge next to it is as well supported as the page's own, yet the page must keep its
    outline."""
    size = (1200, 900)
    quad = np.float32([[380, 250], [910, 225], [930, 760], [410, 790]])
    scene = paste(gingham(size, -2.7, 30.0, 15.0), text_page(seed=2), quad).astype(np.uint8)
    tip = quad[0] + (quad[1] - quad[0]) * 0.2
    finger = np.zeros(scene.shape[:2], np.float32)
    cv2.line(finger, (-40, int(tip[1]) + 5), (int(tip[0]), int(tip[1])), 1.0, 70, cv2.LINE_AA)
    finger = cv2.GaussianBlur(finger, (0, 0), 1.5)[..., None]
    scene = (np.float32([214, 160, 128]) * finger + scene * (1 - finger)).astype(np.uint8)
    found = find_document(scene, models.saliency)
    assert found is not None
    assert corner_error(found.corners, quad, size) < 0.005


def test_a_steep_side_cutting_a_corner_off_the_photo_gets_a_frame_variant():
    """A page whose top runs off the photo shows no top edge; a quad fitted to what is seen may
    cut across it with a steep side that leaves the photo (a book page shot close up). Its
    variant with that side on the frame must be offered, and the edges must prefer it."""
    work = np.full((480, 640, 3), 60, np.uint8)
    page = np.int32([[100, -100], [440, -100], [450, 470], [90, 460]])
    cv2.fillPoly(work, [page], (235, 232, 225))
    field = document.EdgeField(work)
    steep = np.float32([[100, 110], [432, -80], [448, 465], [92, 458]])  # top side: ~30 degrees
    variants = document._with_frame_variants(steep, field)
    on_frame = [q for q, _ in variants if np.abs(q[:2, 1] + 0.5).max() < 1e-3]
    assert on_frame, "no variant with the top side on the frame"
    shape, edges = document.edge_evidence(on_frame[0], field)
    steep_shape, steep_edges = document.edge_evidence(steep, field)
    assert shape * edges > steep_shape * steep_edges

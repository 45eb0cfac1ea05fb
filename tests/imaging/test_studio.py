"""Studio backdrops: the smooth background model, and what it explains: to the matting (holes
reopened with the shadow cast into them, white-on-white kept whole, exact de-spill), to the
subject (parts the model missed, where its box ends) and for keep_shadow (the cast shadow)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photofix.imaging import matting, studio, subject
from photofix.imaging.studio import LEVEL, fit_backdrop
from tests.imaging.test_matting import background, composite, low_res_mask, product_colours

SIZE = (900, 1200)  # rows, columns


def sweep(rng: np.random.Generator, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A seamless paper sweep: a warm tint, darker at the top, a vignette, sensor noise."""
    height, width = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.92 + 0.06 * yy / height - 0.05 * ((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2)
    image = np.float32([238, 230, 215]) * light[..., None] + rng.normal(0, 1.5, (height, width, 1))
    return image.clip(0, 255)


def disc(radius: float, centre: tuple[float, float], size: tuple[int, int] = SIZE) -> np.ndarray:
    """Anti-aliased [0, 1] disc."""
    height, width = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.hypot(xx - centre[0], yy - centre[1])
    return np.clip(radius + 0.5 - distance, 0.0, 1.0)


CENTRE = (600.0, 450.0)


def ring_scene(rng: np.random.Generator, *, shadow: bool) -> tuple[np.ndarray, np.ndarray]:
    """A dark 30 px ring (a bangle, a roll of tape) on a sweep; its hole shows the sweep,
    optionally with the soft shadow the ring casts into it."""
    alpha = disc(200, CENTRE) - disc(170, CENTRE)
    behind = sweep(rng)
    if shadow:
        inner = disc(170, CENTRE)
        cast = cv2.GaussianBlur(disc(200, (CENTRE[0] + 12, CENTRE[1] + 12)) - inner, (0, 0), 8)
        behind = behind * (1.0 - 0.25 * np.clip(cast, 0, 1) * inner)[..., None]
    ring = np.broadcast_to(np.float32([60, 50, 45]), (*SIZE, 3))
    return composite(ring, behind, alpha), alpha


def studio_alpha(image: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """The refined alpha in [0, 1] of `image` with the model's mask `coarse`, matted against
    the studio backdrop fitted behind it (which must be found)."""
    found = fit_backdrop(image, coarse)
    assert found is not None
    return matting.refine_alpha(image, coarse, found).astype(np.float32) / 255.0


def test_a_sweep_is_modelled_to_within_its_noise():
    rng = np.random.default_rng(1)
    behind = sweep(rng)
    alpha = disc(200, CENTRE)
    image = composite(product_colours(*SIZE, rng), behind, alpha)
    found = fit_backdrop(image, low_res_mask(alpha))
    assert found is not None and found.noise < 2.5 * LEVEL
    rendered = found.render(SIZE) / LEVEL  # in levels, as the sweep was made
    outside = disc(260, CENTRE) == 0
    assert np.abs(rendered[outside] - behind[outside]).mean() < 1.5

    # Seen from a crop (a shift; the grid a matte works on is 2 px blocks) it is the same.
    x0, y0 = 300, 200
    crop = found.in_crop(np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]]))
    half = crop.render((200, 300), factor=2.0) / LEVEL
    assert np.abs(half - rendered[y0 + 1 : y0 + 400 : 2, x0 + 1 : x0 + 600 : 2]).max() < 1.0


@pytest.mark.parametrize("kind", ["clutter", "wood"])
def test_a_scene_is_not_a_backdrop(kind):
    rng = np.random.default_rng(2)
    if kind == "clutter":
        behind = background(*SIZE, "clutter", rng)
    else:  # fine grain: smooth at a glance, but not a quadratic
        grain = cv2.GaussianBlur(rng.normal(0, 30, (SIZE[0], SIZE[1] // 8)), (0, 0), 2)
        grain = cv2.resize(grain, SIZE[::-1], interpolation=cv2.INTER_LINEAR)
        behind = (np.float32([150, 100, 60]) + grain[..., None]).clip(0, 255)
    alpha = disc(200, CENTRE)
    image = composite(product_colours(*SIZE, rng), behind, alpha)
    assert fit_backdrop(image, low_res_mask(alpha)) is None


@pytest.mark.parametrize("shadow", [False, True], ids=["clean", "shadow-in-hole"])
def test_a_hole_showing_the_backdrop_is_reopened(shadow):
    rng = np.random.default_rng(3)
    image, truth = ring_scene(rng, shadow=shadow)
    # The saliency model's view of a ring: a solid blob (it fills holes at 320 px).
    coarse = low_res_mask(disc(200, CENTRE))
    alpha = studio_alpha(image, coarse)
    hole = disc(160, CENTRE) > 0
    band = (truth > 0.99) & (cv2.erode((truth > 0.99).view(np.uint8), np.ones((9, 9))) > 0)
    assert alpha[hole].mean() < 0.02  # the hole is clear, shadow and all
    assert alpha[band].mean() > 0.98  # the ring itself is whole
    # Without the backdrop nothing tells the matting the hole is not part of the object.
    assert matting.refine_alpha(image, coarse)[hole].mean() > 200


def necklace_scene(
    rng: np.random.Generator, width: float, metal: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """A necklace lying flat on a sweep: a `width` px chain whose drop shadow falls 40 px
    inside its loop."""
    chain = disc(200, CENTRE) - disc(200 - width, CENTRE)
    moved = (CENTRE[0] + 40, CENTRE[1] + 40)
    cast = cv2.GaussianBlur(disc(200, moved) - disc(194, moved), (0, 0), 10)
    behind = sweep(rng) * (1.0 - 0.4 * (cast / cast.max()) * (chain == 0))[..., None]
    return composite(np.broadcast_to(np.float32(metal), (*SIZE, 3)), behind, chain), chain


@pytest.mark.parametrize(
    ("width", "metal", "solid"),
    [(6, (120, 100, 60), 0.98), (3, (190, 185, 175), 0.75)],
    ids=["dark-chain", "pale-thin-chain"],
)
def test_a_drop_shadow_far_inside_a_thin_loop_is_cleared(width, metal, solid):
    """The whole shadowed band is backdrop, however far it reaches from where the backdrop
    shows; a thin pale chain, cleared on both sides, still stands (it is no shadow: it stands
    out from its own blur)."""
    image, chain = necklace_scene(np.random.default_rng(9), width, metal)
    coarse = low_res_mask(disc(200, CENTRE))  # the model sees a solid blob
    alpha = studio_alpha(image, coarse)
    assert alpha[disc(190, CENTRE) > 0].mean() < 0.01
    assert alpha[chain > 0.99].mean() > solid
    assert alpha[disc(215, CENTRE) == 0].max() == 0.0


def test_white_on_white_stays_whole():
    """A white carton on a white sweep: close to the backdrop, yet not it (its own shading),
    so the model's solid mask must not be punched through."""
    rng = np.random.default_rng(4)
    behind = sweep(rng)
    alpha = disc(220, CENTRE)
    xx = np.arange(SIZE[1], dtype=np.float32)[None, :].repeat(SIZE[0], axis=0)
    shading = 244 - 10 * (xx - CENTRE[0]) / 220  # lit from the left
    carton = np.dstack([shading, shading, shading - 2]) + rng.normal(0, 1.5, (*SIZE, 1))
    image = composite(carton.clip(0, 255), behind, alpha)
    coarse = low_res_mask(alpha)
    refined = studio_alpha(image, coarse)
    assert refined[disc(200, CENTRE) > 0].mean() > 0.99


def _half_missed(alpha: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """The model's mask of an object whose `gap` it half misses (faint, ~0.3, as u2netp does
    over the pale body panels of a silver car on a grey sweep)."""
    return low_res_mask(alpha) * (1.0 - 0.7 * low_res_mask(gap))


@pytest.mark.parametrize("pale", [236.0, 214.0], ids=["lighter", "darker"])
def test_a_gap_the_model_half_misses_is_filled_where_no_backdrop_shows(pale):
    """A pale object on the sweep whose middle the model sees only faintly: that middle is not
    the backdrop (its own shading), and it is enclosed by the object, so it is object."""
    rng = np.random.default_rng(7)
    behind = sweep(rng)
    alpha = disc(220, CENTRE)
    gap = disc(110, CENTRE)
    yy = np.arange(SIZE[0], dtype=np.float32)[:, None].repeat(SIZE[1], axis=1)
    shade = pale - 12 * (yy - CENTRE[1]) / 220
    body = np.dstack([shade, shade, shade + 3]) + rng.normal(0, 1.5, (*SIZE, 1))
    image = composite(body.clip(0, 255), behind, alpha)
    coarse = _half_missed(alpha, gap)
    middle = disc(100, CENTRE) > 0
    refined = studio_alpha(image, coarse)
    assert refined[middle].mean() > 0.99
    assert refined[disc(240, CENTRE) == 0].max() == 0.0  # and nothing grows past the object
    # The model alone leaves a hole there.
    assert matting.refine_alpha(image, coarse)[middle].mean() < 128


def test_a_faint_gap_that_shows_the_backdrop_stays_open():
    """A ring (a mug's handle) whose hole the model sees faintly: the hole is the backdrop, so
    filling gaps must not close it."""
    rng = np.random.default_rng(8)
    image, truth = ring_scene(rng, shadow=True)
    coarse = _half_missed(disc(200, CENTRE), disc(170, CENTRE))
    alpha = studio_alpha(image, coarse)
    assert alpha[disc(160, CENTRE) > 0].mean() < 0.02
    assert alpha[truth > 0.99].mean() > 0.95  # the ring itself is kept


def test_a_pale_band_matching_the_backdrop_is_not_a_hole():
    """A white mug on a white sweep, lit from the left: somewhere across it its shading
    passes through the sweep's own colour. That band is near the backdrop, yet not as near
    as the clear backdrop itself (the mug's own grain and shading), so it is not a hole."""
    rng = np.random.default_rng(10)
    behind = sweep(rng)
    alpha = disc(220, CENTRE)
    xx = np.arange(SIZE[1], dtype=np.float32)[None, :].repeat(SIZE[0], axis=0)
    gain = np.clip(1.05 - 0.12 * (xx - (CENTRE[0] - 220)) / 440, 0.9, 1.1)
    mug = behind * gain[..., None] + rng.normal(0, 1.0, (*SIZE, 1))
    image = composite(mug.clip(0, 255), behind, alpha)
    coarse = low_res_mask(alpha)
    refined = studio_alpha(image, coarse)
    assert refined[disc(200, CENTRE) > 0].min() > 0.99


def test_a_known_backdrop_takes_its_exact_colour_out_of_soft_edges():
    rng = np.random.default_rng(5)
    behind = sweep(rng)
    # A defocused edge: a wide band of pixels mixing a red product with the warm sweep.
    truth = cv2.GaussianBlur(disc(220, CENTRE), (0, 0), 6)
    product = product_colours(*SIZE, rng)
    alpha = np.round(truth * 255).astype(np.uint8)
    image = composite(product, behind, alpha.astype(np.float32) / 255.0)
    found = fit_backdrop(image, low_res_mask(truth))
    assert found is not None

    band = (alpha >= 25) & (alpha <= 230)
    estimated = matting.estimate_foreground(image, alpha)
    exact = matting.estimate_foreground(image, alpha, found)
    blind_error = np.abs(estimated[band].astype(float) - product[band]).mean()
    known_error = np.abs(exact[band].astype(float) - product[band]).mean()
    assert known_error < 0.6 * blind_error


def test_the_contact_shadow_is_kept_as_soft_alpha():
    rng = np.random.default_rng(6)
    clean = sweep(rng)
    truth = disc(200, CENTRE)
    # A soft shadow falling right of and below the object, 40 % dark at its core.
    cast = cv2.GaussianBlur(disc(200, (CENTRE[0] + 60, CENTRE[1] + 40)), (0, 0), 15)
    darkness = 0.4 * cast * (1.0 - truth)
    behind = clean * (1.0 - darkness)[..., None]
    image = composite(product_colours(*SIZE, rng), behind, truth)
    alpha = np.round(truth * 255).astype(np.uint8)
    found = fit_backdrop(image, low_res_mask(truth))
    assert found is not None

    shadow = studio.cast_shadow(image, alpha, found).astype(np.float32) / 255.0
    visible = (darkness > 0.1) & (truth == 0)
    assert np.abs(shadow[visible] - darkness[visible]).mean() < 0.05
    assert shadow[disc(420, CENTRE) == 0].mean() < 0.005  # nothing far from the object

    # Laid back onto the clean backdrop, the cut-out with its shadow gives the photo back.
    rgba = matting.with_shadow(matting.cutout(image, alpha), (shadow * 255).astype(np.uint8))
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    relit = rgba[..., :3] * a + clean * (1.0 - a)
    assert np.abs(relit[visible] - image[visible]).mean() < 3.0
    assert np.array_equal(rgba[alpha == 255], matting.cutout(image, alpha)[alpha == 255])


def shade_and_tint_scene(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A dark box on the sweep with, to its left, the sweep darkened to 70 % (a shadow) and,
    to its right, the sweep as dark but of another hue (a prop, a reflection: no shadow)."""
    height, width = SIZE
    yy, xx = np.mgrid[0:height, 0:width]
    rows = (yy >= 300) & (yy < 600)
    parts = {
        "shade": rows & (xx >= 200) & (xx < 500),
        "box": rows & (xx >= 500) & (xx < 700),
        "tint": rows & (xx >= 700) & (xx < 1000),
    }
    image = sweep(rng)
    image[parts["shade"]] *= 0.7
    image[parts["tint"]] *= np.float32([0.9, 0.7, 0.45])
    image[parts["box"]] = (30, 40, 90)
    return image.clip(0, 255).astype(np.uint8), parts


def test_a_shadow_is_the_backdrop_darkened_in_its_own_hue():
    image, parts = shade_and_tint_scene(np.random.default_rng(14))
    covered = (parts["shade"] | parts["box"] | parts["tint"]).astype(np.float32)
    backdrop = fit_backdrop(image, low_res_mask(covered))
    assert backdrop is not None
    view = backdrop.view(image)
    inner = {name: cv2.erode(p.view(np.uint8), np.ones((9, 9))) > 0 for name, p in parts.items()}
    clear = cv2.erode((covered == 0).view(np.uint8), np.ones((9, 9))) > 0
    shadow, shown = view.in_shadow(), view.shows_backdrop()
    assert shadow[inner["shade"]].mean() > 0.99 and shown[clear].mean() > 0.99
    assert shadow[inner["tint"]].mean() < 0.01 and shown[inner["tint"]].mean() < 0.01
    # (Sensor noise alone darkens a few clear pixels past the level, one by one.)
    assert shadow[clear].mean() < 0.05 and shown[inner["shade"]].mean() < 0.01


def test_the_kept_shadow_measures_the_shadow_models_own_darkening():
    """One shadow model: the alpha kept for keep_shadow is the darkening the shadow model
    measures (the same gain on the same scale), and a pixel of another hue is none."""
    image, parts = shade_and_tint_scene(np.random.default_rng(15))
    covered = (parts["shade"] | parts["box"] | parts["tint"]).astype(np.float32)
    backdrop = fit_backdrop(image, low_res_mask(covered))
    assert backdrop is not None
    gain, _ = backdrop.view(image).shadow_fit()
    alpha = parts["box"].view(np.uint8) * np.uint8(255)
    kept = studio.cast_shadow(image, alpha, backdrop).astype(np.float32) / 255.0
    # Within the kept shadow's reach of the box (SHADOW_SPREAD x its longer side).
    near = np.s_[310:590, 450:490]
    assert np.median(1.0 - gain[near]) == pytest.approx(0.3, abs=0.02)
    assert np.abs(kept[near] - (1.0 - gain[near])).mean() < 0.03
    assert kept[310:590, 710:750].max() == 0.0


def carton_scene(
    rng: np.random.Generator, *, cap: bool
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A coloured carton on the sweep casting a soft shadow to its right, optionally with a
    neutral white cap on top (white plastic on warm paper: a part u2netp half misses)."""
    height, width = SIZE
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    parts = {
        "body": ((xx >= 450) & (xx < 750) & (yy >= 300) & (yy < 800)).astype(np.float32),
        "cap": ((xx >= 560) & (xx < 640) & (yy >= 260) & (yy < 300)).astype(np.float32),
    }
    parts["shadow"] = ((xx >= 750) & (xx < 840) & (yy >= 420) & (yy < 800)).astype(np.float32)
    soft = cv2.GaussianBlur(parts["shadow"], (0, 0), 6)
    image = sweep(rng) * (1.0 - 0.3 * soft)[..., None]
    image = composite(product_colours(*SIZE, rng), image, parts["body"])
    if cap:
        shade = 246 - 14 * (xx - 560) / 80  # lit from the left
        white = np.dstack([shade, shade, shade]) + rng.normal(0, 1.0, (*SIZE, 1))
        image = composite(white.clip(0, 255), image, parts["cap"])
    return image, parts


def _detection(mask: np.ndarray, shape: tuple[int, int]) -> subject.SubjectDetection:
    """A detection whose mask is at half the photo's resolution, as find_subject keeps it."""
    small = cv2.resize(mask, (shape[1] // 2, shape[0] // 2), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(small >= subject.EXTENT_LEVEL)
    bbox = (2 * int(xs.min()), 2 * int(ys.min()), 2 * int(xs.max()) + 2, 2 * int(ys.max()) + 2)
    return subject.SubjectDetection(bbox, small, 1.0, (2.0, 2.0))


@pytest.mark.parametrize("seen", [0.0, 0.2], ids=["missed", "faint"])
def test_a_part_the_model_misses_is_added_to_the_subject(seen):
    """The cap is neither the sweep nor a shadow on it: it is added to the subject (so a crop
    keeps it) and raised in the mask (so the matting keeps it); the shadow beside the carton
    is the sweep darkened, and stays out."""
    rng = np.random.default_rng(11)
    image, parts = carton_scene(rng, cap=True)
    found = _detection(low_res_mask(parts["body"] + seen * parts["cap"]), SIZE)
    assert found.bbox[1] > 285  # the model's box cuts the cap off
    backdrop = fit_backdrop(image, low_res_mask(parts["body"]))
    assert backdrop is not None

    completed = subject.complete_on_backdrop(found, image, backdrop)
    assert completed.bbox[1] <= 264
    assert completed.bbox[2] < 760  # the shadow to the right is not part of it
    half = {name: cv2.resize(p, (SIZE[1] // 2, SIZE[0] // 2)) for name, p in parts.items()}
    assert completed.mask[cv2.erode(half["cap"], np.ones((5, 5))) > 0.5].min() >= 0.5
    assert completed.mask[cv2.erode(half["shadow"], np.ones((9, 9))) > 0.5].max() < 0.25


def test_a_subject_with_nothing_missed_is_left_as_it_is():
    rng = np.random.default_rng(12)
    image, parts = carton_scene(rng, cap=False)
    found = _detection(low_res_mask(parts["body"]), SIZE)
    backdrop = fit_backdrop(image, low_res_mask(parts["body"]))
    assert backdrop is not None
    completed = subject.complete_on_backdrop(found, image, backdrop)
    assert completed.bbox == found.bbox
    assert np.array_equal(completed.mask, found.mask)


def test_the_masks_halo_over_plain_backdrop_does_not_widen_the_box():
    """A blurry model mask reaches well past the carton; where the photo there is the sweep
    itself, the box follows the carton (the shadow to its right may stay in it)."""
    rng = np.random.default_rng(13)
    image, parts = carton_scene(rng, cap=False)
    found = _detection(low_res_mask(parts["body"], blur=8.0), SIZE)
    x0, y0, _, y1 = found.bbox
    assert x0 < 436 and y0 < 290 and y1 > 812  # the halo widens the model's box
    backdrop = fit_backdrop(image, low_res_mask(parts["body"]))
    assert backdrop is not None
    x0, y0, _, y1 = subject.complete_on_backdrop(found, image, backdrop).bbox
    assert 444 <= x0 <= 450 and 294 <= y0 <= 300 and 798 <= y1 <= 806


@pytest.mark.parametrize(
    ("height", "width"), [(1, 300), (300, 1), (2, 2), (3, 400), (10, 10)], ids=str
)
def test_too_few_or_aligned_candidates_are_no_studio(height, width):
    """Backdrop candidates in one row or at a few corners cannot pin down a quadratic: no
    studio (it was a singular matrix)."""
    rgb = np.full((height, width, 3), 230, np.uint8)
    mask = np.zeros((height, width), np.float32)
    if height == width == 10:  # a subject leaving only the corners clear
        mask[1:9, :] = 1.0
        mask[:, 1:9] = 1.0
    assert fit_backdrop(rgb, mask) is None

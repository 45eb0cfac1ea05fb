"""Subject finding, crop planning and tilt, on generated scenes with known ground truth.

The detection tests run the real u2netp model (loaded once for the module); the crop and mask
clean-up tests are pure and use hand-made masks or a fake model.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photofix.imaging import subject
from photofix.imaging.studio import fit_backdrop

SUPERSAMPLE = 4
HEIGHT, WIDTH = 900, 1200


@pytest.fixture(scope="module")
def saliency(models):
    return models.saliency


# --- scene generation ------------------------------------------------------------------------


def _soft(big: np.ndarray) -> np.ndarray:
    """Anti-aliased [0, 1] mask from a mask drawn at SUPERSAMPLE x resolution."""
    small = cv2.resize(big, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def _rotated(big: np.ndarray, angle: float, centre: tuple[float, float]) -> np.ndarray:
    """Rotate counter-clockwise on screen by `angle` degrees (OpenCV's convention)."""
    cx, cy = (c * SUPERSAMPLE for c in centre)
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    return cv2.warpAffine(big, matrix, (big.shape[1], big.shape[0]), flags=cv2.INTER_LINEAR)


def box_mask(box: tuple[int, int, int, int], radius: int, angle: float = 0.0) -> np.ndarray:
    """A rounded rectangle (a carton seen from the front), tilted by `angle` (CCW on screen)."""
    s = SUPERSAMPLE
    x0, y0, x1, y1 = (v * s for v in box)
    r = radius * s
    big = np.zeros((HEIGHT * s, WIDTH * s), np.uint8)
    cv2.rectangle(big, (x0 + r, y0), (x1 - r, y1), 255, -1)
    cv2.rectangle(big, (x0, y0 + r), (x1, y1 - r), 255, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(big, (cx, cy), r, 255, -1)
    if angle:
        big = _rotated(big, angle, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    return _soft(big)


def round_mask(axes: tuple[int, int], angle: float = 0.0) -> np.ndarray:
    """An ellipse (a lemon, a plate) centred in the frame."""
    s = SUPERSAMPLE
    big = np.zeros((HEIGHT * s, WIDTH * s), np.uint8)
    centre = (WIDTH * s // 2, HEIGHT * s // 2)
    cv2.ellipse(big, centre, (axes[0] * s, axes[1] * s), angle, 0, 360, 255, -1)
    return _soft(big)


def bottle_mask(angle: float = 0.0) -> np.ndarray:
    """A bottle: body, rounded shoulders, narrow neck and a cap."""
    s = SUPERSAMPLE
    big = np.zeros((HEIGHT * s, WIDTH * s), np.uint8)
    cx = WIDTH * s // 2
    cv2.rectangle(big, (cx - 150 * s, 380 * s), (cx + 150 * s, 820 * s), 255, -1)
    cv2.ellipse(big, (cx, 380 * s), (150 * s, 110 * s), 0, 180, 360, 255, -1)
    cv2.rectangle(big, (cx - 45 * s, 130 * s), (cx + 45 * s, 380 * s), 255, -1)
    cv2.rectangle(big, (cx - 55 * s, 100 * s), (cx + 55 * s, 150 * s), 255, -1)
    if angle:
        big = _rotated(big, angle, (WIDTH / 2, HEIGHT / 2))
    return _soft(big)


def mug_mask(angle: float = 0.0) -> np.ndarray:
    """A mug from the side: a straight-sided body with a ring handle."""
    s = SUPERSAMPLE
    big = np.zeros((HEIGHT * s, WIDTH * s), np.uint8)
    cv2.rectangle(big, (450 * s, 250 * s), (720 * s, 650 * s), 255, -1)
    cv2.circle(big, (720 * s, 450 * s), 110 * s, 255, 35 * s)
    if angle:
        big = _rotated(big, angle, (WIDTH / 2, HEIGHT / 2))
    return _soft(big)


def product_colours(rng: np.random.Generator) -> np.ndarray:
    """A red, striped, printed surface with a cream label."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    img = np.empty((HEIGHT, WIDTH, 3), np.float32)
    img[..., 0] = 200 + 30 * np.sin(xx / 9.0)
    img[..., 1] = 35 + 20 * np.sin(yy / 13.0)
    img[..., 2] = 45
    img += rng.normal(0, 6, (HEIGHT, WIDTH, 1))
    img = img.clip(0, 255).astype(np.uint8)
    cv2.rectangle(img, (480, 380), (720, 500), (245, 240, 225), -1)
    cv2.putText(img, "PHOTO", (500, 460), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 90), 4)
    return img


def studio_background(rng: np.random.Generator) -> np.ndarray:
    """A seamless light-grey paper sweep."""
    ramp = np.linspace(236, 206, HEIGHT, dtype=np.float32)[:, None, None]
    img = ramp + rng.normal(0, 2, (HEIGHT, WIDTH, 1))
    return np.broadcast_to(img, (HEIGHT, WIDTH, 3)).clip(0, 255).astype(np.uint8)


def cluttered_background(rng: np.random.Generator) -> np.ndarray:
    """Blotchy colour noise with random boxes and discs, like a busy table or shelf. The
    objects keep clear of the product's spot (they would rightly count as part of it there)."""
    coarse = rng.integers(60, 180, (HEIGHT // 20 + 1, WIDTH // 20 + 1, 3)).astype(np.uint8)
    img = cv2.resize(coarse, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    px0, py0, px1, py1 = 330, 80, 870, 840
    for _ in range(80):
        colour = tuple(int(v) for v in rng.integers(40, 200, 3))
        x, y = (int(v) for v in rng.integers(0, [WIDTH, HEIGHT]))
        w, h = (int(v) for v in rng.integers(20, 140, 2))
        disc = rng.random() < 0.5
        h = w if disc else h
        if x < px1 and x + w > px0 and y < py1 and y + h > py0:
            continue
        if disc:
            cv2.circle(img, (x + w // 2, y + w // 2), w // 2, colour, -1)
        else:
            cv2.rectangle(img, (x, y), (x + w, y + h), colour, -1)
    noisy = img.astype(np.float32) + rng.normal(0, 8, img.shape)
    return noisy.clip(0, 255).astype(np.uint8)


def compose(alpha: np.ndarray, rng: np.random.Generator, background: str) -> np.ndarray:
    fg = product_colours(rng).astype(np.float32)
    maker = studio_background if background == "studio" else cluttered_background
    bg = maker(rng).astype(np.float32)
    a = alpha[..., None]
    return (fg * a + bg * (1.0 - a) + 0.5).astype(np.uint8)


def true_box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(alpha >= 0.5)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


# --- detection with the real model ------------------------------------------------------------

PRODUCT_BOX = (450, 200, 750, 720)


@pytest.mark.parametrize(("background", "seed"), [("studio", 1), ("clutter", 2)])
def test_subject_is_found_and_cropped_with_even_margin(saliency, background, seed):
    rng = np.random.default_rng(seed)
    alpha = box_mask(PRODUCT_BOX, radius=30)
    image = compose(alpha, rng, background)

    found = subject.find_subject(image, saliency)

    assert found is not None
    assert found.confidence > 0.8
    full = found.mask_into(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), image.shape[1::-1])
    assert full.shape == image.shape[:2]
    assert ((full >= 0.5) == (alpha >= 0.5)).mean() > 0.98
    tx0, ty0, tx1, ty1 = true_box(alpha)
    x0, y0, x1, y1 = found.bbox
    # The box hugs the object: within a few pixels of the truth on every side.
    assert max(abs(x0 - tx0), abs(y0 - ty0), abs(x1 - tx1), abs(y1 - ty1)) <= 8

    plan = subject.plan_crop(found.bbox, image.shape, margin=0.05)
    cx0, cy0, cx1, cy1 = plan.box
    assert plan.even
    assert cx0 <= tx0 and cy0 <= ty0 and cx1 >= tx1 and cy1 >= ty1  # the whole product
    want = 0.05 * max(tx1 - tx0, ty1 - ty0)
    margins = np.array([tx0 - cx0, ty0 - cy0, cx1 - tx1, cy1 - ty1])
    assert np.all(np.abs(margins - want) <= 0.35 * want)  # even, measured against the truth
    assert subject.crop_with_margin(found.bbox, image.shape) == plan.box


@pytest.mark.parametrize(
    "image",
    [
        np.full((600, 800, 3), 255, np.uint8),
        np.full((600, 800, 3), 128, np.uint8),
        np.zeros((600, 800, 3), np.uint8),
        (128 + np.random.default_rng(0).normal(0, 5, (600, 800, 3))).clip(0, 255).astype(np.uint8),
        np.random.default_rng(1).integers(0, 256, (600, 800, 3), dtype=np.uint8),
        np.repeat(np.linspace(0, 255, 800, dtype=np.float32)[None, :, None], 600, 0)
        .repeat(3, 2)
        .astype(np.uint8),
    ],
    ids=["white", "grey", "black", "grey-noise", "colour-noise", "gradient"],
)
def test_blank_images_have_no_subject(saliency, image):
    assert subject.find_subject(image, saliency) is None


@pytest.mark.parametrize(
    ("angle", "background"),
    [(-8.0, "studio"), (-3.0, "studio"), (2.0, "studio"), (6.5, "studio"), (-5.0, "clutter")],
)
def test_tilted_box_tilt_is_measured(saliency, angle, background):
    rng = np.random.default_rng(3)
    alpha = box_mask(PRODUCT_BOX, radius=30, angle=angle)
    image = compose(alpha, rng, background)
    found = subject.find_subject(image, saliency)
    assert found is not None
    # A box turned counter-clockwise by `angle` needs a clockwise turn of `angle` back.
    assert subject.estimate_tilt(found.mask) == pytest.approx(angle, abs=1.0)


def test_upright_box_has_no_tilt(saliency):
    image = compose(box_mask(PRODUCT_BOX, radius=30), np.random.default_rng(4), "studio")
    found = subject.find_subject(image, saliency)
    assert found is not None
    assert abs(subject.estimate_tilt(found.mask)) < 0.5


@pytest.mark.parametrize(
    "alpha_fn",
    [
        lambda: round_mask((330, 330)),
        lambda: round_mask((380, 240), 6.0),
        lambda: bottle_mask(5.0),
        lambda: mug_mask(-4.0),
    ],
    ids=["disc", "tilted-ellipse", "tilted-bottle", "tilted-mug"],
)
def test_round_and_bottle_shapes_are_not_rotated(saliency, alpha_fn):
    alpha = alpha_fn()
    image = compose(alpha, np.random.default_rng(5), "studio")
    found = subject.find_subject(image, saliency)
    assert found is not None
    assert subject.estimate_tilt(found.mask) == 0.0


# --- pure: tilt on exact masks, mask clean-up, crop planning ---------------------------------


@pytest.mark.parametrize("angle", [-9.5, -4.0, -0.7, 1.5, 7.0])
def test_tilt_from_exact_mask(angle):
    alpha = box_mask((400, 150, 800, 750), radius=10, angle=angle)
    assert subject.estimate_tilt(alpha) == pytest.approx(angle, abs=0.3)


def test_large_rotation_is_left_alone():
    alpha = box_mask((400, 150, 800, 750), radius=10, angle=25.0)
    assert subject.estimate_tilt(alpha) == 0.0


def test_empty_mask_has_no_tilt():
    assert subject.estimate_tilt(np.zeros((50, 50))) == 0.0


class _FixedSaliency:
    name = "fixed"

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask

    def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        if size is None or size == self.mask.shape[1::-1]:
            return self.mask
        return cv2.resize(self.mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)


def _photo(height: int, width: int) -> np.ndarray:
    """Some picture (not blank: a blank image has no subject whatever the model says)."""
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _blob_mask() -> np.ndarray:
    """A solid product, its separate cap, a faint ghost and a bright speck."""
    mask = np.zeros((600, 800), np.float32)
    cv2.rectangle(mask, (300, 150), (500, 500), 1.0, -1)  # body
    cv2.rectangle(mask, (360, 100), (440, 140), 1.0, -1)  # cap, split from the body by a gap
    cv2.circle(mask, (700, 300), 40, 0.7, -1)  # a neighbouring item's faint ghost
    cv2.circle(mask, (100, 550), 2, 1.0, -1)  # a speck
    return cv2.GaussianBlur(mask, (0, 0), 2)


def test_box_keeps_separate_parts_and_ignores_ghosts_and_specks():
    mask = _blob_mask()
    box = subject.subject_bbox(mask)
    assert box is not None
    x0, y0, x1, y1 = box
    assert abs(x0 - 300) <= 3 and abs(x1 - 501) <= 3
    assert abs(y0 - 100) <= 3 and abs(y1 - 501) <= 3  # the cap is in


def test_find_subject_cleans_the_mask():
    mask = _blob_mask()
    found = subject.find_subject(_photo(600, 800), _FixedSaliency(mask))
    assert found is not None
    assert found.mask[300, 700] == 0.0  # the ghost is gone
    assert found.mask[550, 100] == 0.0  # the speck is gone
    assert found.mask[300, 400] == pytest.approx(mask[300, 400])  # the product is untouched
    assert found.mask[120, 400] == pytest.approx(mask[120, 400])  # and so is its cap


def test_frame_filling_texture_is_not_a_subject():
    mask = np.ones((300, 400), np.float32)
    assert subject.find_subject(_photo(300, 400), _FixedSaliency(mask)) is None


class _WrongSize:
    """A model that ignores the size it is asked for."""

    name = "wrong-size"

    def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        return np.ones((10, 10), np.float32)


def test_mask_must_be_the_size_asked_for():
    with pytest.raises(ValueError, match="is not the 40x30 asked for"):
        subject.find_subject(_photo(30, 40), _WrongSize())


def test_crop_margin_is_even_in_the_open():
    plan = subject.plan_crop((100, 200, 300, 600), (1000, 1000, 3), margin=0.05)
    assert plan.margins == (20, 20, 20, 20)  # 5% of the longer side (400)
    assert plan.box == (80, 180, 320, 620)
    assert plan.even


def test_crop_margin_shrinks_evenly_near_a_border():
    plan = subject.plan_crop((12, 200, 212, 600), (1000, 1000, 3), margin=0.05)
    assert plan.margins == (12, 12, 12, 12)
    assert plan.box == (0, 188, 224, 612)
    assert plan.even


def test_crop_margin_is_uneven_when_the_subject_touches_a_border():
    plan = subject.plan_crop((0, 200, 200, 1000), (1000, 1000, 3), margin=0.05)
    assert plan.box == (0, 160, 240, 1000)
    assert plan.margins == (0, 40, 40, 0)
    assert not plan.even


def test_crop_box_stays_inside_the_image():
    x0, y0, x1, y1 = subject.crop_with_margin((-5, -5, 2000, 50), (100, 200, 3))
    assert (x0, y0) == (0, 0) and x1 <= 200 and y1 <= 100


def test_frame_box_pads_for_an_even_margin_and_exact_aspect():
    bbox = (10, 40, 110, 240)  # 100 x 200, touching nothing but close to the left edge
    framing = subject.Framing(margin=0.1)
    assert subject.frame_box(bbox, (300, 400), framing, pad=True) == (-10, 20, 130, 260)
    square = subject.frame_box(
        bbox, (300, 400), subject.Framing(margin_px=10, aspect=1.0), pad=True
    )
    x0, y0, x1, y1 = square
    assert x1 - x0 == y1 - y0 == 220 and (x0 + x1) / 2 == 60 and (y0 + y1) / 2 == 140
    wide = subject.frame_box(bbox, (300, 400), subject.Framing(margin_px=0, aspect=4 / 5), pad=True)
    assert (wide[2] - wide[0]) / (wide[3] - wide[1]) == pytest.approx(0.8, abs=0.01)


def test_frame_box_without_padding_stays_inside_the_image():
    bbox = (10, 40, 110, 240)
    box = subject.frame_box(bbox, (300, 400), subject.Framing(margin=0.1), pad=False)
    assert box[0] >= 0 and box[1] >= 0 and box[2] <= 400 and box[3] <= 300
    assert box[0] <= 10 and box[3] >= 240  # the subject is whole


def test_a_working_resolution_mask_lands_on_any_crop_of_the_photo():
    """The mask is kept small; a crop's mask is resampled from it once, as if the full-size
    mask had been made and then cut."""
    small = np.zeros((300, 400), np.float32)
    small[100:200, 150:300] = 1.0
    small = cv2.GaussianBlur(small, (0, 0), 3)
    found = subject.SubjectDetection((0, 0, 1200, 900), small, 1.0, scale=(3.0, 3.0))
    full = cv2.resize(small, (1200, 900), interpolation=cv2.INTER_LINEAR)
    shift = np.array([[1.0, 0.0, 410.0], [0.0, 1.0, 250.0]])
    crop = found.mask_into(shift, (500, 400))
    # (warpAffine places samples on a 1/32 px grid: a few thousandths of difference.)
    assert np.abs(crop - full[250:650, 410:910]).max() < 0.01
    # Past the photo's edge there is no subject.
    outside = found.mask_into(np.array([[1.0, 0.0, -100.0], [0.0, 1.0, 0.0]]), (300, 300))
    assert outside[:, :90].max() == 0.0


# --- a closer look ---------------------------------------------------------------------------


class _CoarseSaliency:
    """Sees any picture at `side` x `side` px, as u2netp sees a photo at 320: dark is salient.
    A small subject's holes blur shut; seen from close, they open."""

    name = "coarse"

    def __init__(self, side: int = 16) -> None:
        self.side = side
        self.calls = 0

    def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        self.calls += 1
        width, height = size or (rgb.shape[1], rgb.shape[0])
        dark = 1.0 - rgb.mean(axis=2, dtype=np.float32) / 255.0
        small = cv2.resize(dark, (self.side, self.side), interpolation=cv2.INTER_AREA)
        small = (small - small.min()) / max(float(np.ptp(small)), 1e-6)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


class _NearSighted:
    """Sees the whole photo right, but from close (any smaller picture) misses the pale parts
    (grey, not black) and takes a mid-grey prop for part of the subject."""

    name = "near-sighted"

    def __init__(self, photo_shape: tuple[int, ...]) -> None:
        self.photo_shape = photo_shape

    def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        grey = rgb.mean(axis=2, dtype=np.float32)
        whole = rgb.shape == self.photo_shape
        salient = (grey < 200) & ((grey < 100) | (grey > 150)) if whole else grey < 170
        mask = cv2.GaussianBlur(salient.astype(np.float32), (0, 0), 2.0)
        return cv2.resize(mask, size or (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)


def _ring_photo() -> tuple[np.ndarray, tuple[int, int]]:
    """A black ring (outer radius 60, hole radius 18) on white, small in a 1200 x 900 photo."""
    photo = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    centre = (700, 400)
    cv2.circle(photo, centre, 60, (0, 0, 0), -1)
    cv2.circle(photo, centre, 18, (255, 255, 255), -1)
    return photo, centre


def _at(found: subject.SubjectDetection, x: int, y: int) -> float:
    """The found mask's value under photo pixel (x, y)."""
    sx, sy = found.scale
    return float(found.mask[int(y / sy), int(x / sx)])


def test_a_closer_look_opens_a_hole_the_first_look_blurred_shut():
    photo, (cx, cy) = _ring_photo()
    model = _CoarseSaliency()
    first = subject.find_subject(photo, model)
    assert first is not None
    assert _at(first, cx, cy) >= 0.5  # the hole: taken for the ring
    closer = subject.look_closer(first, photo, model)
    assert model.calls == 2
    assert _at(closer, cx, cy) < 0.5
    for x, y in ((cx + 40, cy), (cx - 40, cy), (cx, cy + 40), (cx, cy - 40)):
        assert _at(closer, x, y) >= 0.5  # the ring itself
    x0, y0, x1, y1 = closer.bbox
    assert abs(x0 - (cx - 60)) <= 8 and abs(x1 - (cx + 60)) <= 8
    assert abs(y0 - (cy - 60)) <= 8 and abs(y1 - (cy + 60)) <= 8


def test_no_closer_look_when_the_subject_fills_the_photo():
    photo = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    cv2.rectangle(photo, (100, 60), (1100, 840), (0, 0, 0), -1)
    model = _CoarseSaliency()
    first = subject.find_subject(photo, model)
    assert first is not None
    assert subject.look_closer(first, photo, model) is first
    assert model.calls == 1


def test_a_closer_look_keeps_what_it_no_longer_sees_and_adds_no_prop():
    """A black box with a pale grey lid (a white cap on a white sweep): from close the model
    misses the lid, and takes the grey prop beside the box for subject. The lid stays and the
    prop stays out."""
    photo = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    cv2.rectangle(photo, (500, 400), (640, 560), (0, 0, 0), -1)  # the box
    cv2.rectangle(photo, (500, 330), (640, 400), (185, 185, 185), -1)  # its pale lid
    cv2.rectangle(photo, (680, 420), (700, 540), (128, 128, 128), -1)  # a prop, 40 px away
    model = _NearSighted(photo.shape)
    first = subject.find_subject(photo, model)
    assert first is not None
    closer = subject.look_closer(first, photo, model)
    assert _at(closer, 570, 360) >= 0.5  # the lid
    assert _at(closer, 690, 480) < 0.5  # the prop
    x0, y0, x1, y1 = closer.bbox
    assert (x0, y0, x1, y1) == pytest.approx((500, 330, 641, 561), abs=6)  # lid to box, no prop


def test_a_closer_look_opens_narrow_gaps_between_teeth():
    """A comb: from the whole photo the model blurs its teeth into a block; from close it sees
    the gaps. They reach deep into the first look's block, but they are narrow: opened, not
    put back as a part the close look missed."""
    photo = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    cv2.rectangle(photo, (500, 350), (700, 550), (0, 0, 0), -1)
    gaps = [(516 + 24 * k, 524 + 24 * k) for k in range(8)]  # 8 px wide, 120 px deep
    for x0, x1 in gaps:
        photo[350:470, x0:x1] = 255

    class BlursFromAfar:
        name = "blurs-from-afar"

        def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
            dark = (rgb.mean(axis=2) < 128).astype(np.float32)
            if rgb.shape == photo.shape:
                dark = cv2.dilate(dark, np.ones((1, 15), np.uint8))  # gaps blurred shut
            return cv2.resize(dark, size or rgb.shape[1::-1], interpolation=cv2.INTER_AREA)

    model = BlursFromAfar()
    first = subject.find_subject(photo, model)
    assert first is not None
    assert all(_at(first, (x0 + x1) // 2, 400) >= 0.5 for x0, x1 in gaps)
    closer = subject.look_closer(first, photo, model)
    assert all(_at(closer, (x0 + x1) // 2, 400) < 0.5 for x0, x1 in gaps)
    assert _at(closer, 600, 500) >= 0.5  # the comb's back


def test_on_a_studio_backdrop_a_closer_look_adds_no_shadow():
    """From close, the model takes the box's contact shadow for part of it; on a studio
    backdrop the shadow is the backdrop darkened, and stays out."""
    photo = np.full((HEIGHT, WIDTH, 3), 240, np.uint8)
    photo[560:600, 380:820] = 170  # the shadow under the box: the sweep at 70 %
    cv2.rectangle(photo, (400, 300), (800, 560), (20, 60, 150), -1)  # the box
    photo = cv2.GaussianBlur(photo, (0, 0), 1.5)

    class SeesShadowFromClose:
        name = "sees-shadow"

        def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
            grey = rgb.mean(axis=2, dtype=np.float32)
            salient = grey < (120 if rgb.shape == photo.shape else 200)
            mask = cv2.GaussianBlur(salient.astype(np.float32), (0, 0), 2.0)
            return cv2.resize(mask, size or rgb.shape[1::-1], interpolation=cv2.INTER_AREA)

    model = SeesShadowFromClose()
    first = subject.find_subject(photo, model)
    assert first is not None
    backdrop = fit_backdrop(photo, first.mask)
    assert backdrop is not None
    assert _at(subject.look_closer(first, photo, model), 600, 566) >= 0.5  # without: taken
    closer = subject.look_closer(first, photo, model, backdrop)
    assert _at(closer, 600, 566) < 0.5


# --- subjects an input's alpha gives or bounds -----------------------------------------------


class _BrightSaliency:
    """A model that finds whatever is bright in the image it is given (at the size asked)."""

    name = "bright"

    def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        mask = (rgb.max(axis=2) > 200).astype(np.float32)
        if size is None:
            return mask
        return cv2.resize(mask, size, interpolation=cv2.INTER_AREA)


def test_a_cut_outs_alpha_is_its_subject():
    alpha = np.zeros((1500, 2000), np.uint8)  # larger than MASK_SIDE: kept at its scale
    cv2.rectangle(alpha, (400, 300), (1199, 999), 255, -1)
    cv2.circle(alpha, (1900, 1400), 2, 255, -1)  # a stray speck is no part of it
    found = subject.subject_from_alpha(alpha)
    assert found is not None and found.confidence == 1.0
    assert np.abs(np.subtract(found.bbox, (400, 300, 1200, 1000))).max() <= 2
    assert found.mask.shape == (768, 1024)
    assert subject.subject_from_alpha(np.zeros((20, 30), np.uint8)) is None


def test_a_subject_found_within_a_box_is_reported_on_the_whole_photo():
    photo = np.zeros((600, 900, 3), np.uint8)
    photo[100:500, 200:800] = 60  # the opaque part: a photo of its own
    photo[200:300, 400:550] = 255  # with a bright subject in it
    photo[0:40, 0:40] = 255  # and something bright outside it
    found = subject.find_subject_within(photo, (200, 100, 800, 500), _BrightSaliency())
    assert found is not None
    assert found.bbox == (400, 200, 550, 300)
    assert found.mask.shape == (600, 900)
    assert found.mask[250, 475] == pytest.approx(1.0) and found.mask[20, 20] == 0.0


def test_nothing_transparent_is_subject():
    mask = np.zeros((400, 600), np.float32)
    mask[100:300, 100:500] = 1.0
    found = subject.find_subject(_photo(400, 600), _FixedSaliency(mask))
    alpha = np.zeros((400, 600), np.uint8)
    alpha[:, :300] = 255  # the right half of the subject is transparent
    limited = subject.limited_to(found, alpha)
    assert limited is not None
    assert np.abs(np.subtract(limited.bbox, (100, 100, 300, 300))).max() <= 2
    assert subject.limited_to(found, np.zeros_like(alpha)) is None

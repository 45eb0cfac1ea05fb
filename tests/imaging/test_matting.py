"""Alpha refinement, foreground colour estimation and cut-out, against generated ground truth.

The accuracy tests run the real u2netp model (loaded once for the module) on a product pasted
onto known backgrounds with an anti-aliased mask; the rest feed hand-made coarse masks.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from photofix.imaging import matting

SUPERSAMPLE = 4


@pytest.fixture(scope="module")
def saliency(models):
    return models.saliency


# --- scene generation ------------------------------------------------------------------------


def product_mask(height: int, width: int, *, antenna: bool = False) -> np.ndarray:
    """Anti-aliased [0, 1] mask of a rounded carton (optionally with a thin antenna on top),
    centred and about half the frame high."""
    s = SUPERSAMPLE
    big = np.zeros((height * s, width * s), np.uint8)
    x0, x1 = int(width * 0.38) * s, int(width * 0.62) * s
    y0, y1 = int(height * 0.22) * s, int(height * 0.8) * s
    r = int(min(x1 - x0, y1 - y0) * 0.12)
    cv2.rectangle(big, (x0 + r, y0), (x1 - r, y1), 255, -1)
    cv2.rectangle(big, (x0, y0 + r), (x1, y1 - r), 255, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(big, (cx, cy), r, 255, -1)
    if antenna:
        cx = (x0 + x1) // 2
        cv2.rectangle(big, (cx - 3 * s, y0 - int(height * 0.15) * s), (cx + 3 * s, y0), 255, -1)
    small = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) / 255.0


def product_colours(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A red, striped, printed surface with a cream label in the middle."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    img[..., 0] = 200 + 30 * np.sin(xx / 9.0)
    img[..., 1] = 35 + 20 * np.sin(yy / 13.0)
    img[..., 2] = 45
    img += rng.normal(0, 6, (height, width, 1))
    img = img.clip(0, 255).astype(np.uint8)
    lx, ly = int(width * 0.41), int(height * 0.42)
    cv2.rectangle(img, (lx, ly), (int(width * 0.59), int(height * 0.55)), (245, 240, 225), -1)
    cv2.putText(img, "PHOTO", (lx + 10, ly + 60), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (20, 20, 90), 4)
    return img


def background(height: int, width: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "studio":  # seamless light-grey paper
        ramp = np.linspace(236, 206, height, dtype=np.float32)[:, None, None]
        img = ramp + rng.normal(0, 2, (height, width, 1))
        return np.broadcast_to(img, (height, width, 3)).clip(0, 255).astype(np.uint8)
    # Busy: blotchy colour noise plus random boxes and discs away from the product's spot.
    coarse = rng.integers(60, 180, (height // 20 + 1, width // 20 + 1, 3)).astype(np.uint8)
    img = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    keep_out = (int(width * 0.3), int(height * 0.05), int(width * 0.7), int(height * 0.9))
    for _ in range(80):
        colour = tuple(int(v) for v in rng.integers(40, 200, 3))
        x, y = (int(v) for v in rng.integers(0, [width, height]))
        size = int(rng.integers(20, 140)) * width // 1200
        if (
            x < keep_out[2]
            and x + size > keep_out[0]
            and y < keep_out[3]
            and y + size > keep_out[1]
        ):
            continue
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + size, y + size // 2), colour, -1)
        else:
            cv2.circle(img, (x + size // 2, y + size // 2), size // 2, colour, -1)
    noisy = img.astype(np.float32) + rng.normal(0, 8, img.shape)
    return noisy.clip(0, 255).astype(np.uint8)


def composite(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return (fg.astype(np.float32) * a + bg.astype(np.float32) * (1.0 - a) + 0.5).astype(np.uint8)


def distance_outside(mask: np.ndarray) -> np.ndarray:
    """Distance in px of each pixel from the object (0 on it)."""
    return cv2.distanceTransform((mask < 0.5).astype(np.uint8), cv2.DIST_L2, 5)


def distance_inside(mask: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((mask >= 0.5).astype(np.uint8), cv2.DIST_L2, 5)


def low_res_mask(alpha: np.ndarray, side: int = 320, blur: float = 1.2) -> np.ndarray:
    """What a 320 px saliency model returns: the mask at low resolution, soft, upsampled."""
    height, width = alpha.shape
    small = cv2.resize(alpha, (side, side), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), blur)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


# --- refine_alpha with the real model --------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "size", "seed"),
    [
        ("studio", (900, 1200), 1),
        ("clutter", (900, 1200), 2),
        ("studio", (1500, 2000), 3),  # refined on a coarser grid, evaluated at full size
        ("clutter", (1500, 2000), 4),
    ],
)
def test_refined_alpha_matches_the_true_mask(saliency, kind, size, seed):
    height, width = size
    rng = np.random.default_rng(seed)
    truth = product_mask(height, width)
    image = composite(
        product_colours(height, width, rng), background(height, width, kind, rng), truth
    )

    alpha = matting.refine_alpha(image, saliency.predict(image))

    assert alpha.dtype == np.uint8 and alpha.shape == truth.shape
    ours, theirs = alpha >= 128, truth >= 0.5
    iou = (ours & theirs).sum() / (ours | theirs).sum()
    assert iou >= 0.9
    # Solid inside, clear outside; soft only in a narrow band along the edge.
    assert np.all(alpha[distance_inside(truth) > 6] == 255)
    assert np.all(alpha[distance_outside(truth) > 25] == 0)
    soft = (alpha > 0) & (alpha < 255)
    assert soft.sum() < 0.02 * alpha.size


# --- refine_alpha on hand-made coarse masks ---------------------------------------------------


def _scene(height: int = 600, width: int = 800, *, antenna: bool = False):
    rng = np.random.default_rng(7)
    truth = product_mask(height, width, antenna=antenna)
    image = composite(
        product_colours(height, width, rng), background(height, width, "studio", rng), truth
    )
    return image, truth


def test_specks_are_removed():
    image, truth = _scene()
    coarse = low_res_mask(truth)
    cv2.circle(coarse, (80, 520), 6, 1.0, -1)  # a stray bright speck far from the product
    cv2.circle(coarse, (700, 80), 25, 0.35, -1)  # a faint ghost
    alpha = matting.refine_alpha(image, coarse)
    assert alpha[500:540, 60:100].max() == 0
    assert alpha[55:105, 675:725].max() == 0
    assert (alpha >= 128).sum() == pytest.approx((truth >= 0.5).sum(), rel=0.03)


def test_thin_attached_part_is_kept():
    image, truth = _scene(antenna=True)
    coarse = cv2.GaussianBlur(truth, (0, 0), 3)  # the antenna peaks around 0.7 here
    alpha = matting.refine_alpha(image, coarse)
    x = 400  # the antenna's centre line, from above the body to its tip
    column = alpha[int(600 * 0.09) : int(600 * 0.2), x]
    assert column.min() >= 128
    assert alpha[int(600 * 0.09) : int(600 * 0.2), x - 20].max() == 0  # and it stays thin


def test_empty_and_full_masks():
    image, _ = _scene()
    assert matting.refine_alpha(image, np.zeros(image.shape[:2], np.float32)).max() == 0
    assert matting.refine_alpha(image, np.ones(image.shape[:2], np.float32)).min() == 255


def test_mask_must_match_the_image():
    with pytest.raises(ValueError, match="does not match"):
        matting.refine_alpha(np.zeros((20, 30, 3), np.uint8), np.zeros((30, 20), np.float32))


# --- a known background: any KnownBackground, not only a fitted studio backdrop --------------


class GivenBackground:
    """A known background of one colour whose correction of the model's mask is given: the
    matting must use what it says and nothing else (it knows nothing of how it was found)."""

    def __init__(
        self,
        colour: tuple[int, int, int],
        correct: Callable[[np.ndarray], matting.Prior] = matting.Prior,
    ) -> None:
        self.colour = np.float32(colour) / 255.0
        self.correct = correct

    def render(self, shape: tuple[int, int], factor: float = 1.0) -> np.ndarray:
        return np.broadcast_to(self.colour, (*shape, 3)).copy()

    def correct_prior(self, image: np.ndarray, mask: np.ndarray, factor: int) -> matting.Prior:
        return self.correct(mask)


def _hole_and_strand(mask: np.ndarray) -> matting.Prior:
    """The mask with a hole punched in the product's middle, and an alpha floor along a thin
    strand well away from it (fractions of the working grid: it may be coarser than the
    image)."""
    rows, cols = mask.shape
    holed = mask.copy()
    cv2.circle(holed, (cols // 2, rows // 2), rows // 10, 0.0, -1)
    floor = np.zeros_like(mask)
    floor[rows // 6 : rows * 5 // 6, cols // 8 : cols // 8 + 2] = 1.0
    return matting.Prior(holed, floor)


@pytest.mark.parametrize("size", [(600, 800), (1200, 1600)], ids=["fine-grid", "coarse-grid"])
def test_a_known_background_corrects_the_prior_the_matte_starts_from(size):
    height, width = size
    image, truth = _scene(height, width)
    coarse = low_res_mask(truth)
    known = GivenBackground((221, 221, 221), _hole_and_strand)
    alpha = matting.refine_alpha(image, coarse, known)
    hole = np.zeros(truth.shape, np.uint8)
    cv2.circle(hole, (width // 2, height // 2), height // 20, 1, -1)
    strand = np.s_[height // 5 : height * 4 // 5, width // 8 + 1]
    assert alpha[hole > 0].max() == 0
    assert alpha[strand].min() == 255
    # Without it the product is solid there and nothing stands where the strand was.
    plain = matting.refine_alpha(image, coarse)
    assert plain[hole > 0].min() == 255 and plain[strand].max() == 0


def test_a_known_backgrounds_colour_is_taken_out_of_soft_edges_exactly():
    height, width = 450, 600
    rng = np.random.default_rng(12)
    truth = cv2.GaussianBlur(product_mask(height, width), (0, 0), 4)
    fg = product_colours(height, width, rng)
    green = (0, 170, 60)
    bg = np.broadcast_to(np.uint8(green), fg.shape)
    alpha = np.round(truth * 255).astype(np.uint8)
    image = composite(fg, bg, alpha.astype(np.float32) / 255.0)
    band = (alpha >= 25) & (alpha <= 230)
    blind = matting.estimate_foreground(image, alpha)
    known = matting.estimate_foreground(image, alpha, GivenBackground(green))
    blind_error = np.abs(blind[band].astype(float) - fg[band]).mean()
    known_error = np.abs(known[band].astype(float) - fg[band]).mean()
    assert known_error < 0.6 * blind_error
    assert np.array_equal(known[alpha == 255], image[alpha == 255])


# --- foreground colour and cut-out ------------------------------------------------------------


@pytest.mark.parametrize("size", [(450, 600), (1200, 1600)], ids=["fine-grid", "coarse-grid"])
def test_foreground_estimate_removes_background_spill(size):
    height, width = size
    rng = np.random.default_rng(11)
    s = SUPERSAMPLE
    big = np.zeros((height * s, width * s), np.uint8)
    cv2.circle(big, (width * s // 2, height * s // 2), int(height * 0.3) * s, 255, -1)
    # A wide soft edge (defocus): many mixed pixels, each with a known fg / bg share.
    hard = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    truth = cv2.GaussianBlur(hard / 255.0, (0, 0), height / 150)
    fg = product_colours(height, width, rng)
    bg = np.zeros((height, width, 3), np.uint8)
    bg[..., 1] = 170  # a green backdrop: the spill is easy to name
    bg[..., 2] = 60
    alpha = np.round(truth * 255).astype(np.uint8)
    image = composite(fg, bg, alpha.astype(np.float32) / 255.0)

    estimate = matting.estimate_foreground(image, alpha)

    assert estimate.dtype == np.uint8 and estimate.shape == image.shape
    band = (alpha >= 25) & (alpha <= 230)
    assert band.sum() > 1000
    raw_error = np.abs(image[band].astype(float) - fg[band]).mean()
    our_error = np.abs(estimate[band].astype(float) - fg[band]).mean()
    assert our_error < 0.5 * raw_error
    # Green spill, specifically, is gone from the edge.
    assert estimate[band][:, 1].mean() < fg[band][:, 1].mean() + 15
    # Opaque pixels are left exactly as they were.
    assert np.array_equal(estimate[alpha == 255], image[alpha == 255])


def test_foreground_estimate_without_soft_pixels_is_a_copy():
    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    alpha = np.zeros((40, 50), np.uint8)
    alpha[10:30, 10:40] = 255
    out = matting.estimate_foreground(image, alpha)
    assert np.array_equal(out, image) and out is not image


def test_cutout_is_rgba_with_clear_transparent_pixels():
    rgb = np.full((20, 30, 3), 200, np.uint8)
    alpha = np.zeros((20, 30), np.uint8)
    alpha[5:15, 5:25] = 255
    alpha[5:15, 4] = 100
    rgba = matting.cutout(rgb, alpha)
    assert rgba.shape == (20, 30, 4) and rgba.dtype == np.uint8
    assert np.array_equal(rgba[..., 3], alpha)
    assert np.all(rgba[alpha == 0] == 0)
    assert np.all(rgba[alpha > 0][:, :3] == 200)

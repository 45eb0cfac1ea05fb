"""What an input's alpha says: its opaque box, whether it is a clean cut-out, and the colours
the models see where it is transparent. Generated alphas with known answers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from photofix.imaging import transparency


def _disc_alpha(size: tuple[int, int] = (300, 400), soft: bool = False) -> np.ndarray:
    alpha = np.zeros(size, np.uint8)
    cv2.circle(alpha, (220, 140), 90, 255, -1, cv2.LINE_AA if soft else cv2.LINE_8)
    return alpha


def _turned_photo_alpha(degrees: float = 20.0) -> np.ndarray:
    """A photo exported turned: an opaque rectangle with transparent corners."""
    alpha = np.zeros((500, 500), np.uint8)
    corners = cv2.boxPoints(((250, 250), (330, 260), degrees))
    cv2.fillPoly(alpha, [np.round(corners).astype(np.int32)], 255)
    return alpha


def test_split_keeps_rgb_as_it_is_and_takes_alpha_apart():
    rgb = np.zeros((4, 5, 3), np.uint8)
    same, alpha = transparency.split(rgb)
    assert same is rgb and alpha is None
    rgba = np.arange(4 * 5 * 4, dtype=np.uint8).reshape(4, 5, 4)
    colours, alpha = transparency.split(rgba)
    assert colours.flags.c_contiguous and colours.shape == (4, 5, 3)
    np.testing.assert_array_equal(alpha, rgba[..., 3])


def test_opaque_box_is_what_is_not_fully_transparent():
    alpha = np.zeros((30, 40), np.uint8)
    alpha[5:9, 10:31] = 200
    alpha[20, 2] = transparency.TRANSPARENT  # exporter noise, not content
    assert transparency.opaque_box(alpha) == (10, 5, 31, 9)
    assert transparency.opaque_box(np.zeros((3, 3), np.uint8)) is None


@pytest.mark.parametrize("soft", [False, True])
def test_a_cut_out_subject_is_a_cut_out(soft):
    assert transparency.is_cutout(_disc_alpha(soft=soft))


@pytest.mark.parametrize(
    "alpha",
    [
        pytest.param(_turned_photo_alpha(), id="photo exported turned"),
        pytest.param(np.pad(np.full((80, 60), 255, np.uint8), 20), id="photo padded"),
        pytest.param(np.full((50, 50), 128, np.uint8), id="half transparent all over"),
        pytest.param(
            np.random.default_rng(0).integers(0, 256, (60, 60), dtype=np.uint8), id="noise"
        ),
        pytest.param(np.full((50, 50), 255, np.uint8), id="opaque"),
    ],
)
def test_photos_and_soft_alphas_are_not_cut_outs(alpha):
    assert not transparency.is_cutout(alpha)


def test_continued_keeps_what_shows_and_fills_the_rest_from_it():
    rng = np.random.default_rng(1)
    rgb = np.zeros((200, 300, 3), np.uint8)  # black under the transparency
    rgb[:, :150] = (30, 120, 200)
    rgb[:, 150:] = (200, 60, 20)
    rgb += rng.integers(0, 3, rgb.shape, dtype=np.uint8)
    alpha = np.full((200, 300), 255, np.uint8)
    alpha[50:150, 100:200] = 0  # a hole across the colour boundary
    alpha[50:150, 99] = 128  # with a soft edge on one side
    filled = transparency.continued(rgb.copy(), alpha)
    shown = alpha > transparency.TRANSPARENT
    np.testing.assert_array_equal(filled[shown], rgb[shown])
    # Inside the hole each side continues its own colour: no black, no undefined colour.
    left, right = filled[60:140, 105:135].reshape(-1, 3), filled[60:140, 165:195].reshape(-1, 3)
    assert np.abs(left.astype(int) - (31, 121, 201)).max() <= 12
    assert np.abs(right.astype(int) - (201, 61, 21)).max() <= 12


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (9, 1), (2, 2), (3, 500)])
def test_continued_fills_degenerate_shapes(shape):
    rgb = np.full((*shape, 3), 77, np.uint8)
    rgb[0, 0] = 0
    alpha = np.full(shape, 255, np.uint8)
    alpha[0, 0] = 0
    filled = transparency.continued(rgb, alpha)
    assert filled.shape == rgb.shape and filled.dtype == np.uint8
    if rgb.size > 3:  # the colour that shows, to within the rounding of a small copy
        assert np.abs(filled[0, 0].astype(int) - 77).max() <= 2


def test_continued_of_nothing_shown_is_defined():
    filled = transparency.continued(np.full((5, 6, 3), 9, np.uint8), np.zeros((5, 6), np.uint8))
    assert (filled == 0).all()


@pytest.mark.parametrize(
    ("rim", "fill"), [(250, transparency.DARK_FILL), (20, transparency.LIGHT_FILL)]
)
def test_contrasting_fill_stands_apart_from_the_opaque_outline(rim, fill):
    rgb = np.full((100, 100, 3), rim, np.uint8)
    alpha = np.zeros((100, 100), np.uint8)
    alpha[20:80, 30:70] = 255
    assert transparency.contrasting_fill(rgb, alpha) == fill

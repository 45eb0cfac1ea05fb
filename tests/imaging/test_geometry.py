"""Quad ordering, the camera-aware aspect ratio, warps and rotations, with exact ground truth."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from photofix.imaging import geometry


def project_rectangle(
    width: float, height: float, *, tilt_x: float, tilt_y: float, image=(4000, 3000), focal=2400
) -> np.ndarray:
    """Corners (TL, TR, BR, BL) of a width x height rectangle seen by a pinhole camera (focal
    length in px, principal point at the image centre) after tilting it about x and y."""
    rx, ry = math.radians(tilt_x), math.radians(tilt_y)
    rot_x = np.array([[1, 0, 0], [0, math.cos(rx), -math.sin(rx)], [0, math.sin(rx), math.cos(rx)]])
    rot_y = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    local = np.array(
        [[-width / 2, -height / 2, 0], [width / 2, -height / 2, 0],
         [width / 2, height / 2, 0], [-width / 2, height / 2, 0]]
    )  # fmt: skip
    world = local @ (rot_y @ rot_x).T + np.array([0, 0, 2.2 * max(width, height)])
    u0, v0 = (image[0] - 1) / 2, (image[1] - 1) / 2
    return np.stack(
        [focal * world[:, 0] / world[:, 2] + u0, focal * world[:, 1] / world[:, 2] + v0], axis=1
    ).astype(np.float32)


def test_order_corners_is_independent_of_input_order():
    quad = np.float32([[100, 80], [900, 120], [880, 700], [120, 650]])
    for perm in itertools.permutations(range(4)):
        assert np.array_equal(geometry.order_corners(quad[list(perm)]), quad)


PHONE_FOCAL = 3000  # px: 0.6 x the diagonal of a 4000 x 3000 photo, a 26 mm-equivalent lens


@pytest.mark.parametrize(
    ("aspect", "tilt_x", "tilt_y", "focal"),
    [
        (210 / 297, 30, 0, PHONE_FOCAL),  # one pair of sides parallel: the focal is assumed
        (210 / 297, 0, 35, PHONE_FOCAL),
        (297 / 210, 25, -20, 2000),  # both tilted: the focal is recovered from the quad
        (1.0, -35, 15, 4000),
        (0.4, 30, 25, PHONE_FOCAL),
    ],
)
def test_aspect_ratio_comes_from_the_camera_geometry(aspect, tilt_x, tilt_y, focal):
    quad = project_rectangle(1000 * aspect, 1000, tilt_x=tilt_x, tilt_y=tilt_y, focal=focal)
    estimate = geometry.perspective_aspect(geometry.order_corners(quad), (3000, 4000))
    assert estimate == pytest.approx(aspect, rel=0.02)


def test_naive_side_ratio_is_worse_than_the_camera_estimate():
    quad = project_rectangle(707, 1000, tilt_x=35, tilt_y=0, focal=PHONE_FOCAL)
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    naive = max(sides[0], sides[2]) / max(sides[1], sides[3])
    estimate = geometry.perspective_aspect(geometry.order_corners(quad), (3000, 4000))
    assert abs(estimate - 0.707) < 0.02 < abs(naive - 0.707)


def test_rectified_size_keeps_a_front_facing_rectangle():
    quad = np.float32([[100, 50], [740, 50], [740, 530], [100, 530]])
    assert geometry.rectified_size(quad, (600, 800)) == (640, 480)


def test_warp_of_an_axis_aligned_quad_is_a_crop():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    quad = np.float32([[49.5, 29.5], [249.5, 29.5], [249.5, 179.5], [49.5, 179.5]])
    out = geometry.warp_quad(image, quad, (200, 150))
    assert np.array_equal(out, image[30:180, 50:250])


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_corner_labels_follow_a_quarter_turn(degrees):
    # Mark the page's TL with a dot; after the turn it must sit at the new TL.
    image = np.zeros((40, 60), np.uint8)
    image[0, 0] = 255
    corners = np.float32([[0, 0], [59, 0], [59, 39], [0, 39]])
    turned = geometry.rotate_clockwise(image, (360 - degrees) % 360)  # content turned away
    relabelled = geometry.corners_for_rotation(corners, degrees)
    back = geometry.rotate_clockwise(turned, degrees)
    assert back[0, 0] == 255
    assert relabelled.shape == (4, 2)
    assert np.array_equal(geometry.corners_for_rotation(relabelled, (360 - degrees) % 360), corners)


def test_rotations_refuse_other_angles():
    with pytest.raises(ValueError):
        geometry.rotate_clockwise(np.zeros((4, 4), np.uint8), 45)


def test_small_rotation_expands_the_canvas_and_round_trips():
    image = np.zeros((100, 200), np.uint8)
    image[40:60, 90:110] = 255
    turned = geometry.rotate_small(image, 10.0, fill=0)
    assert turned.shape[0] > 100 and turned.shape[1] > 200
    back = geometry.rotate_small(turned, -10.0, fill=0, expand=False)
    ys, xs = np.nonzero(back > 128)
    assert abs(ys.mean() - back.shape[0] / 2) < 1.5 and abs(xs.mean() - back.shape[1] / 2) < 1.5


@pytest.mark.parametrize(("turn", "skew"), [(0, 0.0), (90, 1.5), (180, -2.0), (270, 0.7)])
def test_one_page_transform_equals_flatten_then_turn_then_deskew(turn, skew):
    rng = np.random.default_rng(1)
    photo = cv2.GaussianBlur(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8), (0, 0), 4)
    quad = np.float32([[120, 90], [650, 120], [700, 540], [90, 500]])
    size = geometry.rectified_size(quad, photo.shape)
    chained = geometry.rotate_small(
        geometry.rotate_clockwise(geometry.warp_quad(photo, quad, size), turn), skew, fill=0
    )
    plan = geometry.plan_page(quad, size, turn, skew)
    once = geometry.warp_page(photo, plan, fill=(0, 0, 0))
    assert once.shape == chained.shape
    inner = (slice(40, -40), slice(40, -40))  # away from the edges that were resampled twice
    diff = np.abs(once[inner].astype(int) - chained[inner].astype(int))
    assert diff.mean() < 1.5


def test_deskew_wedges_get_the_fill_colour():
    photo = np.full((300, 400, 3), 100, np.uint8)
    plan = geometry.plan_page(geometry.frame_corners(400, 300), (400, 300), 0, 5.0)
    out = geometry.warp_page(photo, plan, fill=(250, 240, 230))
    assert tuple(out[0, 0]) == (250, 240, 230)  # a corner wedge
    assert tuple(out[out.shape[0] // 2, out.shape[1] // 2]) == (100, 100, 100)


def test_preview_is_the_flattened_page_small_and_unaliased():
    stripes = np.zeros((1200, 1600, 3), np.uint8)
    stripes[:, ::2] = 255  # finest possible detail: aliasing would show as bands
    quad = np.float32([[100, 100], [1500, 100], [1500, 1100], [100, 1100]])
    preview = geometry.flatten_preview(stripes, quad, (1400, 1000), 350)
    assert max(preview.shape[:2]) == 350
    assert abs(float(preview.mean()) - 127.5) < 4 and preview.std() < 6


def test_rotated_crop_equals_rotating_everything_then_cropping():
    rng = np.random.default_rng(2)
    image = cv2.GaussianBlur(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8), (0, 0), 3)
    box = (60, 40, 330, 250)
    crop, corners = geometry.rotated_crop(image, 4.0, box, fill=(9, 9, 9))
    full = geometry.rotate_small(image, 4.0, fill=(9, 9, 9))
    # Equal up to OpenCV's fixed-point interpolation weights (which depend on the offset).
    assert np.abs(crop.astype(int) - full[40:250, 60:330].astype(int)).max() <= 2
    # The crop's corners map back into the unrotated image: its TL is its box corner turned.
    assert corners.shape == (4, 2)
    side = np.linalg.norm(corners[1] - corners[0])
    assert side == pytest.approx(270, abs=0.01)
    assert geometry.rotated_size(400, 300, 4.0) == full.shape[1::-1]


@pytest.mark.parametrize(
    ("shape", "size"),
    [((1200, 1600, 3), (400, 300)), ((1201, 1603, 3), (320, 320)), ((900, 700), (333, 427))],
    ids=["whole-factor", "odd-square", "gray-arbitrary"],
)
def test_shrink_is_an_area_average_like_one_inter_area_pass(shape, size):
    """Halving first (OpenCV's fast path) gives what one INTER_AREA pass gives, to within
    rounding on smooth content; a fine grating averages to its mean, not to an alias."""
    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.uint8), (0, 0), 4)
    small = geometry.shrink(smooth, size)
    assert small.shape[1::-1] == size and small.dtype == np.uint8
    direct = cv2.resize(smooth, size, interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - direct.astype(int)).mean() < 0.6

    grating = np.zeros(shape[:2], np.uint8)
    grating[:, ::2] = 255  # 1 px stripes: nothing of them survives at a third of the size
    assert np.abs(geometry.shrink(grating, size).astype(int) - 127.5).max() < 20


def test_shrink_never_enlarges_more_than_asked():
    image = np.full((100, 80, 3), 7, np.uint8)
    assert geometry.shrink(image, (80, 100)) is image
    assert geometry.shrink(image, (160, 200)).shape == (200, 160, 3)

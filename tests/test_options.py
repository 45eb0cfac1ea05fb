"""Request options (issue 22, items 3, 4 and 7): `corners` is 8 finite numbers outlining a
convex page that lies (nearly) within the photo, decided when the task is created; and a field
beyond PicWish given for a type it does not apply to is a 400 naming it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photofix.errors import BadRequest
from photofix.imaging import geometry
from photofix.imaging.codec import ImageInfo
from photofix.options import FIELD_TYPES, check_corners_fit, parse_options
from photofix.pipelines import CORNERS_OUTSIDE

SQUARE = "100,100,500,100,500,400,100,400"
# What each refusal says.
SHAPE, RANGE, CONVEX, SMALL = "8 numbers", "finite pixel positions", "convex page", "too small"


def refused(field: str, **fields: object) -> str:
    with pytest.raises(BadRequest) as error:
        parse_options(**fields)  # type: ignore[arg-type]
    assert error.value.field == field
    assert error.value.http_status == 400 and field in error.value.message
    return error.value.message


@pytest.mark.parametrize(
    "text",
    [
        SQUARE,
        "100 100 500 100 500 400 100 400",
        " 100, 100,500,100, 500,400,100,400 ",
        "[100, 100, 500, 100, 500, 400, 100, 400]",
        "[[100, 100], [500, 100], [500, 400], [100, 400]]",
        "100,400,500,400,500,100,100,100",  # counter-clockwise: the same page
    ],
)
def test_corners_in_every_documented_form(text):
    options = parse_options(type=0, corners=text)
    assert sorted(options.corners) == sorted((100.0, 100, 500, 100, 500, 400, 100, 400))


@pytest.mark.parametrize(
    ("text", "why", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested JSON: was a RecursionError, HTTP 500", SHAPE),
        ("[" * 200 + "1" + "]" * 200, "nested JSON within the length cap", SHAPE),
        ("[[[100, 100], [500, 100]], [[500, 400], [100, 400]]]", "pairs nested once more", SHAPE),
        ("inf,0,100,0,100,100,0,100", "inf: was ZeroDivisionError in the worker", RANGE),
        ("nan,0,100,0,100,100,0,100", "nan", RANGE),
        ("[Infinity, 0, 100, 0, 100, 100, 0, 100]", "JSON Infinity", SHAPE),
        ("[NaN, 0, 100, 0, 100, 100, 0, 100]", "JSON NaN", SHAPE),
        ("1e308,0,100,0,100,100,0,100", "1e308", RANGE),
        ("[1e999, 0, 100, 0, 100, 100, 0, 100]", "a JSON number that overflows", RANGE),
        (
            "[" + "9" * 400 + ", 0, 100, 0, 100, 100, 0, 100]",
            "an integer too big for a float",
            SHAPE,
        ),
        ("1e9,1e9,2e9,1e9,2e9,2e9,1e9,2e9", "1e9: OpenCV asked for 3e18 bytes", RANGE),
        ("0,0,12000,0,12000,12000,0,12000", "spanning 12000 px: past the 4096 px limit", RANGE),
        ("-1000,0,100,0,100,100,0,100", "far left of any photo", RANGE),
        ("5,5,5,5,5,5,5,5", "eight equal numbers", CONVEX),
        ("0,0,200,0,400,0,0,300", "three collinear corners", CONVEX),
        ("0,0,200,-1,400,0,0,300", "three nearly collinear corners (179.4 degrees)", CONVEX),
        ("100,100,500,400,500,100,100,400", "crossing sides (a bow tie)", CONVEX),
        ("100,100,500,100,200,200,100,400", "a dent: one corner inside the others", CONVEX),
        ("10,10,20,10,20,20,10,20", "a 10 px page", SMALL),
        ("0,0,1000,0,1000,8,0,8", "8 px tall", SMALL),
        ("1,2,3", "too few numbers", SHAPE),
        ("1,2,3,4,5,6,7,8,9,10", "too many numbers", SHAPE),
        ("[true, 0, 100, 0, 100, 100, 0, 100]", "booleans", SHAPE),
        ('["100", 0, 100, 0, 100, 100, 0, 100]', "a string inside JSON", SHAPE),
        ('{"x": 1}', "a JSON object", SHAPE),
        ("0x10,0,100,0,100,100,0,100", "hex", SHAPE),
        ("1" * 600, "too long to be 8 numbers", SHAPE),
    ],
)
def test_corners_that_are_no_page_are_refused_naming_corners(text, why, reason):
    assert reason in refused("corners", type=0, corners=text)


def test_corner_limits_follow_the_operators_max_side():
    wide = "0,0,6000,0,6000,4000,0,4000"
    refused("corners", type=0, corners=wide)
    assert parse_options(type=0, corners=wide, max_side=6000).corners is not None


def info(width: int, height: int, orientation: int = 1) -> ImageInfo:
    return ImageInfo("jpeg", width, height, orientation)


def test_corners_spanning_12000_px_do_not_fit_a_640x480_photo():
    # Within the 4096 px bound of any photo, but far outside this one.
    options = parse_options(type=0, corners="0,0,4000,0,4000,3000,0,3000")
    with pytest.raises(BadRequest) as error:
        check_corners_fit(options, info(640, 480))
    assert error.value.field == "corners" and "640x480" in error.value.message


def test_corners_slightly_outside_the_photo_are_accepted_up_to_the_tolerance():
    slack = CORNERS_OUTSIDE * 640  # 64 px for a 640x480 photo
    inside = f"{-slack},{-slack},{639 + slack},{-slack},{639 + slack},{479 + slack},0,479"
    check_corners_fit(parse_options(type=0, corners=inside), info(640, 480))
    beyond = f"{-slack - 2},0,639,0,639,479,0,479"
    with pytest.raises(BadRequest):
        check_corners_fit(parse_options(type=0, corners=beyond), info(640, 480))


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_corners_are_upright_coordinates_of_a_turned_photo(orientation):
    """Stored 640x480 with EXIF orientation 5-8 is a 480x640 photo upright: corners there."""
    portrait = parse_options(type=2, corners="0,0,479,0,479,639,0,639")
    check_corners_fit(portrait, info(640, 480, orientation))
    with pytest.raises(BadRequest):
        check_corners_fit(portrait, info(640, 480, 1))
    landscape = parse_options(type=2, corners="0,0,639,0,639,479,0,479")
    with pytest.raises(BadRequest):
        check_corners_fit(landscape, info(640, 480, orientation))


def test_no_corners_always_fit():
    check_corners_fit(parse_options(type=0), info(16, 16))


finite_or_not = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-500, max_value=4600),
    st.integers(min_value=-500, max_value=4600).map(float),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite_or_not, min_size=8, max_size=8))
def test_accepted_corners_always_make_a_finite_page_plan(numbers):
    """Whatever 8 numbers come in, either a 400 naming corners or a quad the warp can use: a
    finite page size and homography (what divided by zero in the worker before)."""
    text = ",".join(repr(n) for n in numbers)
    try:
        options = parse_options(type=0, corners=text)
    except BadRequest as error:
        assert error.field == "corners"
        return
    quad = geometry.order_corners(np.float32(options.corners).reshape(4, 2))
    size = geometry.rectified_size(quad, (4096, 4096))
    assert all(math.isfinite(side) and side >= 1 for side in size)
    plan = geometry.fit_plan(geometry.plan_page(quad, size), 4096)
    assert np.isfinite(plan.matrix).all() and max(plan.size) <= 4096


VALID = {
    "enhance": "gray",
    "corners": SQUARE,
    "crop_margin": "10",
    "aspect": "1:1",
    "bg_color": "#ffffff",
    "keep_shadow": "1",
    "model": "u2netp",
}


@pytest.mark.parametrize(
    ("name", "kind"),
    [(name, kind) for name, types in FIELD_TYPES.items() for kind in range(5) if kind not in types],
)
def test_a_field_given_for_a_type_it_does_not_apply_to_is_a_400(name, kind):
    refused(name, type=kind, **{name: VALID[name]})


@pytest.mark.parametrize(
    ("name", "kind"),
    [(name, kind) for name, types in FIELD_TYPES.items() for kind in types],
)
def test_a_field_given_for_its_types_is_taken(name, kind):
    options = parse_options(type=kind, **{name: VALID[name]})
    assert options != parse_options(type=kind)


def test_the_rule_holds_for_any_value_even_a_default_one():
    refused("enhance", type=3, enhance="color")
    refused("keep_shadow", type=3, keep_shadow="0")


def test_an_empty_field_is_not_given():
    options = parse_options(type=3, enhance="", corners=" ", keep_shadow="")
    assert options == parse_options(type=3)
    assert parse_options(type=1).enhance == "color"  # the default when not given


def test_the_rule_has_one_table_that_covers_every_field_beyond_picwish():
    assert set(FIELD_TYPES) == set(VALID)
    assert FIELD_TYPES["enhance"] == (1, 2) and FIELD_TYPES["corners"] == (0, 2)

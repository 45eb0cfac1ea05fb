"""`corners` and the other fields beyond PicWish over HTTP (issue 22, items 3, 4 and 7): a quad
that is no page, or lies far outside the photo, is a 400 naming `corners` when the task is
created (for an image_url, a failed task once the photo is known); one that is a little
outside is accepted; no output is larger than the input limit; a field given for a type it
does not apply to is a 400 naming it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.api.test_errors import assert_error
from tests.api.test_tasks import check_finished, poll, post
from tests.synth import document_scene, encode, product_scene


@pytest.fixture(scope="module")
def photo() -> bytes:
    """A 640x480 photo of a page."""
    scene, _ = document_scene(size=(640, 480))
    return encode(scene, "JPEG", quality=90)


SPAN_12000 = "0,0,12000,0,12000,12000,0,12000"
SLIGHTLY_OUTSIDE = "-30,-30,670,-30,670,510,-30,510"


def test_corners_spanning_12000_px_on_a_640x480_photo_are_400(live, photo):
    assert_error(post(live, {"type": 0, "corners": SPAN_12000}, photo), 400, "corners")
    # Within what any photo may have, but not this one: refused at create time too.
    far = "0,0,4000,0,4000,3000,0,3000"
    body = assert_error(post(live, {"type": 2, "corners": far}, photo), 400, "corners")
    assert "640x480" in body["message"]


def test_corners_slightly_outside_the_photo_are_accepted(live, photo):
    response = post(live, {"type": 0, "corners": SLIGHTLY_OUTSIDE, "sync": 1}, photo)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    check_finished(live, data, 0)
    assert data["meta"]["document"]["method"] == "user"
    assert max(data["meta"]["width"], data["meta"]["height"]) <= live.settings.max_image_side


@pytest.mark.parametrize(
    "corners",
    [
        "[" * 50_000 + "]" * 50_000,  # was a RecursionError: HTTP 500
        "inf,0,100,0,100,100,0,100",  # these were accepted, then state -1 ZeroDivisionError
        "1e308,0,100,0,100,100,0,100",
        "7,7,7,7,7,7,7,7",
        "0,0,200,0,400,0,0,300",
        "100,100,500,400,500,100,100,400",  # crossing sides
        "10,10,20,10,20,20,10,20",  # tiny
    ],
    ids=["nested", "inf", "1e308", "equal", "collinear", "crossing", "tiny"],
)
def test_corners_that_are_no_page_are_400_when_the_task_is_created(live, photo, corners):
    before = live.state.service.store.count_unfinished()
    assert_error(post(live, {"type": 0, "corners": corners}, photo), 400, "corners")
    assert live.state.service.store.count_unfinished() == before  # no task was made


def test_an_image_urls_corners_are_checked_once_the_photo_is_known(live, file_server, photo):
    url = file_server.serve("/corners-640x480.jpg", photo, **{"Content-Type": "image/jpeg"})
    far = "0,0,4000,0,4000,3000,0,3000"
    response = post(live, {"type": 0, "corners": far, "image_url": url})
    assert response.status_code == 200, response.text  # the size is not known yet
    final = poll(live, response.json()["data"]["task_id"])[-1]
    assert final["state"] == -1, final
    assert "corners" in final["state_detail"] and "640x480" in final["state_detail"]


def jpeg_with_orientation(width: int, height: int, orientation: int) -> bytes:
    scene, _ = document_scene(size=(width, height))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(scene).save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def test_corners_are_upright_coordinates_of_an_exif_turned_upload(live):
    stored_landscape = jpeg_with_orientation(640, 480, 6)  # shown as 480x640
    portrait = "0,0,479,0,479,639,0,639"
    response = post(live, {"type": 0, "corners": portrait, "sync": 1}, stored_landscape)
    assert response.status_code == 200, response.text
    check_finished(live, response.json()["data"], 0)
    landscape = "0,0,639,0,639,479,0,479"
    assert_error(post(live, {"type": 0, "corners": landscape}, stored_landscape), 400, "corners")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"type": 1, "corners": SLIGHTLY_OUTSIDE}, "corners"),  # was silently ignored
        ({"type": 3, "corners": SLIGHTLY_OUTSIDE}, "corners"),  # was silently ignored
        ({"type": 3, "enhance": "gray"}, "enhance"),  # was silently ignored
        ({"type": 0, "enhance": "color"}, "enhance"),
        ({"type": 4, "enhance": "bw"}, "enhance"),
        ({"type": 3, "keep_shadow": "0"}, "keep_shadow"),
    ],
)
def test_a_field_for_another_type_is_400_naming_it(live, photo, form, field):
    assert_error(post(live, form, photo), 400, field)


def test_what_the_playground_sends_for_a_scan_is_accepted(live, photo):
    form = {"type": 2, "return_type": 2, "enhance": "gray", "corners": SLIGHTLY_OUTSIDE}
    response = post(live, {**form, "sync": 1}, photo)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    check_finished(live, data, 2)
    assert data["meta"]["enhance"] == "gray"


def test_a_4096_px_margin_on_a_4096_px_photo_stays_within_the_limit(live):
    small, _ = product_scene(size=(512, 512))
    big = np.asarray(Image.fromarray(small).resize((4096, 4096), Image.Resampling.BILINEAR))
    form = {"type": 4, "crop_margin": "4096", "sync": 1}
    response = post(live, form, encode(big, "JPEG", quality=85))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    image = check_finished(live, data, 4)
    assert max(image.size) <= 4096
    assert 0 < data["meta"]["shrunk"]["scale"] < 0.5

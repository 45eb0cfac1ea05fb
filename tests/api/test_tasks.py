"""The PicWish-compatible API over HTTP, on the real app with real worker processes (SPEC 1, 4)."""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from tests.conftest import LiveApp
from tests.imaging.codec_samples import exif_block
from tests.synth import document_scene, encode, product_scene

PATH = "/api/tasks/visual/correction"


@pytest.fixture(scope="module")
def document_jpeg() -> bytes:
    scene, _ = document_scene(rotation=0, size=(800, 600))
    return encode(scene, "JPEG", quality=92)


@pytest.fixture(scope="module")
def product_jpeg() -> bytes:
    scene, _ = product_scene(size=(640, 480))
    return encode(scene, "JPEG", quality=92)


def _source(kind: int, document_jpeg: bytes, product_jpeg: bytes) -> bytes:
    return product_jpeg if kind >= 3 else document_jpeg


def post(live: LiveApp, data: dict[str, Any], image: bytes | None = None, key: str | None = None):
    files = {"image_file": ("photo.jpg", image, "image/jpeg")} if image is not None else None
    form = {name: str(value) for name, value in data.items()}
    return live.client.post(PATH, data=form, files=files, headers=live.headers(key))


def poll(live: LiveApp, task_id: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every answer of GET until the task finishes."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = live.client.get(f"{PATH}/{task_id}", headers=live.headers())
        assert response.status_code == 200, response.text
        seen.append(response.json()["data"])
        if seen[-1]["state"] == 1 or seen[-1]["state"] < 0:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish: {seen[-1]}")


def image_of(live: LiveApp, data: dict[str, Any]) -> Image.Image:
    if data["return_type"] == 2:
        return Image.open(io.BytesIO(base64.b64decode(data["image"])))
    response = live.client.get(data["image"])  # no API key: signed URL
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def check_finished(live: LiveApp, data: dict[str, Any], kind: int) -> Image.Image:
    assert data["state"] == 1, data
    assert data["progress"] == 100
    assert data["type"] == kind
    for stamp in ("created_at", "processed_at", "completed_at"):
        assert data[stamp].isdigit()
    assert int(data["created_at"]) <= int(data["processed_at"]) <= int(data["completed_at"])
    image = image_of(live, data)
    assert image.size == (data["meta"]["width"], data["meta"]["height"])
    assert data["meta"]["format"] == {"JPEG": "jpeg", "PNG": "png"}[image.format]
    if kind == 4:
        assert image.mode == "RGBA"
        alpha = np.asarray(image)[..., 3]
        assert alpha.min() == 0 and alpha.max() == 255
    return image


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("return_type", [1, 2])
def test_async_task_every_type(live, document_jpeg, product_jpeg, kind, return_type):
    response = post(
        live, {"type": kind, "return_type": return_type}, _source(kind, document_jpeg, product_jpeg)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == 200 and body["message"] == "success"
    assert set(body["data"]) == {"task_id"}
    answers = poll(live, body["data"]["task_id"])
    progress = [a["progress"] for a in answers]
    assert progress == sorted(progress), "progress must only grow"
    check_finished(live, answers[-1], kind)


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("return_type", [1, 2])
def test_sync_task_every_type(live, document_jpeg, product_jpeg, kind, return_type):
    response = post(
        live,
        {"sync": 1, "type": kind, "return_type": return_type},
        _source(kind, document_jpeg, product_jpeg),
    )
    assert response.status_code == 200, response.text
    check_finished(live, response.json()["data"], kind)


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
def test_sync_binary_every_type(live, document_jpeg, product_jpeg, kind):
    response = post(
        live,
        {"sync": 1, "type": kind, "return_type": 3},
        _source(kind, document_jpeg, product_jpeg),
    )
    assert response.status_code == 200, response.text
    expected = "image/png" if kind == 4 else "image/jpeg"
    assert response.headers["content-type"] == expected
    assert response.headers["x-task-state"] == "1"
    assert len(response.headers["x-task-id"]) == 36
    image = Image.open(io.BytesIO(response.content))
    assert image.format == ("PNG" if kind == 4 else "JPEG")


def test_document_meta_has_upright_corners(live, document_jpeg):
    response = post(live, {"sync": 1, "type": 0}, document_jpeg)
    meta = response.json()["data"]["meta"]
    assert meta["document"]["found"] is True
    assert len(meta["document"]["corners"]) == 4
    assert meta["rotation"] in (0, 90, 180, 270)
    assert "deskew" in meta and "bbox" in meta


def test_output_format_field(live, product_jpeg):
    response = post(live, {"sync": 1, "type": 4, "format": "webp", "return_type": 3}, product_jpeg)
    assert response.headers["content-type"] == "image/webp"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "WEBP" and image.mode == "RGBA"


def test_url_encoded_form_with_image_url(live, file_server, document_jpeg):
    url = file_server.serve("/doc.jpg", document_jpeg, **{"Content-Type": "image/jpeg"})
    response = live.client.post(
        PATH,
        content=f"sync=1&type=1&image_url={url}",
        headers={**live.headers(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    check_finished(live, response.json()["data"], 1)


def test_sync_timeout_hands_back_the_task(live, document_jpeg, monkeypatch):
    monkeypatch.setattr(live.state.settings, "sync_timeout", 0.001)
    response = post(live, {"sync": 1, "type": 2}, document_jpeg)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["state"] > 1 or data["state"] == 0, "still in flight"
    assert data["image"] is None
    final = poll(live, data["task_id"])[-1]
    check_finished(live, final, 2)


def test_another_key_cannot_see_a_task(live, document_jpeg):
    task_id = post(live, {"type": 1}, document_jpeg).json()["data"]["task_id"]
    mine = live.client.get(f"{PATH}/{task_id}", headers=live.headers())
    theirs = live.client.get(f"{PATH}/{task_id}", headers=live.headers(live.other_key))
    unknown = live.client.get(f"{PATH}/not-a-task", headers=live.headers(live.other_key))
    assert mine.status_code == 200
    assert theirs.status_code == 404 and unknown.status_code == 404
    assert theirs.json() == {**unknown.json()}, "another key's task looks exactly like none"
    poll(live, task_id)


def test_result_url_is_signed_and_expires(live, document_jpeg):
    data = post(live, {"sync": 1, "type": 1}, document_jpeg).json()["data"]
    url = data["image"]
    assert live.client.get(url).status_code == 200
    tampered = url.replace("signature=", "signature=0")
    assert live.client.get(tampered).status_code == 403
    expires = int(url.split("expires=")[1].split("&")[0])
    assert abs(expires - (int(data["completed_at"]) + 3600)) <= 1
    store = live.state.local_results
    name = url.split("/api/results/")[1].split("?")[0]
    past = int(time.time()) - 1
    expired_url = f"/api/results/{name}?expires={past}&signature={store.sign(name, past)}"
    assert live.client.get(expired_url).status_code == 403


def test_expired_tasks_are_swept_with_their_files(live, document_jpeg):
    data = post(live, {"sync": 1, "type": 1}, document_jpeg).json()["data"]
    name = data["image"].split("/api/results/")[1].split("?")[0]
    path = live.state.local_results.path(name)
    assert path.exists()
    removed = live.state.service.sweep(now=time.time() + 3601)
    assert removed >= 1
    assert not path.exists()
    gone = live.client.get(f"{PATH}/{data['task_id']}", headers=live.headers())
    assert gone.status_code == 404
    assert live.client.get(data["image"]).status_code == 404


def test_product_fields_reach_the_pipeline(live, product_jpeg):
    form = {"sync": 1, "type": 4, "aspect": "1:1", "crop_margin": "5%", "bg_color": "#ffffff"}
    data = post(live, form, product_jpeg).json()["data"]
    assert data["state"] == 1
    assert data["meta"]["width"] == data["meta"]["height"]
    assert data["meta"]["format"] == "jpeg"  # opaque on white: no alpha to keep


def test_a_phone_heic_upload_is_scanned(live):
    """Issue 18.4: an iPhone's default format, held sideways (the irot box turns it upright)."""
    scene, _ = document_scene(rotation=0, size=(800, 600))
    stored = pillow_heif.from_pillow(Image.fromarray(np.ascontiguousarray(np.rot90(scene))))
    stored.info["exif"] = exif_block(6)
    heic = io.BytesIO()
    stored.save(heic, quality=85)
    response = live.client.post(
        PATH,
        data={"sync": "1", "type": "2"},
        files={"image_file": ("IMG_0001.HEIC", heic.getvalue(), "image/heic")},
        headers=live.headers(),
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    image = check_finished(live, data, 2)
    assert data["meta"]["exif_orientation"] == 6 and data["meta"]["document"]["found"]
    assert image.height > image.width  # the upright page, not the stored landscape

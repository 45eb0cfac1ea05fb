"""Every status code of SPEC section 4 and every refusal of sections 1, 3 and 6, over HTTP."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from photofix.api.ratelimit import RateLimiter
from tests.api.test_tasks import PATH, poll, post
from tests.synth import encode, text_page


@pytest.fixture(scope="module")
def small_jpeg() -> bytes:
    return encode(text_page(300, 400), "JPEG")


def assert_error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["data"] is None
    assert body["message"]
    if field is not None:
        assert body["field"] == field
        assert field in body["message"]
    return body


def test_missing_and_invalid_key_are_401(live, small_jpeg):
    files = {"image_file": ("a.jpg", small_jpeg, "image/jpeg")}
    assert_error(live.client.post(PATH, files=files), 401)
    assert_error(live.client.post(PATH, files=files, headers={"X-API-KEY": "pfx_nope"}), 401)
    assert_error(live.client.get(f"{PATH}/abc"), 401)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"type": 5}, "type"),
        ({"type": -1}, "type"),
        ({"type": "scan"}, "type"),
        ({"sync": 2}, "sync"),
        ({"return_type": 4}, "return_type"),
        ({"return_type": 3, "sync": 0}, "return_type"),
        ({"format": "gif"}, "format"),
        ({"enhance": "sepia"}, "enhance"),
        ({"corners": "1,2,3"}, "corners"),
        ({"type": 4, "crop_margin": "60%"}, "crop_margin"),
        ({"type": 4, "crop_margin": "wide"}, "crop_margin"),
        ({"type": 1, "crop_margin": "10"}, "crop_margin"),
        ({"type": 3, "aspect": "1:0"}, "aspect"),
        ({"type": 3, "aspect": "square"}, "aspect"),
        ({"type": 0, "aspect": "1:1"}, "aspect"),
        ({"type": 4, "bg_color": "#12345"}, "bg_color"),
        ({"type": 4, "bg_color": "300,0,0"}, "bg_color"),
        ({"type": 3, "bg_color": "#ffffff"}, "bg_color"),
        ({"type": 4, "keep_shadow": "maybe"}, "keep_shadow"),
        ({"type": 3, "keep_shadow": "1"}, "keep_shadow"),
        ({"type": 4, "model": "isnet-general-use"}, "model"),  # not in this server's dir
        ({"type": 2, "model": "u2netp"}, "model"),
    ],
)
def test_bad_fields_are_400_naming_the_field(live, small_jpeg, form, field):
    assert_error(post(live, form, small_jpeg), 400, field)


def test_both_or_neither_source_is_400(live, small_jpeg):
    assert_error(post(live, {"type": 1}), 400, "image_file")
    both = post(live, {"image_url": "https://example.com/a.jpg"}, small_jpeg)
    assert_error(both, 400, "image_file")


@pytest.mark.parametrize("url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "nonsense"])
def test_bad_image_url_is_400(live, url):
    assert_error(post(live, {"image_url": url}), 400, "image_url")


def test_overlong_image_url_is_400(live):
    url = "https://example.com/" + "a" * 2040
    assert_error(post(live, {"image_url": url}), 400, "image_url")


def test_upload_over_20_mb_is_413(live):
    blob = b"\xff\xd8\xff" + b"\0" * (20 * 1024 * 1024 - 2)  # 20 MB + 1
    assert_error(post(live, {"type": 1}, blob), 413)


def test_image_over_4096_px_is_413(live):
    wide = encode(np.zeros((8, 4097, 3), np.uint8), "PNG")
    assert_error(post(live, {"type": 1}, wide), 413)


def png_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A PNG whose header claims a huge image over a tiny compressed stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width + 1) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)


def test_png_bomb_is_413(live):
    assert_error(post(live, {"type": 1}, png_bomb()), 413)


def test_truncated_jpeg_is_400(live, small_jpeg):
    assert_error(post(live, {"type": 1}, small_jpeg[: len(small_jpeg) // 2]), 400)


def test_unsupported_format_is_415(live):
    gif = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(gif, "GIF")
    assert_error(post(live, {"type": 1}, gif.getvalue()), 415)
    assert_error(post(live, {"type": 1}, b"%PDF-1.7\n" + b"x" * 100), 415)
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64)
    message = assert_error(post(live, {"type": 1}, mp4), 415)["message"]
    # The spec's list, then the additions (issue 18.4).
    assert "JPEG, PNG, BMP, WebP, TIFF, SGI or camera RAW" in message
    assert "also HEIC/HEIF and AVIF" in message


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1/a.jpg",
        "http://10.1.2.3/a.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.jpg",
    ],
)
def test_ssrf_targets_fail_the_task_with_state_minus_3(live, target):
    data = post(live, {"sync": 1, "type": 1, "image_url": target}).json()["data"]
    assert data["state"] == -3, data
    assert data["state_detail"]


def test_ssrf_via_redirect_is_refused(live, file_server):
    url = file_server.serve(
        "/hop", b"", status=302, Location="http://169.254.169.254/latest/meta-data/"
    )
    data = post(live, {"sync": 1, "type": 1, "image_url": url}).json()["data"]
    assert data["state"] == -3, data


def test_url_download_too_large_is_state_minus_5(live, file_server):
    url = file_server.serve("/huge.jpg", b"\xff\xd8\xff" + b"\0" * (20 * 1024 * 1024))
    data = post(live, {"sync": 1, "type": 1, "image_url": url}).json()["data"]
    assert data["state"] == -5, data


def test_url_with_broken_image_is_state_minus_7(live, file_server):
    url = file_server.serve("/broken.jpg", b"\xff\xd8\xff\xe0 definitely not a jpeg")
    data = post(live, {"sync": 1, "type": 1, "image_url": url}).json()["data"]
    assert data["state"] == -7, data


def test_url_not_found_is_state_minus_3(live, file_server):
    data = post(live, {"sync": 1, "type": 1, "image_url": file_server.base + "/missing"})
    assert data.json()["data"]["state"] == -3


def test_rate_limit_is_429_with_retry_after(live, small_jpeg, monkeypatch):
    monkeypatch.setattr(live.state, "limiter", RateLimiter(per_minute=2))
    statuses = [live.client.get(f"{PATH}/x", headers=live.headers()).status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    response = live.client.get(f"{PATH}/x", headers=live.headers())
    assert int(response.headers["retry-after"]) >= 1
    other = live.client.get(f"{PATH}/x", headers=live.headers(live.other_key))
    assert other.status_code == 404, "the limit is per key"


def test_overload_is_503_with_retry_after(live, small_jpeg, monkeypatch):
    monkeypatch.setattr(live.state.service, "max_pending_tasks", 0)
    response = post(live, {"type": 1}, small_jpeg)
    assert_error(response, 503)
    assert int(response.headers["retry-after"]) >= 1


def test_failed_task_never_blocks_polling(live, file_server):
    url = file_server.serve("/empty.jpg", b"")
    task_id = post(live, {"type": 1, "image_url": url}).json()["data"]["task_id"]
    final = poll(live, task_id)[-1]
    assert final["state"] < 0 and final["state_detail"]
    assert final["image"] is None

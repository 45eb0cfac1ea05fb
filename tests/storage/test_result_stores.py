"""The ResultStore contract, run against each back-end: local disk and S3 (moto's S3 server
on loopback stands in for AWS S3 / MinIO; it speaks the same HTTP API to boto3)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from photofix.storage.local import LocalResultStore
from photofix.storage.s3 import S3ResultStore


@pytest.fixture(params=["local", "s3"])
def results(request, tmp_path):
    if request.param == "local":
        return LocalResultStore(tmp_path / "blobs", b"secret")
    return request.getfixturevalue("s3_results")


def test_put_get_delete(results):
    results.put("results/t1.png", b"\x89PNG...", "image/png")
    assert results.get("results/t1.png") == b"\x89PNG..."
    results.put("results/t1.png", b"replaced", "image/png")
    assert results.get("results/t1.png") == b"replaced"
    results.delete("results/t1.png")
    with pytest.raises(FileNotFoundError):
        results.get("results/t1.png")
    results.delete("results/t1.png")  # deleting what is gone is not an error


@pytest.mark.parametrize("name", ["../etc/passwd", "results/../../x", "/abs/path", "noslash", ""])
def test_names_that_could_escape_are_refused(results, name):
    with pytest.raises(ValueError):
        results.put(name, b"x", "image/png")


def test_url_serves_the_blob_without_a_key(results):
    results.put("results/t2.jpg", b"jpeg bytes", "image/jpeg")
    url = results.url("results/t2.jpg", time.time() + 60, "http://testserver")
    assert fetch(results, url) == b"jpeg bytes"


def test_local_url_stops_working_when_it_expires(tmp_path):
    results = LocalResultStore(tmp_path / "blobs", b"secret")
    results.put("results/t2.jpg", b"jpeg bytes", "image/jpeg")
    url = results.url("results/t2.jpg", time.time() + 1, "http://testserver")
    time.sleep(1.5)
    assert fetch(results, url) is None


def test_s3_url_is_presigned_for_the_time_left(s3_results):
    # S3 itself refuses a presigned URL past X-Amz-Expires (moto does not check it, so the
    # test checks what we ask S3 for).
    s3_results.put("results/t2.jpg", b"jpeg bytes", "image/jpeg")
    url = s3_results.url("results/t2.jpg", time.time() + 3600, "")
    query = parse_qs(urlsplit(url).query)
    assert 3595 <= int(query["X-Amz-Expires"][0]) <= 3600
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]


def fetch(results, url: str) -> bytes | None:
    """What a client without an API key gets from `url` (None: refused)."""
    if isinstance(results, S3ResultStore):
        answer = httpx.get(url, timeout=10)
        return answer.content if answer.status_code == 200 else None
    # Local URLs are served by the API's results route, which does exactly this check.
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    name = parts.path.removeprefix("/api/results/")
    if not results.verify(name, int(query["expires"][0]), query["signature"][0]):
        return None
    return results.get(name)


def test_s3_content_type_is_kept(s3_results):
    s3_results.put("results/t3.webp", b"RIFF....WEBP", "image/webp")
    answer = httpx.get(s3_results.url("results/t3.webp", time.time() + 60, ""), timeout=10)
    assert answer.headers["content-type"] == "image/webp"


def test_s3_urls_can_name_the_public_endpoint(s3_server, s3_results):
    public = S3ResultStore.connect(
        s3_results._bucket,
        endpoint_url=s3_server,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        public_endpoint_url="https://files.example.com",
    )
    url = public.url("results/t4.png", time.time() + 60, "")
    assert url.startswith(f"https://files.example.com/{s3_results._bucket}/results/t4.png?")

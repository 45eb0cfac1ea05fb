"""photofix.client: the polling protocol against scripted answers (retries, Retry-After,
failures, timeouts), then both clients against a live `photofix serve`."""

from __future__ import annotations

import asyncio
import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image

from photofix.client import APIError, AsyncClient, Client, TaskFailed, TaskTimeout
from tests.synth import encode, text_page

BASE = "http://photofix.test"
PATH = "/api/tasks/visual/correction"


def envelope(data, status: int = 200) -> dict:
    return {"status": status, "message": "success" if status == 200 else "no", "data": data}


class Script:
    """A fake server: answers requests from a list, records what it was sent."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)


def client_for(script: Script) -> Client:
    return Client(BASE, "pfx_key", http=httpx.Client(transport=httpx.MockTransport(script)))


def task(state: int, **fields) -> httpx.Response:
    return httpx.Response(200, json=envelope({"task_id": "t1", "state": state, **fields}))


CREATED = httpx.Response(200, json=envelope({"task_id": "t1"}))
BUSY = httpx.Response(503, headers={"Retry-After": "0"}, json=envelope(None, 503))


def test_polls_until_done_and_decodes_base64():
    image = base64.b64encode(b"result-bytes").decode()
    script = Script(CREATED, task(4, progress=40), task(1, image=image, meta={"rotation": 90}))
    result = client_for(script).correct(b"input", type=2, return_type=2, timeout=10)
    assert result.image == b"result-bytes" and result.meta == {"rotation": 90}
    create = script.requests[0]
    assert create.headers["X-API-KEY"] == "pfx_key" and b'name="type"\r\n\r\n2' in create.content
    assert [r.method for r in script.requests] == ["POST", "GET", "GET"]


def test_retry_after_is_honoured_on_create_and_poll():
    script = Script(BUSY, CREATED, BUSY, task(1, image=base64.b64encode(b"x").decode()))
    assert client_for(script).correct(b"input", return_type=2, timeout=10).image == b"x"
    assert len(script.requests) == 4


def test_result_url_is_fetched_without_the_key():
    done = task(1, image="https://files.example.com/r.jpg?sig=abc")
    script = Script(CREATED, done, httpx.Response(200, content=b"jpeg"))
    assert client_for(script).correct(b"input", timeout=10).image == b"jpeg"
    assert "X-API-KEY" not in script.requests[-1].headers


def test_failed_task_and_refused_request_are_typed_errors():
    failed = task(-7, state_detail="invalid image file")
    with pytest.raises(TaskFailed) as caught:
        client_for(Script(CREATED, failed)).correct(b"input", timeout=10)
    assert caught.value.state == -7 and "invalid" in caught.value.detail
    refused = httpx.Response(400, json={**envelope(None, 400), "field": "type"})
    with pytest.raises(APIError) as error:
        client_for(Script(refused)).correct(b"input", type=9, timeout=10)
    assert error.value.status == 400 and error.value.field == "type"


def test_gives_up_at_the_timeout():
    script = Script(CREATED, *[task(4)] * 50)
    with pytest.raises(TaskTimeout):
        client_for(script).correct(b"input", timeout=0.6)


def test_image_sources(tmp_path):
    pil = Image.new("RGB", (4, 3), "red")
    path = tmp_path / "in.jpg"
    path.write_bytes(b"file-bytes")
    for source, check in [
        (path, lambda body: b"file-bytes" in body),
        (str(path), lambda body: b"file-bytes" in body),
        (pil, lambda body: b"\x89PNG" in body),
        ("https://example.com/a.jpg", lambda body: b"image_url=https" in body),
    ]:
        script = Script(CREATED, task(1, image=base64.b64encode(b"x").decode()))
        client_for(script).correct(source, return_type=2, timeout=5)
        assert check(script.requests[0].content)


# --- against the real service -----------------------------------------------------------


def page_jpeg() -> bytes:
    return encode(text_page(300, 400), "JPEG")


def test_client_against_a_live_server(served, file_server):
    base, token = served
    url = file_server.serve("/client-page.jpg", page_jpeg(), **{"Content-Type": "image/jpeg"})
    with Client(base, token) as client:
        by_bytes = client.correct(page_jpeg(), type=1, timeout=60)
        by_url = client.correct(url, type=1, return_type=2, timeout=60)
    for result in (by_bytes, by_url):
        assert result.task["state"] == 1
        decoded = np.asarray(Image.open(io.BytesIO(result.image)))
        assert decoded.shape[:2] == (400, 300) and result.meta["width"] == 300


def test_async_client_runs_requests_concurrently(served):
    base, token = served

    async def run() -> list[bytes]:
        async with AsyncClient(base, token) as client:
            jobs = [client.correct(page_jpeg(), type=1, timeout=60) for _ in range(3)]
            return [result.image for result in await asyncio.gather(*jobs)]

    images = asyncio.run(run())
    assert len(images) == 3 and all(image[:2] == b"\xff\xd8" for image in images)


def test_bad_field_from_the_live_server(served):
    base, token = served
    with Client(base, token) as client, pytest.raises(APIError) as error:
        client.correct(page_jpeg(), type=1, enhance="sepia", timeout=30)
    assert error.value.status == 400 and error.value.field == "enhance"


def test_remote_command_processes_a_batch(served, tmp_path):
    from typer.testing import CliRunner

    from photofix.batch import PARTIAL_FAILURE
    from photofix.cli import app

    base, token = served
    inputs = []
    for n in range(3):
        path = tmp_path / f"page{n}.jpg"
        path.write_bytes(page_jpeg())
        inputs.append(str(path))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    out = tmp_path / "out"
    args = ["remote", *inputs, str(tmp_path / "broken.jpg"), "--server", base, "--key", token]
    result = CliRunner().invoke(app, [*args, "--type", "1", "--out-dir", str(out), "-c", "2"])
    assert result.exit_code == PARTIAL_FAILURE  # one input failed, the others are done
    names = ["page0-enhanced.jpg", "page1-enhanced.jpg", "page2-enhanced.jpg"]
    assert sorted(p.name for p in out.iterdir()) == names
    assert len(result.stdout.splitlines()) == 3  # one `input -> output` line per result
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("3 done, 1 failed (1 ")  # its reason is the server's (400, 415)

"""Redis briefly unavailable under the scale-out runtime: the API answers 503 with
Retry-After (never 500), and a task it accepted before the outage is still there after."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from photofix.api import create_app
from photofix.keys import KeyStore
from tests.conftest import make_settings
from tests.synth import encode, text_page

PATH = "/api/tasks/visual/correction"


@pytest.fixture
def private_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis server of this test's own on a free port, so it can be frozen and stopped."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as conn:
            if conn.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield server, f"redis://127.0.0.1:{port}/0"
    if server.poll() is None:
        os.kill(server.pid, signal.SIGCONT)
        server.terminate()
        server.wait(timeout=10)


def test_outage_is_503_with_retry_after_and_loses_nothing(tmp_path, private_redis):
    server, url = private_redis
    settings = make_settings(tmp_path, runtime="celery", redis_url=url)
    _, token = KeyStore(settings.keys_path).create("outage")
    headers = {"X-API-KEY": token}
    files = {"image_file": ("a.jpg", encode(text_page(200, 260), "JPEG"), "image/jpeg")}
    with TestClient(create_app(settings)) as client:
        accepted = client.post(PATH, files=files, headers=headers)
        assert accepted.status_code == 200
        task_id = accepted.json()["data"]["task_id"]

        os.kill(server.pid, signal.SIGSTOP)  # Redis hangs: every call times out
        try:
            for answer in (
                client.post(PATH, files=files, headers=headers),
                client.get(f"{PATH}/{task_id}", headers=headers),
            ):
                assert answer.status_code == 503, answer.text
                assert int(answer.headers["Retry-After"]) >= 1
                assert answer.json()["status"] == 503
            assert client.get("/readyz").json()["task_store"] is False
        finally:
            os.kill(server.pid, signal.SIGCONT)

        after = client.get(f"{PATH}/{task_id}", headers=headers)
        assert after.status_code == 200
        assert after.json()["data"]["task_id"] == task_id  # no worker here: still queued

        server.terminate()  # Redis gone altogether: connection refused, still a 503
        server.wait(timeout=10)
        refused = client.post(PATH, files=files, headers=headers)
        assert refused.status_code == 503 and "Retry-After" in refused.headers

"""Shared fixtures: a live app (real worker processes and models) on a throw-away data dir."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient

from photofix.api import create_app
from photofix.config import Settings, load_settings
from photofix.imaging.protocols import ModelSet
from photofix.keys import KeyStore
from photofix.models import load_models
from photofix.storage.s3 import S3ResultStore
from photofix.tasks.store_redis import RedisTaskStore

# Image URLs in tests are served from here; only this address is allow-listed, so the SSRF
# guard still refuses 127.0.0.1 and everything else.
ALLOWED_HOST = "127.0.0.2"


@pytest.fixture(scope="session")
def models() -> ModelSet:
    """The real wheel-shipped models, loaded once. `make install` puts them there: a missing or
    corrupt model fails the tests rather than skipping them."""
    return load_models()


# The Redis server the scale-out tests use (.ci/run starts one on this address if none answers).
REDIS_URL = os.environ.get("PHOTOFIX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_store() -> Iterator[RedisTaskStore]:
    """A RedisTaskStore under a key prefix of its own, removed afterwards."""
    store = RedisTaskStore.from_url(REDIS_URL, prefix=f"photofix-test-{uuid.uuid4().hex}")
    yield store
    client = store._redis
    keys = list(client.scan_iter(match=f"{{{store._prefix}}}*"))
    if keys:
        client.delete(*keys)
    store.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port: the S3 HTTP API boto3 talks to."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_results(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> S3ResultStore:
    """An S3ResultStore on a fresh bucket of the loopback S3 server."""
    bucket = f"photofix-{uuid.uuid4().hex[:12]}"
    store = S3ResultStore.connect(
        bucket,
        endpoint_url=s3_server,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )
    store._s3.create_bucket(Bucket=bucket)
    return store


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, str]]:
    """A live `photofix serve` process (one worker) and an API key for it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _, token = KeyStore(tmp_path / "keys.json").create("metrics")
    env = {
        **os.environ,
        "PHOTOFIX_WORKERS": "1",
        "PHOTOFIX_MODEL_THREADS": "1",
        "PHOTOFIX_FETCH_ALLOW_NETWORKS": f"{ALLOWED_HOST}/32",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "photofix", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "workers": 2,
        "fetch_allow_networks": [f"{ALLOWED_HOST}/32"],
        "fetch_timeout": 5.0,
        "sync_timeout": 60.0,
        **overrides,
    }
    return load_settings(**values)


class LiveApp:
    def __init__(self, client: TestClient, settings: Settings, key: str, other_key: str) -> None:
        self.client = client
        self.settings = settings
        self.key = key
        self.other_key = other_key

    @property
    def state(self):  # the running AppState, for white-box patching in tests
        return self.client.app.state.photofix

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"X-API-KEY": key or self.key}


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    settings = make_settings(tmp_path_factory.mktemp("photofix-data"))
    keys = KeyStore(settings.keys_path)
    _, key = keys.create("tests")
    _, other = keys.create("someone-else")
    with TestClient(create_app(settings)) as client:
        yield LiveApp(client, settings, key, other)


class _Files(http.server.SimpleHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class FileServer:
    def __init__(self, server: http.server.ThreadingHTTPServer) -> None:
        self._server = server
        self.base = f"http://{ALLOWED_HOST}:{server.server_address[1]}"

    def serve(self, path: str, body: bytes, status: int = 200, **headers: str) -> str:
        _Files.routes[path] = (status, headers, body)
        return self.base + path


@pytest.fixture(scope="session")
def file_server() -> Iterator[FileServer]:
    server = http.server.ThreadingHTTPServer((ALLOWED_HOST, 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield FileServer(server)
    server.shutdown()
    server.server_close()

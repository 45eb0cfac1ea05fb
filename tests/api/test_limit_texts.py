"""The messages that state a limit state the server's own (PHOTOFIX_MAX_IMAGE_BYTES), not the
default one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from photofix.api import create_app
from photofix.keys import KeyStore
from tests.conftest import make_settings

PATH = "/api/tasks/visual/correction"
KB = 1024
LIMIT = 512 * KB  # half a megabyte: a whole number of MB would hide a rounding


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    data = tmp_path_factory.mktemp("limit-texts")
    settings = make_settings(data, workers=1, model_threads=1, max_image_bytes=LIMIT)
    _, key = KeyStore(settings.keys_path).create("limits")
    with TestClient(create_app(settings)) as test_client:
        yield test_client, key


def _post(client: TestClient, key: str, size: int) -> dict:
    files = {"image_file": ("big.jpg", b"\xff\xd8\xff" + b"\0" * (size - 3), "image/jpeg")}
    answer = client.post(PATH, files=files, headers={"X-API-KEY": key})
    assert answer.status_code == 413
    return answer.json()


@pytest.mark.parametrize(
    ("size", "said"),
    [
        (LIMIT + KB, "image_file is over the 0.5 MB limit"),  # read by the route
        (4 * LIMIT, "request body is over the 0.5 MB image limit"),  # refused by its length
    ],
)
def test_too_large_names_the_configured_limit(client, size, said):
    assert _post(*client, size)["message"] == said

"""The `model` field end to end: a server whose models directory holds a user's ONNX model
runs types 3 and 4 with it when asked (or by default), and refuses names it does not offer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from photofix.api.app import create_app
from photofix.keys import KeyStore
from tests.conftest import make_settings
from tests.models.test_catalog import GREEN, RED, two_squares
from tests.onnx_models import channel_model
from tests.synth import encode

TASKS = "/api/tasks/visual/correction"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict]]:
    models_dir = tmp_path_factory.mktemp("models")
    channel_model(models_dir / "green.onnx", channel=1)
    channel_model(models_dir / "red.onnx", channel=0)
    # The operator made the green-only model the default for products.
    settings = make_settings(
        tmp_path_factory.mktemp("data"), models_dir=models_dir, default_model="green", workers=1
    )
    _, key = KeyStore(settings.keys_path).create("tests")
    with TestClient(create_app(settings)) as client:
        yield client, {"X-API-KEY": key}


def crop_of(client: TestClient, headers: dict, **fields: str) -> dict:
    response = client.post(
        TASKS,
        headers=headers,
        data={"sync": "1", "return_type": "2", **fields},
        files={"image_file": ("squares.png", encode(two_squares(), "png"), "image/png")},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["state"] == 1, data
    return data["meta"]


def centre(box: list[int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


@pytest.mark.parametrize(
    ("fields", "model", "square"),
    [
        ({"type": "3"}, "green", GREEN),  # the operator's default
        ({"type": "3", "model": "red"}, "red", RED),
        ({"type": "4", "model": "red"}, "red", RED),
        ({"type": "4", "model": "u2netp"}, "u2netp", None),  # the built-in stays on offer
    ],
)
def test_types_3_and_4_run_the_model_asked_for(server, fields, model, square):
    meta = crop_of(*server, **fields)
    assert meta["model"] == model
    if square is not None:
        rows, cols = square
        x, y = centre(meta["bbox"])
        assert abs(x - (cols.start + cols.stop) / 2) < 6
        assert abs(y - (rows.start + rows.stop) / 2) < 6


def test_a_model_that_is_not_offered_is_a_400_naming_what_is(server):
    client, headers = server
    response = client.post(
        TASKS,
        headers=headers,
        data={"type": "4", "model": "birefnet"},
        files={"image_file": ("squares.png", encode(two_squares(), "png"), "image/png")},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "model"
    assert "available: u2netp, green, red" in body["message"]

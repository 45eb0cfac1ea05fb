"""Operator-supplied segmentation models: what the models directory offers, how a request's
`model` is checked, one session per model, and that the chosen model really segments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from photofix.config import Settings
from photofix.errors import BadRequest
from photofix.imaging.protocols import ModelSet
from photofix.models.catalog import (
    BUILTIN_MODEL,
    ModelCatalog,
    available_models,
    preprocess_for,
)
from photofix.options import parse_options
from photofix.pipelines import PipelineOptions, run_pipeline
from tests.onnx_models import brightness_model, channel_model

GREEN = (slice(40, 100), slice(200, 280))  # rows, columns of the green square
RED = (slice(120, 200), slice(40, 140))


@dataclass
class Everything:
    """A stand-in built-in model that finds the whole frame."""

    name: str = BUILTIN_MODEL

    def predict(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        width, height = size or (rgb.shape[1], rgb.shape[0])
        return np.ones((height, width), np.float32)


def two_squares() -> np.ndarray:
    image = np.full((240, 320, 3), 30, np.uint8)
    image[GREEN] = (20, 220, 30)
    image[RED] = (220, 25, 20)
    return image


def test_the_models_dir_offers_its_onnx_files_after_the_builtin(tmp_path):
    brightness_model(tmp_path / "u2net.onnx")
    brightness_model(tmp_path / "isnet-general-use.onnx")
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "bad name.onnx").write_bytes(b"")  # not a name a request could carry
    assert available_models(tmp_path) == [BUILTIN_MODEL, "isnet-general-use", "u2net"]
    assert available_models(None) == [BUILTIN_MODEL]
    assert available_models(tmp_path / "absent") == [BUILTIN_MODEL]


def test_a_request_names_an_offered_model_for_products_only():
    offered = [BUILTIN_MODEL, "green"]
    assert parse_options(type=4, model="green", models=offered).model == "green"
    assert parse_options(type=3).model is None
    with pytest.raises(BadRequest, match="available: u2netp, green") as unknown:
        parse_options(type=4, model="../../etc/passwd", models=offered)
    assert unknown.value.field == "model"
    with pytest.raises(BadRequest, match="type 3 and 4 only"):
        parse_options(type=1, model="green", models=offered)


def test_families_are_fed_as_rembg_feeds_them():
    assert preprocess_for("isnet-general-use").mean == (0.5, 0.5, 0.5)
    assert preprocess_for("isnet-general-use").size == 1024
    assert preprocess_for("birefnet-general").sigmoid
    assert preprocess_for("u2net_human_seg") == preprocess_for("anything-else")
    assert preprocess_for("u2net").mean is None  # ImageNet's, the session default


def test_one_session_per_model_and_the_rest_of_the_set_is_shared(tmp_path):
    channel_model(tmp_path / "green.onnx", channel=1)
    base = ModelSet(saliency=Everything())
    catalog = ModelCatalog(base, tmp_path)
    assert catalog.model_set(None) is base
    assert catalog.model_set(BUILTIN_MODEL) is base
    chosen = catalog.model_set("green")
    assert chosen.product_segmenter is catalog.segmenter("green")  # opened once, kept
    assert chosen.product_segmenter.name == "green"
    assert chosen.saliency is base.saliency  # pages are still found by the built-in
    by_default = ModelCatalog(base, tmp_path, default="green")  # the operator's choice
    assert by_default.model_set(None).product_segmenter.name == "green"
    assert by_default.model_set(BUILTIN_MODEL) is base
    with pytest.raises(BadRequest, match="unknown model"):
        catalog.segmenter("absent")


def test_the_chosen_model_decides_what_the_product_is(tmp_path):
    channel_model(tmp_path / "green.onnx", channel=1)
    channel_model(tmp_path / "red.onnx", channel=0)
    catalog = ModelCatalog(ModelSet(saliency=Everything()), tmp_path)
    image = two_squares()
    for name, (rows, cols) in (("green", GREEN), ("red", RED)):
        result = run_pipeline(image, PipelineOptions(type=3), catalog.model_set(name))
        assert result.meta["model"] == name
        x0, y0, x1, y1 = result.meta["bbox"]
        # The crop is that square with the default 5 % margin, and not the other square.
        side = max(rows.stop - rows.start, cols.stop - cols.start)
        slack = 0.05 * side + 4
        assert abs(x0 - cols.start) <= slack and abs(x1 - cols.stop) <= slack
        assert abs(y0 - rows.start) <= slack and abs(y1 - rows.stop) <= slack


def test_a_default_model_that_is_not_there_stops_the_service_at_start(tmp_path):
    with pytest.raises(ValueError, match="PHOTOFIX_DEFAULT_MODEL=isnet"):
        Settings(data_dir=tmp_path, default_model="isnet", models_dir=tmp_path)
    brightness_model(tmp_path / "isnet.onnx")
    assert Settings(data_dir=tmp_path, default_model="isnet", models_dir=tmp_path)

"""Loading ONNX models: a rembg-style saliency model the test builds, and the guard rails
(sha256 pinning, missing packages, corrupt files) that keep a bad model from ever running."""

from __future__ import annotations

import numpy as np
import pytest

from photofix.errors import ModelError
from photofix.models.base import open_session, verify_sha256, wheel_file
from photofix.models.orientation import parse_labels
from photofix.models.u2net import SaliencySession
from tests.onnx_models import SIDE, brightness_model


def test_user_saliency_model_is_loaded_and_run(tmp_path):
    path = brightness_model(tmp_path / "tiny.onnx")
    session = SaliencySession(path, name="tiny")
    assert session.input_size == (SIDE, SIDE)  # read from the graph, not assumed

    image = np.full((120, 160, 3), 30, np.uint8)
    image[30:90, 40:120] = 230  # a bright object on a dark background
    mask = session.predict(image)
    assert mask.shape == (120, 160) and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    inside, outside = mask[40:80, 50:110], np.concatenate([mask[:20].ravel(), mask[-20:].ravel()])
    assert inside.min() > 0.9 and outside.max() < 0.1


def test_sessions_sleep_when_idle_and_keep_no_per_shape_memory_plan(tmp_path):
    session = open_session(brightness_model(tmp_path / "tiny.onnx"), threads=2)
    options = session.get_session_options()
    assert options.intra_op_num_threads == 2
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert not options.enable_mem_pattern  # ~330 MB more per worker, no faster


def test_pinned_checksum_is_enforced(tmp_path):
    path = brightness_model(tmp_path / "tiny.onnx")
    with pytest.raises(ModelError, match="sha256"):
        verify_sha256(path, "0" * 64)


def test_corrupt_or_missing_model_files_are_model_errors(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an onnx graph")
    with pytest.raises(ModelError, match="cannot load"):
        open_session(broken)
    with pytest.raises(ModelError, match="does not exist"):
        open_session(tmp_path / "absent.onnx")


def test_missing_model_package_says_how_to_install():
    with pytest.raises(ModelError, match="make install"):
        wheel_file("no-such-model-package", "model.onnx")


def test_orientation_labels_come_from_the_graph_metadata():
    assert parse_labels({"character": "0\n90\n180\n270"}) == [0, 90, 180, 270]
    for bad in ({}, {"character": "up down"}, {"character": "0 90 180"}):
        with pytest.raises(ModelError):
            parse_labels(bad)

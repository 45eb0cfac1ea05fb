"""The CLI: local processing with JSON reports, key creation, and distinct exit codes."""

from __future__ import annotations

import json

from PIL import Image
from typer.testing import CliRunner

from photofix.cli import app
from photofix.errors import InvalidImage, UnsupportedFormat
from photofix.keys import KeyStore
from tests.models.test_catalog import RED, two_squares
from tests.onnx_models import channel_model
from tests.synth import document_scene, encode, product_scene

runner = CliRunner()


def test_process_json_reports_meta(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOFIX_DATA_DIR", str(tmp_path / "data"))
    scene, _ = document_scene(rotation=0, size=(800, 600))
    product, _ = product_scene(size=(640, 480))
    (tmp_path / "doc.jpg").write_bytes(encode(scene))
    (tmp_path / "mug.png").write_bytes(encode(product, "PNG"))
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["process", str(tmp_path / "doc.jpg"), "--type", "0", "--out-dir", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["meta"]["document"]["found"] is True
    assert len(report["meta"]["document"]["corners"]) == 4
    assert "timings" in report["meta"]
    assert Image.open(report["output"]).size == (report["meta"]["width"], report["meta"]["height"])

    result = runner.invoke(
        app, ["process", str(tmp_path / "mug.png"), "-t", "4", "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["output"].endswith(".png")
    assert Image.open(report["output"]).mode == "RGBA"
    assert len(report["meta"]["bbox"]) == 4


def test_process_errors_map_to_exit_codes(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOFIX_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    (tmp_path / "anim.gif").write_bytes(b"GIF89a" + b"\0" * 64)
    broken = runner.invoke(app, ["process", str(tmp_path / "broken.jpg"), "-o", str(tmp_path)])
    gif = runner.invoke(app, ["process", str(tmp_path / "anim.gif"), "-o", str(tmp_path)])
    assert broken.exit_code == InvalidImage.exit_code
    assert gif.exit_code == UnsupportedFormat.exit_code
    assert InvalidImage.exit_code != UnsupportedFormat.exit_code


def test_keys_create_prints_the_key_once(tmp_path):
    result = runner.invoke(app, ["keys", "create", "ci", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("pfx_")
    store = KeyStore(tmp_path / "keys.json")
    assert store.authenticate(token) is not None
    listed = runner.invoke(app, ["keys", "list", "--data-dir", str(tmp_path)])
    assert "ci" in listed.stdout and token not in listed.stdout


def test_process_runs_a_model_from_the_models_dir(tmp_path, monkeypatch):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    channel_model(models_dir / "red.onnx", channel=0)
    monkeypatch.setenv("PHOTOFIX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PHOTOFIX_MODELS_DIR", str(models_dir))
    (tmp_path / "squares.png").write_bytes(encode(two_squares(), "PNG"))
    args = ["process", str(tmp_path / "squares.png"), "-t", "3", "-o", str(tmp_path), "--json"]
    result = runner.invoke(app, [*args, "--model", "red"])
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout.strip().splitlines()[-1])["meta"]
    x0, y0, x1, y1 = meta["bbox"]
    assert meta["model"] == "red"
    rows, cols = RED  # the red square with its margin, nowhere near the green one
    assert cols.start - 10 <= x0 and x1 <= cols.stop + 10
    assert rows.start - 10 <= y0 and y1 <= rows.stop + 10

    unknown = runner.invoke(app, [*args, "--model", "isnet"])
    assert unknown.exit_code == 2
    assert "available: u2netp, red" in unknown.output

"""Tiny rembg-compatible ONNX graphs the tests build: (1, 3, side, side) image in,
(1, 1, side, side) mask out. No weights, so they stand in for user-supplied models."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

SIDE = 32


def _save(nodes: list, initializers: list, path: Path, side: int) -> Path:
    image = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, side, side])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, side, side])
    graph = helper.make_graph(nodes, path.stem, [image], [mask], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def brightness_model(path: Path, side: int = SIDE) -> Path:
    """The mask is the per-pixel mean of the three normalised channels (bright = salient)."""
    node = helper.make_node("ReduceMean", ["input.1"], ["mask"], axes=[1], keepdims=1)
    return _save([node], [], path, side)


def channel_model(path: Path, channel: int, side: int = SIDE) -> Path:
    """The mask is one normalised colour channel (0 red, 1 green, 2 blue): a model that only
    sees objects of that colour."""
    index = helper.make_tensor("channel", TensorProto.INT64, [1], [channel])
    node = helper.make_node("Gather", ["input.1", "channel"], ["mask"], axis=1)
    return _save([node], [index], path, side)

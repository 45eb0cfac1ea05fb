"""A user's corners are the page: the scan keeps their quad as drawn (no deskew), and still
turns the text upright by quarter turns."""

from __future__ import annotations

import numpy as np

from photofix.models import ModelSet
from photofix.pipelines import PipelineOptions, run_pipeline
from tests.synth import document_scene


def _turned(quad: np.ndarray, degrees: float) -> np.ndarray:
    """The quad turned about its centre: a page drawn tilted against its lines of text."""
    centre = quad.mean(axis=0)
    angle = np.radians(degrees)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (quad - centre) @ turn.T + centre


def test_user_corners_are_not_deskewed_but_are_turned_upright(models: ModelSet) -> None:
    # The page lies turned a quarter (its text runs top to bottom); the user's quad is 6
    # degrees off the page's edges, so text inside it is tilted: a deskew would straighten it.
    scene, truth = document_scene(rotation=90, size=(1400, 1100))
    quad = _turned(truth, 6.0)
    corners = tuple(float(v) for v in quad.reshape(-1))

    found = run_pipeline(scene, PipelineOptions(type=0), models)
    assert found.meta["rotation"] != 0  # the found page is turned upright ...
    assert abs(found.meta["deskew"]) < 1.5  # ... and is already straight

    drawn = run_pipeline(scene, PipelineOptions(type=0, corners=corners), models)
    assert drawn.meta["document"]["method"] == "user"
    assert drawn.meta["deskew"] == 0
    assert drawn.meta["rotation"] == found.meta["rotation"]
    # The output is the quad as drawn, turned upright: its sides are the found page's (the
    # quad is that page's, turned), and the user's corners come back unmoved, in the upright
    # page's order (TL first).
    drawn_size = np.array(drawn.image.shape[:2])
    assert np.abs(drawn_size - found.image.shape[:2]).max() < 0.03 * drawn_size.max()
    used = np.asarray(drawn.meta["document"]["corners"])
    assert {tuple(np.round(p, 0)) for p in used} == {tuple(np.round(p, 0)) for p in quad}
    assert np.abs(used[0] - quad[0]).max() < 1.0, (used, quad)

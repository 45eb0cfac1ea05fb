"""Every type accepts every image the decoder can produce, property-based, with the real models.

The decoder hands the pipelines uint8 RGB or RGBA of any size from 1x1 up; here Hypothesis
draws such images (strips and specks included; noise, flat colour, a blob, a square, upright or
turned 45 degrees; no alpha, a cut-out's, a transparent margin, a soft or a noisy one, nothing
opaque at all) and every type must give a sane result: uint8 of a sane shape, meta that JSON
carries (finite numbers), alpha only where it belongs and never opaque where the input was
transparent.

Bounded for the suite: a few derandomized examples per type (the same ones every run).
`HYPOTHESIS_PROFILE=deep` draws many more, afresh each run, for a hunt on a quiet machine.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photofix.pipelines import ENHANCE_MODES, PROCESSING_TYPES, PipelineOptions, run_pipeline

_PROFILES = {
    "default": settings(
        max_examples=7,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    ),
    "deep": settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]),
}
BUDGET = _PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "default")]

CONTENTS = ("noise", "flat", "blob", "square", "diamond", "black", "white")
ALPHAS = (None, "cutout", "margin", "soft", "noise", "clear")
_SIDE = st.one_of(st.integers(1, 3), st.integers(1, 64))


@dataclass(frozen=True)
class Case:
    image: np.ndarray
    options: PipelineOptions

    def __repr__(self) -> str:  # what a failing example prints
        return f"Case({self.image.shape}, {self.options})"


def _content(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    background, colour = rng.integers(0, 256, 3).tolist(), rng.integers(0, 256, 3).tolist()
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[:] = {"black": 0, "white": 255}.get(kind, background)
    if kind == "noise":
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    elif kind == "blob":
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(1, width + 1)), int(rng.integers(1, height + 1)))
        cv2.ellipse(rgb, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    elif kind in ("square", "diamond"):
        side = float(rng.uniform(0.2, 1.1)) * min(height, width)
        angle = 45.0 if kind == "diamond" else 0.0
        corners = cv2.boxPoints(((width / 2 - 0.5, height / 2 - 0.5), (side, side), angle))
        cv2.fillPoly(rgb, [np.round(corners).astype(np.int32)], colour)
    return rgb


def _alpha(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    alpha = np.zeros((height, width), np.uint8)
    if kind == "cutout":
        centre = (width // 2, height // 2)
        axes = (max(1, width // 3), max(1, height // 3))
        cv2.ellipse(alpha, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
    elif kind == "margin":
        inset = int(rng.integers(0, max(1, min(height, width) // 3) + 1))
        alpha[inset : height - inset, inset : width - inset] = 255
    elif kind == "soft":
        alpha[:] = rng.integers(1, 255)
    elif kind == "noise":
        alpha = rng.integers(0, 256, (height, width), dtype=np.uint8)
    if alpha.min() == 255:  # the decoder drops an alpha that is opaque everywhere
        alpha[0, 0] = 0
    return alpha


@st.composite
def cases(draw: st.DrawFn, kind: int) -> Case:
    height, width = draw(_SIDE), draw(_SIDE)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image = _content(draw(st.sampled_from(CONTENTS)), height, width, rng)
    alpha_kind = draw(st.sampled_from(ALPHAS))
    if alpha_kind is not None:
        alpha = _alpha(alpha_kind, height, width, rng)
        junk = rng.integers(0, 256, image.shape, dtype=np.uint8)  # undefined under it
        image = np.dstack([np.where(alpha[..., None] == 0, junk, image), alpha])
    colour = st.tuples(*[st.integers(0, 255)] * 3)
    options = PipelineOptions(
        type=kind,
        enhance=draw(st.sampled_from(ENHANCE_MODES)),
        bg_color=draw(st.one_of(st.none(), colour)),
        keep_shadow=draw(st.booleans()),
        aspect=draw(st.sampled_from([None, None, 1.0])),
    )
    return Case(image, options)


def _channels(case: Case) -> int:
    """The output's channels: documents are opaque; a crop keeps an input's alpha; a cut-out
    is transparent; `bg_color` fills any transparency."""
    kind, has_alpha = case.options.type, case.image.shape[2] == 4
    if kind in (0, 1, 2) or case.options.bg_color is not None:
        return 3
    return 4 if kind == 4 or has_alpha else 3


def _longest_allowed(case: Case) -> int:
    longest = max(case.image.shape[:2])
    if case.options.type == 1:
        return longest
    # A page's true aspect, a margin, a square aspect, a straightening turn: room for each.
    return 3 * longest + 4


def _under_crop(meta: dict, alpha: np.ndarray) -> np.ndarray:
    """The input's alpha cut as an untilted crop was (0 where it reached past the input)."""
    x0, y0, x1, y1 = meta["crop_box"]
    pads = ((max(-y0, 0), max(y1 - alpha.shape[0], 0)), (max(-x0, 0), max(x1 - alpha.shape[1], 0)))
    padded = np.pad(alpha, pads)
    return padded[max(y0, 0) :, max(x0, 0) :][: y1 - y0, : x1 - x0]


@pytest.mark.parametrize("kind", PROCESSING_TYPES)
@BUDGET
@given(data=st.data())
def test_every_type_gives_a_sane_result_for_any_image(models, kind, data):
    case = data.draw(cases(kind))
    result = run_pipeline(case.image, case.options, models)
    out = result.image
    assert out.dtype == np.uint8 and out.ndim == 3
    assert out.shape[2] == _channels(case)
    assert min(out.shape[:2]) >= 1 and max(out.shape[:2]) <= _longest_allowed(case)
    if case.options.type == 1:
        assert out.shape[:2] == case.image.shape[:2]
    assert (result.meta["width"], result.meta["height"]) == (out.shape[1], out.shape[0])
    json.dumps(result.meta, allow_nan=False)  # finite numbers, nothing JSON cannot carry

    if out.shape[2] == 4:
        assert not out[..., :3][out[..., 3] == 0].any()  # no hidden colour under alpha 0
    if case.image.shape[2] == 4 and case.options.bg_color is None:
        given = case.image[..., 3]
        if case.options.type in (3, 4) and "crop_box" in result.meta:
            assert (out[..., 3] <= _under_crop(result.meta, given)).all()
        if not given.any():
            expected = 255 if case.options.type in (0, 1, 2) else 0
            assert (out == expected).all()

"""Quarter-turn and skew estimation: the vote logic with exact inputs, the models on pages."""

from __future__ import annotations

import numpy as np
import pytest

from photofix.imaging import geometry, orientation
from photofix.imaging.protocols import TextLine
from tests.synth import text_page


def line(x0: float, y0: float, x1: float, y1: float, height: float, flipped: float) -> TextLine:
    """A text line box from (x0, y0) to (x1, y1) with the given height, and its 0/180 verdict."""
    start, end = np.float32([x0, y0]), np.float32([x1, y1])
    along = (end - start) / np.linalg.norm(end - start)
    across = np.float32([-along[1], along[0]]) * height
    box = np.stack([start, end, end + across, start + across]).astype(np.float32)
    return TextLine(box=box, upside_down=flipped)


def test_horizontal_lines_reading_forward_vote_for_no_turn():
    lines = [line(10, 20 + 30 * i, 400, 20 + 30 * i, 18, 0.05) for i in range(8)]
    vote = orientation.text_vote(lines)
    assert vote is not None
    assert int(np.argmax(vote.probs)) == orientation.ANGLES.index(0)


def test_upside_down_lines_vote_for_a_half_turn():
    lines = [line(10, 20 + 30 * i, 400, 20 + 30 * i, 18, 0.95) for i in range(8)]
    vote = orientation.text_vote(lines)
    assert vote is not None
    assert int(np.argmax(vote.probs)) == orientation.ANGLES.index(180)


def test_vertical_lines_vote_for_a_quarter_turn():
    # Boxes running top to bottom: the content is turned 90 degrees clockwise.
    lines = [line(20 + 30 * i, 10, 20 + 30 * i, 400, 18, 0.05) for i in range(8)]
    vote = orientation.text_vote(lines)
    assert vote is not None
    assert int(np.argmax(vote.probs)) == orientation.ANGLES.index(270)


def test_conflicting_evidence_leaves_the_page_alone():
    classifier = np.array([0.05, 0.9, 0.03, 0.02])  # says 90
    text = orientation.TextVote(np.array([0.02, 0.03, 0.9, 0.05]), lines=8.0)  # says 180
    assert orientation.combine_votes(classifier, text).clockwise == 0


def test_unsure_classifier_alone_does_not_turn():
    assert orientation.combine_votes(np.array([0.3, 0.4, 0.2, 0.1]), None).clockwise == 0
    assert orientation.combine_votes(np.array([0.02, 0.95, 0.02, 0.01]), None).clockwise == 90
    assert orientation.combine_votes(None, None).source == "none"


@pytest.mark.parametrize("turned", [0, 90, 180, 270])
def test_models_find_the_turn_of_a_text_page(models, turned):
    page = geometry.rotate_clockwise(text_page(seed=2), turned)
    found, _ = orientation.page_rotation(page, models.orientation, models.text)
    assert found.clockwise == (360 - turned) % 360
    assert found.confidence >= orientation.MIN_CONFIDENCE


class FixedClassifier:
    """A page classifier with a fixed verdict (counter-clockwise angle -> probability)."""

    def __init__(self, probs: dict[int, float]) -> None:
        self.probs = probs

    def predict(self, rgb: np.ndarray) -> dict[int, float]:
        return self.probs


class CountingText:
    """A text model that reports lines turned 90 degrees clockwise, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(
        self, rgb: np.ndarray, max_lines: int = 40, *, directions: bool = True
    ) -> list[TextLine]:
        self.calls += 1
        return [line(100 + 30 * i, 10, 100 + 30 * i, 400, 18, 0.05) for i in range(8)]


def test_a_sure_classifier_is_not_second_guessed_by_text():
    text = CountingText()
    page = np.full((400, 300, 3), 250, np.uint8)
    sure = FixedClassifier({0: 0.93, 90: 0.03, 180: 0.02, 270: 0.02})
    rotation, lines = orientation.page_rotation(page, sure, text)
    assert (rotation.clockwise, rotation.source, lines, text.calls) == (0, "classifier", None, 0)


def test_an_unsure_classifier_asks_the_text_lines():
    text = CountingText()
    page = np.full((400, 300, 3), 250, np.uint8)
    # The classifier leans to "no turn" (0.6 < CLASSIFIER_SURE); eight vertical lines reading
    # downwards (text turned 90 clockwise) outvote it: the page needs 270 clockwise.
    unsure = FixedClassifier({0: 0.4, 90: 0.35, 180: 0.1, 270: 0.15})
    rotation, lines = orientation.page_rotation(page, unsure, text)
    assert text.calls == 1 and lines is not None and len(lines) == 8
    assert (rotation.clockwise, rotation.source) == (270, "classifier+text")


@pytest.mark.parametrize("angle", [-4.0, -1.2, 0.6, 2.5])
def test_residual_skew_is_measured_within_a_third_of_a_degree(models, angle):
    page = text_page(seed=4)
    skewed = geometry.rotate_small(page, angle, fill=(250, 250, 247))
    estimate = orientation.estimate_skew(skewed, models.text.detect(skewed))
    assert abs(estimate + angle) < 0.3, estimate  # the correction undoes the skew


def test_lines_without_directions_are_the_same_lines_of_unknown_direction(models):
    page = geometry.rotate_clockwise(text_page(seed=4), 180)
    read = models.text.detect(page)
    sloped = models.text.detect(page, directions=False)
    assert len(read) == len(sloped) >= 5
    assert all(np.array_equal(a.box, b.box) for a, b in zip(read, sloped, strict=True))
    assert np.median([r.upside_down for r in read]) > 0.6  # the classifier did read them
    assert {s.upside_down for s in sloped} == {0.5}


def test_level_page_has_no_skew(models):
    page = text_page(seed=5)
    assert abs(orientation.estimate_skew(page, models.text.detect(page))) < 0.3


def test_blank_page_has_no_skew_or_turn(models):
    blank = np.full((800, 600, 3), 248, np.uint8)
    lines = models.text.detect(blank)
    assert orientation.estimate_skew(blank, lines) == 0.0
    assert orientation.page_rotation(blank, models.orientation, models.text)[0].clockwise == 0


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_lines_follow_the_page_when_it_is_turned(turn):
    lines = [line(10, 20, 400, 35, 18, 0.1)]
    shape = (500, 700, 3)
    marker = np.zeros(shape[:2], np.uint8)
    x, y = np.round(lines[0].box[0]).astype(int)
    marker[y, x] = 255
    turned = geometry.rotate_clockwise(marker, turn)
    moved = orientation.turn_lines(lines, turn, shape)[0]
    ty, tx = np.argwhere(turned == 255)[0]
    assert np.allclose(moved.box[0], (tx, ty), atol=0.51)
    assert moved.upside_down == lines[0].upside_down


class SpyText:
    """A real text model whose calls are counted."""

    def __init__(self, model) -> None:
        self.model, self.calls, self.directions = model, 0, []

    def detect(
        self, rgb: np.ndarray, max_lines: int = 40, *, directions: bool = True
    ) -> list[TextLine]:
        self.calls += 1
        self.directions.append(directions)
        return self.model.detect(rgb, max_lines, directions=directions)


def test_level_rows_are_not_second_guessed_by_text_lines(models):
    spy = SpyText(models.text)
    estimate = orientation.estimate_skew(text_page(seed=5), text_model=spy)
    assert abs(estimate) < orientation.LEVEL_DEGREES and spy.calls == 0


def test_sloping_rows_are_checked_against_text_lines(models):
    spy = SpyText(models.text)
    skewed = geometry.rotate_small(text_page(seed=4), 2.5, fill=(250, 250, 247))
    estimate = orientation.estimate_skew(skewed, text_model=spy)
    assert spy.calls == 1 and spy.directions == [False]  # slopes need no reading direction
    assert abs(estimate + 2.5) < 0.3, estimate

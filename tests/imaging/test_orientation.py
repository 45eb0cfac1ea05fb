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
    found = orientation.detect_rotation(page, models.orientation, models.text.detect(page))
    assert found.clockwise == (360 - turned) % 360
    assert found.confidence >= orientation.MIN_CONFIDENCE


@pytest.mark.parametrize("angle", [-4.0, -1.2, 0.6, 2.5])
def test_residual_skew_is_measured_within_a_third_of_a_degree(models, angle):
    page = text_page(seed=4)
    skewed = geometry.rotate_small(page, angle, fill=(250, 250, 247))
    estimate = orientation.estimate_skew(skewed, models.text.detect(skewed))
    assert abs(estimate + angle) < 0.3, estimate  # the correction undoes the skew


def test_level_page_has_no_skew(models):
    page = text_page(seed=5)
    assert abs(orientation.estimate_skew(page, models.text.detect(page))) < 0.3


def test_blank_page_has_no_skew_or_turn(models):
    blank = np.full((800, 600, 3), 248, np.uint8)
    lines = models.text.detect(blank)
    assert orientation.estimate_skew(blank, lines) == 0.0
    assert orientation.detect_rotation(blank, models.orientation, lines).clockwise == 0


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

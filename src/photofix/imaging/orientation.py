"""Upright rotation (0/90/180/270) and residual skew of a (flattened) document page.

Two independent cues decide the quarter turn: a whole-page classifier, and the text lines'
geometry (their long axis says horizontal or vertical writing, the per-line 0/180 classifier says
which way each reads). They are combined as independent evidence; when the combination is not
clearly for one answer, the page is left as it is (turning a correct page is the worst error).

Angles: `Rotation.clockwise` is the clockwise turn to APPLY. The page classifier reports the
counter-clockwise angle that makes the page upright, so its label L means clockwise (360-L)%360.
`estimate_skew` returns the clockwise angle (degrees) to apply (see `geometry.plan_page`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from photofix.imaging.geometry import fit_size
from photofix.imaging.protocols import OrientationModel, TextLine, TextLineModel

ANGLES = (0, 90, 180, 270)
MIN_CONFIDENCE = 0.6  # below this the page is not turned
CLASSIFIER_ALONE = 0.8  # without text evidence, the classifier must be this sure on its own
CLASSIFIER_SURE = 0.9  # this sure, text lines are not even looked for (its outputs peak ~0.93)
MIN_ELONGATION = 2.5  # a box this much longer than high is a line, not a glyph
TEXT_PRIOR = 2.0  # pseudo-lines of "no opinion" added to the text vote
MAX_SKEW = 15.0
LEVEL_DEGREES = 0.15  # rows of ink this close to level are taken as level
# A product turns only with this many (length-weighted) lines behind a vote this strong
# (with TEXT_PRIOR, 3 lines in unison give 0.7, 10 lines with one dissenter 0.8).
PRODUCT_MIN_LINES = 3.0
PRODUCT_CONFIDENCE = 0.7
PROFILE_WORK_SIDE = 1000


@dataclass(frozen=True)
class Rotation:
    clockwise: int  # 0, 90, 180 or 270: the turn to apply
    confidence: float  # 0..1 for the chosen turn
    source: str  # "classifier", "text", "classifier+text", "unsure" or "none"


def page_rotation(
    rgb: np.ndarray,
    orientation_model: OrientationModel | None,
    text_model: TextLineModel | None,
) -> tuple[Rotation, list[TextLine] | None]:
    """The clockwise quarter turn that makes the page upright (0 when unsure), and the page's
    text lines when they were detected (for deskew).

    Text detection costs some 30 times the page classifier, so it runs only when the classifier
    is not sure on its own: at CLASSIFIER_SURE it was right on every generated page and every
    real sample at all four turns, and the text lines never changed its answer."""
    image = _as_rgb(rgb)
    classifier = None if orientation_model is None else classifier_vote(image, orientation_model)
    sure = classifier is not None and float(classifier.max()) >= CLASSIFIER_SURE
    if sure or text_model is None:
        return combine_votes(classifier, None), None
    lines = text_model.detect(image)
    return combine_votes(classifier, text_vote(lines)), lines


def turn_lines(lines: list[TextLine], clockwise: int, shape: tuple[int, ...]) -> list[TextLine]:
    """The same lines on the image turned `clockwise` degrees (a multiple of 90) by
    `geometry.rotate_clockwise`; `shape` is the unturned image's."""
    height, width = shape[:2]
    turns = (clockwise // 90) % 4
    if turns == 0:
        return lines
    maps = {
        1: lambda x, y: (height - 1 - y, x),
        2: lambda x, y: (width - 1 - x, height - 1 - y),
        3: lambda x, y: (y, width - 1 - x),
    }
    out = []
    for line in lines:
        x, y = line.box[:, 0], line.box[:, 1]
        box = np.stack(maps[turns](x, y), axis=1).astype(np.float32)
        out.append(TextLine(box=box, upside_down=line.upside_down, score=line.score))
    return out


def classifier_vote(rgb: np.ndarray, model: OrientationModel) -> np.ndarray:
    """Probabilities of the clockwise turns 0/90/180/270, averaged over square tiles along the
    long side of elongated pages (the model only sees a centre crop of what it is given)."""
    votes = []
    for tile in _tiles(rgb):
        probs = model.predict(tile)
        votes.append([float(probs.get((360 - angle) % 360, 0.0)) for angle in ANGLES])
    vote = np.mean(np.asarray(votes), axis=0)
    return vote / max(float(vote.sum()), 1e-9)


def _tiles(rgb: np.ndarray) -> list[np.ndarray]:
    height, width = rgb.shape[:2]
    short, long_ = min(height, width), max(height, width)
    count = min(3, math.ceil(long_ / short - 0.6))
    if count <= 1:
        return [rgb]
    starts = np.linspace(0, long_ - short, count).round().astype(int)
    if height >= width:
        return [rgb[s : s + short] for s in starts]
    return [rgb[:, s : s + short] for s in starts]


@dataclass(frozen=True)
class TextVote:
    probs: np.ndarray  # over clockwise turns 0/90/180/270, prior included
    lines: float  # effective number of lines that voted


def text_vote(lines: list[TextLine]) -> TextVote | None:
    """Each elongated line votes for the turn that makes it read left to right: its long axis
    picks the axis, its 0/180 classifier the direction. Longer lines weigh more (capped)."""
    votes = np.zeros(4)
    weights = []
    lengths = [float(np.linalg.norm(line.box[1] - line.box[0])) for line in lines]
    typical = float(np.median(lengths)) if lengths else 1.0
    for line, length in zip(lines, lengths, strict=True):
        height = float(np.linalg.norm(line.box[3] - line.box[0]))
        if height <= 0 or length / height < MIN_ELONGATION:
            continue
        axis = line.box[1] - line.box[0]
        angle = math.degrees(math.atan2(float(axis[1]), float(axis[0])))  # clockwise on screen
        quarter = round(angle / 90.0)
        if abs(angle - 90.0 * quarter) > 30:  # diagonal: says nothing about quarter turns
            continue
        content = (90 * quarter) % 360  # the text is turned this much clockwise
        weight = min(length / typical, 2.0) * float(line.score)
        forward, backward = (360 - content) % 360, (180 - content) % 360
        votes[ANGLES.index(forward)] += weight * (1.0 - line.upside_down)
        votes[ANGLES.index(backward)] += weight * line.upside_down
        weights.append(weight)
    if not weights:
        return None
    total = float(sum(weights))
    probs = (votes + TEXT_PRIOR / 4.0) / (total + TEXT_PRIOR)
    return TextVote(probs, total)


def combine_votes(classifier: np.ndarray | None, text: TextVote | None) -> Rotation:
    """Independent evidence multiplies. Never turn on weak or conflicting evidence."""
    if classifier is None and text is None:
        return Rotation(0, 0.0, "none")
    if text is None:
        assert classifier is not None
        best = int(np.argmax(classifier))
        confidence = float(classifier[best])
        if confidence < CLASSIFIER_ALONE:
            return Rotation(0, confidence, "unsure")
        return Rotation(ANGLES[best], confidence, "classifier")
    if classifier is None:
        combined, source = text.probs, "text"
    else:
        combined, source = classifier * text.probs, "classifier+text"
    combined = combined / max(float(combined.sum()), 1e-12)
    best = int(np.argmax(combined))
    confidence = float(combined[best])
    if confidence < MIN_CONFIDENCE:
        return Rotation(0, confidence, "unsure")
    return Rotation(ANGLES[best], confidence, source)


def product_rotation(lines: list[TextLine]) -> Rotation:
    """The quarter turn that makes a product's printed text (labels, boxes) read upright, on
    the text alone (the page classifier knows documents, not products) and only on strong
    evidence: turning a correct product photo is the worst mistake, and some products carry
    vertical text by design."""
    vote = text_vote(lines)
    if vote is None:
        return Rotation(0, 0.0, "none")
    best = int(np.argmax(vote.probs))
    confidence = float(vote.probs[best])
    if vote.lines < PRODUCT_MIN_LINES or confidence < PRODUCT_CONFIDENCE:
        return Rotation(0, confidence, "unsure")
    return Rotation(ANGLES[best], confidence, "text")


# --- skew ------------------------------------------------------------------------------------


def estimate_skew(
    rgb: np.ndarray,
    lines: list[TextLine] | None = None,
    text_model: TextLineModel | None = None,
) -> float:
    """Clockwise degrees to apply so the (upright) page's text lines are level; 0.0 when there
    is no clear evidence or the estimate is beyond +-MAX_SKEW (then it is not a skew).
    `lines` are the page's detected text lines in `rgb` pixels, when they are known; else
    `text_model` is asked for them, unless the projection profile finds the rows level."""
    image = _as_rgb(rgb)
    # The projection profile is precise (a few hundredths of a degree) but can be fooled by
    # non-text structure, such as slanted handwriting; detected text lines are robust but
    # quantised (~0.2 degrees). When both speak and agree, the profile's value is kept; when
    # they disagree, the lines win. Rows found level need no second opinion (a flattened page
    # is level by construction), which saves the text detector on most pages.
    profile = skew_from_profile(image)
    level = profile is not None and abs(profile) < LEVEL_DEGREES
    if lines is None and text_model is not None and not level:
        lines = text_model.detect(image, directions=False)  # slopes only
    from_lines = None if lines is None else skew_from_lines(lines)
    if from_lines is not None and (profile is None or abs(profile - from_lines) > 1.0):
        angle = from_lines
    else:
        angle = profile
    if angle is None or abs(angle) > MAX_SKEW:
        return 0.0
    return float(-angle)


def skew_from_lines(lines: list[TextLine], min_lines: int = 3) -> float | None:
    """Length-weighted median slope (degrees, clockwise on screen) of the long horizontal-ish
    lines; None when there are too few or they disagree."""
    angles, weights = [], []
    for line in lines:
        axis = line.box[1] - line.box[0]
        length = float(np.linalg.norm(axis))
        height = float(np.linalg.norm(line.box[3] - line.box[0]))
        if height <= 0 or length / height < 4.0:
            continue
        angle = math.degrees(math.atan2(float(axis[1]), float(axis[0])))
        angle = (angle + 90.0) % 180.0 - 90.0  # direction does not matter for a slope
        if abs(angle) <= MAX_SKEW + 5:
            angles.append(angle)
            weights.append(length)
    if len(angles) < min_lines:
        return None
    values, w = np.asarray(angles), np.asarray(weights)
    median = _weighted_median(values, w)
    spread = _weighted_median(np.abs(values - median), w)
    if spread > 1.5:
        return None
    return median


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def skew_from_profile(rgb: np.ndarray) -> float | None:
    """Slope (degrees, clockwise on screen) at which the rows of ink are sharpest: the
    projection-profile method, coarse to fine, on dark ink pixels of a shrunken copy."""
    small, _ = _shrink(rgb, PROFILE_WORK_SIDE)
    points = _ink_points(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    if points is None:
        return None
    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 1e-6, 0.5)
    scores = np.array([_profile_sharpness(points, a) for a in coarse])
    best = float(coarse[int(np.argmax(scores))])
    if scores.max() < 1.15 * float(np.median(scores)) or abs(best) >= MAX_SKEW:
        return None  # no angle stands out: no text rows (or not a skew)
    fine = np.arange(best - 0.5, best + 0.5 + 1e-6, 0.05)
    return float(fine[int(np.argmax([_profile_sharpness(points, a) for a in fine]))])


def _ink_points(gray: np.ndarray, limit: int = 60000) -> np.ndarray | None:
    """(N, 2) x, y of dark-on-light ink pixels (adaptive threshold), subsampled."""
    block = max(15, (min(gray.shape) // 30) | 1)
    ink = cv2.adaptiveThreshold(
        gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12
    )
    ys, xs = np.nonzero(ink)
    if len(xs) < 200:
        return None
    if len(xs) > limit:
        keep = np.random.default_rng(0).choice(len(xs), limit, replace=False)
        xs, ys = xs[keep], ys[keep]
    return np.stack([xs, ys], axis=1).astype(np.float32)


def _profile_sharpness(points: np.ndarray, angle: float) -> float:
    """Sum of squared row counts after levelling lines that slope by `angle` degrees."""
    rad = math.radians(angle)
    rows = points[:, 1] * math.cos(rad) - points[:, 0] * math.sin(rad)
    rows = np.round(rows - rows.min()).astype(np.int64)
    counts = np.bincount(rows).astype(np.float64)
    return float((counts**2).sum())


# --- helpers ---------------------------------------------------------------------------------


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(image[..., :3])


def _shrink(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    height, width = image.shape[:2]
    factor = side / max(height, width)
    if factor >= 1.0:
        return image, 1.0
    return cv2.resize(image, fit_size(width, height, side), interpolation=cv2.INTER_AREA), factor

"""Find the main product / subject in a photo, choose its crop box, and measure a small tilt.

The saliency model gives a soft mask. Its significant parts (bright, and not tiny next to the
largest) make the subject; faint ghosts of neighbouring shelf items and stray specks do not.
Coordinates are pixels of the image passed in; boxes are (x0, y0, x1, y1) with x1, y1 exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from photofix.imaging.geometry import fit_size, shrink
from photofix.imaging.protocols import SaliencyModel
from photofix.imaging.studio import Backdrop, BackdropView, part_room

Box = tuple[int, int, int, int]

# The mask is analysed at this long side: the model itself sees ~320 px, so nothing is lost.
ANALYSIS_SIDE = 320
# A mask value of 0.5 separates object from background (the model's decision boundary).
CORE_LEVEL = 0.5
# The subject reaches out from its significant cores down to this level (hysteresis), so a
# faintly detected part of the product is not cut off by the crop.
EXTENT_LEVEL = 0.25
# A part counts when it is confidently salient (peak) and not a speck next to the largest part,
# or when it is big enough that dropping it would be the worse mistake.
PART_PEAK = 0.85
PART_MIN_FRACTION = 0.005
PART_BIG_FRACTION = 0.2
# Subjects smaller than this fraction of the analysis image are noise.
MIN_SUBJECT_FRACTION = 0.001
# Soft mask around the kept parts survives this far (analysis px, ~2% of the long side).
KEEP_RADIUS = 6
# Below this confidence the mask is noise: a uniform or random image normalised to [0, 1].
MIN_CONFIDENCE = 0.3
# Haze (mid-value mask away from the parts) this many times the parts' area means no subject.
HAZE_TOLERANCE = 4.0
# An image whose thumbnail varies less than this (levels of 255) is blank.
BLANK_CONTRAST = 2.0
# A "subject" touching all four borders and covering this much is a texture, not an object.
FRAME_FILL = 0.9
# A crop margin shrinks (evenly) to the available room if at least this fraction of it fits.
MIN_EVEN_MARGIN = 0.5
# Tilt: shape must fill this much of its rotated bounding rectangle to count as a box.
MIN_RECTANGULARITY = 0.88
MAX_TILT = 10.0
# Opposite sides of a box may disagree this much (perspective) before the tilt is unsure.
MAX_SIDE_DISAGREEMENT = 3.0
# Vertical and horizontal edges are combined only when they agree this well.
MAX_AXIS_DISAGREEMENT = 1.5
TILT_SIDE = 1024
# The subject's mask is made, analysed and kept at this long side: u2netp sees 320 px and the
# larger rembg models 1024, so nothing is lost, and no full-size mask is made only to be
# shrunk again (at 12 MP each one costs tens of milliseconds).
MASK_SIDE = 1024
# On a studio backdrop the mask is raised to this where the model half-missed a part: object,
# yet soft enough for the matting to place the edge itself.
COMPLETE_LEVEL = 0.75
# A closer look (cut-outs): the model sees ~320 px of the whole photo, so a subject filling a
# tenth of it is seen at ~100 px. A second run on a square around the subject, with
# CLOSER_ROOM x its longer side of room on every side, sees it at ~250 px; not when that
# square would cover more than CLOSER_MAX_AREA of the photo (little to gain for the time).
CLOSER_ROOM = 0.15
CLOSER_MAX_AREA = 0.8
# The closer look may move the subject's outline out by up to CLOSER_REACH x its longer side,
# never add a distant object: seen alone in a square, a tile or a box behind the subject can
# look salient to the model. Parts of the first look's object it drops from the outside that
# reach deeper than CLOSER_DEPTH x that side and are thicker than CLOSER_THICKNESS x it are
# kept: a pale lid, not the slot between a fork's tines (see `_keep_lost_chunks`).
CLOSER_REACH = 0.02
CLOSER_DEPTH = 0.03
CLOSER_THICKNESS = 0.06


@dataclass
class SubjectDetection:
    """The subject's box (photo pixels) and confidence; its cleaned soft mask (float [0, 1])
    at working resolution, `scale` = (x, y) photo pixels per mask pixel."""

    bbox: Box
    mask: np.ndarray
    confidence: float
    scale: tuple[float, float] = (1.0, 1.0)

    def mask_into(self, to_photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The soft mask resampled once (bilinear) onto a `size` = (width, height) grid whose
        pixel (x, y) lies at `to_photo` @ (x, y, 1) in the photo (a crop: a shift, or a turn
        for a straightened one); 0 outside the photo."""
        sx, sy = self.scale
        # Pixel centres: photo x + 0.5 = (mask x + 0.5) * sx.
        photo_to_mask = np.array([[1 / sx, 0.0, 0.5 / sx - 0.5], [0.0, 1 / sy, 0.5 / sy - 0.5]])
        matrix = photo_to_mask @ np.vstack([to_photo, [0.0, 0.0, 1.0]])
        return cv2.warpAffine(
            self.mask,
            matrix,
            size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )


@dataclass(frozen=True)
class CropPlan:
    """A crop box around a subject and the margins it actually got (left, top, right, bottom).

    `even` is False when the subject is too close to the image border for an even margin.
    """

    box: Box
    margins: tuple[int, int, int, int]
    even: bool


@dataclass(frozen=True)
class Framing:
    """How a subject sits in its crop: an even margin, optionally a fixed aspect ratio."""

    margin: float = 0.05  # x the subject box's longer side, on every side
    margin_px: int | None = None  # an exact margin in pixels instead
    aspect: float | None = None  # crop width / height; None: the subject's own shape

    def margin_for(self, bbox: Box) -> int:
        if self.margin_px is not None:
            return self.margin_px
        return round(self.margin * max(bbox[2] - bbox[0], bbox[3] - bbox[1]))


@dataclass(frozen=True)
class _Analysis:
    bbox: Box
    mask: np.ndarray
    confidence: float
    fills_frame: bool


def find_subject(rgb: np.ndarray, saliency: SaliencyModel) -> SubjectDetection | None:
    """The main subject, or None when nothing stands out (blank, noise, or a frame-filling
    texture): then the caller keeps the whole image."""
    if _is_blank(rgb):  # the model, min-max normalised, would make a blob of nothing
        return None
    height, width = rgb.shape[:2]
    size = fit_size(width, height, MASK_SIDE)
    # The model sees the photo itself (its own resize); only its output stays small.
    mask = saliency.predict(rgb, size)
    if mask.shape != (size[1], size[0]):
        raise ValueError(f"saliency mask {mask.shape} is not the {size[0]}x{size[1]} asked for")
    found = _analyse(mask)
    if found is None or found.confidence < MIN_CONFIDENCE or found.fills_frame:
        return None
    scale = (width / size[0], height / size[1])
    bbox = _photo_box(found.bbox, scale, width, height)
    return SubjectDetection(bbox, found.mask, found.confidence, scale)


def find_subject_within(
    rgb: np.ndarray, box: Box, saliency: SaliencyModel
) -> SubjectDetection | None:
    """`find_subject` on the photo's `box` alone (the part of an input that is not
    transparent: the model would take the box's edge for an outline), reported on the whole
    photo's grid, as if found there."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = box
    found = find_subject(rgb[y0:y1, x0:x1], saliency)
    if found is None or box == (0, 0, width, height):
        return found
    size = fit_size(width, height, MASK_SIDE)
    sx, sy = width / size[0], height / size[1]
    # Pixel centres of the whole photo's mask grid -> pixels of the box.
    to_box = np.array([[sx, 0.0, 0.5 * sx - 0.5 - x0], [0.0, sy, 0.5 * sy - 0.5 - y0]])
    bx0, by0, bx1, by1 = found.bbox
    bbox = (bx0 + x0, by0 + y0, bx1 + x0, by1 + y0)
    return SubjectDetection(bbox, found.mask_into(to_box, size), found.confidence, (sx, sy))


def subject_from_alpha(alpha: np.ndarray) -> SubjectDetection | None:
    """The subject a cut-out's uint8 `alpha` outlines, as `find_subject` reports the model's:
    its significant parts, kept at MASK_SIDE. None when nothing significant is opaque.
    Confidence 1: the mask was given, not guessed."""
    height, width = alpha.shape
    size = fit_size(width, height, MASK_SIDE)
    found = _analyse(_soft(shrink(alpha, size)))
    if found is None:
        return None
    scale = (width / size[0], height / size[1])
    return SubjectDetection(_photo_box(found.bbox, scale, width, height), found.mask, 1.0, scale)


def limited_to(found: SubjectDetection, alpha: np.ndarray) -> SubjectDetection | None:
    """`found` with its mask multiplied by a uint8 `alpha` of the photo's size (an input's:
    nothing transparent is subject) and its box shrunk to what is left; None if nothing is."""
    rows, cols = found.mask.shape
    mask = found.mask * _soft(shrink(alpha, (cols, rows)))
    box = _box_of(mask >= EXTENT_LEVEL)
    if box is None:
        return None
    x0, y0, x1, y1 = _photo_box(box, found.scale, alpha.shape[1], alpha.shape[0])
    fx0, fy0, fx1, fy1 = found.bbox  # only ever shrunk (it may leave out a halo already)
    bbox = (max(x0, fx0), max(y0, fy0), min(x1, fx1), min(y1, fy1))
    if bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
        return None
    return SubjectDetection(bbox, mask, found.confidence, found.scale)


def _soft(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float32) * np.float32(1.0 / 255.0)


def look_closer(
    found: SubjectDetection,
    rgb: np.ndarray,
    saliency: SaliencyModel,
    backdrop: Backdrop | None = None,
) -> SubjectDetection:
    """`found` with its mask made again by the model from a square around the subject: thin
    parts (spokes, a lamp's arms, cables) and outlines come out sharper, and holes the first
    look blurred shut open. Unchanged when the square would be most of the photo, or when the
    model finds no subject in it. On a studio `backdrop`, what it adds where the photo is the
    backdrop darkened is the subject's shadow, not the subject."""
    rows, cols = found.mask.shape
    sx, sy = found.scale
    x0, y0, x1, y1 = found.bbox
    longer = max(x1 - x0, y1 - y0)
    half = 0.5 * longer * (1.0 + 2.0 * CLOSER_ROOM)
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    # The square in whole mask pixels, so the new mask drops into the old one's grid.
    mx0, my0 = max(0, int((cx - half) / sx)), max(0, int((cy - half) / sy))
    mx1 = min(cols, int(np.ceil((cx + half) / sx)))
    my1 = min(rows, int(np.ceil((cy + half) / sy)))
    if (mx1 - mx0) * (my1 - my0) > CLOSER_MAX_AREA * rows * cols:
        return found
    height, width = rgb.shape[:2]
    px0, py0, px1, py1 = _photo_region((mx0, my0, mx1, my1), found.scale, width, height)
    mask = np.zeros_like(found.mask)
    mask[my0:my1, mx0:mx1] = saliency.predict(rgb[py0:py1, px0:px1], (mx1 - mx0, my1 - my0))
    side = max((x1 - x0) / sx, (y1 - y0) / sy)  # the subject's longer side, in mask px
    reach = max(1, round(CLOSER_REACH * side))
    near = cv2.dilate((found.mask >= EXTENT_LEVEL).view(np.uint8), _disk(reach))
    mask *= cv2.GaussianBlur(near.astype(np.float32), (0, 0), reach / 3)
    if backdrop is not None:
        square = (mx0, my0, mx1, my1)
        roi = np.s_[my0:my1, mx0:mx1]
        view = _backdrop_view(rgb, found.scale, square, backdrop)
        added = (mask[roi] >= CORE_LEVEL) & (found.mask[roi] < CORE_LEVEL)
        cast = added & view.in_shadow()
        mask[roi][cast] = found.mask[roi][cast]
    mask = _keep_lost_chunks(found.mask, mask, CLOSER_DEPTH * side, CLOSER_THICKNESS * side)
    closer = _analyse(mask)
    if closer is None or closer.confidence < MIN_CONFIDENCE:
        return found
    bbox = _photo_box(closer.bbox, found.scale, width, height)
    return SubjectDetection(bbox, closer.mask, found.confidence, found.scale)


def _keep_lost_chunks(
    first: np.ndarray, closer: np.ndarray, depth: float, thickness: float
) -> np.ndarray:
    """`closer` with the chunks of the `first` look's object that it lost from the outside
    put back, where they reach deeper than `depth` mask px into that object and are thicker
    than `thickness`. A lost chunk enclosed by the subject is a hole the first look blurred
    shut; a thin one along the outline is the outline made sharper, and a thin deep one a gap
    opened (between a fork's tines, a lamp's arms); a thick deep one open to the outside is a
    pale or transparent part the model, seeing it alone, no longer tells from the background
    (a white shoe's toe on a white sweep, the empty top of a glass)."""
    was = (first >= CORE_LEVEL).view(np.uint8)
    now = closer >= CORE_LEVEL
    lost = (was.view(bool) & ~now).view(np.uint8)
    count, labels = cv2.connectedComponents(lost, connectivity=8)
    if count <= 1:
        return closer
    _, background = cv2.connectedComponents((~now).view(np.uint8), connectivity=4)
    rim = np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]])
    outside = np.isin(background, rim[rim > 0])
    # How deep each lost chunk reaches into the first look's object, from the outside only,
    # and how thick it is (twice the largest distance from inside it to its own edge).
    reached = (labels > 0) & outside
    deepest = np.zeros(count, np.float32)
    np.maximum.at(deepest, labels[reached], cv2.distanceTransform(was, cv2.DIST_L2, 3)[reached])
    thickest = np.zeros(count, np.float32)
    inner = cv2.distanceTransform(lost, cv2.DIST_L2, 3)
    np.maximum.at(thickest, labels[reached], 2.0 * inner[reached])
    keep = (deepest > depth) & (thickest > thickness)
    keep[0] = False
    if not keep.any():
        return closer
    return np.where(keep[labels], np.maximum(closer, first), closer)


def complete_on_backdrop(
    found: SubjectDetection, rgb: np.ndarray, backdrop: Backdrop
) -> SubjectDetection:
    """`found` with the parts next to it that the studio `backdrop` cannot explain added to
    its mask and box (the model half-misses pale parts of white products on a white sweep, a
    cap or a sole, and a crop to its mask alone would cut them off), and its box no wider than
    the subject where the mask's soft halo lies over plain backdrop."""
    region = _reach_region(found.mask)
    if region is None:
        return found
    mx0, my0, mx1, my1 = region
    view = _backdrop_view(rgb, found.scale, region, backdrop)
    roi = np.s_[my0:my1, mx0:mx1]
    mask = found.mask[roi]
    shown = view.shows_backdrop()
    parts = view.unexplained_parts(mask, shown)
    completed = found.mask.copy()
    completed[roi] = np.where(parts, np.maximum(mask, COMPLETE_LEVEL), mask)
    # The box: the mask's soft halo where the photo plainly shows the backdrop is no subject
    # (it would widen the crop's margin on that side only).
    extent = completed >= EXTENT_LEVEL
    extent[roi] &= ~(shown & (completed[roi] < CORE_LEVEL))
    box = _box_of(extent)
    if box is None:
        return found
    bbox = _photo_box(box, found.scale, rgb.shape[1], rgb.shape[0])
    return SubjectDetection(bbox, completed, found.confidence, found.scale)


def _backdrop_view(
    rgb: np.ndarray, scale: tuple[float, float], region: Box, backdrop: Backdrop
) -> BackdropView:
    """The photo under a `region` of mask pixels, shrunk onto them, as the `backdrop`
    explains it."""
    mx0, my0, mx1, my1 = region
    px0, py0, px1, py1 = _photo_region(region, scale, rgb.shape[1], rgb.shape[0])
    cols, rows = mx1 - mx0, my1 - my0
    image = shrink(rgb[py0:py1, px0:px1, :3], (cols, rows))
    fx, fy = (px1 - px0) / cols, (py1 - py0) / rows
    to_photo = np.array([[fx, 0.0, px0 + 0.5 * fx - 0.5], [0.0, fy, py0 + 0.5 * fy - 0.5]])
    return backdrop.in_crop(to_photo).view(image)


def _photo_region(region: Box, scale: tuple[float, float], width: int, height: int) -> Box:
    """The photo pixels a `region` of mask pixels is made from (what the model or a shrink
    turns into exactly those mask pixels), rather than every photo pixel it touches."""
    mx0, my0, mx1, my1 = region
    sx, sy = scale
    return (
        round(mx0 * sx),
        round(my0 * sy),
        min(width, round(mx1 * sx)),
        min(height, round(my1 * sy)),
    )


def _reach_region(mask: np.ndarray) -> Box | None:
    """The mask's object (>= 0.5) with room around it for the parts the backdrop cannot
    explain (`BackdropView.unexplained_parts`)."""
    box = _box_of(mask >= CORE_LEVEL)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    room = part_room(max(x1 - x0, y1 - y0))
    rows, cols = mask.shape
    return max(0, x0 - room), max(0, y0 - room), min(cols, x1 + room), min(rows, y1 + room)


def _photo_box(box: Box, scale: tuple[float, float], width: int, height: int) -> Box:
    """A box of mask pixels -> the photo pixels they cover."""
    x0, y0, x1, y1 = box
    return (
        int(x0 * scale[0]),
        int(y0 * scale[1]),
        min(width, int(np.ceil(x1 * scale[0]))),
        min(height, int(np.ceil(y1 * scale[1]))),
    )


def subject_bbox(mask: np.ndarray) -> Box | None:
    """Box of the significant parts of a soft mask (e.g. after the mask was rotated)."""
    found = _analyse(mask)
    return None if found is None else found.bbox


def plan_crop(bbox: Box, image_shape: tuple[int, ...], *, margin: float = 0.05) -> CropPlan:
    """Crop box with a margin of `margin` x the box's longer side on every side, kept inside the
    image. If one side lacks room, the margin shrinks evenly when at least half of it fits;
    otherwise each side gets what fits and the plan is marked uneven."""
    height, width = image_shape[:2]
    x0, y0, x1, y1 = _clamp_box(bbox, width, height)
    want = round(margin * max(x1 - x0, y1 - y0))
    room = (x0, y0, width - x1, height - y1)
    if min(room) >= MIN_EVEN_MARGIN * want:
        got = (min(want, *room),) * 4
    else:
        got = tuple(min(want, r) for r in room)
    left, top, right, bottom = got
    box = (x0 - left, y0 - top, x1 + right, y1 + bottom)
    return CropPlan(box, (left, top, right, bottom), len(set(got)) == 1)


def crop_with_margin(bbox: Box, image_shape: tuple[int, ...], *, margin: float = 0.05) -> Box:
    """`plan_crop(...).box`: the crop box with an even margin, clamped to the image."""
    return plan_crop(bbox, image_shape, margin=margin).box


def frame_box(bbox: Box, image_shape: tuple[int, ...], framing: Framing, *, pad: bool) -> Box:
    """The crop box for `framing`. With `pad` it may reach past the image (the caller fills
    the outside: transparency, a colour), so the margin is always even and the aspect exact;
    without, it stays inside the image as `plan_crop` keeps it."""
    if not pad and framing.aspect is None:
        width = max(bbox[2] - bbox[0], bbox[3] - bbox[1], 1)
        margin = framing.margin_for(bbox) / width
        return plan_crop(bbox, image_shape, margin=margin).box
    want = framing.margin_for(bbox)
    x0, y0, x1, y1 = bbox[0] - want, bbox[1] - want, bbox[2] + want, bbox[3] + want
    if framing.aspect is not None:
        width, height = x1 - x0, y1 - y0
        if width / height < framing.aspect:  # too narrow: widen, centred
            grow = round(height * framing.aspect) - width
            x0, x1 = x0 - grow // 2, x1 + grow - grow // 2
        else:
            grow = round(width / framing.aspect) - height
            y0, y1 = y0 - grow // 2, y1 + grow - grow // 2
    return (x0, y0, x1, y1)


def estimate_tilt(mask: np.ndarray) -> float:
    """Clockwise rotation in degrees (|a| <= MAX_TILT) that makes a boxy product upright;
    positive when the product leans counter-clockwise. 0.0 when unsure or not a box (round
    fruit, bottles, mugs, a hand holding the product...). Read off the subject's soft `mask`:
    its straight sides are precise enough at the working resolution."""
    contour = _main_contour(mask)
    if contour is None:
        return 0.0
    rect = cv2.minAreaRect(contour)
    (_, _), (rw, rh), _ = rect
    if rw * rh <= 0 or cv2.contourArea(contour) / (rw * rh) < MIN_RECTANGULARITY:
        return 0.0
    sides = _side_angles(contour.reshape(-1, 2).astype(np.float32), cv2.boxPoints(rect))
    tilt = _combine_sides(sides)
    return 0.0 if tilt is None or abs(tilt) > MAX_TILT else round(tilt, 2)


# --- mask analysis ---------------------------------------------------------------------------


def _analyse(mask: np.ndarray) -> _Analysis | None:
    height, width = mask.shape
    size = fit_size(width, height, ANALYSIS_SIDE)
    small = cv2.resize(mask.astype(np.float32, copy=False), size, interpolation=cv2.INTER_AREA)
    kept = _kept_parts(small)
    if kept is None:
        return None
    zone = cv2.dilate(_grown(small, kept), _disk(KEEP_RADIUS)).astype(np.float32)
    # A soft-edged zone so the cut-off of far haze leaves no step in the mask.
    zone = cv2.GaussianBlur(zone, (0, 0), KEEP_RADIUS / 3)
    cleaned = mask * cv2.resize(zone, (width, height), interpolation=cv2.INTER_LINEAR)
    bbox = _box_of(cleaned >= EXTENT_LEVEL)
    if bbox is None:
        return None
    return _Analysis(bbox, cleaned, _confidence(small, kept), _fills_frame(kept))


def _kept_parts(small: np.ndarray) -> np.ndarray | None:
    """uint8 0/1 map of the significant parts of the mask's core, or None if there are none."""
    core = (small >= CORE_LEVEL).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    largest = areas.max()
    if largest < MIN_SUBJECT_FRACTION * small.size:
        return None
    peaks = np.zeros(count, np.float32)
    np.maximum.at(peaks, labels.ravel(), small.ravel())
    peaks = peaks[1:]
    bright = (peaks >= PART_PEAK) & (areas >= PART_MIN_FRACTION * largest)
    good = bright | (areas >= PART_BIG_FRACTION * largest)
    lut = np.zeros(count, np.uint8)
    lut[np.flatnonzero(good) + 1] = 1
    return lut[labels]


def _grown(small: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The kept cores plus every faint (>= EXTENT_LEVEL) region connected to them."""
    faint = (small >= EXTENT_LEVEL).astype(np.uint8)
    count, labels = cv2.connectedComponents(faint, connectivity=8)
    touched = np.zeros(count, np.uint8)
    touched[np.unique(labels[kept.astype(bool)])] = 1
    touched[0] = 0
    return touched[labels]


def _confidence(small: np.ndarray, kept: np.ndarray) -> float:
    """How object-like the mask is. A real subject is solid (near 1 inside its core) and the
    rest of the mask is clear; a min-max-normalised mask of nothing is a lukewarm blob in a
    wide haze of mid values. The object's own soft rim is not counted as haze, so small
    subjects (mostly rim) are not penalised."""
    core = cv2.erode(kept, np.ones((3, 3), np.uint8)).astype(bool)
    if not core.any():
        core = kept.astype(bool)
    solidity = float(small[core].mean())
    near = cv2.dilate(kept, _disk(3)).astype(bool)
    haze = float((((small > 0.2) & (small < 0.8)) & ~near).sum()) / float(kept.sum())
    solid_score = np.clip((solidity - 0.6) / 0.3, 0.0, 1.0)
    clean_score = np.clip(1.0 - haze / HAZE_TOLERANCE, 0.0, 1.0)
    return float(np.sqrt(solid_score * clean_score))


def _is_blank(rgb: np.ndarray) -> bool:
    height, width = rgb.shape[:2]
    thumbnail = shrink(rgb, fit_size(width, height, ANALYSIS_SIDE))
    return float(thumbnail.std()) < BLANK_CONTRAST


def _fills_frame(kept: np.ndarray) -> bool:
    touches_all = kept[0].any() and kept[-1].any() and kept[:, 0].any() and kept[:, -1].any()
    return bool(touches_all and kept.mean() >= FRAME_FILL)


def _box_of(binary: np.ndarray) -> Box | None:
    cols = np.flatnonzero(binary.any(axis=0))
    if len(cols) == 0:
        return None
    rows = np.flatnonzero(binary.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _clamp_box(bbox: Box, width: int, height: int) -> Box:
    x0, y0, x1, y1 = (int(v) for v in bbox)
    x0, x1 = max(0, min(x0, width - 1)), max(1, min(x1, width))
    y0, y1 = max(0, min(y0, height - 1)), max(1, min(y1, height))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"empty box {bbox} for an image of {width}x{height}")
    return x0, y0, x1, y1


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


# --- tilt ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    vertical: bool
    tilt: float  # clockwise correction this side alone asks for, degrees
    length: float


def _main_contour(mask: np.ndarray) -> np.ndarray | None:
    """Outer contour of the largest solid part, at a resolution fine enough for sub-degree
    angles."""
    height, width = mask.shape
    size = fit_size(width, height, TILT_SIDE)
    small = cv2.resize(mask.astype(np.float32, copy=False), size, interpolation=cv2.INTER_AREA)
    core = (small >= CORE_LEVEL).astype(np.uint8)
    contours, _ = cv2.findContours(core, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    if cv2.contourArea(contour) < 0.01 * core.size:
        return None
    return contour


def _side_angles(points: np.ndarray, corners: np.ndarray) -> list[_Side]:
    """Fit a line to the contour points along each side of the rotated bounding rectangle;
    sides that are not straight (too few points near them) are left out."""
    sides = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        length = float(np.linalg.norm(b - a))
        if length < 10:
            continue
        direction = (b - a) / length
        normal = np.array([-direction[1], direction[0]], np.float32)
        rel = points - a
        along = rel @ direction
        across = np.abs(rel @ normal)
        # Middle 80% of the side (rounded corners are not edges), within a thin strip.
        near = (along > 0.1 * length) & (along < 0.9 * length)
        near &= across <= 2.0 + 0.02 * length
        if near.sum() < 0.5 * 0.8 * length:
            continue
        vx, vy = cv2.fitLine(points[near], cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()[:2]
        sides.append(_side(float(vx), float(vy), length))
    return sides


def _side(vx: float, vy: float, length: float) -> _Side:
    # Image y points down. A near-vertical edge running down and to the right belongs to a
    # product leaning counter-clockwise: it wants a clockwise (positive) turn.
    if abs(vy) >= abs(vx):
        vx, vy = (vx, vy) if vy > 0 else (-vx, -vy)
        return _Side(True, float(np.degrees(np.arctan2(vx, vy))), length)
    vx, vy = (vx, vy) if vx > 0 else (-vx, -vy)
    return _Side(False, float(-np.degrees(np.arctan2(vy, vx))), length)


def _combine_sides(sides: list[_Side]) -> float | None:
    """Both vertical edges when they agree (gravity is what a viewer checks); horizontals
    join when they agree with them, or stand in when there are no clean verticals."""
    vertical = _pair([s for s in sides if s.vertical])
    horizontal = _pair([s for s in sides if not s.vertical])
    if vertical is not None and horizontal is not None:
        if abs(_mean(vertical) - _mean(horizontal)) <= MAX_AXIS_DISAGREEMENT:
            return _mean(vertical + horizontal)
        return _mean(vertical)
    if vertical is not None:
        return _mean(vertical)
    if horizontal is not None:
        return _mean(horizontal)
    return None


def _pair(sides: list[_Side]) -> list[_Side] | None:
    if len(sides) != 2 or abs(sides[0].tilt - sides[1].tilt) > MAX_SIDE_DISAGREEMENT:
        return None
    return sides


def _mean(sides: list[_Side]) -> float:
    weights = np.array([s.length for s in sides])
    return float(np.average([s.tilt for s in sides], weights=weights))

"""Find the document (page, receipt, card, book page, whiteboard) in a photo as a quad.

How: at a working resolution (~640 px) several independent region proposals are made (the page
model's mask when one is given, bright-paper thresholding, a flood fill of the background from
the frame, closed edge contours); each proposal's outline becomes a quad, each quad side is
snapped onto the strongest straight colour edge near it, and the quads are scored by how well
real edges support their sides, how well they agree with the mask, and how plausible their
shape is. When the winner frames another well-outlined quad with a dark, flat band (a monitor's
bezel around its screen), the framed one is the document. Its sides are then re-fitted on the
full-resolution pixels (sub-pixel edge positions, robust line fit) and intersected into corners.
"""

from __future__ import annotations

import functools
import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from photofix.imaging.geometry import fit_size, order_corners
from photofix.imaging.protocols import SaliencyModel

WORK_SIDE = 640
MIN_AREA_FRACTION = 0.03  # smaller quads are details, not the document
FRAME_AREA_FRACTION = 0.96  # a quad this large hugging the frame is the frame itself
EDGE_REF = 2.0  # across-edge Lab gradient (units/px) that counts as full edge support
BORDER_SUPPORT = 0.35  # support credited to a side lying on the frame (no edge to see)
BORDER_TOL = 2.5  # work px: a side this close to the frame lies on it
MIN_CONFIDENCE = 0.15  # below this nothing is reported at all
BAND_CONTRAST_REF = 8.0  # Lab distance between paper and its surroundings that counts as clear
WEAK_SIDE = 0.45  # a side supported less than this may be the frame's, not the page's
SNAP_BAND = 0.035  # x work diagonal: how far a side may move when snapped to an edge
NARROW_SNAP = 0.3  # x SNAP_BAND: the second, 1 px pass that lands a side on its edge
MASK_FIT_FLOOR = 0.8  # quad-vs-mask IoU below which the mask says nothing for the quad
MASK_ALONE = 0.75  # the most confidence a quad outlining the mask exactly gets from it alone
SMALL_QUAD_FRACTION = 0.15  # quads smaller than this may be content printed on a page
DARK_CONTENT_PENALTY = 0.35  # edge evidence kept for a small quad darker than its surroundings
CHROMA_STRETCH = 3.0  # Lab a/b (128 +- ~40 for strong colours) stretched for line detection
# A side may be replaced by the frame edge it faces within these |cos| of the edge's normal
# (~15 degrees), or ~35 degrees for a side running out of the photo.
FRAME_FACING = 0.96
FRAME_FACING_STEEP = 0.82
# A frame (a monitor's bezel, a picture frame) around the best quad's content: the framed quad
# covers at least FRAME_MIN_AREA of the outer one, keeps FRAME_GAP x the work diagonal clear of
# at least one of its sides, has edge support of at least FRAME_EDGES and at most
# FRAME_EDGE_SLACK below the outer's, and the band around it is FRAME_DARKER (Lab L) darker
# than what it frames, at most FRAME_FLAT uneven (L, 10th to 90th percentile) and of one
# colour all round (FRAME_SAME).
FRAME_MIN_AREA = 0.6
FRAME_GAP = 0.005
FRAME_EDGES = 0.85
FRAME_EDGE_SLACK = 0.05
FRAME_DARKER = 25.0
FRAME_FLAT = 15.0
FRAME_SAME = 10.0  # Lab distance: the band's colour on any two sides


@dataclass(frozen=True)
class DocumentDetection:
    """A page quad in input pixels, ordered TL, TR, BR, BL as seen in the photo."""

    corners: np.ndarray  # (4, 2) float32
    confidence: float  # 0..1: edge support, mask agreement and shape plausibility combined
    method: str  # which proposal won, e.g. "mask+edges" or "flood+edges"


def find_document(
    rgb: np.ndarray, page_model: SaliencyModel | None = None
) -> DocumentDetection | None:
    """The most likely document quad in `rgb`, or None when nothing page-like is found."""
    image = _as_rgb(rgb)
    work, scale = _work_image(image)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The page model (which releases the GIL) runs while the classical cues are gathered
        # and snapped: on two cores most of one hides behind the other.
        pending = None if page_model is None else pool.submit(_page_mask, work, page_model)
        field = EdgeField(work)
        classical = _candidates(_classical_proposals(work, field), field)
        mask = None if pending is None else pending.result()
    mask_quads = [] if mask is None else [(q, "mask") for q in _region_quads(mask >= 0.5)]
    candidates = _merged(_candidates(mask_quads, field), classical)
    best = _best_quad(candidates, field, mask)
    if best is None:
        return None
    quad, confidence, method = best
    corners = _to_input(quad, scale)
    corners = refine_on_edges(image, corners, search=max(2.0 * max(scale), 3.0))
    return DocumentDetection(order_corners(corners), round(confidence, 4), method)


# --- working image and edge field -------------------------------------------------------------


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(image[..., :3])


def _work_image(image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """The image shrunk to WORK_SIDE on its long side, and the (x, y) factors back to input."""
    height, width = image.shape[:2]
    if max(height, width) <= WORK_SIDE:
        return image, (1.0, 1.0)
    size = fit_size(width, height, WORK_SIDE)
    work = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return work, (width / size[0], height / size[1])


def _to_input(quad: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Work-pixel points to input pixels (pixel centres scale about their edges)."""
    return (quad + 0.5) * np.asarray(scale) - 0.5


class EdgeField:
    """Per-channel Lab gradients of the (lightly smoothed) working image, sampled at will."""

    def __init__(self, work: np.ndarray) -> None:
        lab = cv2.cvtColor(work.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
        lab = cv2.GaussianBlur(lab, (0, 0), 1.0)
        gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        self.gradients = np.concatenate([gx, gy], axis=2)  # (H, W, 6)
        self.lab = lab
        self.shape = work.shape[:2]

    def across(self, points: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """Colour gradient magnitude across `normal` at `points` (..., 2) -> (...)."""
        flat = points.reshape(-1, 2).astype(np.float32)
        g = _sample(self.gradients, flat)
        projected = g[:, :3] * normal[0] + g[:, 3:] * normal[1]
        return np.sqrt((projected**2).sum(axis=1)).reshape(points.shape[:-1])


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of `image` at (N, 2) float points -> (N, C)."""
    mx = np.ascontiguousarray(points[:, 0].reshape(-1, 1), np.float32)
    my = np.ascontiguousarray(points[:, 1].reshape(-1, 1), np.float32)
    out = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(len(points), -1).astype(np.float32)


def _page_mask(work: np.ndarray, page_model: SaliencyModel) -> np.ndarray:
    mask = np.asarray(page_model.predict(work), np.float32)
    if mask.shape != work.shape[:2]:
        mask = cv2.resize(mask, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_LINEAR)
    return mask


# --- proposals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Variant:
    """A snapped quad, how it was made, and what the edges say of it (known before the mask)."""

    quad: np.ndarray
    how: str
    evidence: tuple[float, float]  # (shape plausibility, edge support)


@dataclass(frozen=True)
class _Candidate:
    proposal: np.ndarray  # the rough quad a cue proposed
    variants: list[_Variant]  # its snapped variants
    source: str  # the cue


def _candidates(proposals: list[tuple[np.ndarray, str]], field: EdgeField) -> list[_Candidate]:
    """Each distinct proposal snapped onto the edges, with its frame variants, and the edge
    evidence for each."""
    out: list[_Candidate] = []
    for quad, source in proposals:
        if any(_same_proposal(quad, other.proposal) for other in out):
            continue
        variants = [
            _Variant(v, how, edge_evidence(v, field))
            for one in _snapped(quad, field)
            for v, how in _with_frame_variants(one, field)
        ]
        out.append(_Candidate(quad, variants, source))
    return out


def _merged(first: list[_Candidate], then: list[_Candidate]) -> list[_Candidate]:
    """`first`, then those of `then` that no proposal in `first` already made."""
    return first + [
        c for c in then if not any(_same_proposal(c.proposal, f.proposal) for f in first)
    ]


def _same_proposal(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.abs(a - b).max() < 2.0)


def _best_quad(
    candidates: list[_Candidate], field: EdgeField, mask: np.ndarray | None
) -> tuple[np.ndarray, float, str] | None:
    scored = sorted(
        (
            (_with_mask(variant.quad, *variant.evidence, mask), variant, candidate.source)
            for candidate in candidates
            for variant in candidate.variants
        ),
        key=lambda item: -item[0],
    )
    if not scored or scored[0][0] < MIN_CONFIDENCE:
        return None
    score, variant, source = scored[0]
    framed = _framed_inside(
        variant, [item for item in scored[1:] if item[0] >= MIN_CONFIDENCE], field
    )
    if framed is not None:
        score, variant, source = framed
    return variant.quad, score, f"{source}+{variant.how}"


def _framed_inside(
    outer: _Variant, others: list[tuple[float, _Variant, str]], field: EdgeField
) -> tuple[float, _Variant, str] | None:
    """What `outer` frames, if anything: a screen in its bezel, a picture in its frame. That is
    one of `others` inside `outer`, as well outlined by edges, ringed on all four sides by a
    band as wide as its gap to `outer` (part of the ring may lie outside `outer`, which may have
    snapped onto the screen's own edge on a side or two) that is darker than what it frames,
    flat, and the same colour all round. A title bar along a side is not a frame: it does not
    go round. Of several, the one clear of the most sides of `outer`."""
    area = _polygon_area(outer.quad)
    gap = FRAME_GAP * math.hypot(*field.shape)
    contour = outer.quad.astype(np.float32).reshape(-1, 1, 2)
    framed: list[tuple[int, float, _Variant, str]] = []
    for score, inner, source in others:
        if inner.evidence[1] < max(FRAME_EDGES, outer.evidence[1] - FRAME_EDGE_SLACK):
            continue
        if not FRAME_MIN_AREA * area <= _polygon_area(inner.quad) < area:
            continue
        middles = (inner.quad + np.roll(inner.quad, -1, axis=0)) / 2
        clear = [cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in middles]
        widths = [c for c in clear if c >= gap]
        if min(clear) < -gap or not widths:
            continue
        if _is_frame(inner.quad, float(np.median(widths)), field):
            framed.append((len(widths), score, inner, source))
    if not framed:
        return None
    _, score, inner, source = max(framed, key=lambda item: item[:2])
    return score, inner, source


def _is_frame(quad: np.ndarray, width: float, field: EdgeField) -> bool:
    """Whether a band `width` px wide around `quad` (a few px clear of it) is darker than the
    quad's inside, flat, and of one colour on all four sides."""
    inside = _polygon_mask(quad, field.shape)
    reach = max(3, round(width))
    ring = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    ring = (ring > cv2.dilate(inside, np.ones((5, 5), np.uint8))) & _off_border(field.shape)
    if ring.sum() < 50:
        return False
    lab = field.lab
    lightness = lab[..., 0][ring]
    spread = float(np.percentile(lightness, 90) - np.percentile(lightness, 10))
    darker = float(np.median(lab[..., 0][inside > 0])) - float(np.median(lightness))
    if darker < FRAME_DARKER or spread > FRAME_FLAT:
        return False
    sides = [lab[ring & _beside(quad, k, field.shape)] for k in range(4)]
    medians = [np.median(side, axis=0) for side in sides if len(side) >= 10]
    if len(medians) < 4:
        return False
    return max(float(np.linalg.norm(a - b)) for a in medians for b in medians) <= FRAME_SAME


def _beside(quad: np.ndarray, k: int, shape: tuple[int, int]) -> np.ndarray:
    """The wedge from the quad's centre out through its side k: what lies beyond that side."""
    centre = quad.mean(axis=0)
    p, q = quad[k], quad[(k + 1) % 4]
    far = [centre + (p - centre) * 4, centre + (q - centre) * 4]
    return _polygon_mask(np.array([centre, *far]), shape) > 0


def _off_border(shape: tuple[int, int]) -> np.ndarray:
    """All but a 2 px border of the image (where a band runs off the photo it is not seen)."""
    inside = np.zeros(shape, bool)
    inside[2:-2, 2:-2] = True
    return inside


def _snapped(quad: np.ndarray, field: EdgeField) -> list[np.ndarray]:
    """The proposal snapped onto the best edge near each side; and, when that moved it
    further than the narrow pass reaches, also onto the nearest edge: on a busy desk, or past
    a finger over a corner, the best edge within reach may not be the page's."""
    wide = snap_quad(quad, field)
    if np.abs(wide - quad).max() <= NARROW_SNAP * SNAP_BAND * math.hypot(*field.shape):
        return [wide]
    near = snap_quad(quad, field, wide=False)
    return [wide] if np.abs(wide - near).max() < 1.0 else [wide, near]


def _classical_proposals(work: np.ndarray, field: EdgeField) -> list[tuple[np.ndarray, str]]:
    """Rough page quads from the cues that need no model, each with the name of its cue."""
    smooth = cv2.medianBlur(work, 5)
    regions = [(region, "bright") for region in _bright_regions(smooth)]
    regions.append((_flood_foreground(smooth), "flood"))
    regions.append((_edge_regions(field), "contour"))
    quads = [(quad, source) for region, source in regions for quad in _region_quads(region)]
    quads += [(quad, "lines") for quad in line_quads(work)]
    return quads


def _bright_regions(smooth: np.ndarray) -> list[np.ndarray]:
    """Paper is usually the brightest large thing: Otsu on lightness with the text closed, and
    Otsu again within the bright class (white paper on a light desk)."""
    gray = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY)
    gray = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    level, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    regions = [binary > 0]
    upper = gray[gray > level]
    if upper.size > 0.05 * gray.size and int(upper.max()) - int(upper.min()) > 16:
        level2, _ = cv2.threshold(upper.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        regions.append(gray > level2)
    return regions


def _flood_foreground(smooth: np.ndarray) -> np.ndarray:
    """Everything a flood fill from the frame's edge cannot reach (the desk floods, the page
    with its own edges does not)."""
    height, width = smooth.shape[:2]
    blurred = cv2.GaussianBlur(smooth, (0, 0), 2.0)
    fill = np.zeros((height + 2, width + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    tol = (3, 3, 3)
    step = max(min(height, width) // 16, 8)
    seeds = [(x, 0) for x in range(0, width, step)] + [
        (x, height - 1) for x in range(0, width, step)
    ]
    seeds += [(0, y) for y in range(0, height, step)] + [
        (width - 1, y) for y in range(0, height, step)
    ]
    for x, y in seeds:
        if fill[y + 1, x + 1] == 0:
            cv2.floodFill(blurred, fill, (x, y), (0, 0, 0), tol, tol, flags)
    background = fill[1:-1, 1:-1] > 0
    return ~background


def _edge_regions(field: EdgeField) -> np.ndarray:
    """Regions enclosed by strong edges: gradient magnitude thresholded, closed, inverted."""
    g = field.gradients
    magnitude = np.sqrt((g**2).sum(axis=2))
    edges = (magnitude > EDGE_REF * 0.6).astype(np.uint8)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    return edges == 0


def _region_quads(region: np.ndarray, max_regions: int = 2) -> list[np.ndarray]:
    """Quads for the largest connected parts of a binary region (work pixels, TL TR BR BL)."""
    height, width = region.shape
    _, labels, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), 8)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1
    quads = []
    for label in order[:max_regions]:
        if stats[label, cv2.CC_STAT_AREA] < MIN_AREA_FRACTION * height * width:
            break
        part = (labels == label).astype(np.uint8)
        contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        contour = max(contours, key=cv2.contourArea)
        quad = quad_from_contour(contour)
        if quad is not None:
            quads.append(quad)
    return quads


def quad_from_contour(contour: np.ndarray) -> np.ndarray | None:
    """A convex quad for an outline: its hull simplified to 4 corners, or, when the hull has a
    few more vertices (cut or dog-eared corners), the 4 longest-edge lines intersected."""
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    if perimeter < 20:
        return None
    poly = hull
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):
        poly = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(poly) <= 6:
            break
    points = poly.reshape(-1, 2).astype(np.float64)
    if len(points) == 4:
        return order_corners(points).astype(np.float64)
    hull_area = cv2.contourArea(hull)
    if 4 < len(points) <= 8:
        quad = _quad_from_edges(points, hull_area)
        if quad is not None:
            return quad
    box = cv2.boxPoints(cv2.minAreaRect(hull))
    return order_corners(box).astype(np.float64)


def _quad_from_edges(points: np.ndarray, hull_area: float) -> np.ndarray | None:
    """Choose 4 of the polygon's edges (keeping their order) whose lines intersect into the
    quad that best covers the polygon with the longest chosen edges."""
    count = len(points)
    edges = [(points[i], points[(i + 1) % count]) for i in range(count)]
    lengths = [float(np.linalg.norm(b - a)) for a, b in edges]
    best, best_len = None, -1.0
    for chosen in itertools.combinations(range(count), 4):
        corners = []
        for k in range(4):
            corner = _intersect(edges[chosen[k - 1]], edges[chosen[k]])
            if corner is None:
                break
            corners.append(corner)
        if len(corners) < 4:
            continue
        quad = np.array(corners)
        area = _polygon_area(quad)
        if not _is_convex(quad) or not 0.9 * hull_area <= area <= 1.12 * hull_area:
            continue
        total = sum(lengths[i] for i in chosen)
        if total > best_len:
            best, best_len = quad, total
    return None if best is None else order_corners(best).astype(np.float64)


@dataclass
class _Line:
    """An infinite line (angle, offset) with the stretches along it where segments were seen."""

    theta: float  # direction angle in [0, pi)
    rho: float  # signed distance from the origin along the normal
    spans: list[tuple[float, float]]

    # Cached: quads are built from hundreds of pairs of the same few lines. `spans` only
    # grows while `_long_lines` merges segments, before anything reads `seen` or `covered`.
    @functools.cached_property
    def direction(self) -> np.ndarray:
        return np.array([math.cos(self.theta), math.sin(self.theta)])

    @functools.cached_property
    def normal(self) -> np.ndarray:
        return np.array([-math.sin(self.theta), math.cos(self.theta)])

    @functools.cached_property
    def _seen_spans(self) -> list[tuple[float, float]]:
        return _union(self.spans)

    @property
    def seen(self) -> float:
        return sum(b - a for a, b in self._seen_spans)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        base = self.rho * self.normal
        return base, base + self.direction

    def covered(self, p: np.ndarray, q: np.ndarray) -> float:
        """Length of the stretch between p and q (projected on the line) seen as segments."""
        dx, dy = math.cos(self.theta), math.sin(self.theta)
        a, b = sorted((float(p[0]) * dx + float(p[1]) * dy, float(q[0]) * dx + float(q[1]) * dy))
        return sum(max(0.0, min(b, hi) - max(a, lo)) for lo, hi in self._seen_spans)


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def line_quads(work: np.ndarray, keep: int = 6) -> list[np.ndarray]:
    """Quads whose four sides lie on long straight segments (LSD), best covered first. This
    finds pages whose outline never closes into one region (light desks, clutter)."""
    height, width = work.shape[:2]
    lines = _long_lines(_line_channels(work), 0.06 * min(height, width))
    found: list[tuple[float, np.ndarray]] = []
    for first, second in _opposite_pairs(lines, 0.12 * min(height, width)):
        if _angle_between(first[0].theta, second[0].theta) < math.radians(30):
            continue
        quad = _pair_quad(first, second, height * width)
        if quad is not None:
            found.append(quad)
    found.sort(key=lambda item: -item[0])
    return [quad for _, quad in found[:keep]]


def _line_channels(work: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Images to find straight edges in, each with its scale down from `work`: lightness,
    and the two colour-opponent channels, stretched to a similar range, at half size (a page's
    outline is long, and the snapping places it later): a blue band of an ID card on a dark
    wooden desk differs from the desk in colour, hardly in lightness."""
    height, width = work.shape[:2]
    half = cv2.resize(work, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(half, cv2.COLOR_RGB2Lab)
    stretch = {"alpha": CHROMA_STRETCH, "beta": 128 * (1 - CHROMA_STRETCH)}
    chroma = [(cv2.convertScaleAbs(lab[..., c], **stretch), 2) for c in (1, 2)]
    return [(cv2.cvtColor(work, cv2.COLOR_RGB2GRAY), 1), *chroma]


def _long_lines(
    channels: list[tuple[np.ndarray, int]], min_length: float, limit: int = 14
) -> list[_Line]:
    detector = cv2.createLineSegmentDetector()
    found = []
    for channel, scale in channels:
        segments = detector.detect(channel)[0]
        if segments is not None:  # pixel centres back to the working image's
            found.append((segments.reshape(-1, 4).astype(np.float64) + 0.5) * scale - 0.5)
    if not found:
        return []
    segments = np.concatenate(found)
    lengths = np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1])
    lines: list[_Line] = []
    for index in np.argsort(-lengths):
        if lengths[index] < min_length:
            break
        x0, y0, x1, y1 = segments[index]
        theta = math.atan2(y1 - y0, x1 - x0) % math.pi
        normal = np.array([-math.sin(theta), math.cos(theta)])
        rho = float(np.dot(normal, [(x0 + x1) / 2, (y0 + y1) / 2]))
        for line in lines:  # merge collinear pieces of one edge
            if _angle_between(line.theta, theta) < math.radians(2.5):
                offset = float(np.dot(line.normal, [(x0 + x1) / 2, (y0 + y1) / 2]))
                if abs(offset - line.rho) < 3.0:
                    ends = sorted(float(np.dot(line.direction, p)) for p in ((x0, y0), (x1, y1)))
                    line.spans.append((ends[0], ends[1]))
                    break
        else:
            direction = np.array([math.cos(theta), math.sin(theta)])
            ends = sorted(float(np.dot(direction, p)) for p in ((x0, y0), (x1, y1)))
            lines.append(_Line(theta, rho, [(ends[0], ends[1])]))
    lines.sort(key=lambda line: -line.seen)
    return lines[:limit]


def _angle_between(a: float, b: float) -> float:
    diff = abs(a - b) % math.pi
    return min(diff, math.pi - diff)


def _opposite_pairs(
    lines: list[_Line], min_gap: float
) -> list[tuple[tuple[_Line, _Line], tuple[_Line, _Line]]]:
    """Pairs of pairs of roughly parallel, well separated lines: candidate opposite sides."""
    pairs = []
    for a, b in itertools.combinations(lines, 2):
        if _angle_between(a.theta, b.theta) > math.radians(35):
            continue
        middle = (np.mean(b.spans[0]) * b.direction) + b.rho * b.normal
        if abs(float(np.dot(a.normal, middle)) - a.rho) < min_gap:
            continue
        pairs.append((a, b))
    return [
        (p, q)
        for p, q in itertools.combinations(pairs, 2)
        if len({id(line) for line in (*p, *q)}) == 4
    ]


def _pair_quad(
    first: tuple[_Line, _Line], second: tuple[_Line, _Line], frame_area: float
) -> tuple[float, np.ndarray] | None:
    """The quad bounded by two pairs of lines, and the fraction of its outline seen."""
    ring = [first[0], second[0], first[1], second[1]]  # consecutive sides
    corners = _corners_from_lines([line.points() for line in ring])
    if corners is None or not _is_convex(corners):
        return None
    if _polygon_area(corners) < MIN_AREA_FRACTION * frame_area:
        return None
    seen, perimeter = 0.0, 0.0
    for k, line in enumerate(ring):
        p, q = corners[k], corners[(k + 1) % 4]
        length = float(np.linalg.norm(q - p))
        covered = line.covered(p, q)
        if covered < 0.25 * length:
            return None
        seen += covered
        perimeter += length
    coverage = seen / perimeter
    if coverage < 0.45:
        return None
    return coverage, order_corners(corners).astype(np.float64)


# --- geometry helpers -------------------------------------------------------------------------


def _intersect(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> np.ndarray | None:
    """Intersection of two infinite lines through point pairs; None when nearly parallel."""
    (p1, p2), (p3, p4) = first, second
    d1, d2 = p2 - p1, p4 - p3
    denom = d1[0] * d2[1] - d1[1] * d2[0]
    norm = np.linalg.norm(d1) * np.linalg.norm(d2)
    if norm == 0 or abs(denom) < 1e-3 * norm:
        return None
    t = ((p3[0] - p1[0]) * d2[1] - (p3[1] - p1[1]) * d2[0]) / denom
    return p1 + t * d1


def _polygon_area(poly: np.ndarray) -> float:
    """Shoelace area (plain floats: called thousands of times on 4 points)."""
    points = poly.tolist()
    twice = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        twice += x0 * y1 - y0 * x1
    return 0.5 * abs(twice)


def _is_convex(quad: np.ndarray) -> bool:
    points = quad.tolist()
    count = len(points)
    cross = []
    for k in range(count):
        (x0, y0), (x1, y1), (x2, y2) = points[k], points[(k + 1) % count], points[(k + 2) % count]
        cross.append((x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1))
    return all(c > 0 for c in cross) or all(c < 0 for c in cross)


def _outward_normal(p: np.ndarray, q: np.ndarray, centre: np.ndarray) -> np.ndarray:
    d = (q - p) / max(np.linalg.norm(q - p), 1e-9)
    normal = np.array([-d[1], d[0]])
    return normal if np.dot((p + q) / 2 - centre, normal) >= 0 else -normal


def _on_border(p: np.ndarray, q: np.ndarray, shape: tuple[int, int], tol: float) -> bool:
    height, width = shape
    for axis, limit in ((0, width - 1), (1, height - 1)):
        for edge in (0.0, float(limit)):
            if abs(p[axis] - edge) <= tol and abs(q[axis] - edge) <= tol:
                return True
    return False


def _corners_from_lines(lines: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray | None:
    corners = []
    for k in range(4):
        corner = _intersect(lines[k - 1], lines[k])
        if corner is None:
            return None
        corners.append(corner)
    return np.array(corners)


def _with_frame_variants(quad: np.ndarray, field: EdgeField) -> list[tuple[np.ndarray, str]]:
    """The quad, plus versions whose weak, frame-parallel sides are moved out onto the frame.

    A page that runs off the photo (a book page shot close up) has no edge on that side, and
    the snapped side then sits on the nearest straight structure inside the page, such as a
    rule under the running head. If the frame is the better explanation, scoring will say so.
    """
    centre = quad.mean(axis=0)
    weak: list[tuple[int, tuple[np.ndarray, np.ndarray]]] = []
    for k in range(4):
        p, q = quad[k], quad[(k + 1) % 4]
        if _on_border(p, q, field.shape, BORDER_TOL):
            continue
        normal = _outward_normal(p, q, centre)
        frame = _frame_line(normal, field.shape)
        if frame is None:
            steep = _frame_line(normal, field.shape, steep=True)
            frame = steep if steep is not None and _runs_past(p, q, steep) else None
        if frame is not None and side_support(p, q, normal, field) < WEAK_SIDE:
            weak.append((k, frame))
    variants = [(quad, "edges")]
    for count in range(1, len(weak) + 1):
        for chosen in itertools.combinations(weak, count):
            lines = [(quad[k], quad[(k + 1) % 4]) for k in range(4)]
            for k, frame in chosen:
                lines[k] = frame
            corners = _corners_from_lines(lines)
            if corners is not None and _is_convex(corners):
                variants.append((corners, "edges+frame"))
    return variants


def _frame_line(
    normal: np.ndarray, shape: tuple[int, int], *, steep: bool = False
) -> tuple[np.ndarray, np.ndarray] | None:
    """The frame edge a side faces, when the side is within ~15 degrees of parallel to it, or
    within ~35 (`steep`: for a side that runs out of the photo across that edge, see
    `_runs_past`)."""
    height, width = shape
    left, top, right, bottom = -0.5, -0.5, width - 0.5, height - 0.5
    facing = FRAME_FACING_STEEP if steep else FRAME_FACING
    if normal[1] < -facing:
        return np.array([left, top]), np.array([right, top])
    if normal[1] > facing:
        return np.array([left, bottom]), np.array([right, bottom])
    if normal[0] < -facing:
        return np.array([left, top]), np.array([left, bottom])
    if normal[0] > facing:
        return np.array([right, top]), np.array([right, bottom])
    return None


def _runs_past(p: np.ndarray, q: np.ndarray, frame: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether the side has an end past the frame edge `frame` (as `_frame_line` gives it).
    Where a page's corner is cut off by the frame, the visible page is a pentagon, and a quad
    fitted to it cuts the corner with a steep side out across that edge, which the frame
    explains better."""
    (x0, y0), (x1, _) = frame
    ends = np.stack([p, q])
    if x0 != x1:  # the top or bottom edge
        beyond = -(ends[:, 1] - y0) if y0 < 0 else ends[:, 1] - y0
    else:
        beyond = -(ends[:, 0] - x0) if x0 < 0 else ends[:, 0] - x0
    return bool((beyond > BORDER_TOL).any())


# --- snapping and scoring ---------------------------------------------------------------------


def snap_quad(quad: np.ndarray, field: EdgeField, *, wide: bool = True) -> np.ndarray:
    """Move each side (not those on the frame) onto the best-supported straight edge nearby;
    a wide pass and then a narrow one, since moving one side shifts its neighbours' ends. The
    wide pass searches end offsets on a 2 px grid (a quarter of the line pairs); the narrow
    one, at 1 px, lands the side on the edge. Without `wide`, only the narrow pass."""
    diagonal = math.hypot(*field.shape)
    passes = ((SNAP_BAND * diagonal, 2), (NARROW_SNAP * SNAP_BAND * diagonal, 1))
    for band, step in passes if wide else passes[1:]:
        lines = []
        centre = quad.mean(axis=0)
        for k in range(4):
            p, q = quad[k], quad[(k + 1) % 4]
            normal = _outward_normal(p, q, centre)
            start, end, support = _snap_side(p, q, normal, field, band, step)
            # A side on the frame only moves onto a clear edge (the page's, partly visible);
            # otherwise the page runs off the photo there and the frame is the best we have.
            if _on_border(p, q, field.shape, BORDER_TOL) and (
                support < 0.5 or side_support(start, end, normal, field) < WEAK_SIDE
            ):
                lines.append((p, q))
            else:
                lines.append((start, end))
        snapped = _corners_from_lines(lines)
        if snapped is None or not _is_convex(snapped):
            return quad
        quad = _clamp_to_frame(snapped, field.shape)
    return quad


def _snap_side(
    p: np.ndarray,
    q: np.ndarray,
    normal: np.ndarray,
    field: EdgeField,
    band: float,
    step: int = 1,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Line (two points) with the highest mean edge support among lines whose ends lie within
    `band` px of the side's ends, searched on a `step`-px grid of end offsets."""
    reach = max(round(band), 2)
    ts, offsets, d0, d1, index = _snap_lines(reach, step)
    base = p[None, :] + ts[:, None] * (q - p)[None, :]
    grid = base[:, None, :] + offsets[None, :, None] * normal[None, None, :]
    support = np.minimum(field.across(grid, normal) / EDGE_REF, 1.0)  # (len(ts), len(offsets))
    inside = _inside(grid, field.shape)
    support[~inside] = 0.0  # off the photo there is no evidence
    rows = np.arange(len(ts))[None, :]
    # Mean over the part of each line inside the photo (at least a fifth of it): a page that
    # runs off the frame is judged by the edge we can see.
    visible = np.maximum(inside[rows, index].sum(axis=1), 0.2 * len(ts))
    scores = support[rows, index].sum(axis=1) / visible
    # Prefer the least movement among near-ties: the proposal is usually roughly right.
    scores -= 0.002 * (np.abs(d0) + np.abs(d1)) / max(reach, 1)
    best = int(np.argmax(scores))
    start = base[0] + d0[best] * normal
    end = base[-1] + d1[best] * normal
    return start, end, float(scores[best])


@functools.cache
def _snap_lines(
    reach: int, step: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The candidate lines of `_snap_side`, which depend only on the search reach and grid
    step: sample positions along the side, offsets across it, every pair of end offsets
    (d0, d1) on the `step` grid, and for each pair the offset index it crosses each sample at."""
    ts = np.linspace(0.06, 0.94, 48)
    offsets = np.arange(-reach, reach + 1, dtype=np.float64)
    ends = offsets[offsets % step == 0]  # the lines' end offsets; between them, every pixel
    d0, d1 = np.meshgrid(ends, ends, indexing="ij")
    d0, d1 = d0.ravel(), d1.ravel()
    frac = (ts - ts[0]) / (ts[-1] - ts[0])
    along = d0[:, None] + (d1 - d0)[:, None] * frac[None, :]
    index = np.clip(np.round(along).astype(int) + reach, 0, len(offsets) - 1)
    for array in (ts, offsets, d0, d1, index):
        array.flags.writeable = False  # shared by every call
    return ts, offsets, d0, d1, index


def _inside(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    x, y = points[..., 0], points[..., 1]
    return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)


def _clamp_to_frame(quad: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Keep corners within a small distance outside the frame (pages may run off it)."""
    height, width = shape
    slack = 0.1 * math.hypot(height, width)
    return np.stack(
        [
            np.clip(quad[:, 0], -slack, width - 1 + slack),
            np.clip(quad[:, 1], -slack, height - 1 + slack),
        ],
        axis=1,
    )


def side_support(p: np.ndarray, q: np.ndarray, normal: np.ndarray, field: EdgeField) -> float:
    """Fraction-like edge support of one side: mean clipped gradient, allowing 1 px slack."""
    ts = np.linspace(0.04, 0.96, 64)
    base = p[None, :] + ts[:, None] * (q - p)[None, :]
    grid = base[:, None, :] + np.array([-1.0, 0.0, 1.0])[None, :, None] * normal[None, None, :]
    inside = _inside(grid, field.shape)
    support = np.minimum(field.across(grid, normal) / EDGE_REF, 1.0).max(axis=1)
    visible = inside.any(axis=1)
    if visible.mean() < 0.5:
        return BORDER_SUPPORT
    contrast = _band_contrast(base[visible], normal, field)
    return float(support[visible].mean()) * _contrast_factor(contrast)


def _contrast_factor(contrast: float) -> float:
    """0.1 for no colour change across the side (paper on both sides), 1 for a clear one."""
    return 0.1 + 0.9 * float(np.clip((contrast - 1.5) / (BAND_CONTRAST_REF - 1.5), 0.0, 1.0))


def _band_contrast(base: np.ndarray, normal: np.ndarray, field: EdgeField) -> float:
    """Lab distance between the typical colour just inside and just outside a side. A page
    edge separates paper from something else; the edge of a block of text on the page has
    paper on both sides, however strong its gradient."""
    offsets = np.arange(3.0, 9.0)
    outside = base[:, None, :] + offsets[None, :, None] * normal[None, None, :]
    inside = base[:, None, :] - offsets[None, :, None] * normal[None, None, :]
    keep = _inside(outside, field.shape)
    if keep.sum() < 8:
        return 0.0
    out_lab = np.median(_sample(field.lab, outside[keep]), axis=0)
    in_lab = np.median(_sample(field.lab, inside.reshape(-1, 2)), axis=0)
    return float(np.linalg.norm(out_lab - in_lab))


def score_quad(
    quad: np.ndarray, field: EdgeField, mask: np.ndarray | None, shape: tuple[int, int]
) -> float:
    """0..1 confidence that `quad` outlines the document."""
    return _with_mask(quad, *edge_evidence(quad, field, shape), mask)


def edge_evidence(
    quad: np.ndarray, field: EdgeField, shape: tuple[int, int] | None = None
) -> tuple[float, float]:
    """(shape plausibility, edge support), each 0..1: what the image says of `quad`."""
    shape = shape or field.shape
    shape_score = _shape_plausibility(quad, shape)
    if shape_score == 0.0:
        return 0.0, 0.0
    centre = quad.mean(axis=0)
    supports = []
    for k in range(4):
        p, q = quad[k], quad[(k + 1) % 4]
        if _on_border(p, q, shape, BORDER_TOL):
            supports.append(BORDER_SUPPORT)
        else:
            supports.append(side_support(p, q, _outward_normal(p, q, centre), field))
    edge_score = 0.6 * float(np.mean(supports)) + 0.4 * float(np.min(supports))
    return shape_score, edge_score * _surround_factor(quad, field)


def _with_mask(
    quad: np.ndarray, shape_score: float, edge_score: float, mask: np.ndarray | None
) -> float:
    """The confidence from the edge evidence and, when there is one, the page mask."""
    if mask is None or shape_score == 0.0:
        return shape_score * edge_score
    # Edges and the page mask are independent evidence. A mask that the quad outlines almost
    # exactly is strong evidence on its own (white paper on a white desk leaves weak edges,
    # yet the model sees the page); a partial agreement only weighs the edges' verdict, so a
    # ruled table inside the page does not win over the page around it.
    agreement = _mask_agreement(quad, mask)
    outlined = float(np.clip((agreement - MASK_FIT_FLOOR) / (1.0 - MASK_FIT_FLOOR - 0.05), 0, 1))
    combined = 1.0 - (1.0 - edge_score) * (1.0 - MASK_ALONE * outlined)
    return shape_score * combined * (0.6 + 0.4 * agreement)


def _surround_factor(quad: np.ndarray, field: EdgeField) -> float:
    """Below 1 for a small quad that is darker than what surrounds it: a logo, a barcode or a
    photo printed on a page (or on an already cropped scan), whose surroundings are the paper.
    A page is the lightest large thing in its photo, or at least not darker than its desk."""
    height, width = field.shape
    inside = _polygon_mask(quad, field.shape)
    area = float(inside.mean())
    if area >= SMALL_QUAD_FRACTION:
        return 1.0
    ring_width = max(3, round(0.02 * max(height, width)))
    ring = cv2.dilate(inside, np.ones((2 * ring_width + 1,) * 2, np.uint8)) > inside
    if ring.sum() < 16:
        return 1.0
    lightness = field.lab[..., 0]
    gap = float(np.median(lightness[ring])) - float(np.median(lightness[inside > 0]))
    return 1.0 - (1.0 - DARK_CONTENT_PENALTY) * float(np.clip((gap - 8.0) / 12.0, 0.0, 1.0))


def _mask_agreement(quad: np.ndarray, mask: np.ndarray) -> float:
    """Soft IoU between the quad and the page mask."""
    inside_f = _polygon_mask(quad, mask.shape).astype(np.float32)
    intersection = float((mask * inside_f).sum())
    union = float(np.maximum(mask, inside_f).sum())
    return intersection / union if union > 0 else 0.0


def _polygon_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 0/1 map of the pixels inside the polygon `points` (a quad, a wedge)."""
    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [np.round(points).astype(np.int32)], 1)
    return inside


def _shape_plausibility(quad: np.ndarray, shape: tuple[int, int]) -> float:
    """1 for a sane page outline; lower for extreme angles; 0 for degenerate or frame-sized."""
    height, width = shape
    if not _is_convex(quad):
        return 0.0
    area = _polygon_area(quad) / float(height * width)
    if area < MIN_AREA_FRACTION:
        return 0.0
    on_frame = sum(_on_border(quad[k], quad[(k + 1) % 4], shape, BORDER_TOL) for k in range(4))
    if area > FRAME_AREA_FRACTION and on_frame >= 2:
        return 0.0
    worst = 0.0
    for k in range(4):
        a, b = quad[k - 1] - quad[k], quad[(k + 1) % 4] - quad[k]
        cos = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9)
        worst = max(worst, abs(90.0 - math.degrees(math.acos(np.clip(cos, -1, 1)))))
    if worst > 60:
        return 0.0
    return 1.0 if worst <= 30 else 1.0 - (worst - 30) / 40.0


# --- full-resolution refinement ---------------------------------------------------------------


def refine_on_edges(image: np.ndarray, corners: np.ndarray, search: float) -> np.ndarray:
    """Re-fit each side on the full-resolution edge: per sample along the side, the sub-pixel
    position of the strongest colour step within `search` px; then a robust line fit; then the
    corners as intersections. Sides on the frame, or with too little edge, keep their line."""
    corners = np.asarray(corners, np.float64)
    centre = corners.mean(axis=0)
    lines = []
    for k in range(4):
        p, q = corners[k], corners[(k + 1) % 4]
        fitted = _refit_side(image, p, q, _outward_normal(p, q, centre), search)
        lines.append(fitted if fitted is not None else (p, q))
    refined = _corners_from_lines(lines)
    if refined is None or not _is_convex(refined):
        return corners
    moved = np.linalg.norm(refined - corners, axis=1)
    return np.where((moved <= 3.0 * search)[:, None], refined, corners)


def _refit_side(
    image: np.ndarray, p: np.ndarray, q: np.ndarray, normal: np.ndarray, search: float
) -> tuple[np.ndarray, np.ndarray] | None:
    step = 0.5
    ts = np.linspace(0.08, 0.92, 64)
    offsets = np.arange(-search - 3, search + 3 + step / 2, step)
    base = p[None, :] + ts[:, None] * (q - p)[None, :]
    grid = base[:, None, :] + offsets[None, :, None] * normal[None, None, :]
    height, width = image.shape[:2]
    valid = (
        (base[:, 0] >= 1)
        & (base[:, 0] <= width - 2)
        & (base[:, 1] >= 1)
        & (base[:, 1] <= height - 2)
    )
    values = _sample(image, grid.reshape(-1, 2)).reshape(len(ts), len(offsets), -1)
    profile = _smooth_rows(values, sigma=2.0)  # ~1 px along the normal
    step_strength = np.sqrt((np.diff(profile, axis=1) ** 2).sum(axis=2))  # (ts, offsets - 1)
    centres = (offsets[:-1] + offsets[1:]) / 2
    usable = np.abs(centres) <= search
    strength = np.where(usable[None, :], step_strength, 0.0)
    peak = np.argmax(strength, axis=1)
    peak_value = strength[np.arange(len(ts)), peak]
    sub = _parabolic_offsets(strength, peak)
    position = centres[peak] + sub * step
    strong = valid & (peak_value >= 0.5 * np.median(peak_value[valid])) if valid.any() else valid
    strong &= peak_value > 1.0
    if strong.sum() < 0.4 * len(ts):
        return None
    return _robust_line(base, normal, ts, position, strong)


def _smooth_rows(values: np.ndarray, sigma: float) -> np.ndarray:
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    flat = values.transpose(0, 2, 1).reshape(-1, values.shape[1]).astype(np.float32)
    smoothed = cv2.filter2D(
        flat, -1, kernel[None, :].astype(np.float32), borderType=cv2.BORDER_REPLICATE
    )
    return smoothed.reshape(values.shape[0], values.shape[2], values.shape[1]).transpose(0, 2, 1)


def _parabolic_offsets(strength: np.ndarray, peak: np.ndarray) -> np.ndarray:
    rows = np.arange(len(peak))
    left = strength[rows, np.clip(peak - 1, 0, strength.shape[1] - 1)]
    mid = strength[rows, peak]
    right = strength[rows, np.clip(peak + 1, 0, strength.shape[1] - 1)]
    denom = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        sub = np.where(np.abs(denom) > 1e-9, 0.5 * (left - right) / denom, 0.0)
    return np.clip(sub, -0.5, 0.5)


def _robust_line(
    base: np.ndarray, normal: np.ndarray, ts: np.ndarray, position: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Fit offset(t) = a + b t to the edge positions, dropping outliers twice."""
    keep = keep.copy()
    for _ in range(3):
        if keep.sum() < 6:
            return None
        b, a = np.polyfit(ts[keep], position[keep], 1)
        residual = np.abs(position - (a + b * ts))
        limit = max(1.0, 2.5 * float(np.median(residual[keep])))
        keep &= residual <= limit
    if keep.sum() < 0.3 * len(ts):
        return None
    start = base[0] + (a + b * ts[0]) * normal
    end = base[-1] + (a + b * ts[-1]) * normal
    return start, end

"""Processing types 0..4 as ordered steps over the pure imaging core (SPEC section 2).

Input: an upright (EXIF-applied) uint8 RGB or RGBA array and the warm models. Output: the
processed array and the `meta` the API reports. Coordinates in meta are pixels of that input.

An input's alpha is information (imaging/transparency.py), used by every type: documents (0-2)
lie on white paper where it is transparent, and their page is looked for within what is not;
products (3, 4) are looked for within what is not transparent, a clean cut-out's alpha is its
subject's mask, and the output stays transparent wherever the input was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import cv2
import numpy as np

from photofix.errors import BadRequest
from photofix.imaging import codec, enhance, geometry, matting, orientation, subject, transparency
from photofix.imaging.document import DocumentDetection, find_document
from photofix.imaging.protocols import ModelSet, SaliencyModel
from photofix.imaging.studio import Backdrop, cast_shadow, fit_backdrop

PROCESSING_TYPES = (0, 1, 2, 3, 4)
ENHANCE_MODES = ("color", "gray", "bw", "none")

# Below this confidence a page quad is not trusted: warping a wrong quad does more harm than
# leaving the photo whole ("do no harm"); the image is still uprighted.
MIN_DOCUMENT_CONFIDENCE = 0.5
# Residual skew smaller than this is not worth a resample.
MIN_DESKEW_DEGREES = 0.15
# Orientation and skew are read off the flattened page at this size (long side, px): the text
# models work below it anyway, and the full-resolution page is then resampled only once.
PREVIEW_SIDE = 1280
MIN_TILT_DEGREES = 0.5
PRODUCT_MARGIN = 0.05
# The straightened subject's box is found on its mask shrunk to this long side.
TILT_MASK_SIDE = 1024
# Product text is read for orientation on the crop shrunk to this long side: labels are big,
# and the detector costs 0.15 s here against 0.24 s at 640 (the synthetic carton's label
# still turns it at 384).
PRODUCT_TEXT_SIDE = 512
# ...and its longest lines are enough to vote (each one costs a direction classifier run).
PRODUCT_TEXT_LINES = 16
_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
# A user's page corner may lie this far (x the photo's longer side) outside the photo: a page
# corner the photo cut off is dragged to where it would be.
CORNERS_OUTSIDE = 0.10
_CLEAR = (0, 0, 0, 0)  # the room past an input with alpha: transparent


@dataclass(frozen=True)
class PipelineOptions:
    type: int = 1
    enhance: str = "color"
    corners: tuple[float, ...] | None = None  # 8 numbers: a user-given page quad
    # Products (types 3, 4): margin as a fraction of the subject's longer side, or in pixels;
    # the crop's width / height, or "original" for the photo's own.
    margin: float = PRODUCT_MARGIN
    margin_px: int | None = None
    aspect: float | Literal["original"] | None = None
    bg_color: tuple[int, int, int] | None = None  # type 4: fill instead of transparency
    keep_shadow: bool = False  # type 4: the contact shadow as soft alpha (studio backdrops)
    # The longest output side: the input limit. Corners, margins, aspect and padding that
    # would make more are met by shrinking the output (meta "shrunk" says so).
    max_side: int = codec.ImageLimits.max_side

    def framing(self, image_shape: tuple[int, ...]) -> subject.Framing:
        aspect = self.aspect
        if aspect == "original":
            aspect = image_shape[1] / image_shape[0]
        return subject.Framing(margin=self.margin, margin_px=self.margin_px, aspect=aspect)


@dataclass
class PipelineResult:
    image: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


class _Timings(dict[str, float]):
    """Seconds per named step; a step run in parts adds them up."""

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(self.get(name, 0.0) + time.perf_counter() - start, 4)


def run_pipeline(rgb: np.ndarray, options: PipelineOptions, models: ModelSet) -> PipelineResult:
    if options.type not in _PIPELINES:
        raise ValueError(f"unknown processing type {options.type}")
    timings = _Timings()
    result = _PIPELINES[options.type](rgb, options, models, timings)
    _fit_output(result, options.max_side)
    height, width = result.image.shape[:2]
    result.meta.update(width=width, height=height, timings=dict(timings))
    return result


def check_corners_in_frame(corners: Sequence[float], width: int, height: int) -> None:
    """Refuse (BadRequest naming `corners`) a quad reaching further outside the upright
    `width` x `height` photo than CORNERS_OUTSIDE allows."""
    slack = CORNERS_OUTSIDE * max(width, height)
    xs, ys = corners[0::2], corners[1::2]
    low, right, bottom = -0.5 - slack, width - 0.5 + slack, height - 0.5 + slack
    if min(xs) < low or min(ys) < low or max(xs) > right or max(ys) > bottom:
        raise BadRequest(
            f"corners reach outside the {width}x{height} image: each may lie at most "
            f"{slack:.0f} px ({CORNERS_OUTSIDE:.0%} of its longer side) beyond its edges",
            field="corners",
        )


def _fit_output(result: PipelineResult, max_side: int) -> None:
    """The last guard of the output bound (the steps plan within it already): shrink."""
    height, width = result.image.shape[:2]
    if max(width, height) > max_side:
        size = geometry.fit_size(width, height, max_side)
        result.image = geometry.shrink(result.image, size)
        _note_shrunk(result.meta, max_side, (width, height), size)


def _note_shrunk(
    meta: dict[str, Any], max_side: int, planned: tuple[int, int], made: tuple[int, int]
) -> None:
    """Say in meta when the output was shrunk from `planned` to `made` = (width, height)."""
    if made != planned:
        meta["shrunk"] = {"max_side": max_side, "scale": round(max(made) / max(planned), 4)}


def _scan(
    image: np.ndarray, options: PipelineOptions, models: ModelSet, timings: _Timings
) -> PipelineResult:
    """Type 0: find the page, flatten it, turn it upright, remove residual skew.

    Every decision is made on a small preview of the flattened page; the full-resolution
    photo is then resampled once, with flattening, quarter turn and deskew in one transform.
    With alpha (`_paper_views`) the page is looked for within what is not transparent; the
    output is always opaque RGB."""
    rgb, alpha = transparency.split(image)
    seen, extent = rgb, None
    if alpha is not None:
        rgb, seen, extent = _paper_views(image, alpha, options)
    with timings.step("find_document"):
        detection = _detect_page(seen, options, models, extent)
    meta: dict[str, Any] = {}
    page_found = _trusted(detection)
    if page_found is not None:
        corners = page_found.corners
        size = geometry.rectified_size(corners, rgb.shape)
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
        meta["bbox"] = [int(max(x0, 0)), int(max(y0, 0)), int(x1), int(y1)]
    else:
        height, width = rgb.shape[:2]
        corners = geometry.frame_corners(width, height)
        size = (width, height)
        meta["document"] = _not_found(detection)

    with timings.step("orientation"):
        preview = geometry.flatten_preview(rgb, corners, size, PREVIEW_SIDE)
        rotation, lines = orientation.page_rotation(preview, models.orientation, models.text)
    meta["rotation"] = rotation.clockwise
    meta["orientation"] = {"confidence": round(rotation.confidence, 3), "source": rotation.source}
    if page_found is not None:
        upright = geometry.corners_for_rotation(corners, rotation.clockwise)
        meta["document"] = {
            "found": True,
            "corners": [[round(float(x), 1), round(float(y), 1)] for x, y in upright],
            "confidence": round(page_found.confidence, 3),
            "method": page_found.method,
        }

    with timings.step("deskew"):
        if lines is not None:
            lines = orientation.turn_lines(lines, rotation.clockwise, preview.shape)
        preview = geometry.rotate_clockwise(preview, rotation.clockwise)
        skew = 0.0  # a user's quad is the page as they drew it: never re-straightened
        if options.corners is None:
            skew = orientation.estimate_skew(preview, lines, models.text)
        if abs(skew) < MIN_DESKEW_DEGREES:
            skew = 0.0
    meta["deskew"] = round(float(skew), 2)

    with timings.step("warp"):
        plan = geometry.plan_page(corners, size, rotation.clockwise, skew)
        fitted = geometry.fit_plan(plan, options.max_side)
        _note_shrunk(meta, options.max_side, plan.size, fitted.size)
        plan = fitted
        fill = _border_colour(preview) if skew else None
        page = geometry.warp_page(rgb, plan, fill, bicubic=not _sharpened_next(options))
    return PipelineResult(page, meta)


def _paper_views(
    image: np.ndarray, alpha: np.ndarray, options: PipelineOptions
) -> tuple[np.ndarray, np.ndarray, transparency.Box]:
    """A document with alpha: laid on white paper (what is transparent is paper, and the
    colour there is undefined, often black), and on a grey that stands apart from its opaque
    part's outline, to find the page on (a cut-out page's own outline is then its edge); and
    the box where the page is looked for: what is not transparent (or all, with corners given:
    they are the user's, in input pixels)."""
    height, width = alpha.shape
    box = transparency.opaque_box(alpha)
    if box is None or options.corners is not None:
        box = (0, 0, width, height)
    paper = matting.composite(image, transparency.WHITE)
    seen = matting.composite(image, transparency.contrasting_fill(image[..., :3], alpha))
    return paper, seen, box


def _sharpened_next(options: PipelineOptions) -> bool:
    """Whether the scanned page goes on to be enhanced, which sharpens its ink: then bilinear
    resampling saves ~75 ms at 12 MP for little loss (on a text page the two enhanced pages
    differ by 39 dB PSNR; unenhanced, bilinear visibly softens small type at 2x zoom)."""
    return options.type == 2 and options.enhance != "none"


def _trusted(detection: DocumentDetection | None) -> DocumentDetection | None:
    if detection is None or detection.confidence < MIN_DOCUMENT_CONFIDENCE:
        return None
    return detection


def _enhance(
    image: np.ndarray, options: PipelineOptions, models: ModelSet, timings: _Timings
) -> PipelineResult:
    """Type 1: even lighting, white paper, crisp ink, colour kept; no crop. With alpha, what
    is transparent is paper: the page is laid on white first (opaque RGB out)."""
    if transparency.has_alpha(image):
        image = matting.composite(image, transparency.WHITE)
    with timings.step("enhance"):
        out = enhance.enhance_document(image, options.enhance)
    return PipelineResult(out, {"enhance": options.enhance})


def _scan_and_enhance(
    rgb: np.ndarray, options: PipelineOptions, models: ModelSet, timings: _Timings
) -> PipelineResult:
    """Type 2: type 0 then type 1."""
    scanned = _scan(rgb, options, models, timings)
    enhanced = _enhance(scanned.image, options, models, timings)
    return PipelineResult(enhanced.image, {**scanned.meta, **enhanced.meta})


def _crop_product(
    image: np.ndarray, options: PipelineOptions, models: ModelSet, timings: _Timings
) -> PipelineResult:
    """Type 3: crop to the main subject with an even margin, straightening a small tilt.

    With alpha the crop keeps it: transparent where the input was, and in the room a margin
    or a fixed aspect adds past the input (`bg_color` fills both instead); an already cut-out
    product is framed by its opaque pixels (`_find_product`)."""
    if transparency.has_alpha(image):
        framed = _locate_and_crop(image, options, models, timings, pad=True, fill=_CLEAR)
        out = matting.cutout(*transparency.split(framed.crop))
        if options.bg_color is not None:
            out = matting.composite(out, options.bg_color)
        return PipelineResult(out, framed.meta)
    # A photo crop stays inside the photo unless a fixed aspect needs room it lacks.
    fill = options.bg_color or _border_colour(image)
    framed = _locate_and_crop(image, options, models, timings, pad=False, fill=fill)
    return PipelineResult(framed.crop, framed.meta)


def _cut_out(
    image: np.ndarray, options: PipelineOptions, models: ModelSet, timings: _Timings
) -> PipelineResult:
    """Type 4: the subject framed as type 3 frames it, seen closer for its edges, then a
    transparent background (or `bg_color`) with a soft, refined alpha edge. The crop may reach
    past the photo: that room is transparent, so the margin is always even.

    With alpha, nothing the input left transparent becomes opaque; a clean cut-out keeps its
    own alpha as it is (its opaque pixels are the subject: no model is asked)."""
    fill = _CLEAR if transparency.has_alpha(image) else _border_colour(image)
    framed = _locate_and_crop(
        image, options, models, timings, pad=True, fill=fill, studio=True, closer=True
    )
    crop, given = transparency.split(framed.crop)
    with timings.step("matting"):
        if framed.alpha_is_subject:
            out = matting.cutout(crop, given)
            if options.keep_shadow:
                framed.meta["shadow"] = "dropped: the input is already cut out"
        else:
            out = _matte(crop, framed, options)
        if given is not None:  # nothing the input left transparent becomes opaque
            out = matting.cutout(out[..., :3], np.minimum(out[..., 3], given))
        if options.bg_color is not None:
            out = matting.composite(out, options.bg_color)
    return PipelineResult(out, framed.meta)


def _matte(crop: np.ndarray, framed: _Framed, options: PipelineOptions) -> np.ndarray:
    """The subject's RGBA cut-out of the RGB `crop`: its mask refined into an alpha, the
    background's colour taken out of the edge, and the studio shadow kept when asked."""
    backdrop = framed.backdrop
    alpha = matting.refine_alpha(crop, framed.mask(), backdrop)
    foreground = matting.estimate_foreground(crop, alpha, backdrop)
    out = matting.cutout(foreground, alpha)
    if options.keep_shadow:
        kept = backdrop is not None
        framed.meta["shadow"] = "kept" if kept else "dropped: no studio backdrop"
        if backdrop is not None:
            out = matting.with_shadow(out, cast_shadow(crop, alpha, backdrop))
    return out


@dataclass
class _Framed:
    """A subject's crop (RGB, or RGBA for an input with alpha) and meta; where the crop lies
    in the photo (`to_photo`: crop pixels -> photo pixels); the subject `found` there (None:
    the whole photo), and whether it is the input's own cut-out; the studio backdrop seen
    from the crop."""

    crop: np.ndarray
    meta: dict[str, Any]
    to_photo: np.ndarray
    found: subject.SubjectDetection | None = None
    backdrop: Backdrop | None = None
    alpha_is_subject: bool = False

    def mask(self) -> np.ndarray:
        """The subject's coarse mask on the crop's pixels. Made on demand: only a cut-out
        needs it, and at 12 MP it costs ~30 ms."""
        if self.found is None:
            return np.ones(self.crop.shape[:2], np.float32)
        return self.found.mask_into(self.to_photo, (self.crop.shape[1], self.crop.shape[0]))


def _locate_and_crop(
    image: np.ndarray,
    options: PipelineOptions,
    models: ModelSet,
    timings: _Timings,
    *,
    pad: bool,
    fill: tuple[int, ...],
    studio: bool = False,
    closer: bool = False,
) -> _Framed:
    """The subject framed in its crop (no subject: the whole image), completed by what a
    smooth studio backdrop cannot explain. With `closer`, its mask is made again from a square
    around it (`subject.look_closer`: sharper edges, for a cut-out); with `studio`, the crop
    also carries that backdrop, for the matting. With alpha, the models see the photo's
    colours continued into what is transparent (`transparency.continued`) and the crop is
    RGBA; a subject given by that alpha is neither looked at closer nor completed."""
    rgb, alpha = transparency.split(image)
    if alpha is not None:
        rgb = transparency.continued(rgb, alpha)
        image = transparency.joined(rgb, alpha)
    with timings.step("find_subject"):
        segmenter = models.product_segmenter
        found, given = _find_product(rgb, alpha, segmenter)
    if found is None:
        reason = {"found": False, "reason": "no salient subject"}
        return _Framed(image, {"subject": reason, "model": segmenter.name}, _IDENTITY)

    meta: dict[str, Any] = {
        "subject": {"found": True, "confidence": round(found.confidence, 3)},
        "model": segmenter.name,
    }
    if alpha is not None:
        meta["subject"]["source"] = "alpha" if given else "model"
    with timings.step("backdrop"):
        # A cut-out has no backdrop: what lies around it is the transparency.
        fitted = None if given else fit_backdrop(rgb, found.mask)
    if closer and not given:
        with timings.step("closer_look"):
            found = subject.look_closer(found, rgb, segmenter, fitted)
    if fitted is not None:
        with timings.step("backdrop"):
            # On a studio backdrop, what it cannot explain next to the subject is subject
            # too, and where it shows plainly, the subject ends.
            found = subject.complete_on_backdrop(found, rgb, fitted)
    if alpha is not None and not given:
        found = subject.limited_to(found, alpha) or found
    framing = options.framing(rgb.shape)
    pad = pad or framing.aspect is not None
    with timings.step("straighten"):
        tilt = subject.estimate_tilt(found.mask)
        if abs(tilt) < MIN_TILT_DEGREES:
            tilt = 0.0
        crop, box, to_photo = _straight_crop(
            image, found, tilt, framing, pad=pad, fill=fill, max_side=options.max_side
        )
    meta["tilt"] = round(float(tilt), 2)
    meta.update(box)
    framed = _Framed(crop, meta, to_photo, found, alpha_is_subject=given)
    _upright_product(framed, models, timings)
    if studio:
        meta["backdrop"] = "studio" if fitted is not None else "scene"
        framed.backdrop = fitted.in_crop(framed.to_photo) if fitted is not None else None
    return framed


def _find_product(
    rgb: np.ndarray, alpha: np.ndarray | None, segmenter: SaliencyModel
) -> tuple[subject.SubjectDetection | None, bool]:
    """The subject, and whether it is the input's own cut-out. Without alpha, the model's.
    A clean cut-out's alpha is its subject's mask; otherwise the model looks within what is
    not transparent and its subject is limited to that, and when it finds none there, an
    input with transparent parts is framed by its opaque part."""
    if alpha is None:
        return subject.find_subject(rgb, segmenter), False
    if transparency.is_cutout(alpha):
        return subject.subject_from_alpha(alpha), True
    box = transparency.opaque_box(alpha)
    found = None if box is None else subject.find_subject_within(rgb, box, segmenter)
    if found is not None:
        found = subject.limited_to(found, alpha)
    if found is None and transparency.has_clear(alpha):
        return subject.subject_from_alpha(alpha), True
    return found, False


def _upright_product(framed: _Framed, models: ModelSet, timings: _Timings) -> None:
    """Turn the crop by the quarter turn its printed text asks for (a photo stored sideways
    or upside down without EXIF), keeping meta and `to_photo` in step. Unsure: no turn."""
    framed.meta["rotation"] = 0
    if models.text is None:
        return
    with timings.step("orientation"):
        preview, _ = _shrink(framed.crop, PRODUCT_TEXT_SIDE)
        preview = np.ascontiguousarray(preview[..., :3])  # an RGBA crop's colours
        turn = orientation.product_rotation(models.text.detect(preview, PRODUCT_TEXT_LINES))
    framed.meta["orientation"] = {"source": turn.source, "confidence": round(turn.confidence, 3)}
    if not turn.clockwise:
        return
    height, width = framed.crop.shape[:2]
    outline = geometry.frame_corners(width, height).astype(np.float64)
    in_photo = cv2.transform(outline[None], framed.to_photo)[0]
    framed.crop = geometry.rotate_clockwise(framed.crop, turn.clockwise)
    corners = geometry.corners_for_rotation(in_photo, turn.clockwise)
    turned = geometry.frame_corners(framed.crop.shape[1], framed.crop.shape[0])
    framed.to_photo = cv2.getAffineTransform(turned[:3], np.float32(corners[:3]))
    framed.meta["rotation"] = turn.clockwise
    framed.meta["crop_corners"] = [[round(float(x), 1), round(float(y), 1)] for x, y in corners]


def _straight_crop(
    rgb: np.ndarray,
    found: subject.SubjectDetection,
    tilt: float,
    framing: subject.Framing,
    *,
    pad: bool,
    fill: tuple[int, ...],
    max_side: int,
) -> tuple[np.ndarray, dict[str, Any], np.ndarray]:
    """The subject framed in its crop, straightened by `tilt` degrees clockwise in the same
    resample and shrunk to at most `max_side` px a side; the crop's place in the input for
    meta: `bbox` clamped to the input, `crop_box` as cut (it may reach past the input where a
    cut-out was padded), and the crop's corners when it is turned; and the crop-to-input
    affine."""
    height, width = rgb.shape[:2]
    box = _frame_straightened(rgb, found, tilt, framing, pad=pad)
    if box is None:
        return rgb, {"bbox": [0, 0, width, height]}, _IDENTITY
    box_width, box_height = box[2] - box[0], box[3] - box[1]
    if not tilt and max(box_width, box_height) <= max_side:
        crop = geometry.crop_padded(rgb, box, fill)
        shift = np.array([[1.0, 0.0, box[0]], [0.0, 1.0, box[1]]])
        return crop, {"bbox": _clamped(box, width, height), "crop_box": list(box)}, shift
    crop, corners = geometry.rotated_crop(rgb, tilt, box, fill=fill, max_side=max_side)
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    outline = geometry.frame_corners(crop.shape[1], crop.shape[0])
    to_photo = cv2.getAffineTransform(outline[:3], np.float32(corners[:3]))
    meta: dict[str, Any] = {"bbox": _clamped((int(x0), int(y0), int(x1), int(y1)), width, height)}
    if tilt:
        meta["crop_corners"] = [[round(float(x), 1), round(float(y), 1)] for x, y in corners]
    else:
        meta["crop_box"] = list(box)
    _note_shrunk(meta, max_side, (box_width, box_height), (crop.shape[1], crop.shape[0]))
    return crop, meta, to_photo


def _frame_straightened(
    rgb: np.ndarray,
    found: subject.SubjectDetection,
    tilt: float,
    framing: subject.Framing,
    *,
    pad: bool,
) -> tuple[int, int, int, int] | None:
    """The crop box framing the subject: in the input, or, with `tilt`, on the canvas of the
    input turned by it (None when the subject vanishes there)."""
    if not tilt:
        return subject.frame_box(found.bbox, rgb.shape, framing, pad=pad)
    # The subject's box once straightened, from a small copy of its mask (a few px of
    # rounding at full size vanish in the margin).
    height, width = rgb.shape[:2]
    small, _ = _shrink(found.mask, TILT_MASK_SIDE)
    factor = small.shape[1] / width
    turned = subject.subject_bbox(geometry.rotate_small(small, tilt, fill=0.0))
    if turned is None:
        return None
    canvas = geometry.rotated_size(width, height, tilt)
    bbox = tuple(int(np.clip(round(v / factor), 0, canvas[i % 2])) for i, v in enumerate(turned))
    return subject.frame_box(bbox, (canvas[1], canvas[0]), framing, pad=pad)


def _clamped(box: tuple[int, int, int, int], width: int, height: int) -> list[int]:
    """The part of a crop box that lies in the input (meta coordinates are input pixels)."""
    x0, y0, x1, y1 = box
    return [max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)]


def _shrink(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """`image` area-averaged to at most `side` px long, and the scale it was shrunk by."""
    if max(image.shape[:2]) <= side:
        return image, 1.0
    size = geometry.fit_size(image.shape[1], image.shape[0], side)
    return geometry.shrink(image, size), size[0] / image.shape[1]


def _detect_page(
    rgb: np.ndarray,
    options: PipelineOptions,
    models: ModelSet,
    extent: transparency.Box | None = None,
) -> DocumentDetection | None:
    """The user's quad, or the page found in `rgb` (within `extent`, when given)."""
    if options.corners is not None:
        check_corners_in_frame(options.corners, rgb.shape[1], rgb.shape[0])  # image_url
        quad = np.asarray(options.corners, np.float32).reshape(4, 2)
        return DocumentDetection(geometry.order_corners(quad), 1.0, "user")
    if extent is None:
        return find_document(rgb, models.saliency)
    x0, y0, x1, y1 = extent
    found = find_document(rgb[y0:y1, x0:x1], models.saliency)
    if found is None:
        return None
    return replace(found, corners=found.corners + np.float32([x0, y0]))


def _not_found(detection: DocumentDetection | None) -> dict[str, Any]:
    if detection is None:
        return {"found": False, "reason": "no page outline found"}
    return {
        "found": False,
        "reason": f"low confidence ({detection.confidence:.2f}); kept the whole image",
        "confidence": round(detection.confidence, 3),
    }


def _border_colour(image: np.ndarray) -> tuple[int, ...]:
    """Median colour of the outermost pixels: what newly exposed corners are filled with."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]], axis=0).reshape(
        -1, image.shape[2] if image.ndim == 3 else 1
    )
    return tuple(int(v) for v in np.median(border, axis=0))


_Pipeline = Callable[[np.ndarray, PipelineOptions, ModelSet, _Timings], PipelineResult]
_PIPELINES: dict[int, _Pipeline] = {
    0: _scan,
    1: _enhance,
    2: _scan_and_enhance,
    3: _crop_product,
    4: _cut_out,
}

"""Document quality benchmark for processing types 0-2 (issue 3).

    bash bench/setup.sh        # once, as root: tesseract-ocr(-osd), fonts, rapidfuzz
    .venv/bin/python bench/documents.py [--cases 100] [--seed 0] [--ocr-every 5]
        [--samples ../shared/samples] [--out bench/out/documents] [--no-speed]

Generated cases (bench/docgen.py) have exact truth: page quad, quarter turn, text. Measured:
- page IoU of the type-0 quad (meta document.corners; the whole photo when not found) against
  the true quad, both clipped to the frame; beside the classic biggest-4-point-contour scanner;
- orientation at each quarter turn: ours end to end (type 0 meta["rotation"]), ours on the
  ground-truth flattened page (page_rotation with the pipeline's models) and Tesseract OSD on
  that same page; a missing answer counts as "no turn";
- residual skew of the type-0 output, from its text lines (bench/measure.py, no photofix code),
  beside the same measure on the ground-truth flattening (the measure's own floor);
- OCR character error rate (bench/ocr.py: rapidocr det + rec, no angle classifier, reading
  order by rows) on the type-2 output, the plain photo and the naive scanner's warp, on every
  --ocr-every-th case (OCR costs ~4 s an image here);
- on the coloured-paper cases (92 on), the type-2 page's paper against the paper it was
  printed on: Lab distance of its median colour and its unevenness, beside the photo's own
  paper (true flattening) and what a scanner that whitens all paper would give;
- seconds per 12 MP image for types 0-4 and the ratio to the floor (bench/speed.py), with
  every core (one request on an idle service): types 0-2 on a generated page and on each real
  12 MP photo under doc_photo, types 3-4 on a generated product photo.
Real photos under --samples (never copied): doc_photo is run and shown (no truth), doc_rotated
is scored for orientation (MANIFEST `orient=D`: expected meta rotation (360 - D) % 360).
Writes summary.json and contact sheets (PNG) under --out.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from docgen import TURNS, Case, encode_jpeg, make_case
from measure import quad_iou, text_skew
from ocr import Reader, char_error_rate, reading_order
from peers import naive_quad, naive_scan, osd_rotation, require_tesseract
from photofix.errors import ImageTooLarge
from photofix.imaging.codec import ImageLimits, decode
from photofix.imaging.orientation import page_rotation
from photofix.imaging.protocols import ModelSet
from photofix.models import load_models
from photofix.pipelines import PipelineOptions, run_pipeline
from sheets import NAIVE, OURS, TRUTH, thumbnail, with_quads, write_sheet
from speed import time_types

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.synth's product photo in the speed section

from tests.synth import encode, product_scene  # noqa: E402

LIMITS = ImageLimits()
QUALITY_THREADS = 2  # quality runs one image at a time: use both cores
# Speed is timed as one request on an idle service: its worker's model threads default to the
# cores (the "2 cores"). Real photos of at least SPEED_MIN_PIXELS are timed beside the
# generated page: a synthetic JPEG decodes ~1.5x faster than a phone photo, so its floor is low.
SPEED_THREADS = os.cpu_count() or 1
SPEED_MIN_PIXELS = 11_000_000
IOU_FAIL = 0.9
SHEET_ROWS = 6  # more rows and the thumbnails get too small to look at
TARGETS = {"iou_mean": 0.98, "iou_p5": 0.95, "orientation": 0.995, "skew_median": 0.3}
SPEED_TARGETS = {0: 4.0, 1: 2.5, 2: 5.0}
# Orientation answers compared: summary name, CaseResult field. OSD's "no answer" is no turn.
ORIENTATION_KEYS = (("ours", "rotation"), ("ours_flat", "flat_rotation"), ("osd", "osd_rotation"))


@dataclass
class CaseResult:
    id: str
    conditions: dict[str, Any]
    turned: int  # content turned this far clockwise in the photo
    expected: int  # the clockwise turn that makes it upright
    found: bool
    confidence: float | None
    method: str | None
    iou: float
    naive_iou: float
    rotation: int
    flat_rotation: int
    osd_rotation: int | None
    skew: float | None
    truth_skew: float | None
    naive_skew: float | None
    seconds: float
    cer: dict[str, float] | None = None
    paper: dict[str, dict[str, float]] | None = None  # coloured-paper cases: type 2 vs photo
    thumbs: list[np.ndarray] = field(default_factory=list, repr=False)


def main() -> None:
    started = time.perf_counter()
    args = parse_args()
    require_tesseract()
    models = load_models(QUALITY_THREADS)
    reader = Reader(QUALITY_THREADS)
    results = []
    for index in range(args.cases):
        ocr_reader = reader if index % args.ocr_every == 0 else None
        results.append(evaluate_case(make_case(index, args.seed), models, ocr_reader))
        print(progress(results[-1]), file=sys.stderr)
    photos, rotated = [], []
    if args.samples.is_dir():
        photos = evaluate_photos(args.samples, models)
        rotated = evaluate_rotated(args.samples, models)
    speed = measure_speed(args.seed, speed_photos(args.samples)) if args.speed else []
    summary = summarise(results)
    print_report(args, summary, results, photos, rotated, speed)
    write_outputs(args.out, args, summary, results, photos, rotated, speed)
    print(f"run took {(time.perf_counter() - started) / 60:.1f} min")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ocr-every", type=int, default=5, help="OCR every N-th case")
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "samples")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "documents")
    parser.add_argument("--speed", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    if args.ocr_every < 1:
        parser.error("--ocr-every must be at least 1")
    return args


# --- generated cases ------------------------------------------------------------------------


def evaluate_case(case: Case, models: ModelSet, reader: Reader | None) -> CaseResult:
    rgb = decode(case.jpeg, LIMITS).pixels
    frame = (rgb.shape[1], rgb.shape[0])
    start = time.perf_counter()
    scanned = run_pipeline(rgb, PipelineOptions(type=0), models)
    seconds = time.perf_counter() - start
    document = scanned.meta["document"]
    ours = np.array(document["corners"]) if document["found"] else _frame_quad(frame)
    naive, naive_quad = naive_scan(rgb)
    flat = flatten(rgb, case)
    result = CaseResult(
        id=case.id,
        conditions=case.conditions,
        turned=case.turned,
        expected=(360 - case.turned) % 360,
        found=bool(document["found"]),
        confidence=document.get("confidence"),
        method=document.get("method"),
        iou=quad_iou(ours, case.quad, frame),
        naive_iou=quad_iou(
            _frame_quad(frame) if naive_quad is None else naive_quad, case.quad, frame
        ),
        rotation=int(scanned.meta["rotation"]),
        flat_rotation=our_rotation(flat, models),
        osd_rotation=osd_rotation(flat),
        skew=text_skew(scanned.image),
        truth_skew=text_skew(flat),
        naive_skew=text_skew(naive),
        seconds=seconds,
    )
    outline = [(case.quad, TRUTH), (naive_quad, NAIVE), (ours, OURS)]
    result.thumbs = [with_quads(rgb, outline), thumbnail(scanned.image), thumbnail(naive)]
    paper_rgb = case.conditions.get("paper_rgb")
    if reader is not None or paper_rgb is not None:
        enhanced = run_pipeline(rgb, PipelineOptions(type=2), models).image
        result.thumbs.append(thumbnail(enhanced))
        if reader is not None:
            images = {"type 2": enhanced, "input": rgb, "naive": naive}
            result.cer = error_rates(reader, case, images)
        if paper_rgb is not None:
            result.paper = {
                "type 2": paper_fidelity(enhanced, paper_rgb),
                "photo": paper_fidelity(flat, paper_rgb),
            }
    return result


def paper_fidelity(page: np.ndarray, paper_rgb: list[int]) -> dict[str, float]:
    """How the paper of a flattened page compares with the paper it was printed on: the Lab
    distance (CIE76) of its median colour, and how uneven it is (lightness p90 - p10). The
    paper is the lighter 60 % of the page's inner part (ink and rules are the rest)."""
    height, width = page.shape[:2]
    inner = page[height // 20 : height - height // 20, width // 20 : width - width // 20]
    lab = _lab(inner.reshape(-1, 3))
    paper = lab[lab[:, 0] >= np.percentile(lab[:, 0], 40)]
    lightness = paper[:, 0]
    truth = _lab(np.array([paper_rgb]))[0]
    return {
        "delta_e": float(np.linalg.norm(np.median(paper, axis=0) - truth)),
        "unevenness": float(np.percentile(lightness, 90) - np.percentile(lightness, 10)),
    }


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB colours (0-255) -> (N, 3) CIE Lab."""
    pixels = np.asarray(rgb, np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def our_rotation(rgb: np.ndarray, models: ModelSet) -> int:
    """Our quarter-turn decision on an image as it is, with the pipeline's models."""
    return page_rotation(rgb, models.orientation, models.text)[0].clockwise


def error_rates(reader: Reader, case: Case, images: dict[str, np.ndarray]) -> dict[str, float]:
    truth = "\n".join(case.lines)
    return {
        name: char_error_rate(reading_order(reader.read(image)), truth)
        for name, image in images.items()
    }


def flatten(rgb: np.ndarray, case: Case) -> np.ndarray:
    """The page cut out along its true quad: as it lies (turned), with the photo's light."""
    width, height = case.page_size
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(case.quad.astype(np.float32), target)
    return cv2.warpPerspective(rgb, matrix, (width, height), flags=cv2.INTER_AREA)


def _frame_quad(frame: tuple[int, int]) -> np.ndarray:
    width, height = frame
    return np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)


def progress(r: CaseResult) -> str:
    cer = "" if r.cer is None else " cer " + " ".join(f"{k}={v:.3f}" for k, v in r.cer.items())
    return (
        f"{r.id} iou {r.iou:.3f} (naive {r.naive_iou:.3f}) rot {r.rotation}/{r.expected}"
        f" flat {r.flat_rotation} osd {r.osd_rotation} skew {_fmt(r.skew)} {r.seconds:.1f}s{cer}"
    )


# --- real photos ----------------------------------------------------------------------------


def manifest(samples: Path, category: str) -> list[dict[str, str]]:
    with (samples / "MANIFEST.tsv").open(newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return [row for row in rows if row["category"] == category]


def load_sample(path: Path) -> tuple[np.ndarray, str]:
    """Decoded as the service would; a photo over the size limit (the service answers 413) is
    shrunk to fit first, so it can still be looked at."""
    data = path.read_bytes()
    try:
        return decode(data, LIMITS).pixels, ""
    except ImageTooLarge:
        image = Image.open(io.BytesIO(data))
        image.thumbnail((LIMITS.max_side, LIMITS.max_side))
        return decode(encode_jpeg(np.asarray(image.convert("RGB")), 95), LIMITS).pixels, "shrunk"


def evaluate_photos(samples: Path, models: ModelSet) -> list[dict[str, Any]]:
    """doc_photo: no truth; what we found, and the images to look at."""
    photos = []
    for row in manifest(samples, "doc_photo"):
        rgb, note = load_sample(samples / row["file"])
        start = time.perf_counter()
        scanned = run_pipeline(rgb, PipelineOptions(type=0), models)
        seconds = time.perf_counter() - start
        enhanced = run_pipeline(rgb, PipelineOptions(type=2), models).image
        document = scanned.meta["document"]
        corners = np.array(document["corners"]) if document["found"] else None
        photos.append(
            {
                "file": row["file"],
                "size": f"{rgb.shape[1]}x{rgb.shape[0]}{' ' + note if note else ''}",
                "found": document["found"],
                "confidence": document.get("confidence"),
                "method": document.get("method", document.get("reason")),
                "rotation": scanned.meta["rotation"],
                "deskew": scanned.meta["deskew"],
                "seconds": round(seconds, 2),
                "thumbs": [
                    with_quads(rgb, [(naive_quad(rgb), NAIVE), (corners, OURS)]),
                    thumbnail(scanned.image),
                    thumbnail(enhanced),
                ],
            }
        )
        print(f"{row['file']}: found {document['found']} {seconds:.1f}s", file=sys.stderr)
    return photos


def evaluate_rotated(samples: Path, models: ModelSet) -> list[dict[str, Any]]:
    """doc_rotated: tight crops, so OSD and our classifier see the image as it is."""
    rotated = []
    for row in manifest(samples, "doc_rotated"):
        match = re.search(r"orient=(\d+)", row["groundtruth"])
        if match is None:
            continue
        rgb, _ = load_sample(samples / row["file"])
        scanned = run_pipeline(rgb, PipelineOptions(type=0), models)
        rotated.append(
            {
                "file": row["file"],
                "expected": (360 - int(match.group(1))) % 360,
                "ours": scanned.meta["rotation"],
                "ours_direct": our_rotation(rgb, models),
                "osd": osd_rotation(rgb),
                "thumbs": [thumbnail(rgb), thumbnail(scanned.image)],
            }
        )
    return rotated


# --- speed ----------------------------------------------------------------------------------


def speed_photos(samples: Path) -> dict[str, bytes]:
    """The 12 MP phone photos among the doc_photo samples that the service takes (none
    without samples)."""
    if not samples.is_dir():
        return {}
    photos = {}
    for row in manifest(samples, "doc_photo"):
        path = samples / row["file"]
        with Image.open(path) as image:
            fits = max(image.size) <= LIMITS.max_side
            if fits and image.width * image.height >= SPEED_MIN_PIXELS:
                photos[path.name] = path.read_bytes()
    return photos


def measure_speed(seed: int, photos: dict[str, bytes], repeat: int = 3) -> list[dict[str, Any]]:
    """Median of `repeat` runs after a warm-up, beside the floor measured among them: types
    0-2 on the generated 12 MP page and on each real 12 MP photo, types 3-4 on a product."""
    models = load_models(SPEED_THREADS)
    inputs = {"generated page": (make_case(0, seed, size=(4000, 3000)).jpeg, (0, 1, 2))}
    inputs |= {name: (data, (0, 1, 2)) for name, data in photos.items()}
    product = encode(product_scene(size=(4000, 3000))[0], "JPEG", quality=92)
    inputs["generated product"] = (product, (3, 4))
    rows = []
    for name, (data, kinds) in inputs.items():
        seconds, floor = time_types(data, kinds, models, repeat)
        for kind, ours in seconds.items():
            row = {"type": kind, "seconds": ours, "floor": floor, "ratio": ours / floor}
            rows.append({"input": name} | row)
            print(f"speed {name} type {kind}: {ours:.2f}s", file=sys.stderr)
    return rows


# --- summary and report ---------------------------------------------------------------------


def summarise(results: list[CaseResult]) -> dict[str, Any]:
    summary: dict[str, Any] = {"cases": len(results)}
    for name, key in (("ours", "iou"), ("naive", "naive_iou")):
        values = np.array([getattr(r, key) for r in results])
        summary[f"iou_{name}"] = {
            "mean": float(values.mean()),
            "p5": float(np.percentile(values, 5)),
            "failures": int((values < IOU_FAIL).sum()),
        }
    summary["not_found"] = sum(not r.found for r in results)
    summary["orientation"] = {
        name: {
            str(turn): [sum((getattr(r, key) or 0) == r.expected for r in group), len(group)]
            for turn in TURNS
            if (group := [r for r in results if r.turned == turn])
        }
        for name, key in ORIENTATION_KEYS
    }
    summary["osd_no_answer"] = sum(r.osd_rotation is None for r in results)
    for name in ("skew", "truth_skew", "naive_skew"):
        values = [abs(v) for r in results if (v := getattr(r, name)) is not None]
        summary[name] = _spread(values)
    summary["cer"] = _cer_summary([r for r in results if r.cer is not None])
    summary["paper"] = _paper_summary([r for r in results if r.paper is not None])
    summary["type0_seconds_median"] = statistics.median(r.seconds for r in results)
    return summary


def _spread(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {
        "median": float(np.median(values)),
        "p90": float(np.percentile(values, 90)),
        "max": float(max(values)),
        "n": len(values),
    }


def _cer_summary(results: list[CaseResult]) -> dict[str, Any]:
    if not results:
        return {}
    upright = [r for r in results if r.turned == 0]
    return {
        name: {
            "mean": statistics.mean(r.cer[name] for r in results),
            "median": statistics.median(r.cer[name] for r in results),
            "upright_mean": statistics.mean(r.cer[name] for r in upright) if upright else None,
            "n": len(results),
            "n_upright": len(upright),
        }
        for name in ("type 2", "input", "naive")
    }


def _paper_summary(results: list[CaseResult]) -> dict[str, Any]:
    if not results:
        return {}
    summary: dict[str, Any] = {
        name: {
            measure: statistics.mean(r.paper[name][measure] for r in results)
            for measure in ("delta_e", "unevenness")
        }
        for name in ("type 2", "photo")
    }
    whitened = [_lab(np.array([[255, 255, 255], r.conditions["paper_rgb"]])) for r in results]
    summary["whitened_delta_e"] = statistics.mean(float(np.linalg.norm(w - p)) for w, p in whitened)
    summary["n"] = len(results)
    return summary


def print_report(
    args: argparse.Namespace,
    summary: dict[str, Any],
    results: list[CaseResult],
    photos: list[dict[str, Any]],
    rotated: list[dict[str, Any]],
    speed: list[dict[str, Any]],
) -> None:
    ocr_cases = summary["cer"]["type 2"]["n"] if summary["cer"] else 0
    print(
        f"photofix document benchmark: {len(results)} generated cases (seed {args.seed}, "
        f"~1600x1200), OCR on {ocr_cases}; samples: {args.samples if photos or rotated else 'none'}"
    )
    print(
        f"type 0 takes {summary['type0_seconds_median']:.2f} s (median) on a generated case"
        f" with {QUALITY_THREADS} threads"
    )
    for block in (
        _iou_block(summary),
        _orientation_block(summary),
        _skew_block(summary),
        _cer_block(summary),
        _paper_block(summary),
        _speed_block(speed),
        _background_block(results),
        _failure_block(results),
        _photo_block(photos),
        _rotated_block(rotated),
    ):
        if block:
            print()
            print("\n".join(block))


def _iou_block(summary: dict[str, Any]) -> list[str]:
    ours, naive = summary["iou_ours"], summary["iou_naive"]
    verdict = _verdict(ours["mean"] >= TARGETS["iou_mean"] and ours["p5"] >= TARGETS["iou_p5"])
    return [
        f"{'page IoU (type 0 quad vs truth)':<34} {'mean':>6} {'p5':>6} {'<0.9':>5}  target",
        f"{'  photofix':<34} {ours['mean']:>6.3f} {ours['p5']:>6.3f} {ours['failures']:>5}"
        f"  mean>=0.98, p5>=0.95: {verdict}",
        f"{'  naive contour scanner':<34} {naive['mean']:>6.3f} {naive['p5']:>6.3f}"
        f" {naive['failures']:>5}",
        f"  (photofix kept the whole photo on {summary['not_found']} cases)",
    ]


def _orientation_block(summary: dict[str, Any]) -> list[str]:
    labels = {
        "ours": "photofix, end to end (type 0)",
        "ours_flat": "photofix, true flat page",
        "osd": "Tesseract OSD, true flat page",
    }
    lines = [f"{'orientation: correct/cases, turned':<34}" + "".join(f"{t:>7}" for t in TURNS)]
    lines[0] += f"{'all':>8}  target >= 99.5 %"
    for name, label in labels.items():
        counts = summary["orientation"][name]
        cells = "".join(f"{'{}/{}'.format(*counts.get(str(t), (0, 0))):>7}" for t in TURNS)
        right = sum(c[0] for c in counts.values())
        total = sum(c[1] for c in counts.values())
        share = right / max(total, 1)
        mark = f"  {_verdict(share >= TARGETS['orientation'])}" if name == "ours" else ""
        lines.append(f"{'  ' + label:<34}{cells}{share:>7.1%}{mark}")
    lines.append(f"  (OSD gave no answer on {summary['osd_no_answer']} pages: counted as no turn)")
    return lines


def _skew_block(summary: dict[str, Any]) -> list[str]:
    lines = [f"{'residual skew, |degrees|':<34} {'median':>6} {'p90':>6} {'max':>6} {'n':>4}"]
    for key, label in (
        ("skew", "photofix type 0 output"),
        ("naive_skew", "naive scanner output"),
        ("truth_skew", "true flattening (measure floor)"),
    ):
        s = summary[key]
        if s["n"]:
            lines.append(
                f"{'  ' + label:<34} {s['median']:>6.2f} {s['p90']:>6.2f} {s['max']:>6.2f}"
                f" {s['n']:>4}"
            )
    verdict = _verdict(summary["skew"].get("median", 99) <= TARGETS["skew_median"])
    lines[1] += f"  target median <= 0.3: {verdict}"
    return lines


def _cer_block(summary: dict[str, Any]) -> list[str]:
    cer = summary["cer"]
    if not cer:
        return []
    lines = [f"{'OCR character error rate':<34} {'mean':>6} {'median':>6} {'upright':>8}"]
    for key, label in (
        ("type 2", "photofix type 2 output"),
        ("input", "plain input photo"),
        ("naive", "naive scanner warp"),
    ):
        c = cer[key]
        upright = "-" if c["upright_mean"] is None else f"{c['upright_mean']:.3f}"
        lines.append(f"{'  ' + label:<34} {c['mean']:>6.3f} {c['median']:>6.3f} {upright:>8}")
    ours, plain, naive = (cer[k]["mean"] for k in ("type 2", "input", "naive"))
    verdict = _verdict(ours <= plain / 2 and ours < naive)
    lines[1] += f"  target <= input/2 and < naive: {verdict}"
    lines.append(f"  ({cer['type 2']['n']} cases, {cer['type 2']['n_upright']} upright)")
    return lines


def _paper_block(summary: dict[str, Any]) -> list[str]:
    paper = summary["paper"]
    if not paper:
        return []
    ours, photo = paper["type 2"], paper["photo"]
    return [
        f"{'coloured paper vs the real paper':<34} {'dE':>6} {'uneven':>6}",
        f"{'  photofix type 2 output':<34} {ours['delta_e']:>6.1f} {ours['unevenness']:>6.1f}",
        f"{'  the photo (true flattening)':<34} {photo['delta_e']:>6.1f}"
        f" {photo['unevenness']:>6.1f}",
        f"{'  all paper whitened (255)':<34} {paper['whitened_delta_e']:>6.1f}",
        f"  ({paper['n']} cases; dE: Lab CIE76; uneven: paper lightness p90 - p10)",
    ]


def _speed_block(speed: list[dict[str, Any]]) -> list[str]:
    if not speed:
        return []
    lines = [
        f"{f'12 MP, seconds per image ({SPEED_THREADS} threads)':<42} {'ours':>6} {'floor':>6}"
        f" {'ratio':>6}  target"
    ]
    for row in speed:
        target = SPEED_TARGETS.get(row["type"])
        goal = f"<= {target}: {_verdict(row['ratio'] <= target)}" if target else ""
        lines.append(
            f"{'  ' + row['input'][:30] + ', type ' + str(row['type']):<42} {row['seconds']:>6.2f}"
            f" {row['floor']:>6.3f} {row['ratio']:>6.1f}  {goal}"
        )
    return lines


def _background_block(results: list[CaseResult]) -> list[str]:
    lines = [f"{'IoU by background':<34} {'mean':>6} {'<0.9':>5} {'naive':>6} {'n':>4}"]
    for background in sorted({r.conditions["background"] for r in results}):
        group = [r for r in results if r.conditions["background"] == background]
        lines.append(
            f"{'  ' + background:<34} {np.mean([r.iou for r in group]):>6.3f}"
            f" {sum(r.iou < IOU_FAIL for r in group):>5}"
            f" {np.mean([r.naive_iou for r in group]):>6.3f} {len(group):>4}"
        )
    return lines


def _failure_block(results: list[CaseResult]) -> list[str]:
    failed = [r for r in results if r.iou < IOU_FAIL or r.rotation != r.expected]
    if not failed:
        return []
    lines = ["failures (IoU < 0.9 or wrong turn):"]
    for r in sorted(failed, key=lambda r: r.iou):
        lines.append(f"  {r.id} {_conditions(r)}: {_outcome(r)}")
    return lines


def _conditions(r: CaseResult) -> str:
    c = r.conditions
    flags = " ".join(name for name in ("cut", "finger", "shadow") if c.get(name))
    return (
        f"{c['kind']} on {c['background']}, turned {r.turned}, fill {c['fill']:.2f},"
        f" angle {c['angle']:+.0f}, tilt {c['tilt']:.0f}{', ' + flags if flags else ''}"
    )


def _outcome(r: CaseResult) -> str:
    found = f"{r.method} conf {r.confidence:.2f}" if r.found else "not found"
    return (
        f"IoU {r.iou:.3f} (naive {r.naive_iou:.3f}), {found}, turn {r.rotation}"
        f" (want {r.expected}, flat {r.flat_rotation}, OSD {r.osd_rotation})"
    )


def _photo_block(photos: list[dict[str, Any]]) -> list[str]:
    if not photos:
        return []
    width = max(len(p["file"]) for p in photos) + 2
    lines = [
        f"{'real photos: doc_photo (no truth)':<{width}} {'size':>16} found conf turn deskew   s"
    ]
    for p in photos:
        conf = "-" if p["confidence"] is None else f"{p['confidence']:.2f}"
        lines.append(
            f"  {p['file']:<{width - 2}} {p['size']:>16} {p['found']!s:>5} {conf:>4}"
            f" {p['rotation']:>4} {p['deskew']:>6.2f} {p['seconds']:>4.1f}  {p['method']}"
        )
    return lines


def _rotated_block(rotated: list[dict[str, Any]]) -> list[str]:
    if not rotated:
        return []
    width = max(len(r["file"]) for r in rotated) + 2
    lines = [f"{'real photos: doc_rotated, clockwise turn':<{width}} want ours direct  OSD"]
    for r in rotated:
        osd = "-" if r["osd"] is None else r["osd"]
        lines.append(
            f"  {r['file']:<{width - 2}} {r['expected']:>4} {r['ours']:>4} {r['ours_direct']:>6}"
            f" {osd:>4}"
        )
    labels = {"ours": "ours end to end (type 0)", "ours_direct": "ours on the image", "osd": "OSD"}
    lines.append(
        "  correct: "
        + ", ".join(
            f"{label} {sum((r[key] or 0) == r['expected'] for r in rotated)}/{len(rotated)}"
            for key, label in labels.items()
        )
    )
    return lines


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


# --- files ----------------------------------------------------------------------------------


def write_outputs(
    out: Path,
    args: argparse.Namespace,
    summary: dict[str, Any],
    results: list[CaseResult],
    photos: list[dict[str, Any]],
    rotated: list[dict[str, Any]],
    speed: list[dict[str, Any]],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "summary": summary,
        "cases": [_without_thumbs(asdict(r)) for r in results],
        "doc_photo": [_without_thumbs(p) for p in photos],
        "doc_rotated": [_without_thumbs(r) for r in rotated],
        "speed": speed,
    }
    (out / "summary.json").write_text(json.dumps(report, indent=1, default=float))
    columns = "input (green truth, red ours, blue naive) | type 0 | naive | type 2 (OCR cases)"
    worst = sorted(results, key=lambda r: r.iou)[:SHEET_ROWS]
    turned_wrong = [r for r in results if r.rotation != r.expected][:SHEET_ROWS]
    for name, chosen in (
        ("overview", results[:SHEET_ROWS]),
        ("worst_iou", worst),
        ("wrong_turn", turned_wrong),
        ("ocr", [r for r in results if r.cer is not None][:SHEET_ROWS]),
    ):
        if chosen:
            rows = [
                (f"{r.id} {_conditions(r)} | {_outcome(r)}{_cer_text(r)}", r.thumbs) for r in chosen
            ]
            write_sheet(out / f"{name}.png", columns, rows)
    if photos:
        rows = [
            (f"{p['file']} found {p['found']} turn {p['rotation']}", p["thumbs"]) for p in photos
        ]
        _write_chunks(out, "doc_photo", "input (red ours, blue naive) | type 0 | type 2", rows)
    if rotated:
        rows = [
            (f"{r['file']} want {r['expected']} ours {r['ours']} OSD {r['osd']}", r["thumbs"])
            for r in rotated
        ]
        _write_chunks(out, "doc_rotated", "input | type 0", rows)
    print(f"\nwrote {out / 'summary.json'} and contact sheets in {out}")


def _write_chunks(
    out: Path, name: str, title: str, rows: list[tuple[str, list[np.ndarray]]]
) -> None:
    for start in range(0, len(rows), SHEET_ROWS):
        part = start // SHEET_ROWS + 1
        write_sheet(out / f"{name}_{part}.png", title, rows[start : start + SHEET_ROWS])


def _without_thumbs(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "thumbs"}


def _cer_text(r: CaseResult) -> str:
    if r.cer is None:
        return ""
    return " | CER " + ", ".join(f"{k} {v:.3f}" for k, v in r.cer.items())


if __name__ == "__main__":
    main()

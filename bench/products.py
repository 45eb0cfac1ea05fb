"""Product benchmark: photofix types 3 and 4 against a naive u2netp cut-out and GrabCut.

    .venv/bin/python bench/products.py [--cases 40] [--seed 0] [--out bench/out/products]

Cases come from bench/prodgen.py, with exact ground-truth alpha. Per background kind (studio,
cluttered) and method it prints alpha IoU (alpha > 0.5), alpha MAE, boundary F (2 px), bounding
box IoU, the mean alpha left on the contact shadow (background: should be 0; with keep_shadow,
studio cases: how close the kept alpha is to the true darkening), how often the
whole product is inside the crop, and margin evenness (smallest over largest margin, where the
frame leaves room for an even one); then seconds per 12 MP image for types 3 and 4 against
the floor of bench/speed.py, and the peak RSS of a fresh process on a 16 MP image (run twice, as
a warm worker). Writes summary.json and contact sheets under --out.

Baselines: "naive" is the raw u2netp mask used as a soft alpha, cropped to its box; "grabcut"
is cv2.grabCut (5 iterations, at GRABCUT_SIDE px, upscaled) started from that box. Both crops
get photofix's margin rule on their own box, so inside / evenness compare detection rather
than margin policy. For ours, inside / evenness are scored on type 3's crop. When photofix
straightens a tilt, its crop is turned back into the input through meta "crop_corners".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from photofix.imaging import subject
from photofix.imaging.protocols import ModelSet
from photofix.models import load_models
from photofix.pipelines import PipelineOptions, PipelineResult, run_pipeline
from prodgen import Case, make_case
from prodmetrics import (
    LEVEL,
    Box,
    alpha_iou,
    alpha_mae,
    boundary_f,
    box_iou,
    box_of,
    evenness,
    inside,
    near_frame,
)
from prodsheet import Shown, case_row, write_sheets
from speed import time_types

BENCH = Path(__file__).resolve().parent
METHODS = ("ours", "naive", "grabcut")
BACKGROUNDS = ("studio", "cluttered")
GRABCUT_SIDE = 800  # GrabCut at full 2 MP takes ~13 s a case here
# Evenness is only scored where the frame leaves this much room (x the product's longer side)
# on every side: photofix's default margin.
EVEN_ROOM = 0.05
SHADOW_LEVEL = 0.05  # background darkened at least this much counts as shadow
SPEED_SIZE = (4000, 3000)
RSS_SIZE = (4000, 4000)  # 16 MP within the 4096 px side limit
JPEG_QUALITY = 92
# Per-case scores averaged per group: (column head, key, width, format).
QUALITY_COLUMNS = (
    ("IoU", "iou", 6, ".3f"),
    ("MAE", "mae", 7, ".4f"),
    ("bndF", "boundary_f", 6, ".3f"),
    ("boxIoU", "bbox_iou", 6, ".3f"),
    ("shadow", "shadow", 6, ".3f"),
)


@dataclass(frozen=True)
class Crop:
    """Where a crop sits in the input: the affine map from crop pixels to input pixels (a
    shift, or a turn when photofix straightened a tilt) and the crop's size."""

    matrix: np.ndarray
    size: tuple[int, int]

    @classmethod
    def of_box(cls, box: Box) -> Crop:
        x0, y0, x1, y1 = box
        return cls(np.float64([[1, 0, x0], [0, 1, y0]]), (x1 - x0, y1 - y0))

    @classmethod
    def of_result(cls, result: PipelineResult, shape: tuple[int, ...]) -> Crop:
        height, width = result.image.shape[:2]
        corners = result.meta.get("crop_corners")
        if corners is not None:
            # The crop's outer pixel edges (TL, TR, BR, BL) in input pixels.
            outline = np.float32([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5]])
            return cls(cv2.getAffineTransform(outline, np.float32(corners[:3])), (width, height))
        # crop_box is the crop as cut: it may reach past the photo where a cut-out is padded.
        x0, y0, x1, y1 = (int(v) for v in result.meta.get("crop_box", (0, 0, shape[1], shape[0])))
        return cls.of_box((x0, y0, x1, y1))

    def room(self, truth: np.ndarray) -> tuple[float, float, float, float]:
        """Margins (left, top, right, bottom) between the true product and the crop's sides,
        in crop pixels; negative where the product is cut."""
        ys, xs = np.nonzero(truth > LEVEL)
        inverse = cv2.invertAffineTransform(self.matrix)
        u = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
        v = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
        width, height = self.size
        return (
            float(u.min()),
            float(v.min()),
            width - 1 - float(u.max()),
            height - 1 - float(v.max()),
        )


@dataclass(frozen=True)
class Cutout:
    """A method's alpha over the whole input frame, the colour it goes with, and its crop."""

    alpha: np.ndarray
    colour: np.ndarray
    crop: Crop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "products")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3, help="timing runs (median)")
    parser.add_argument("--speed", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    models = load_models(args.threads)
    records, rows = [], []
    for index in range(args.cases):
        record, row = run_case(make_case(index, args.seed), models)
        records.append(record)
        rows.append(row)
        print(_progress(record), file=sys.stderr, flush=True)
    summary: dict[str, Any] = {
        "cases": args.cases,
        "seed": args.seed,
        "threads": args.threads,
        "by_background": aggregate(records),
        "by_product": by_product(records),
        "records": records,
    }
    print_quality(summary)
    if args.speed:
        summary["speed"] = speed(models, args.seed, args.repeat)
        summary["peak_rss"] = peak_rss(args.out, args.seed, args.threads)
        print_speed(summary["speed"], summary["peak_rss"])
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    sheets = write_sheets(rows, args.out)
    print(f"\nwrote {args.out / 'summary.json'} and {len(sheets)} contact sheets in {args.out}")


# --- methods ---------------------------------------------------------------------------------


def run_case(case: Case, models: ModelSet) -> tuple[dict[str, Any], np.ndarray]:
    start = time.perf_counter()
    cut = run_pipeline(case.rgb, PipelineOptions(type=4), models)
    seconds = time.perf_counter() - start
    cropped = run_pipeline(case.rgb, PipelineOptions(type=3), models)
    mask = models.saliency.predict(case.rgb)
    cutouts = {
        "ours": ours(cut, case.rgb.shape),
        "naive": naive(case.rgb, mask),
        "grabcut": grabcut(case.rgb, mask),
    }
    crops = {"ours": Crop.of_result(cropped, case.rgb.shape)}
    crops |= {name: cutouts[name].crop for name in ("naive", "grabcut")}
    scores = {
        name: score(cutouts[name], case) | crop_score(crops[name], case.alpha) for name in METHODS
    }
    record = {
        "keep_shadow": kept_shadow(case, models) if case.background == "studio" else None,
        "name": case.name,
        "product": case.product,
        "background": case.background,
        "backdrop": case.backdrop,
        "size": [case.rgb.shape[1], case.rgb.shape[0]],
        "found": bool(cut.meta.get("subject", {}).get("found", False)),
        "tilt": float(cut.meta.get("tilt", 0.0)),
        "type4_seconds": round(seconds, 3),
        **scores,
    }
    return record, _sheet_row(case, cutouts, scores)


def ours(result: PipelineResult, shape: tuple[int, ...]) -> Cutout:
    """Type 4's RGBA crop mapped back to where it came from in the input (turned back when
    photofix straightened it)."""
    height, width = shape[:2]
    crop = Crop.of_result(result, shape)
    image = result.image
    if image.shape[1::-1] != crop.size:
        raise ValueError(f"type 4 image {image.shape[:2]} does not match its crop {crop.size}")
    # Without an alpha channel (nothing found) the crop is opaque: that is what users get.
    alpha = (
        image[..., 3] / np.float32(255)
        if image.shape[2] == 4
        else np.ones(image.shape[:2], np.float32)
    )
    size = (width, height)
    alpha = cv2.warpAffine(alpha, crop.matrix, size, flags=cv2.INTER_LINEAR)
    colour = cv2.warpAffine(
        np.ascontiguousarray(image[..., :3]), crop.matrix, size, flags=cv2.INTER_LINEAR
    )
    return Cutout(np.clip(alpha, 0, 1), colour, crop)


def naive(rgb: np.ndarray, mask: np.ndarray) -> Cutout:
    """The raw model mask as a soft alpha, cropped to its box."""
    box = _margin_crop(mask, rgb.shape)
    x0, y0, x1, y1 = box
    alpha = np.zeros_like(mask)
    alpha[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
    return Cutout(alpha, rgb, Crop.of_box(box))


def grabcut(rgb: np.ndarray, mask: np.ndarray) -> Cutout:
    """cv2.grabCut from the naive box, at GRABCUT_SIDE px; its hard mask upscaled bilinearly."""
    height, width = mask.shape
    scale = min(1.0, GRABCUT_SIDE / max(height, width))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    x0, y0, x1, y1 = (round(v * scale) for v in _margin_crop(mask, rgb.shape))
    # GrabCut needs some background outside the rectangle to model.
    x0, y0, x1, y1 = max(x0, 1), max(y0, 1), min(x1, sw - 1), min(y1, sh - 1)
    labels = np.zeros((sh, sw), np.uint8)
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(small, labels, (x0, y0, x1 - x0, y1 - y0), *models, 5, cv2.GC_INIT_WITH_RECT)
    hard = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    alpha = np.clip(cv2.resize(hard, (width, height), interpolation=cv2.INTER_LINEAR), 0, 1)
    return Cutout(alpha, rgb, Crop.of_box(_margin_crop(alpha, rgb.shape)))


def _margin_crop(alpha: np.ndarray, shape: tuple[int, ...]) -> Box:
    """The box of alpha > 0.5 with photofix's crop margin (the whole frame if empty)."""
    box = box_of(alpha) or (0, 0, shape[1], shape[0])
    return subject.crop_with_margin(box, shape)


# --- scores ----------------------------------------------------------------------------------


def score(cut: Cutout, case: Case) -> dict[str, float]:
    truth = case.alpha
    # The shadow is background: the default cut-out should drop it (0 here), `keep_shadow`
    # would keep it as soft alpha.
    shadow = (case.shadow > SHADOW_LEVEL) & (truth < 0.01)
    return {
        "iou": round(alpha_iou(cut.alpha, truth), 4),
        "mae": round(alpha_mae(cut.alpha, truth), 5),
        "boundary_f": round(boundary_f(cut.alpha, truth), 4),
        "bbox_iou": round(box_iou(box_of(cut.alpha), box_of(truth)), 4),
        "shadow": round(float(cut.alpha[shadow].mean()) if shadow.any() else 0.0, 4),
    }


def kept_shadow(case: Case, models: ModelSet) -> dict[str, Any]:
    """Type 4 with keep_shadow: how far its alpha on the true shadow is from how much the
    shadow darkened the backdrop (what black at that alpha reproduces), and whether it ran."""
    result = run_pipeline(case.rgb, PipelineOptions(type=4, keep_shadow=True), models)
    shadow = (case.shadow > SHADOW_LEVEL) & (case.alpha < 0.01)
    alpha = ours(result, case.rgb.shape).alpha
    if not shadow.any():
        return {"kept": result.meta.get("shadow") == "kept", "error": 0.0, "dropped_error": 0.0}
    return {
        "kept": result.meta.get("shadow") == "kept",
        "error": round(float(np.abs(alpha[shadow] - case.shadow[shadow]).mean()), 4),
        "dropped_error": round(float(case.shadow[shadow].mean()), 4),  # alpha 0 there
    }


def crop_score(crop: Crop, truth: np.ndarray) -> dict[str, Any]:
    product = box_of(truth)
    assert product is not None, "every case has a product"
    room = crop.room(truth)
    even = None if near_frame(product, truth.shape, EVEN_ROOM) else round(evenness(room), 3)
    return {"inside": inside(room), "evenness": even}


def aggregate(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    return {
        background: {
            method: _mean_scores([r[method] for r in records if r["background"] == background])
            for method in METHODS
        }
        for background in BACKGROUNDS
        if any(r["background"] == background for r in records)
    }


def by_product(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    products = sorted({r["product"] for r in records})
    return {
        product: {
            method: _mean_scores([r[method] for r in records if r["product"] == product])
            for method in METHODS
        }
        for product in products
    }


def _mean_scores(scores: list[dict[str, Any]]) -> dict[str, float]:
    even = [s["evenness"] for s in scores if s["evenness"] is not None]
    means = {key: statistics.fmean(s[key] for s in scores) for _, key, _, _ in QUALITY_COLUMNS}
    return {
        "n": len(scores),
        **{key: round(value, 4 if key != "mae" else 5) for key, value in means.items()},
        "inside": sum(s["inside"] for s in scores),
        "evenness": round(statistics.fmean(even), 3) if even else float("nan"),
        "evenness_n": len(even),
    }


# --- speed and memory ------------------------------------------------------------------------


def speed(models: ModelSet, seed: int, repeat: int) -> dict[str, float]:
    """Seconds per 12 MP JPEG (decode, pipeline, encode) for types 3 and 4, and the floor."""
    data = _jpeg(make_case(0, seed, size=SPEED_SIZE, supersample=2).rgb)
    seconds, floor = time_types(data, (3, 4), models, repeat)
    result = {"floor": floor, **{f"type{kind}": value for kind, value in seconds.items()}}
    return {key: round(value, 3) for key, value in result.items()}


def peak_rss(out: Path, seed: int, threads: int) -> dict[str, dict[str, int]]:
    """Peak RSS (MB) of a fresh process running one 16 MP image twice, per type:
    bench/peak_rss.py."""
    path = out / "peak_rss_16mp.jpg"
    path.write_bytes(_jpeg(make_case(1, seed, size=RSS_SIZE, supersample=2).rgb))
    result = {}
    for kind in (3, 4):
        command = [sys.executable, str(BENCH / "peak_rss.py"), str(kind), str(path)]
        done = subprocess.run(
            [*command, "--threads", str(threads)], capture_output=True, text=True, check=True
        )
        result[f"type{kind}"] = json.loads(done.stdout.splitlines()[-1])
    return result


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


# --- output ----------------------------------------------------------------------------------


def print_quality(summary: dict[str, Any]) -> None:
    print(f"photofix products: {summary['cases']} cases, seed {summary['seed']}", end="")
    print(f", model threads {summary['threads']}")
    heads = " ".join(f"{head:>{width}}" for head, _, width, _ in QUALITY_COLUMNS)
    print(f"{'background':<10} {'method':<8} {'n':>3} {heads} {'inside':>7} {'even':>5} {'(n)':>4}")
    for background, methods in summary["by_background"].items():
        for method, s in methods.items():
            cells = " ".join(f"{s[key]:>{width}{fmt}}" for _, key, width, fmt in QUALITY_COLUMNS)
            inside = f"{s['inside']}/{s['n']}"
            even = f"{s['evenness']:>5.2f} {s['evenness_n']:>4}"
            print(f"{background:<10} {method:<8} {s['n']:>3} {cells} {inside:>7} {even}")
    print("inside/even: ours = type 3 crop; baselines = own box + photofix's margin rule")
    kept = [r["keep_shadow"] for r in summary["records"] if r.get("keep_shadow")]
    if kept:
        error = statistics.fmean(k["error"] for k in kept)
        dropped = statistics.fmean(k["dropped_error"] for k in kept)
        print(
            f"keep_shadow, studio: kept on {sum(k['kept'] for k in kept)}/{len(kept)} cases; "
            f"mean |alpha - true darkness| on the shadow {error:.3f} (dropping it: {dropped:.3f})"
        )

    print(f"\n{'product':<18} {'n':>3}", " ".join(f"{m + ' IoU/bndF':>17}" for m in METHODS))
    for product, methods in summary["by_product"].items():
        cells = " ".join(f"{s['iou']:>11.3f}/{s['boundary_f']:.2f}" for s in methods.values())
        print(f"{product:<18} {methods['ours']['n']:>3} {cells}")
    worst = sorted(summary["records"], key=lambda r: r["ours"]["iou"])[:8]
    print("\nworst ours (IoU): " + ", ".join(f"{r['name']} {r['ours']['iou']:.2f}" for r in worst))


def print_speed(timing: dict[str, float], rss: dict[str, dict[str, int]]) -> None:
    size = "x".join(map(str, SPEED_SIZE))
    print(f"\nspeed, {size} JPEG in, decode + pipeline + encode, median: ", end="")
    print(f"floor {timing['floor']:.3f} s")
    for kind in (3, 4):
        seconds = timing[f"type{kind}"]
        print(f"  type {kind}: {seconds:.3f} s = {seconds / timing['floor']:.1f} x floor")
    size = "x".join(map(str, RSS_SIZE))
    for kind, peak in rss.items():
        print(f"  peak RSS, a {size} JPEG twice, {kind}: {peak['peak_mb']} MB", end="")
        print(f" (models alone {peak['models_mb']} MB)")


def _progress(record: dict[str, Any]) -> str:
    parts = [f"{m} {record[m]['iou']:.3f}/{record[m]['boundary_f']:.2f}" for m in METHODS]
    return (
        f"{record['name']:<32} {record['backdrop']:<20} IoU/bndF "
        + "  ".join(parts)
        + f"  ({record['type4_seconds']:.1f} s)"
    )


def _sheet_row(
    case: Case, cutouts: dict[str, Cutout], scores: dict[str, dict[str, Any]]
) -> np.ndarray:
    def shown(name: str) -> Shown:
        note = f"IoU {scores[name]['iou']:.3f} bF {scores[name]['boundary_f']:.2f}"
        return Shown(name, cutouts[name].alpha, cutouts[name].colour, note)

    truth = Shown("truth", case.alpha, case.colour)
    title = f"{case.name} on {case.backdrop}"
    return case_row(title, case.rgb, truth, shown("ours"), [shown("naive"), shown("grabcut")])


if __name__ == "__main__":
    main()

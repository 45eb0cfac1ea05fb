"""Contact sheets for bench/products.py: one row per case, cut-outs on a checkerboard, on black
and on white next to the ground truth, plus 1:1 zooms where our alpha is most wrong (halos and
fringes only show at full scale)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from prodmetrics import Box, box_of

TILE = 320
ZOOM = 80  # px of the photo shown in a zoom tile (x4: 1-2 px halos show)
PLAIN = {"black": 0, "white": 255}


@dataclass(frozen=True)
class Shown:
    """A cut-out over the whole frame, with a caption."""

    name: str
    alpha: np.ndarray
    colour: np.ndarray
    note: str = ""


def case_row(
    title: str, photo: np.ndarray, truth: Shown, ours: Shown, others: list[Shown]
) -> np.ndarray:
    view = _view(truth.alpha)
    x0, y0, x1, y1 = view
    tiles = [_label(_fit(photo[y0:y1, x0:x1]), title), _tile(truth, "checker", view, "truth")]
    caption = f"{ours.name} {ours.note}"
    tiles += [_tile(ours, backdrop, view, caption) for backdrop in ("checker", "black", "white")]
    spot = _worst_spot(ours.alpha, truth.alpha)
    caption = f"{ours.name} worst spot, x{TILE / ZOOM:.1f}"
    tiles += [_tile(ours, backdrop, spot, caption, zoom=True) for backdrop in ("black", "white")]
    tiles += [_tile(shown, "checker", view, f"{shown.name} {shown.note}") for shown in others]
    return np.concatenate(tiles, axis=1)


def write_sheets(rows: list[np.ndarray], out: Path, per_sheet: int = 4) -> list[Path]:
    for stale in out.glob("sheet_*.png"):
        stale.unlink()
    paths = []
    for start in range(0, len(rows), per_sheet):
        path = out / f"sheet_{start // per_sheet:02d}.png"
        Image.fromarray(np.concatenate(rows[start : start + per_sheet], axis=0)).save(path)
        paths.append(path)
    return paths


def _tile(shown: Shown, backdrop: str, box: Box, caption: str, zoom: bool = False) -> np.ndarray:
    """`box` of the cut-out over `backdrop` ("checker", "black" or "white"), as a tile."""
    x0, y0, x1, y1 = box
    alpha = shown.alpha[y0:y1, x0:x1, None]
    if backdrop == "checker":
        yy, xx = np.mgrid[y0:y1, x0:x1]
        base = np.where(((yy // 12 + xx // 12) % 2 == 0)[..., None], 205, 150).astype(np.float32)
    else:
        base = np.full((*alpha.shape[:2], 3), PLAIN[backdrop], np.float32)
    image = np.clip(shown.colour[y0:y1, x0:x1] * alpha + base * (1 - alpha), 0, 255)
    return _label(
        _fit(image.astype(np.uint8), cv2.INTER_NEAREST if zoom else cv2.INTER_AREA), caption
    )


def _view(reference: np.ndarray) -> Box:
    """The ground-truth box with a little room, or the whole frame."""
    height, width = reference.shape
    box = box_of(reference) or (0, 0, width, height)
    pad = round(0.08 * max(box[2] - box[0], box[3] - box[1]))
    return (
        max(box[0] - pad, 0),
        max(box[1] - pad, 0),
        min(box[2] + pad, width),
        min(box[3] + pad, height),
    )


def _worst_spot(alpha: np.ndarray, truth: np.ndarray) -> Box:
    """The ZOOM x ZOOM window where the alpha error is largest."""
    height, width = alpha.shape
    error = cv2.boxFilter(np.abs(alpha - truth), -1, (ZOOM // 2, ZOOM // 2))
    y, x = np.unravel_index(int(np.argmax(error)), error.shape)
    x0 = int(np.clip(x - ZOOM // 2, 0, max(width - ZOOM, 0)))
    y0 = int(np.clip(y - ZOOM // 2, 0, max(height - ZOOM, 0)))
    return x0, y0, x0 + ZOOM, y0 + ZOOM


def _fit(part: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    """`part` scaled into a TILE x TILE grey tile, aspect kept."""
    scale = TILE / max(part.shape[:2])
    size = (max(1, round(part.shape[1] * scale)), max(1, round(part.shape[0] * scale)))
    part = cv2.resize(part, size, interpolation=interpolation)
    tile = np.full((TILE, TILE, 3), 96, np.uint8)
    top, left = (TILE - size[1]) // 2, (TILE - size[0]) // 2
    tile[top : top + size[1], left : left + size[0]] = part
    return tile


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    cv2.rectangle(tile, (0, 0), (TILE, 18), (255, 255, 255), -1)
    cv2.putText(tile, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(tile, (0, 0), (TILE - 1, TILE - 1), (255, 255, 255), 1)
    return tile

"""Contact sheets: rows of captioned thumbnails, to look at outputs, not just numbers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

THUMB_HEIGHT = 300
MAX_ASPECT = 2.5
CAPTION = 20
GAP = 6
TRUTH, OURS, NAIVE = (0, 200, 0), (230, 30, 30), (40, 90, 255)


def thumbnail(rgb: np.ndarray, height: int = THUMB_HEIGHT) -> np.ndarray:
    """At most `height` high and MAX_ASPECT times that wide (a degenerate warp can be a sliver)."""
    image = rgb[..., :3] if rgb.ndim == 3 else np.stack([rgb] * 3, axis=-1)
    scale = min(height / image.shape[0], MAX_ASPECT * height / image.shape[1])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def with_quads(
    rgb: np.ndarray, quads: list[tuple[np.ndarray | None, tuple[int, int, int]]]
) -> np.ndarray:
    """A thumbnail of `rgb` with each quad (input pixels) outlined in its colour."""
    thumb = np.ascontiguousarray(thumbnail(rgb))
    scale = thumb.shape[0] / rgb.shape[0]
    for quad, colour in quads:
        if quad is not None:
            points = np.round(np.asarray(quad) * scale).astype(np.int32)
            cv2.polylines(thumb, [points], True, colour, 2, cv2.LINE_AA)
    return thumb


def write_sheet(path: Path, title: str, rows: list[tuple[str, list[np.ndarray]]]) -> None:
    """One PNG: a title line, then per row a caption above its thumbnails side by side."""
    font = ImageFont.load_default(size=14)
    width = max(sum(t.shape[1] + GAP for t in thumbs) for _, thumbs in rows) + GAP
    height = CAPTION + sum(CAPTION + max(t.shape[0] for t in thumbs) + GAP for _, thumbs in rows)
    sheet = Image.new("RGB", (max(width, 400), height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((GAP, 2), title, fill=(0, 0, 0), font=font)
    y = CAPTION
    for caption, thumbs in rows:
        draw.text((GAP, y + 2), caption, fill=(0, 0, 0), font=font)
        x, y = GAP, y + CAPTION
        for thumb in thumbs:
            sheet.paste(Image.fromarray(thumb), (x, y))
            x += thumb.shape[1] + GAP
        y += max(t.shape[0] for t in thumbs) + GAP
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)

"""Bytes in, bytes out: decode -> pipeline -> encode. Shared by the task worker and the CLI."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from photofix.imaging import codec
from photofix.imaging.protocols import ModelSet
from photofix.pipelines import PipelineOptions, run_pipeline

JPEG_QUALITY = 92


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes
    format: str
    content_type: str
    meta: dict[str, Any]


def choose_format(requested: str | None, image: np.ndarray) -> str:
    """As asked; else PNG when there is transparency and JPEG otherwise (fast and small)."""
    if requested:
        return "jpeg" if requested == "jpg" else requested
    return "png" if image.ndim == 3 and image.shape[2] == 4 else "jpeg"


def process_image(
    data: bytes,
    options: PipelineOptions,
    models: ModelSet,
    limits: codec.ImageLimits,
    output_format: str | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> ProcessedImage:
    """Run one image through its pipeline, its output held within the input limits.
    `on_stage` hears "decoded" and "processed"."""
    start = time.perf_counter()
    decoded = codec.decode(data, limits)
    decode_seconds = time.perf_counter() - start
    if on_stage:
        on_stage("decoded")
    result = run_pipeline(
        decoded.pixels, dataclasses.replace(options, max_side=limits.max_side), models
    )
    if on_stage:
        on_stage("processed")
    fmt = choose_format(output_format, result.image)
    start = time.perf_counter()
    encoded = codec.encode(result.image, fmt, quality=JPEG_QUALITY)
    timings = {
        "decode": round(decode_seconds, 4),
        **result.meta.get("timings", {}),
        "encode": round(time.perf_counter() - start, 4),
    }
    meta = {
        **result.meta,
        "format": fmt,
        "exif_orientation": decoded.exif_orientation,
        "timings": timings,
    }
    return ProcessedImage(encoded, fmt, codec.content_type(fmt), meta)

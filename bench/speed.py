"""Seconds per image for each processing type at 12 MP, as a ratio to the floor.

The floor is Pillow decoding the same input and re-encoding it as JPEG quality 90 at full size,
measured right before every run of every type, and pooled (the shared machine is noisy and
drifts within seconds: compare ratios, not absolute seconds).

    .venv/bin/python bench/speed.py [--repeat 3] [--threads N] [IMAGE ...]

Without images it generates a 4000 x 3000 document photo and product photo.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.synth import document_scene, encode, product_scene

from photofix.imaging.codec import ImageLimits
from photofix.imaging.protocols import ModelSet
from photofix.models import load_models
from photofix.pipelines import PipelineOptions
from photofix.process import process_image

LIMITS = ImageLimits()


def floor_seconds(data: bytes) -> float:
    start = time.perf_counter()
    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    if args.images:
        inputs = {path.name: (path.read_bytes(), (0, 1, 2, 3, 4)) for path in args.images}
    else:
        document, _ = document_scene(size=(4000, 3000))
        product, _ = product_scene(size=(4000, 3000))
        inputs = {
            "document 12 MP": (encode(document, "JPEG", quality=92), (0, 1, 2)),
            "product 12 MP": (encode(product, "JPEG", quality=92), (3, 4)),
        }
    models = load_models(args.threads)
    print(f"{'input':<20} {'type':>4} {'seconds':>8} {'floor s':>8} {'ratio':>6}")
    for name, (data, kinds) in inputs.items():
        ours, floor = time_types(data, kinds, models, args.repeat)
        for kind in kinds:
            print(
                f"{name:<20} {kind:>4} {ours[kind]:>8.3f} {floor:>8.3f} {ours[kind] / floor:>6.2f}"
            )


def time_types(
    data: bytes, kinds: Iterable[int], models: ModelSet, repeat: int
) -> tuple[dict[int, float], float]:
    """Median seconds per image of each processing type on `data` (decode, pipeline, encode)
    after a warm-up, and the floor measured among them (`interleaved`)."""
    runs = {
        kind: functools.partial(process_image, data, PipelineOptions(type=kind), models, LIMITS)
        for kind in kinds
    }
    for run in runs.values():
        run()  # warm-up
    return interleaved(runs, functools.partial(floor_seconds, data), repeat)


def interleaved(
    runs: dict[int, Callable[[], object]], floor: Callable[[], float], repeat: int
) -> tuple[dict[int, float], float]:
    """Median seconds of each run, and of the floor measured right before every one of them:
    on a shared host the speed drifts within seconds, and one pooled floor beside the runs
    it was measured among keeps the ratios steady."""
    times: dict[int, list[float]] = {kind: [] for kind in runs}
    floors: list[float] = []
    for _ in range(repeat):
        for kind, run in runs.items():
            floors.append(floor())
            start = time.perf_counter()
            run()
            times[kind].append(time.perf_counter() - start)
    return {kind: statistics.median(t) for kind, t in times.items()}, statistics.median(floors)


if __name__ == "__main__":
    main()

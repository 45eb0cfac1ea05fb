"""Decode and validate time of the codec on generated 12 MP inputs, against plain decoders.

    PYTHONPATH=src .venv/bin/python bench/codec_speed.py [--repeat N] [--megapixels M]

Prints one line per input: best-of-N milliseconds for codec.validate and codec.decode, and the
ratio of decode to a bare cv2.imdecode of the same bytes (OpenCV's libjpeg-turbo / libpng, the
fastest plain decode to an array). Run it on one idle core for figures worth comparing.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from photofix.imaging import codec

LIMITS = codec.ImageLimits()


def photo(width: int, height: int, noise: int = 12) -> np.ndarray:
    """Smooth colour regions plus sensor-like noise: compresses like a phone photo."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8)
    smooth = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = rng.integers(-noise, noise + 1, smooth.shape, dtype=np.int16)
    return np.clip(smooth.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def save(im: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def inputs(width: int, height: int) -> dict[str, bytes]:
    rgb = Image.fromarray(photo(width, height))
    exif = rgb.getexif()
    exif[0x0112] = 6
    return {
        "jpeg": save(rgb, "JPEG", quality=90),
        "jpeg progressive": save(rgb, "JPEG", quality=90, progressive=True),
        "jpeg exif-rotated": save(rgb, "JPEG", quality=90, exif=exif.tobytes()),
        "jpeg gray": save(rgb.convert("L"), "JPEG", quality=90),
        "jpeg cmyk": save(rgb.convert("CMYK"), "JPEG", quality=90),
        "png": save(Image.fromarray(photo(width, height, noise=1)), "PNG", compress_level=6),
    }


def best_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm caches and lazy imports
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--megapixels", type=float, default=12.0)
    args = parser.parse_args()
    height = int((args.megapixels * 1e6 * 3 / 4) ** 0.5)
    width = height * 4 // 3
    print(f"{width}x{height} ({width * height / 1e6:.1f} MP), best of {args.repeat}")
    print(f"{'input':20} {'MB':>5} {'validate':>9} {'decode':>8} {'imdecode':>9} {'ratio':>6}")
    cv2.setNumThreads(1)
    flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
    for name, data in inputs(width, height).items():
        buf = np.frombuffer(data, np.uint8)
        validate = best_ms(lambda data=data: codec.validate(data, LIMITS), args.repeat)
        decode = best_ms(lambda data=data: codec.decode(data, LIMITS), args.repeat)
        plain = best_ms(lambda buf=buf: cv2.imdecode(buf, flags), args.repeat)
        print(
            f"{name:20} {len(data) / 1e6:5.1f} {validate:9.1f} {decode:8.1f} {plain:9.1f} "
            f"{decode / plain:6.2f}"
        )


if __name__ == "__main__":
    main()

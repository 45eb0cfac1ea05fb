"""Local batch processing for `photofix process`: no server, models loaded once per run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from photofix.config import Settings
from photofix.imaging.codec import ImageLimits
from photofix.process import process_image
from photofix.tasks.model import TaskOptions
from photofix.tasks.worker import open_catalog


def process_file(
    path: Path, out_dir: Path, settings: Settings, options: TaskOptions
) -> dict[str, Any]:
    """Process one file into `out_dir`; returns the JSON report line for it."""
    limits = ImageLimits(max_bytes=settings.max_image_bytes, max_side=settings.max_image_side)
    with path.open("rb") as fh:  # one byte past the cap is enough for the codec to refuse it
        data = fh.read(limits.max_bytes + 1)
    result = process_image(
        data,
        options.pipeline(),
        open_catalog(settings).model_set(options.model),
        limits,
        options.output_format,
    )
    suffix = "jpg" if result.format == "jpeg" else result.format
    target = out_dir / f"{path.stem}.{suffix}"
    target.write_bytes(result.data)
    return {"input": str(path), "output": str(target), "type": options.type, "meta": result.meta}

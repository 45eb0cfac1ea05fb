"""`photofix process`: images through the pipelines in this process, no server; the models are
opened once per run, before the first file."""

from __future__ import annotations

from pathlib import Path

from photofix.batch import read_input
from photofix.config import Settings
from photofix.process import ProcessedImage, process_image
from photofix.runtime import image_limits, open_catalog
from photofix.tasks.model import TaskOptions


class LocalProcessor:
    def __init__(self, settings: Settings, options: TaskOptions) -> None:
        """Raises ModelError when the models cannot be opened (nothing is worth trying then)."""
        self._limits = image_limits(settings)
        self._options = options
        self._models = open_catalog(settings).model_set(options.model)

    def run(self, path: Path) -> ProcessedImage:
        """Raises PhotofixError: the input's (InputMissing, InvalidImage...) or the pipeline's."""
        return process_image(
            read_input(path, self._limits.max_bytes),
            self._options.pipeline(),
            self._models,
            self._limits,
            self._options.output_format,
        )


def extension(fmt: str) -> str:
    return "jpg" if fmt == "jpeg" else fmt

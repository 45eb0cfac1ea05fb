"""The product segmentation models an operator offers: the wheel's u2netp, plus any
rembg-compatible ONNX model (u2net, isnet-general-use, birefnet, ...) dropped into the models
directory as `<name>.onnx`. Each is opened once per process, on first use (rembg's one session
per model). Nothing is ever downloaded: a model is there or it is refused.

Names are checked without onnxruntime (the API process only validates requests); sessions are
opened in the worker processes.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from photofix.errors import BadRequest
from photofix.imaging.protocols import ModelSet, SaliencyModel

BUILTIN_MODEL = "u2netp"
# A model name is a file stem: no separators, so a request can never name a path.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Preprocess:
    """How a model family wants its input (as rembg feeds it): the side used when the graph's
    input size is dynamic, the normalisation (None: ImageNet's) and whether the output is logits."""

    size: int = 320
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    sigmoid: bool = False


_HALF = (0.5, 0.5, 0.5)
_ONE = (1.0, 1.0, 1.0)
# By file-name prefix; anything else is treated as a u2net-family model.
PRESETS: tuple[tuple[str, Preprocess], ...] = (
    ("isnet", Preprocess(size=1024, mean=_HALF, std=_ONE)),
    ("bria", Preprocess(size=1024, mean=_HALF, std=_ONE)),
    ("rmbg", Preprocess(size=1024, mean=_HALF, std=_ONE)),
    ("birefnet", Preprocess(size=1024, sigmoid=True)),
)


def preprocess_for(name: str) -> Preprocess:
    lowered = name.lower()
    for prefix, preset in PRESETS:
        if lowered.startswith(prefix):
            return preset
    return Preprocess()


def available_models(models_dir: Path | None) -> list[str]:
    """The names a request may ask for: the built-in model first, then the directory's."""
    names = [BUILTIN_MODEL]
    if models_dir is not None and models_dir.is_dir():
        found = (p.stem for p in models_dir.glob("*.onnx") if p.is_file())
        names += sorted(n for n in found if MODEL_NAME.fullmatch(n) and n != BUILTIN_MODEL)
    return names


def check_model_name(name: str, available: list[str]) -> str:
    """`name` if it is offered here; else a BadRequest that lists what is."""
    if name not in available:
        raise BadRequest(
            f"unknown model {name[:64]!r}; available: {', '.join(available)}", field="model"
        )
    return name


class ModelCatalog:
    """Product segmentation models by name; `models` carries the built-in one and the rest of
    the warm set (orientation, text) that every choice shares; `default` is the operator's
    choice for requests that name none."""

    def __init__(
        self,
        models: ModelSet,
        models_dir: Path | None,
        *,
        threads: int = 1,
        default: str = BUILTIN_MODEL,
    ) -> None:
        self.models = models
        self.models_dir = models_dir
        self.threads = threads
        self.default = default
        self._sessions: dict[str, SaliencyModel] = {BUILTIN_MODEL: models.saliency}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return available_models(self.models_dir)

    def segmenter(self, name: str) -> SaliencyModel:
        """The session for `name`, opened on first use and kept."""
        with self._lock:
            session = self._sessions.get(name)
            if session is None:
                check_model_name(name, self.names())
                assert self.models_dir is not None  # only the built-in exists without one
                session = open_segmenter(self.models_dir / f"{name}.onnx", self.threads)
                self._sessions[name] = session
            return session

    def model_set(self, product_model: str | None) -> ModelSet:
        """The warm set with `product_model` (None: the default) segmenting products."""
        product_model = product_model or self.default
        if product_model == BUILTIN_MODEL:
            return self.models
        return dataclasses.replace(self.models, product=self.segmenter(product_model))


def open_segmenter(path: Path, threads: int = 1) -> SaliencyModel:
    """A session for a user-supplied model file, fed as its family expects."""
    from photofix.models.u2net import SaliencySession

    preset = preprocess_for(path.stem)
    normalise = {"mean": preset.mean, "std": preset.std}
    return SaliencySession(
        path,
        name=path.stem,
        size=preset.size,
        sigmoid=preset.sigmoid,
        threads=threads,
        **{key: value for key, value in normalise.items() if value is not None},
    )


@functools.cache
def catalog_for(models_dir: Path | None, threads: int, default: str) -> ModelCatalog:
    """One catalog per process and configuration (the CLI and the worker processes)."""
    from photofix.models import load_models

    return ModelCatalog(load_models(threads), models_dir, threads=threads, default=default)

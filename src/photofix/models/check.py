"""`python -m photofix.models.check`: load every default model once and verify its sha256."""

from __future__ import annotations

import sys

from photofix.errors import ModelError
from photofix.models import load_models


def main() -> int:
    try:
        models = load_models()
    except ModelError as exc:
        print(f"model check failed: {exc}", file=sys.stderr)
        return 1
    names = [type(m).__name__ for m in (models.saliency, models.orientation, models.text)]
    print("models ok:", ", ".join(names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

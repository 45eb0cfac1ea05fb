"""Left for photofix.local, which still imports `open_catalog` from here: the runtime, worker
processes included, is wired in photofix.runtime. Import it from there and delete this module."""

from __future__ import annotations

from photofix.runtime import open_catalog

__all__ = ["open_catalog"]

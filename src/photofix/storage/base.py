"""The ResultStore seam: local disk embedded; S3-compatible storage when scaled out."""

from __future__ import annotations

import re
from typing import Protocol

_NAME = re.compile(r"^[a-z]+/[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_blob_name(name: str) -> str:
    """Blob names are `<kind>/<file>`: nothing that could climb out of a directory."""
    if not _NAME.match(name) or ".." in name:
        raise ValueError(f"invalid blob name {name!r}")
    return name


class ResultStore(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> None: ...

    def get(self, name: str) -> bytes:
        """The blob's bytes; FileNotFoundError when it is gone."""
        ...

    def delete(self, name: str) -> None:
        """Remove the blob; a missing blob is not an error."""
        ...

    def ping(self) -> bool:
        """True when the store can be written; raises StoreUnavailable when it cannot."""
        ...

    def url(self, name: str, expires_at: float, base_url: str) -> str:
        """A URL that serves the blob without an API key until `expires_at` (Unix seconds)."""
        ...

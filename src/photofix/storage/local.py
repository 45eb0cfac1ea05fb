"""Results on local disk, served by the API under HMAC-signed, expiring URLs."""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from photofix.storage.base import check_blob_name

RESULTS_ROUTE = "/api/results"


class LocalResultStore:
    def __init__(self, root: Path, secret: bytes) -> None:
        self._root = root
        self._secret = secret
        root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self._root / check_blob_name(name)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file and a crash leaves no partial.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def ping(self) -> bool:
        return self._root.is_dir() and os.access(self._root, os.W_OK)

    def url(self, name: str, expires_at: float, base_url: str) -> str:
        expires = int(expires_at)
        signature = self.sign(name, expires)
        return (
            f"{base_url.rstrip('/')}{RESULTS_ROUTE}/{quote(name)}"
            f"?expires={expires}&signature={signature}"
        )

    def sign(self, name: str, expires: int) -> str:
        message = f"{name}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, name: str, expires: int, signature: str, now: float | None = None) -> bool:
        """True if the signature is ours and has not expired (constant-time comparison)."""
        valid = hmac.compare_digest(self.sign(name, expires), signature)
        return valid and (now if now is not None else time.time()) < expires

    def sweep_orphans(self, older_than: float) -> int:
        """Delete temp files and blobs left behind by a crash (no task points at them any more)."""
        removed = 0
        for path in self._root.glob("*/*"):
            if path.is_file() and path.stat().st_mtime < older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

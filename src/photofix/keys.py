"""API keys: shown once at creation, stored only as SHA-256 hashes, checked in constant time.

Keys are 256-bit random tokens, so a fast hash is enough (nothing to brute-force); the store is
a small JSON file in the data dir, rewritten atomically.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

KEY_PREFIX = "pfx_"


@dataclass(frozen=True)
class ApiKey:
    key_id: str  # stable, non-secret id: tasks are owned by it
    name: str
    sha256: str
    created_at: float


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class KeyStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._cache: tuple[int, list[ApiKey]] | None = None

    def create(self, name: str) -> tuple[ApiKey, str]:
        """A new key; the plaintext token is returned here and never stored."""
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            key_id=secrets.token_hex(8), name=name, sha256=_hash(token), created_at=time.time()
        )
        self._write([*self.list(), key])
        return key, token

    def list(self) -> list[ApiKey]:
        try:
            mtime = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        if self._cache is None or self._cache[0] != mtime:
            entries = json.loads(self._path.read_text())
            self._cache = (mtime, [ApiKey(**entry) for entry in entries])
        return list(self._cache[1])

    def revoke(self, name_or_id: str) -> int:
        keep = [k for k in self.list() if name_or_id not in (k.name, k.key_id)]
        removed = len(self.list()) - len(keep)
        if removed:
            self._write(keep)
        return removed

    def authenticate(self, token: str | None) -> ApiKey | None:
        """The key matching `token`. Every stored hash is compared, each in constant time."""
        if not token:
            return None
        presented = _hash(token)
        found = None
        for key in self.list():
            if hmac.compare_digest(presented, key.sha256):
                found = key
        return found

    def _write(self, keys: list[ApiKey]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".keys-")
        with os.fdopen(fd, "w") as fh:
            json.dump([asdict(k) for k in keys], fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self._path)
        self._cache = None

"""API keys: shown once at creation, stored only as SHA-256 hashes, checked in constant time.

Keys are 256-bit random tokens, so a fast hash is enough (nothing to brute-force); the store is
a small JSON file in the data dir, rewritten atomically under a lock (two `keys create` at once
neither lose a key nor both take one name). A name is unique and is never another key's id, so
that `revoke NAME_OR_ID` means one key.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from photofix.errors import BadRequest

KEY_PREFIX = "pfx_"
MAX_NAME_LENGTH = 64


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
        """A new key; the plaintext token is returned here and never stored. Raises BadRequest
        for an empty or unprintable name and for one that a key has (as its name or id)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
            raise BadRequest(
                f"a key name is 1 to {MAX_NAME_LENGTH} printable characters, e.g. ci or alice",
                field="name",
            )
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._locked():
            keys = self.list()
            for other in keys:
                if name in (other.name, other.key_id):
                    raise BadRequest(
                        f"{name!r} is taken by the key {other.name!r} (id {other.key_id}): "
                        "choose another name, or revoke that key first",
                        field="name",
                    )
            key = ApiKey(
                key_id=secrets.token_hex(8), name=name, sha256=_hash(token), created_at=time.time()
            )
            self._write([*keys, key])
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

    def revoke(self, name_or_id: str) -> list[ApiKey]:
        """Delete the key with this name or id; returns what was deleted (nothing: no match)."""
        wanted = {name_or_id, name_or_id.strip()}
        with self._locked():
            keys = self.list()
            removed = [k for k in keys if k.name in wanted or k.key_id in wanted]
            if removed:
                self._write([k for k in keys if k not in removed])
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

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Read-modify-write of the store, one writer at a time (processes and threads)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._path.with_name(self._path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._cache = None  # what another writer wrote before we held the lock
            yield

    def _write(self, keys: list[ApiKey]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".keys-")
        with os.fdopen(fd, "w") as fh:
            json.dump([asdict(k) for k in keys], fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self._path)
        self._cache = None

"""Per-key request rate limit: a token bucket per API key, kept in this process."""

from __future__ import annotations

import math
import threading
import time

from photofix.errors import RateLimited


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Spend one token for `key` or raise RateLimited with the wait until the next one."""
        if self._rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - last) * self._rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self._rate)
                raise RateLimited(f"rate limit exceeded; retry in {wait} s", retry_after=wait)
            self._buckets[key] = (tokens - 1.0, now)

"""Scale-out TaskStore on Redis: shared by every API node and worker, keys expire with retention.

A task is one hash. Two sorted sets index it: `unfinished` (by creation time) for recovery and
the overload check, `expiry` (by expires_at) for the sweeper, which must still read a task's
blob names to delete its files, so a hash outlives its expires_at by a grace period and the
service treats it as gone from expires_at on. Every update runs as one Lua script, which makes
the store's two promises atomic across nodes: progress never goes down, and a finished task
never changes (a late worker, a watchdog and a sweeper may race).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from photofix.errors import StoreUnavailable
from photofix.tasks.model import State, Task, TaskOptions
from photofix.tasks.store import UPDATABLE_FIELDS

# Seconds a task hash outlives its expires_at, so the sweeper can still find its blobs.
EXPIRY_GRACE = 600
_NONE = "\x00"  # marks a field set to None (the hash field is removed)
_JSON_FIELDS = frozenset({"meta", "options"})
_FLOAT_FIELDS = frozenset({"created_at", "expires_at", "processed_at", "completed_at"})
_INT_FIELDS = frozenset({"state", "progress", "attempts"})

# KEYS: task hash, unfinished zset, expiry zset. ARGV: task id, grace, then name/value pairs.
_UPDATE = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
state = tonumber(state)
if state == 1 or state < 0 then return 0 end
for i = 3, #ARGV, 2 do
  local name, value = ARGV[i], ARGV[i + 1]
  if name == 'progress' then
    local current = tonumber(redis.call('HGET', KEYS[1], 'progress') or '0')
    if tonumber(value) > current then redis.call('HSET', KEYS[1], name, value) end
  elseif value == '\\0' then
    redis.call('HDEL', KEYS[1], name)
  else
    redis.call('HSET', KEYS[1], name, value)
  end
  if name == 'expires_at' then
    redis.call('ZADD', KEYS[3], value, ARGV[1])
    redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(value) + tonumber(ARGV[2])))
  elseif name == 'state' then
    local new = tonumber(value)
    if new == 1 or new < 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
  end
end
return 1
"""

# KEYS: task hash, unfinished zset, expiry zset. ARGV: the cap, task id, created_at,
# expires_at, the hash's EXPIREAT, then the hash's name/value pairs.
_ADMIT = """
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('EXPIREAT', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
return 1
"""

# KEYS: expiry zset, unfinished zset. ARGV: now, task key prefix, batch size.
_POP_EXPIRED = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[2] .. id
  local fields = redis.call('HGETALL', key)
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  if #fields > 0 then table.insert(out, fields) end
end
return out
"""


class RedisTaskStore:
    def __init__(self, client: redis.Redis, *, prefix: str = "photofix") -> None:
        self._redis = client
        # One hash tag for every key: a Redis Cluster keeps them in one slot, as Lua needs.
        self._prefix = prefix
        base = f"{{{prefix}}}"
        self._task_prefix = f"{base}:task:"
        self._unfinished = f"{base}:unfinished"
        self._expiry = f"{base}:expiry"
        self._update = client.register_script(_UPDATE)
        self._admit = client.register_script(_ADMIT)
        self._pop_expired = client.register_script(_POP_EXPIRED)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "photofix") -> RedisTaskStore:
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=5.0,
            socket_connect_timeout=2.0,
            health_check_interval=30,
        )
        return cls(client, prefix=prefix)

    def _key(self, task_id: str) -> str:
        return self._task_prefix + task_id

    def create(self, task: Task) -> None:
        fields = _present_fields(task)
        with _available():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(self._key(task.task_id), mapping=fields)
            pipe.expireat(self._key(task.task_id), _hash_expiry(task))
            pipe.zadd(self._unfinished, {task.task_id: task.created_at})
            pipe.zadd(self._expiry, {task.task_id: task.expires_at})
            pipe.execute()

    def admit(self, task: Task, max_unfinished: int) -> bool:
        # The count and the insert run as one script: no other client runs in between.
        args: list[Any] = [
            max_unfinished,
            task.task_id,
            repr(task.created_at),
            repr(task.expires_at),
            _hash_expiry(task),
        ]
        for name, value in _present_fields(task).items():
            args += [name, value]
        keys = [self._key(task.task_id), self._unfinished, self._expiry]
        with _available():
            return bool(self._admit(keys=keys, args=args))

    def delete(self, task_id: str) -> None:
        with _available():
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(self._key(task_id))
            pipe.zrem(self._unfinished, task_id)
            pipe.zrem(self._expiry, task_id)
            pipe.execute()

    def get(self, task_id: str) -> Task | None:
        with _available():
            fields = self._redis.hgetall(self._key(task_id))
        return _decode_task(fields) if fields else None

    def update(self, task_id: str, **changes: Any) -> bool:
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        args: list[str] = [task_id, str(EXPIRY_GRACE)]
        for name, value in changes.items():
            args += [name, _encode_value(name, value)]
        with _available():
            keys = [self._key(task_id), self._unfinished, self._expiry]
            return bool(self._update(keys=keys, args=args))

    def unfinished(self) -> list[Task]:
        with _available():
            ids = self._redis.zrange(self._unfinished, 0, -1)
        tasks = [self.get(task_id) for task_id in ids]
        return [task for task in tasks if task is not None and not task.state.finished]

    def count_unfinished(self) -> int:
        with _available():
            return int(self._redis.zcard(self._unfinished))

    def pop_expired(self, now: float) -> list[Task]:
        expired: list[Task] = []
        while True:
            with _available():
                batch = self._pop_expired(
                    keys=[self._expiry, self._unfinished], args=[now, self._task_prefix, 500]
                )
            expired += [_decode_task(dict(zip(row[::2], row[1::2], strict=True))) for row in batch]
            if len(batch) < 500:
                return expired

    def ping(self) -> bool:
        with _available():
            return bool(self._redis.ping())

    def close(self) -> None:
        self._redis.close()


@contextmanager
def _available() -> Iterator[None]:
    """Turn Redis connection trouble into StoreUnavailable (HTTP 503 with Retry-After)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"task store unavailable: {exc}") from exc


def _present_fields(task: Task) -> dict[str, str]:
    """The task's hash fields, without those set to None."""
    return {name: value for name, value in _encode_task(task).items() if value != _NONE}


def _hash_expiry(task: Task) -> int:
    return math.ceil(task.expires_at + EXPIRY_GRACE)


def _encode_value(name: str, value: Any) -> str:
    if value is None:
        return _NONE
    if name in _JSON_FIELDS:
        return json.dumps(value)
    if isinstance(value, State):
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _encode_task(task: Task) -> dict[str, str]:
    values: dict[str, Any] = {
        "task_id": task.task_id,
        "owner": task.owner,
        "options": task.options.to_dict(),
        "state": task.state,
        "state_detail": task.state_detail,
        "progress": task.progress,
        "source_url": task.source_url,
        "source_blob": task.source_blob,
        "result_blob": task.result_blob,
        "result_content_type": task.result_content_type,
        "meta": task.meta,
        "created_at": task.created_at,
        "processed_at": task.processed_at,
        "completed_at": task.completed_at,
        "expires_at": task.expires_at,
        "attempts": task.attempts,
    }
    return {name: _encode_value(name, value) for name, value in values.items()}


def _decode_task(fields: dict[str, str]) -> Task:
    def value(name: str) -> Any:
        raw = fields.get(name)
        if raw is None:
            return None
        if name in _JSON_FIELDS:
            return json.loads(raw)
        if name in _FLOAT_FIELDS:
            return float(raw)
        if name in _INT_FIELDS:
            return int(raw)
        return raw

    return Task(
        task_id=value("task_id"),
        owner=value("owner"),
        options=TaskOptions.from_dict(value("options")),
        created_at=value("created_at"),
        expires_at=value("expires_at"),
        state=State(value("state")),
        state_detail=value("state_detail"),
        progress=value("progress") or 0,
        source_url=value("source_url"),
        source_blob=value("source_blob"),
        result_blob=value("result_blob"),
        result_content_type=value("result_content_type"),
        meta=value("meta"),
        processed_at=value("processed_at"),
        completed_at=value("completed_at"),
        attempts=value("attempts") or 0,
    )

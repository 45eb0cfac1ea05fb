"""The invariants every TaskStore must keep, run against each back-end: SQLite (embedded) and
Redis (scale-out; the Redis server on this machine, see tests/conftest.py)."""

from __future__ import annotations

import threading
import time

import pytest

from photofix.tasks.model import State, Task, TaskOptions
from photofix.tasks.store_redis import EXPIRY_GRACE
from photofix.tasks.store_sqlite import SqliteTaskStore


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteTaskStore(tmp_path / "tasks.sqlite3")
    else:
        yield request.getfixturevalue("redis_store")


def _task(task_id: str = "a", expires_in: float = 3600) -> Task:
    now = time.time()
    return Task(
        task_id=task_id,
        owner="k1",
        options=TaskOptions(type=2, return_type=2, corners=(1, 2, 3, 4, 5, 6, 7, 8)),
        created_at=now,
        expires_at=now + expires_in,
        source_url="https://example.com/a.jpg",
    )


def test_round_trip(store):
    store.create(_task())
    task = store.get("a")
    assert task is not None
    assert task.options == TaskOptions(type=2, return_type=2, corners=(1, 2, 3, 4, 5, 6, 7, 8))
    assert task.state == State.QUEUED and task.source_url == "https://example.com/a.jpg"
    assert store.get("missing") is None


def test_progress_only_grows(store):
    store.create(_task())
    store.update("a", progress=40)
    store.update("a", progress=10)
    assert store.get("a").progress == 40


def test_finished_task_is_frozen(store):
    store.create(_task())
    assert store.update("a", state=State.SUCCEEDED, progress=100, meta={"width": 3})
    assert not store.update("a", state=State.TIMED_OUT, state_detail="late watchdog")
    task = store.get("a")
    assert task.state == State.SUCCEEDED and task.meta == {"width": 3}


def test_unfinished_and_expiry(store):
    store.create(_task("live"))
    store.create(_task("old", expires_in=-1))
    store.update("old", state=State.SUCCEEDED)
    assert [t.task_id for t in store.unfinished()] == ["live"]
    assert store.count_unfinished() == 1
    assert [t.task_id for t in store.pop_expired(time.time())] == ["old"]
    assert store.get("old") is None


def test_rejects_unknown_columns(store):
    store.create(_task())
    with pytest.raises(ValueError):
        store.update("a", owner="someone else")


def test_none_fields_and_meta_round_trip(store):
    store.create(_task())
    assert store.update("a", state_detail="busy", meta={"rotation": 90, "corners": [[1.5, 2]]})
    assert store.update("a", state_detail=None)
    task = store.get("a")
    assert task.state_detail is None and task.meta == {"rotation": 90, "corners": [[1.5, 2]]}
    assert task.processed_at is None and task.attempts == 0


def test_failed_task_leaves_the_unfinished_set(store):
    store.create(_task("x"))
    assert store.update("x", state=State.FAILED, state_detail="broken")
    assert store.count_unfinished() == 0 and store.unfinished() == []
    assert not store.update("x", progress=50)


def test_concurrent_progress_updates_never_go_back(store):
    store.create(_task())

    def bump(values: range) -> None:
        for value in values:
            store.update("a", progress=value)

    threads = [threading.Thread(target=bump, args=(range(k, 100, 4),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("a").progress == 99


def test_redis_keys_expire_after_retention_plus_grace(redis_store):
    task = _task(expires_in=30)
    redis_store.create(task)
    ttl = redis_store._redis.ttl(redis_store._key(task.task_id))
    assert 30 + EXPIRY_GRACE - 5 <= ttl <= 30 + EXPIRY_GRACE + 1
    finished_at = time.time()
    redis_store.update(task.task_id, state=State.SUCCEEDED, expires_at=finished_at + 3600)
    ttl = redis_store._redis.ttl(redis_store._key(task.task_id))
    assert 3600 + EXPIRY_GRACE - 5 <= ttl <= 3600 + EXPIRY_GRACE + 1


def test_admit_inserts_only_under_the_cap(store):
    assert store.admit(_task("a"), max_unfinished=2)
    assert store.admit(_task("b"), max_unfinished=2)
    assert not store.admit(_task("c"), max_unfinished=2)
    assert store.get("c") is None and store.count_unfinished() == 2
    store.update("a", state=State.SUCCEEDED)  # a finished task frees its place
    assert store.admit(_task("c"), max_unfinished=2)
    assert store.get("c").options == TaskOptions(
        type=2, return_type=2, corners=(1, 2, 3, 4, 5, 6, 7, 8)
    )


def test_concurrent_admissions_never_overrun_the_cap(store):
    cap, burst = 3, 12
    start = threading.Barrier(burst)
    admitted: list[bool] = []

    def admit(task_id: str) -> None:
        start.wait()
        admitted.append(store.admit(_task(task_id), max_unfinished=cap))

    threads = [threading.Thread(target=admit, args=(f"t{i}",)) for i in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == cap
    assert store.count_unfinished() == cap and len(store.unfinished()) == cap


def test_delete_removes_the_task_from_every_index(store):
    store.create(_task("a"))
    store.delete("a")
    store.delete("never-there")
    assert store.get("a") is None
    assert store.count_unfinished() == 0 and store.unfinished() == []
    assert store.pop_expired(time.time() + 7200) == []

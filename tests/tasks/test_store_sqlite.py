"""SqliteTaskStore: the invariants every TaskStore must keep."""

from __future__ import annotations

import time

import pytest

from photofix.tasks.model import State, Task, TaskOptions
from photofix.tasks.store_sqlite import SqliteTaskStore


@pytest.fixture
def store(tmp_path):
    return SqliteTaskStore(tmp_path / "tasks.sqlite3")


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

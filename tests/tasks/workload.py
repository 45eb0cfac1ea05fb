"""Stand-in worker targets and initializers for runner tests (they run in real spawned worker
processes), and a way to find those processes."""

from __future__ import annotations

import multiprocessing
import os
import time

from photofix.config import Settings
from photofix.tasks.model import State
from photofix.tasks.store_sqlite import SqliteTaskStore

_settings: Settings | None = None


def no_init(settings: Settings) -> None:
    global _settings
    _settings = settings


def fail_init(settings: Settings) -> None:
    raise RuntimeError("this worker cannot start")


def hang(task_id: str) -> None:
    time.sleep(60)


def die(task_id: str) -> None:
    os._exit(9)


def succeed(task_id: str) -> None:
    """Finish the task as a real worker would, without an image."""
    assert _settings is not None
    SqliteTaskStore(_settings.database_path).update(task_id, state=State.SUCCEEDED, progress=100)


def pool_workers(exclude: set[int], count: int, timeout: float = 60) -> list[int]:
    """The pids of this process's pool workers not in `exclude` (the workers of other pools,
    taken before), once `count` of them are alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [pid for pid in pebble_workers() if pid not in exclude]
        if len(pids) == count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"never {count} pool workers: {pebble_workers()} less {exclude}")


def pebble_workers() -> set[int]:
    return {
        process.pid
        for process in multiprocessing.active_children()
        if process.name == "pebble_pool_worker" and process.pid is not None
    }

"""TaskService bookkeeping that no worker does: stalled tasks are finished, never left open."""

from __future__ import annotations

import time

from photofix.imaging.codec import ImageLimits
from photofix.storage.local import LocalResultStore
from photofix.tasks.model import State, Task, TaskOptions
from photofix.tasks.service import SourceLimits, TaskService
from photofix.tasks.store_sqlite import SqliteTaskStore


class RecordingRunner:
    redelivers = False
    stall_seconds = 30.0

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def start(self) -> None: ...

    def submit(self, task_id: str) -> None:
        self.submitted.append(task_id)

    def shutdown(self) -> None: ...


def service(tmp_path) -> TaskService:
    return TaskService(
        SqliteTaskStore(tmp_path / "tasks.sqlite3"),
        LocalResultStore(tmp_path / "blobs", b"secret"),
        RecordingRunner(),
        limits=SourceLimits(image=ImageLimits(), fetch_timeout=5.0),
        retention_seconds=600,
        max_pending_tasks=10,
    )


def add(svc: TaskService, task_id: str, age: float, **fields: object) -> None:
    now = time.time()
    svc.store.create(
        Task(task_id, "owner", TaskOptions(), created_at=now - age, expires_at=now + 600)
    )
    if fields:
        svc.store.update(task_id, **fields)


def test_stalled_tasks_are_failed_and_live_ones_left_alone(tmp_path):
    svc = service(tmp_path)
    now = time.time()
    add(svc, "lost", 100, state=State.PROCESSING, processed_at=now - 45)
    add(svc, "busy", 100, state=State.PROCESSING, processed_at=now - 5)
    add(svc, "forgotten", 700, state=State.WAITING)
    add(svc, "queued", 100, state=State.WAITING)
    assert svc.fail_stalled(now) == 2
    states = {t: svc.store.get(t) for t in ("lost", "busy", "forgotten", "queued")}
    assert states["lost"].state == State.FAILED and "lost" in states["lost"].state_detail
    assert states["forgotten"].state == State.FAILED
    assert states["busy"].state == State.PROCESSING and states["queued"].state == State.WAITING


def test_recover_requeues_in_flight_tasks_and_fails_poison_pills(tmp_path):
    svc = service(tmp_path)
    add(svc, "interrupted", 10, state=State.PROCESSING, attempts=1)
    add(svc, "poison", 10, state=State.PROCESSING, attempts=2)
    assert svc.recover() == 2
    assert svc.runner.submitted == ["interrupted"]
    assert svc.store.get("interrupted").state == State.WAITING
    assert svc.store.get("poison").state == State.FAILED

"""TaskService bookkeeping that no worker does: admission under the pending cap, creates that
leave nothing behind when they fail, stalled tasks finished and never left open."""

from __future__ import annotations

import threading
import time

import pytest

from photofix.errors import Overloaded, StoreUnavailable
from photofix.imaging.codec import ImageLimits
from photofix.storage.local import LocalResultStore
from photofix.tasks.model import State, Task, TaskOptions
from photofix.tasks.service import SourceLimits, TaskService, source_blob_name
from photofix.tasks.store import TaskStore
from photofix.tasks.store_sqlite import SqliteTaskStore
from tests.synth import encode, text_page


class RecordingRunner:
    redelivers = False
    stall_seconds = 30.0

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def start(self) -> None: ...

    def submit(self, task_id: str) -> None:
        self.submitted.append(task_id)

    def ping(self) -> bool:
        return True

    def shutdown(self) -> None: ...


class RefusingRunner(RecordingRunner):
    def submit(self, task_id: str) -> None:
        raise StoreUnavailable("task queue unavailable: test")


def service(
    tmp_path,
    store: TaskStore | None = None,
    runner: RecordingRunner | None = None,
    max_pending_tasks: int = 10,
) -> TaskService:
    return TaskService(
        store or SqliteTaskStore(tmp_path / "tasks.sqlite3"),
        LocalResultStore(tmp_path / "blobs", b"secret"),
        runner or RecordingRunner(),
        limits=SourceLimits(image=ImageLimits(), fetch_timeout=5.0),
        retention_seconds=600,
        max_pending_tasks=max_pending_tasks,
    )


@pytest.fixture(params=["sqlite", "redis"])
def task_store(request, tmp_path) -> TaskStore:
    if request.param == "sqlite":
        return SqliteTaskStore(tmp_path / "tasks.sqlite3")
    return request.getfixturevalue("redis_store")


def _sources(svc: TaskService) -> list[str]:
    folder = svc.results.path(source_blob_name("any")).parent
    return sorted(path.name for path in folder.glob("*"))


def test_a_burst_of_creates_never_overruns_the_pending_cap(tmp_path, task_store):
    svc = service(tmp_path, task_store, max_pending_tasks=3)
    image = encode(text_page(200, 260), "JPEG")
    burst = 10
    start = threading.Barrier(burst)
    created: list[str] = []
    refused: list[Overloaded] = []

    def create() -> None:
        start.wait()
        try:
            created.append(svc.create("owner", TaskOptions(), image_bytes=image).task_id)
        except Overloaded as exc:
            refused.append(exc)

    threads = [threading.Thread(target=create) for _ in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == 3 and len(refused) == burst - 3
    assert all(exc.http_status == 503 and exc.retry_after >= 1 for exc in refused)
    assert sorted(t.task_id for t in svc.store.unfinished()) == sorted(created)
    assert _sources(svc) == sorted(created)  # a refused create keeps no upload
    assert sorted(svc.runner.submitted) == sorted(created)


def test_a_create_that_cannot_be_queued_leaves_nothing_behind(tmp_path, task_store):
    svc = service(tmp_path, task_store, runner=RefusingRunner())
    image = encode(text_page(200, 260), "JPEG")
    with pytest.raises(StoreUnavailable):
        svc.create("owner", TaskOptions(), image_bytes=image)
    assert svc.store.unfinished() == [] and svc.store.count_unfinished() == 0
    assert _sources(svc) == []


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


def test_a_stalled_task_loses_its_uploaded_source(tmp_path):
    svc = service(tmp_path)
    now = time.time()
    blob = source_blob_name("lost")
    svc.results.put(blob, b"image bytes", "application/octet-stream")
    add(svc, "lost", 100, state=State.PROCESSING, processed_at=now - 45, source_blob=blob)
    assert svc.fail_stalled(now) == 1
    assert svc.store.get("lost").state == State.FAILED
    assert not svc.results.path(blob).exists()

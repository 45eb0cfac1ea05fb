"""The embedded runtime's promises: nothing lost on restart, timeouts and crashes end tasks."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from photofix.api import create_app
from photofix.keys import KeyStore
from photofix.storage.local import LocalResultStore
from photofix.tasks.model import State, Task, TaskOptions
from photofix.tasks.runner_local import LocalRunner
from photofix.tasks.service import source_blob_name
from photofix.tasks.store_sqlite import SqliteTaskStore
from tests.conftest import make_settings
from tests.synth import encode, text_page
from tests.tasks import workload

PATH = "/api/tasks/visual/correction"


def _queued_task(store: SqliteTaskStore, owner: str, **fields: object) -> Task:
    now = time.time()
    task = Task(
        task_id=f"t-{time.monotonic_ns()}",
        owner=owner,
        options=TaskOptions(type=1),
        created_at=now,
        expires_at=now + 3600,
    )
    store.create(task)
    if fields:
        store.update(task.task_id, **fields)
    return task


def _wait_finished(store: SqliteTaskStore, task_id: str, timeout: float = 30) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = store.get(task_id)
        assert task is not None
        if task.state.finished:
            return task
        time.sleep(0.05)
    raise AssertionError(f"{task_id} still unfinished: {store.get(task_id)}")


def test_restart_keeps_finished_tasks_and_finishes_interrupted_ones(tmp_path):
    settings = make_settings(tmp_path, workers=1)
    key, token = KeyStore(settings.keys_path).create("restart")
    headers = {"X-API-KEY": token}
    image = encode(text_page(300, 400), "JPEG")
    with TestClient(create_app(settings)) as client:
        files = {"image_file": ("a.jpg", image, "image/jpeg")}
        done = client.post(PATH, data={"sync": "1"}, files=files, headers=headers).json()["data"]
        assert done["state"] == 1

    # Simulate a crash mid-flight: one task a worker was processing, one that died twice.
    store = SqliteTaskStore(settings.database_path)
    blobs = LocalResultStore(settings.blobs_dir, settings.secret_key())
    interrupted = _queued_task(store, key.key_id, state=State.PROCESSING, progress=30, attempts=1)
    blobs.put(source_blob_name(interrupted.task_id), image, "image/jpeg")
    store.update(interrupted.task_id, source_blob=source_blob_name(interrupted.task_id))
    poisoned = _queued_task(store, key.key_id, state=State.PROCESSING, attempts=2)

    with TestClient(create_app(settings)) as client:
        kept = client.get(f"{PATH}/{done['task_id']}", headers=headers).json()["data"]
        assert kept["state"] == 1 and kept["completed_at"] == done["completed_at"]
        assert client.get(kept["image"]).status_code == 200
        assert _wait_finished(store, interrupted.task_id).state == State.SUCCEEDED
        failed = _wait_finished(store, poisoned.task_id)
        assert failed.state == State.FAILED and "died" in (failed.state_detail or "")
    assert not blobs.path(source_blob_name(interrupted.task_id)).exists()


@pytest.mark.parametrize(
    ("target", "state", "detail"),
    [(workload.hang, State.TIMED_OUT, "longer than"), (workload.die, State.FAILED, "died")],
)
def test_hung_or_crashed_worker_ends_the_task(tmp_path, target, state, detail):
    settings = make_settings(tmp_path, workers=1, task_timeout=1.0)
    store = SqliteTaskStore(settings.database_path)
    runner = LocalRunner(settings, store, target=target, initializer=workload.no_init)
    runner.start()
    try:
        task = _queued_task(store, "owner", state=State.WAITING)
        runner.submit(task.task_id)
        finished = _wait_finished(store, task.task_id)
        assert finished.state == state
        assert detail in (finished.state_detail or "")
        # The pool replaced the worker: the next task is taken too.
        second = _queued_task(store, "owner", state=State.WAITING)
        runner.submit(second.task_id)
        assert _wait_finished(store, second.task_id).state == state
    finally:
        runner.shutdown()

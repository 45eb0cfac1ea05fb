"""The embedded runtime's promises: nothing lost on restart, timeouts and crashes end tasks."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photofix.api import create_app
from photofix.config import Settings
from photofix.errors import Overloaded
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


@contextmanager
def _runner(settings: Settings, store: SqliteTaskStore, **kwargs: object) -> Iterator[LocalRunner]:
    """A started LocalRunner; `runner.others` are the pool workers that were there before."""
    others = workload.pebble_workers()
    blobs = LocalResultStore(settings.blobs_dir, settings.secret_key())
    runner = LocalRunner(settings, store, blobs, **kwargs)  # type: ignore[arg-type]
    runner.start()
    runner.others = others  # type: ignore[attr-defined]
    try:
        yield runner
    finally:
        runner.shutdown()


def _uploaded_task(store: SqliteTaskStore, settings: Settings) -> tuple[Task, Path]:
    """A waiting task with an uploaded source blob, as TaskService.create leaves it."""
    blobs = LocalResultStore(settings.blobs_dir, settings.secret_key())
    task = _queued_task(store, "owner", state=State.WAITING)
    blob = source_blob_name(task.task_id)
    blobs.put(blob, b"image bytes", "application/octet-stream")
    store.update(task.task_id, source_blob=blob)
    return task, blobs.path(blob)


@pytest.mark.parametrize(
    ("target", "state", "detail"),
    [(workload.hang, State.TIMED_OUT, "longer than"), (workload.die, State.FAILED, "died")],
)
def test_hung_or_crashed_worker_ends_the_task_and_drops_its_source(tmp_path, target, state, detail):
    settings = make_settings(tmp_path, workers=1, task_timeout=1.0)
    store = SqliteTaskStore(settings.database_path)
    with _runner(settings, store, target=target, initializer=workload.no_init) as runner:
        task, source = _uploaded_task(store, settings)
        runner.submit(task.task_id)
        finished = _wait_finished(store, task.task_id)
        assert finished.state == state
        assert detail in (finished.state_detail or "")
        assert not source.exists()  # the worker was killed: the runner removed its upload
        # The pool replaced the worker: the next task is taken too.
        second = _queued_task(store, "owner", state=State.WAITING)
        runner.submit(second.task_id)
        assert _wait_finished(store, second.task_id).state == state
        runner.ping()


def test_idle_workers_killed_the_pool_is_replaced(tmp_path):
    settings = make_settings(tmp_path, workers=2)
    store = SqliteTaskStore(settings.database_path)
    with _runner(settings, store, target=workload.succeed, initializer=workload.no_init) as runner:
        first = _queued_task(store, "owner", state=State.WAITING)
        runner.submit(first.task_id)
        assert _wait_finished(store, first.task_id).state == State.SUCCEEDED
        for round_ in range(2):  # one idle worker, then all of them
            workers = workload.pool_workers(runner.others, 2)
            for pid in workers[: round_ + 1]:
                os.kill(pid, signal.SIGKILL)
            if round_:
                time.sleep(1.0)  # pebble has seen it and broken the pool; or it was replaced
            task = _queued_task(store, "owner", state=State.WAITING)
            runner.submit(task.task_id)
            assert _wait_finished(store, task.task_id).state == State.SUCCEEDED
            assert runner.ping()


def test_workers_that_cannot_start_are_reported_and_refuse_tasks(tmp_path):
    settings = make_settings(tmp_path, workers=1)
    store = SqliteTaskStore(settings.database_path)
    failing = {"target": workload.succeed, "initializer": workload.fail_init}
    with _runner(settings, store, **failing) as runner:
        task, source = _uploaded_task(store, settings)
        runner.submit(task.task_id)  # taken: the first pool may still start
        failed = _wait_finished(store, task.task_id, timeout=60)
        assert failed.state == State.FAILED and "can start" in (failed.state_detail or "")
        assert not source.exists()
        with pytest.raises(Overloaded):
            runner.ping()
        with pytest.raises(Overloaded):
            runner.submit(_queued_task(store, "owner", state=State.WAITING).task_id)

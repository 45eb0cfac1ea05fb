"""Process faults under the embedded runtime, on the real app with real worker processes and
models: a worker killed while idle or while busy (SIGKILL, as the OOM killer does), and workers
that cannot start. The service keeps answering, and a create either returns a task id that
finishes or leaves nothing behind."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from photofix.api import create_app
from photofix.keys import KeyStore
from photofix.tasks.model import State, Task
from tests.conftest import LiveApp, make_settings
from tests.synth import encode, product_scene, text_page
from tests.tasks import workload

PATH = "/api/tasks/visual/correction"
WORKERS = 2


class FaultyApp(LiveApp):
    others: set[int]  # pool workers of other apps in this process: never ours to kill

    def post(self, image: bytes, **fields: object):
        files = {"image_file": ("in.jpg", image, "image/jpeg")}
        data = {name: str(value) for name, value in fields.items()}
        return self.client.post(PATH, data=data, files=files, headers=self.headers())

    def workers(self) -> list[int]:
        return workload.pool_workers(self.others, WORKERS)

    def task(self, task_id: str) -> Task:
        task = self.state.service.store.get(task_id)
        assert task is not None
        return task

    def wait(self, task_id: str, condition, timeout: float = 60) -> Task:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.task(task_id)
            if condition(task):
                return task
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting on {task_id}: {self.task(task_id)}")

    def sources(self) -> list[Path]:
        return list((self.settings.blobs_dir / "sources").glob("*"))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyApp]:
    settings = make_settings(
        tmp_path_factory.mktemp("faults"), workers=WORKERS, model_threads=1, sync_timeout=90.0
    )
    _, key = KeyStore(settings.keys_path).create("faults")
    others = workload.pebble_workers()
    with TestClient(create_app(settings)) as client:
        faulty = FaultyApp(client, settings, key, key)
        faulty.others = others
        yield faulty


@pytest.fixture(scope="module")
def page() -> bytes:
    return encode(text_page(300, 400), "JPEG")


def _succeeds(app: FaultyApp, page: bytes) -> None:
    answer = app.post(page, sync=1)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["state"] == 1


def test_idle_workers_killed_the_next_create_still_succeeds(app, page):
    _succeeds(app, page)  # the workers are up and idle
    for victims in (1, WORKERS):  # one idle worker, then all of them
        for pid in app.workers()[:victims]:
            os.kill(pid, signal.SIGKILL)
        _succeeds(app, page)
        assert app.client.get("/readyz").status_code == 200
    assert app.state.service.store.count_unfinished() == 0 and app.sources() == []


def test_busy_worker_killed_fails_its_task_alone(app, page):
    _succeeds(app, page)
    scene, _ = product_scene(size=(3200, 2400))
    answer = app.post(encode(scene, "JPEG", quality=90), type=4)
    assert answer.status_code == 200, answer.text
    task_id = answer.json()["data"]["task_id"]
    app.wait(task_id, lambda task: task.state == State.PROCESSING)
    os.kill(_busiest(app.workers()), signal.SIGKILL)

    failed = app.wait(task_id, lambda task: task.state.finished)
    assert failed.state == State.FAILED
    assert "died" in failed.state_detail and "SIGKILL" in failed.state_detail
    seen = app.client.get(f"{PATH}/{task_id}", headers=app.headers()).json()["data"]
    assert seen["state"] == -1 and seen["state_detail"] == failed.state_detail
    assert app.sources() == []  # the upload went with its task
    _succeeds(app, page)


def test_workers_that_cannot_start_are_503_until_they_can(app, page):
    runner = app.state.service.runner
    real = runner._initializer
    runner._initializer = workload.fail_init  # every new worker process fails to start
    try:
        for pid in app.workers():
            os.kill(pid, signal.SIGKILL)
        ready = _wait_readyz(app, 503)
        assert ready["runner"] is False and ready["task_store"] is True
        refused = app.post(page)
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
        assert app.state.service.store.count_unfinished() == 0 and app.sources() == []
    finally:
        runner._initializer = real
    assert _wait_readyz(app, 200, timeout=90)["runner"] is True
    _succeeds(app, page)


def _wait_readyz(app: FaultyApp, status: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = app.client.get("/readyz")
        if answer.status_code == status:
            return answer.json()
        time.sleep(0.2)
    raise AssertionError(f"/readyz never answered {status}: {answer.json()}")


def _busiest(pids: list[int]) -> int:
    """The worker that is running a task: the one using CPU (an idle one waits on a pipe)."""
    before = {pid: _cpu_ticks(pid) for pid in pids}
    time.sleep(0.3)
    return max(pids, key=lambda pid: _cpu_ticks(pid) - before[pid])


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime

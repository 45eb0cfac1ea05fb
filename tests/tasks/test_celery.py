"""The scale-out runtime end to end: the real API, real `photofix worker` processes (Celery),
the Redis server on this machine, results on a shared local directory.

Each test gets its own Redis key prefix (task store and Celery queue alike), so tests and
developers' own stacks never see each other's tasks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from photofix.api import create_app
from photofix.config import Settings
from photofix.errors import StoreUnavailable
from photofix.keys import KeyStore
from photofix.storage.s3 import S3ResultStore
from photofix.tasks.model import State, Task
from photofix.tasks.runner_celery import CeleryRunner
from photofix.tasks.store_redis import RedisTaskStore
from tests.conftest import REDIS_URL, make_settings
from tests.synth import encode, product_scene, text_page

PATH = "/api/tasks/visual/correction"
TASK_TIMEOUT = 6.0  # short, so a vanished worker's message returns within the test


class Stack:
    """An API (TestClient) and Celery workers sharing one Redis prefix and data dir."""

    def __init__(self, data_dir: Path, **settings: object) -> None:
        self.prefix = f"photofix-test-{uuid.uuid4().hex[:12]}"
        self.settings: Settings = make_settings(
            data_dir,
            runtime="celery",
            redis_url=REDIS_URL,
            redis_prefix=self.prefix,
            task_timeout=TASK_TIMEOUT,
            model_threads=1,
            **settings,
        )
        self.store = RedisTaskStore.from_url(REDIS_URL, prefix=self.prefix)
        _, self.token = KeyStore(self.settings.keys_path).create("celery-tests")
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PHOTOFIX_DATA_DIR": str(self.settings.data_dir),
            "PHOTOFIX_REDIS_URL": REDIS_URL,
            "PHOTOFIX_REDIS_PREFIX": self.prefix,
            "PHOTOFIX_TASK_TIMEOUT": str(TASK_TIMEOUT),
            "PHOTOFIX_MODEL_THREADS": "1",
            **{
                f"PHOTOFIX_{name.upper()}": str(getattr(self.settings, name))
                for name in ("result_store", "s3_bucket", "s3_endpoint_url", "s3_region")
                if getattr(self.settings, name) is not None
            },
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        command = [sys.executable, "-m", "photofix", "worker", "--concurrency", "1"]
        worker = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.workers.append(worker)
        return worker

    def post(self, client: TestClient, image: bytes, **fields: object) -> dict:
        files = {"image_file": ("in.jpg", image, "image/jpeg")}
        data = {name: str(value) for name, value in fields.items()}
        answer = client.post(PATH, data=data, files=files, headers=self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.token}

    def wait(self, task_id: str, condition, timeout: float = 90.0) -> Task:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.store.get(task_id)
            if task is not None and condition(task):
                return task
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting on {task_id}: {self.store.get(task_id)}")

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _kill_tree(worker.pid)
                worker.wait()
        client = self.store._redis
        for pattern in (f"{{{self.prefix}}}*", f"{self.prefix}:*"):
            keys = list(client.scan_iter(match=pattern))
            if keys:
                client.delete(*keys)
        self.store.close()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def _kill_tree(pid: int) -> None:
    for child in _children(pid):
        _kill_tree(child)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.close()


def finished(task: Task) -> bool:
    return task.state.finished


def test_tasks_run_on_celery_workers_sync_and_async(stack):
    stack.start_worker()
    page = encode(text_page(500, 650), "JPEG")
    with TestClient(create_app(stack.settings)) as client:
        task_id = stack.post(client, page, type=1)["task_id"]
        done = stack.wait(task_id, finished)
        assert done.state == State.SUCCEEDED and done.attempts == 1
        answer = client.get(f"{PATH}/{task_id}", headers=stack.headers).json()["data"]
        assert answer["state"] == 1 and answer["progress"] == 100
        image = client.get(answer["image"])
        assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"

        synced = stack.post(client, page, type=1, sync=1, return_type=2)
        assert synced["state"] == 1 and synced["image"]
        # Same answer as the embedded runtime gives: the meta of the same pipeline.
        assert synced["meta"]["width"] == 500 and synced["meta"]["enhance"] == "color"


def test_results_in_s3_from_workers_on_other_processes(tmp_path, s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"photofix-{uuid.uuid4().hex[:12]}"
    stack = Stack(
        tmp_path,
        result_store="s3",
        s3_bucket=bucket,
        s3_endpoint_url=s3_server,
        s3_region="us-east-1",
    )
    try:
        S3ResultStore.connect(bucket, endpoint_url=s3_server, region="us-east-1")._s3.create_bucket(
            Bucket=bucket
        )
        stack.start_worker()
        page = encode(text_page(400, 520), "JPEG")
        with TestClient(create_app(stack.settings)) as client:
            synced = stack.post(client, page, type=1, sync=1)
            assert synced["state"] == 1
            assert synced["image"].startswith(f"{s3_server}/{bucket}/results/")
            image = httpx.get(synced["image"], timeout=10)  # presigned: no API key
            assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    finally:
        stack.close()
    assert not list(tmp_path.glob("blobs/*/*"))  # nothing went to local disk


def test_worker_process_killed_mid_task_is_redelivered(stack):
    worker = stack.start_worker()
    scene, _ = product_scene(size=(3200, 2400))
    with TestClient(create_app(stack.settings)) as client:
        task_id = stack.post(client, encode(scene, "JPEG", quality=90), type=4)["task_id"]
        stack.wait(task_id, lambda task: task.state == State.PROCESSING)
        for child in _children(worker.pid):  # the prefork process running the task
            os.kill(child, signal.SIGKILL)
        done = stack.wait(task_id, finished)
    assert done.state == State.SUCCEEDED
    assert done.attempts == 2  # ran twice, finished once


def test_whole_worker_killed_its_task_completes_on_another(stack):
    first = stack.start_worker()
    scene, _ = product_scene(size=(3200, 2400))
    with TestClient(create_app(stack.settings)) as client:
        task_id = stack.post(client, encode(scene, "JPEG", quality=90), type=4)["task_id"]
        stack.wait(task_id, lambda task: task.state == State.PROCESSING)
        _kill_tree(first.pid)  # the node is gone: no process left to give the task back
        first.wait()
        stack.start_worker()
        done = stack.wait(task_id, finished, timeout=120)
    assert done.state == State.SUCCEEDED and done.attempts == 2


def test_api_node_restarted_while_tasks_run_another_node_sees_them_finish(stack):
    stack.start_worker()
    page = encode(text_page(500, 650), "JPEG")
    with TestClient(create_app(stack.settings)) as node_a:
        task_ids = [stack.post(node_a, page, type=2)["task_id"] for _ in range(3)]
    # Node A is gone (its lifespan ended mid-flight); node B answers for the same tasks.
    with TestClient(create_app(stack.settings)) as node_b:
        for task_id in task_ids:
            stack.wait(task_id, finished)
            answer = node_b.get(f"{PATH}/{task_id}", headers=stack.headers).json()["data"]
            assert answer["state"] == 1 and node_b.get(answer["image"]).status_code == 200


def test_overload_is_refused_at_once_not_queued(tmp_path):
    stack = Stack(tmp_path, max_pending_tasks=2)  # and no worker: nothing drains the queue
    try:
        page = encode(text_page(200, 260), "JPEG")
        with TestClient(create_app(stack.settings)) as client:
            for _ in range(2):
                stack.post(client, page)
            files = {"image_file": ("in.jpg", page, "image/jpeg")}
            refused = client.post(PATH, files=files, headers=stack.headers)
            assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
            assert stack.store.count_unfinished() == 2  # the refused one was never queued
    finally:
        stack.close()


def test_runner_ping_is_the_broker_answering(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    alive = CeleryRunner(make_settings(tmp_path, runtime="celery", redis_url=REDIS_URL))
    assert alive.ping() is True
    with pytest.raises(StoreUnavailable):
        CeleryRunner(make_settings(tmp_path, runtime="celery", redis_url=dead)).ping()

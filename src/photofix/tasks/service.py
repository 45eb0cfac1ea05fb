"""Create, query and run tasks: source -> pipeline -> result store -> state.

`TaskService` is what the API calls; `execute_task` is what a worker runs for one task id.
Both only talk to the TaskStore, ResultStore and Runner protocols, never to a concrete back-end.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from photofix import fetch, metrics
from photofix.errors import (
    Overloaded,
    PhotofixError,
    ProcessingTimeout,
    TaskNotFound,
)
from photofix.imaging import codec
from photofix.models.catalog import ModelCatalog
from photofix.options import check_corners_fit
from photofix.process import process_image
from photofix.storage.base import ResultStore
from photofix.tasks.model import State, Task, TaskOptions
from photofix.tasks.runner import Runner
from photofix.tasks.store import TaskStore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # a task whose worker died twice is failed rather than retried forever
_DIED = "worker died while processing"


@dataclass(frozen=True)
class SourceLimits:
    image: codec.ImageLimits
    fetch_timeout: float
    allow_networks: tuple[Any, ...] = ()


def source_blob_name(task_id: str) -> str:
    return f"sources/{task_id}"


def result_blob_name(task_id: str, fmt: str) -> str:
    return f"results/{task_id}.{'jpg' if fmt == 'jpeg' else fmt}"


class TaskService:
    def __init__(
        self,
        store: TaskStore,
        results: ResultStore,
        runner: Runner,
        *,
        limits: SourceLimits,
        retention_seconds: int,
        max_pending_tasks: int,
    ) -> None:
        self.store = store
        self.results = results
        self.runner = runner
        self.limits = limits
        self.retention_seconds = retention_seconds
        self.max_pending_tasks = max_pending_tasks

    def create(
        self,
        owner: str,
        options: TaskOptions,
        *,
        image_bytes: bytes | None = None,
        image_url: str | None = None,
    ) -> Task:
        """Accept a task: validate the upload, admit it under the pending cap, keep its bytes,
        queue it. Returns the queued task or, raising a typed error, leaves nothing behind."""
        if self.store.count_unfinished() >= self.max_pending_tasks:
            raise _overloaded()  # early and cheap: spares the decoding; admit() decides
        if image_bytes is not None:
            info = codec.validate(image_bytes, self.limits.image)
            check_corners_fit(options, info)
        now = time.time()
        task_id = str(uuid.uuid4())
        task = Task(
            task_id=task_id,
            owner=owner,
            options=options,
            created_at=now,
            expires_at=now + self.retention_seconds,
            source_url=image_url,
            source_blob=source_blob_name(task_id) if image_bytes is not None else None,
        )
        if not self.store.admit(task, self.max_pending_tasks):
            raise _overloaded()
        try:
            if image_bytes is not None:
                self.results.put(source_blob_name(task_id), image_bytes, "application/octet-stream")
            self._submit(task_id)
        except BaseException:
            # The client gets an error and no task id: take back everything it left.
            self._discard(task)
            raise
        metrics.TASKS_CREATED.labels(type=str(options.type)).inc()
        return task

    def get(self, owner: str, task_id: str) -> Task:
        """The caller's task. Another key's, an unknown and an expired task look the same."""
        task = self.store.get(task_id)
        if task is None or task.owner != owner or task.expires_at <= time.time():
            raise TaskNotFound("task not found (unknown, expired, or not yours)")
        return task

    async def wait(self, owner: str, task_id: str, timeout: float) -> Task:
        """Poll until the task is finished or `timeout` passes; then return it as it is."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            task = await anyio.to_thread.run_sync(self.get, owner, task_id)
            if task.state.finished or time.monotonic() >= deadline:
                return task
            await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 1.5, 0.25)

    def recover(self) -> int:
        """After a restart: re-queue tasks that were in flight, fail those that keep dying."""
        count = 0
        for task in self.store.unfinished():
            if task.attempts >= MAX_ATTEMPTS:
                fail_task(self.store, self.results, task, State.FAILED, _DIED)
            else:
                self._submit(task.task_id)
            count += 1
        return count

    def sweep(self, now: float | None = None) -> int:
        """Finish stalled tasks, then delete expired tasks with their source and result blobs."""
        now = now if now is not None else time.time()
        self.fail_stalled(now)
        expired = self.store.pop_expired(now)
        for task in expired:
            for blob in (task.source_blob, task.result_blob):
                if blob:
                    self.results.delete(blob)
        return len(expired)

    def fail_stalled(self, now: float) -> int:
        """Finish the tasks nobody will finish, so none stays unfinished forever: running for
        longer than the runner could have let them (their worker vanished and nothing gave
        them back), or waiting for a worker as long as they would have been kept."""
        count = 0
        for task in self.store.unfinished():
            running = task.state in (State.PREPARING, State.PROCESSING)
            if running and now - (task.processed_at or task.created_at) > self.runner.stall_seconds:
                detail = "worker lost while processing"
            elif not running and now - task.created_at > self.retention_seconds:
                detail = "no worker took the task"
            else:
                continue
            fail_task(self.store, self.results, task, State.FAILED, detail)
            count += 1
        return count

    def _submit(self, task_id: str) -> None:
        self.store.update(task_id, state=State.WAITING, progress=5)
        self.runner.submit(task_id)

    def _discard(self, task: Task) -> None:
        """Remove a task whose create failed, and its source. Best effort: the create's own
        error is what the client must see."""
        undo = [functools.partial(self.store.delete, task.task_id)]
        if task.source_blob:
            undo.append(functools.partial(self.results.delete, task.source_blob))
        for step in undo:
            try:
                step()
            except Exception:
                log.exception("could not discard task %s after its create failed", task.task_id)


def _overloaded() -> Overloaded:
    return Overloaded("too many tasks in flight; retry shortly", retry_after=5)


@dataclass
class WorkerContext:
    """What a worker process holds for its lifetime: back-ends and warm models."""

    store: TaskStore
    results: ResultStore
    catalog: ModelCatalog
    limits: SourceLimits
    retention_seconds: int
    task_timeout: float


def execute_task(ctx: WorkerContext, task_id: str) -> None:
    """Run one task to a final state. Never raises for a bad image: the task records why."""
    task = ctx.store.get(task_id)
    if task is None or task.state.finished:
        return  # expired, swept, or already done by an earlier delivery
    if task.attempts >= MAX_ATTEMPTS:  # its workers died every time: a poison pill
        fail_task(ctx.store, ctx.results, task, State.FAILED, _DIED)
        return
    ctx.store.update(
        task_id,
        state=State.PREPARING,
        progress=10,
        processed_at=time.time(),
        attempts=task.attempts + 1,
    )
    try:
        with _deadline(ctx.task_timeout):
            _process(ctx, task)
    except PhotofixError as exc:
        finish_failed(ctx.store, task, State(exc.state), exc.message)
    except Exception as exc:
        log.exception("task %s failed", task_id)
        finish_failed(ctx.store, task, State.FAILED, f"internal error: {type(exc).__name__}")
    finally:
        if task.source_blob:
            ctx.results.delete(task.source_blob)


def _process(ctx: WorkerContext, task: Task) -> None:
    data = _read_source(ctx, task)
    stage_progress = {"decoded": (State.PROCESSING, 30), "processed": (State.PROCESSING, 80)}

    def on_stage(stage: str) -> None:
        state, progress = stage_progress[stage]
        ctx.store.update(task.task_id, state=state, progress=progress)

    options = task.options
    result = process_image(
        data,
        options.pipeline(),
        ctx.catalog.model_set(options.model),
        ctx.limits.image,
        options.output_format,
        on_stage,
    )
    del data
    blob = result_blob_name(task.task_id, result.format)
    ctx.results.put(blob, result.data, result.content_type)
    now = time.time()
    if ctx.store.update(
        task.task_id,
        state=State.SUCCEEDED,
        progress=100,
        result_blob=blob,
        result_content_type=result.content_type,
        meta=result.meta,
        completed_at=now,
        expires_at=now + ctx.retention_seconds,
    ):
        metrics.task_finished(task.options.type, State.SUCCEEDED, now - task.created_at)
    else:
        ctx.results.delete(blob)  # timed out or swept meanwhile: do not leak the file


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise ProcessingTimeout in this (worker) process once `seconds` have passed. Only the
    main thread receives signals; elsewhere the runner's own time limit is the only guard."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise ProcessingTimeout(f"processing took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _read_source(ctx: WorkerContext, task: Task) -> bytes:
    if task.source_blob:
        return ctx.results.get(task.source_blob)
    assert task.source_url is not None
    return fetch.fetch_image(
        task.source_url,
        max_bytes=ctx.limits.image.max_bytes,
        timeout=ctx.limits.fetch_timeout,
        allow_networks=ctx.limits.allow_networks,
    )


def fail_task(
    store: TaskStore, results: ResultStore, task: Task, state: State, detail: str
) -> None:
    """Fail a task that no worker will finish, and drop its uploaded source at once: nothing
    else would before the task expires."""
    finish_failed(store, task, state, detail)
    if task.source_blob:
        results.delete(task.source_blob)


def finish_failed(store: TaskStore, task: Task, state: State, detail: str) -> None:
    now = time.time()
    if store.update(
        task.task_id,
        state=state,
        state_detail=detail,
        completed_at=now,
        expires_at=now + _retention_of(task),
    ):
        metrics.task_finished(task.options.type, state, now - task.created_at)


def _retention_of(task: Task) -> float:
    # Keep a failed task as long as it would have lived from its creation, at least.
    return max(task.expires_at - task.created_at, 60.0)

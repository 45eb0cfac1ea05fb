"""Embedded Runner: a pool of long-lived worker processes (pebble), one per core by default.

pebble gives what concurrent.futures lacks: a per-task timeout that kills a stuck worker and a
replacement worker when one dies, so a hung or crashed job never takes the pool down.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout

from pebble import ProcessExpired, ProcessPool

from photofix.config import Settings
from photofix.tasks.model import State
from photofix.tasks.service import finish_failed
from photofix.tasks.store import TaskStore
from photofix.tasks.worker import init_worker_process, run_in_worker

log = logging.getLogger(__name__)


def kill_after(task_timeout: float) -> float:
    """When pebble kills a task's process: a backstop. The worker's own deadline
    (service.execute_task) fires first and ends the task without losing the warm process."""
    return 1.1 * task_timeout + 1.0


class LocalRunner:
    redelivers = False

    def __init__(
        self,
        settings: Settings,
        store: TaskStore,
        *,
        target: Callable[[str], None] = run_in_worker,
        initializer: Callable[[Settings], None] = init_worker_process,
    ) -> None:
        self._settings = settings
        self._store = store
        self._target = target
        self._initializer = initializer
        self._pool: ProcessPool | None = None
        self.stall_seconds = 2 * kill_after(settings.task_timeout) + 60.0

    def start(self) -> None:
        # spawn, not fork: the API process runs threads (uvicorn, SQLite) that fork would copy
        # mid-flight, and every worker loads its own onnxruntime sessions anyway.
        self._pool = ProcessPool(
            max_workers=self._settings.workers,
            initializer=self._initializer,
            initargs=(self._settings,),
            context=multiprocessing.get_context("spawn"),
        )

    def submit(self, task_id: str) -> None:
        if self._pool is None:
            raise RuntimeError("runner not started")
        future = self._pool.schedule(
            self._target,
            args=(task_id,),
            timeout=kill_after(self._settings.task_timeout),
        )
        future.add_done_callback(lambda done: self._on_done(task_id, done))

    def _on_done(self, task_id: str, future: Future[None]) -> None:
        try:
            future.result()
            return
        except FutureTimeout:
            state, detail = (
                State.TIMED_OUT,
                (f"processing took longer than {self._settings.task_timeout:g} s"),
            )
        except ProcessExpired as exc:
            state, detail = State.FAILED, f"worker process died (exit code {exc.exitcode})"
        except CancelledError:
            return  # shutting down: recover() re-queues it on the next start
        except Exception as exc:  # the worker itself records image errors; this is a bug
            log.exception("task %s crashed its worker call", task_id)
            state, detail = State.FAILED, f"internal error: {type(exc).__name__}"
        task = self._store.get(task_id)
        if task is not None:
            finish_failed(self._store, task, state, detail)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None

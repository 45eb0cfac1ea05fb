"""Wires a runtime from settings: task store, result store, runner and the service over them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from photofix.backends import open_result_store, open_runner, open_task_store
from photofix.config import Settings
from photofix.storage.local import LocalResultStore
from photofix.tasks.runner import Runner
from photofix.tasks.service import TaskService
from photofix.tasks.worker import source_limits

# Blobs older than this with no task left pointing at them are leftovers of a crash.
_ORPHAN_GRACE_SECONDS = 600


@dataclass
class Runtime:
    service: TaskService
    runner: Runner
    local_results: LocalResultStore | None

    def sweep(self) -> int:
        """Expire tasks and their blobs, then clear orphaned blobs. Returns tasks removed."""
        removed = self.service.sweep()
        if self.local_results is not None:
            horizon = self.service.retention_seconds + _ORPHAN_GRACE_SECONDS
            self.local_results.sweep_orphans(older_than=time.time() - horizon)
        return removed


def build_runtime(settings: Settings) -> Runtime:
    store = open_task_store(settings)
    results = open_result_store(settings)
    runner = open_runner(settings, store, results)
    service = TaskService(
        store,
        results,
        runner,
        limits=source_limits(settings),
        retention_seconds=settings.retention_seconds,
        max_pending_tasks=settings.max_pending_tasks,
    )
    local = results if isinstance(results, LocalResultStore) else None
    return Runtime(service=service, runner=runner, local_results=local)

"""The one module that turns Settings into the task runtime's objects: the task and result
stores, the models, the runner and the service over them (an API process, `build_runtime`),
and the context a worker process runs tasks with (`init_worker_process`).

The runners do not import this module: they are handed the worker's initialiser and target
(`init_worker_process`, `run_in_worker`), so that the imports run one way only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from photofix.config import Settings
from photofix.imaging.codec import ImageLimits
from photofix.models.catalog import ModelCatalog, catalog_for
from photofix.storage.base import ResultStore
from photofix.storage.local import LocalResultStore
from photofix.tasks.runner import Runner
from photofix.tasks.runner_local import LocalRunner
from photofix.tasks.service import SourceLimits, TaskService, WorkerContext, execute_task
from photofix.tasks.store import TaskStore
from photofix.tasks.store_sqlite import SqliteTaskStore

# Blobs older than this with no task left pointing at them are leftovers of a crash.
_ORPHAN_GRACE_SECONDS = 600


def open_task_store(settings: Settings) -> TaskStore:
    if settings.task_store == "redis":
        from photofix.tasks.store_redis import RedisTaskStore

        return RedisTaskStore.from_url(settings.redis_url, prefix=settings.redis_prefix)
    return SqliteTaskStore(settings.database_path)


def open_result_store(settings: Settings) -> ResultStore:
    if settings.result_store == "s3":
        from photofix.storage.s3 import S3ResultStore

        assert settings.s3_bucket is not None  # checked by Settings
        secret = settings.s3_secret_access_key
        return S3ResultStore.connect(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            prefix=settings.s3_prefix,
            public_endpoint_url=settings.s3_public_endpoint_url,
        )
    return LocalResultStore(settings.blobs_dir, settings.secret_key())


def open_catalog(settings: Settings) -> ModelCatalog:
    """The warm models, with the operator's default product model opened up front so that a
    missing or broken file stops the worker at start, not the first request."""
    catalog = catalog_for(settings.models_dir, settings.model_threads, settings.default_model)
    catalog.model_set(None)
    return catalog


def image_limits(settings: Settings) -> ImageLimits:
    return ImageLimits(max_bytes=settings.max_image_bytes, max_side=settings.max_image_side)


def source_limits(settings: Settings) -> SourceLimits:
    return SourceLimits(
        image=image_limits(settings),
        fetch_timeout=settings.fetch_timeout,
        allow_networks=tuple(settings.allow_networks),
    )


def open_runner(settings: Settings, store: TaskStore, results: ResultStore) -> Runner:
    if settings.runtime == "celery":
        from photofix.tasks.runner_celery import CeleryRunner

        return CeleryRunner(settings)  # sends task ids; `photofix worker` runs them
    return LocalRunner(
        settings, store, results, initializer=init_worker_process, target=run_in_worker
    )


# --------------------------------------------------------------------------- an API process


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


# --------------------------------------------------------------------------- a worker process

_context: WorkerContext | None = None


def build_context(settings: Settings) -> WorkerContext:
    """Back-ends from settings and the warm models, once per worker process."""
    return WorkerContext(
        store=open_task_store(settings),
        results=open_result_store(settings),
        catalog=open_catalog(settings),
        limits=source_limits(settings),
        retention_seconds=settings.retention_seconds,
        task_timeout=settings.task_timeout,
    )


def init_worker_process(settings: Settings) -> None:
    """A runner's worker initialiser: load the models once per worker process, keep them warm."""
    global _context
    logging.basicConfig(level=logging.INFO)
    _context = build_context(settings)


def run_in_worker(task_id: str) -> None:
    """A runner's worker target: run one task by id with this process's context."""
    if _context is None:
        raise RuntimeError("worker process was not initialised")
    execute_task(_context, task_id)


def run_celery_worker(settings: Settings, *, concurrency: int) -> None:
    """`photofix worker`: a Celery worker running task ids with this module's worker side."""
    from photofix.tasks.runner_celery import run_worker

    run_worker(
        settings,
        concurrency=concurrency,
        initializer=init_worker_process,
        target=run_in_worker,
    )

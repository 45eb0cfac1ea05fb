"""The one place that picks back-ends from settings: task store, result store and runner."""

from __future__ import annotations

from photofix.config import Settings
from photofix.storage.base import ResultStore
from photofix.storage.local import LocalResultStore
from photofix.tasks.runner import Runner
from photofix.tasks.store import TaskStore
from photofix.tasks.store_sqlite import SqliteTaskStore


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


def open_runner(settings: Settings, store: TaskStore, results: ResultStore) -> Runner:
    if settings.runtime == "celery":
        from photofix.tasks.runner_celery import CeleryRunner

        return CeleryRunner(settings)
    from photofix.tasks.runner_local import LocalRunner

    return LocalRunner(settings, store, results)
